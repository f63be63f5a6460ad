package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/callbridge/widget-server/internal/identity"
)

// TestServerAccess: on Settings → Server access a user creates a JWT
// credential with the keyboard alone, copies its JWT, which a server app
// with its secret exchanges for the user's tokens, and revokes it (asked
// twice), after which the exchange is refused.
func TestServerAccess(t *testing.T) {
	e := start(t)
	_, secret := serverApp(t, e.dataDir)
	exchange := func(jwt string) int {
		req, _ := http.NewRequest("POST", e.WidgetURL+"/restapi/oauth/token", strings.NewReader(url.Values{
			"grant_type": {identity.GrantTypeJWTBearer}, "assertion": {jwt}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("crm-backend", secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	openDemo(t, e, "")
	popupLogin(t, e, "bob@demo.test")
	waitLoggedIn(t, e, "+16505550100*102")
	frame := frameCtx(t, e)
	eval[any](t, e.ctx, `RCAdapter.navigateTo('/settings')`)
	waitFor[bool](t, frame, "Server access, empty", `!document.getElementById('cb-jwt').hidden && !document.getElementById('cb-jwt-empty').hidden`)
	if admin := eval[bool](t, frame, `!document.getElementById('cb-jwt-for-row').hidden`); admin {
		t.Error("a user who is no administrator is offered other users")
	}

	// With the keyboard: the name, Tab to the lifetime, Enter creates.
	if err := chromedp.Do(within(t, frame, 15*time.Second),
		chromedp.Focus(chromedp.CSS(`#cb-jwt-name`)),
		chromedp.KeyEvent(kb.Enter)); err != nil {
		t.Fatal(err)
	}
	waitFor[bool](t, frame, "the missing name said", `document.getElementById('cb-jwt-name-error').textContent !== '' &&
		document.activeElement.id === 'cb-jwt-name' && document.getElementById('cb-jwt-name').getAttribute('aria-invalid') === 'true'`)
	if err := chromedp.Do(within(t, frame, 15*time.Second),
		chromedp.SendKeys(chromedp.CSS(`#cb-jwt-name`), "CRM sync"),
		chromedp.KeyEvent(kb.Enter)); err != nil {
		t.Fatal(err)
	}
	jwt := waitFor[string](t, frame, "the new JWT", `(() => {
		const box = document.getElementById('cb-jwt-new'), token = document.getElementById('cb-jwt-token');
		const item = document.querySelector('#cb-jwt-list .jwt__item[data-status="Active"]');
		return !box.hidden && token.value.split('.').length === 3 && item && item.textContent.includes('CRM sync') &&
			document.activeElement === token && token.value;
	})()`)
	maybeScreenshot(t, e, "settings-server-access")
	if got := exchange(jwt); got != http.StatusOK {
		t.Fatalf("the JWT shown: exchange answered %d", got)
	}
	waitFor[bool](t, frame, "last use shown after a reload of the list",
		`(document.getElementById('cb-jwt-for').dispatchEvent(new Event('change')), true)`)
	waitFor[bool](t, frame, "the JWT forgotten, the use shown", `document.getElementById('cb-jwt-new').hidden &&
		!/never used/.test(document.querySelector('#cb-jwt-list .jwt__item').textContent)`)

	// Revoke, asked twice, from the keyboard.
	if err := chromedp.Do(within(t, frame, 15*time.Second),
		chromedp.Focus(chromedp.CSS(`#cb-jwt-list .jwt__revoke`)),
		chromedp.KeyEvent(kb.Enter)); err != nil {
		t.Fatal(err)
	}
	waitFor[bool](t, frame, "the revoke asked again", `(() => {
		const b = document.querySelector('#cb-jwt-list .jwt__revoke');
		return b && b.dataset.confirm === 'true' && document.activeElement === b;
	})()`)
	if got := exchange(jwt); got != http.StatusOK {
		t.Fatalf("revoked at the first press: exchange answered %d", got)
	}
	if err := chromedp.Do(within(t, frame, 15*time.Second), chromedp.KeyEvent(kb.Enter)); err != nil {
		t.Fatal(err)
	}
	waitFor[bool](t, frame, "the credential revoked", `!document.querySelector('#cb-jwt-list .jwt__revoke') &&
		document.querySelector('#cb-jwt-list .jwt__item').dataset.status === 'Revoked' &&
		document.getElementById('cb-jwt-status').textContent.includes('revoked')`)
	if got := exchange(jwt); got != http.StatusBadRequest {
		t.Errorf("a revoked credential: exchange answered %d", got)
	}
	eval[any](t, frame, `document.getElementById('cb-title-jwt').scrollIntoView()`)
	maybeScreenshot(t, e, "settings-server-access-revoked")
}
