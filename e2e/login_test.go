package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// frameCtx attaches to the widget's iframe (an out-of-process frame: the
// widget is on another site) so a test can click inside it as a user would.
func frameCtx(t *testing.T, e *env) context.Context {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second) // against a hang only
	for time.Now().Before(deadline) {
		targets, err := chromedp.Targets(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, tg := range targets {
			if tg.Type == "iframe" && strings.HasPrefix(tg.URL, e.WidgetURL+"/app") {
				ctx, cancel := chromedp.NewContext(e.ctx, chromedp.WithTargetID(tg.TargetID), chromedp.WithDetachOnCancel())
				t.Cleanup(cancel)
				// The first command attaches the target, which then reads the
				// browser's messages only while that command's context lasts:
				// the frame's own, with no deadline.
				if err := chromedp.Do(ctx); err != nil {
					t.Fatalf("attach to the widget frame: %v", err)
				}
				if _, err := chromedp.Run(within(t, ctx, 10*time.Second), chromedp.Poll[bool](`document.readyState === 'complete'`)); err == nil {
					return ctx
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("no widget frame")
	return nil
}

// popupCtx waits for a new window whose URL starts with prefix and attaches to it.
func popupCtx(t *testing.T, e *env, prefix string) context.Context {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second) // against a hang only
	for time.Now().Before(deadline) {
		targets, err := chromedp.Targets(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, tg := range targets {
			if tg.Type == "page" && strings.HasPrefix(tg.URL, prefix) {
				ctx, cancel := chromedp.NewContext(e.ctx, chromedp.WithTargetID(tg.TargetID), chromedp.WithDetachOnCancel())
				t.Cleanup(cancel)
				return ctx
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no window opened at %s", prefix)
	return nil
}

// fillSignIn types credentials into the sign-in page and submits it.
func fillSignIn(t *testing.T, ctx context.Context, username, password string) {
	t.Helper()
	err := chromedp.Do(within(t, ctx, 15*time.Second),
		chromedp.WaitVisible(chromedp.CSS(`input[name="username"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="username"]`), username),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), password),
		chromedp.Submit(chromedp.CSS(`input[name="password"]`)),
	)
	if err != nil {
		t.Fatalf("sign in as %s: %v", username, err)
	}
}

func waitLoggedIn(t *testing.T, e *env, loginNumber string) {
	t.Helper()
	m := waitMessage(t, e.ctx, "rc-login-status-notify", `m.data.loggedIn === true`)
	if m.Data["loginNumber"] != loginNumber || m.Origin != e.WidgetURL {
		t.Fatalf("signed in as %v from %s, want %s from %s", m.Data["loginNumber"], m.Origin, loginNumber, e.WidgetURL)
	}
	waitMessage(t, e.ctx, "rc-adapter-syncPresence", `m.data.telephonyStatus === 'NoCall'`)
	waitMessage(t, e.ctx, "rc-route-changed-notify", `m.data.path === '/dialer'`)
}

// popupLogin signs in with the widget's own popup, clicking inside the
// widget as a user does.
func popupLogin(t *testing.T, e *env, username string) {
	t.Helper()
	frame := frameCtx(t, e)
	if err := chromedp.Do(within(t, frame, 10*time.Second), chromedp.Click(chromedp.CSS("#cb-sign-in"))); err != nil {
		t.Fatalf("click Sign in: %v", err)
	}
	fillSignIn(t, popupCtx(t, e, e.WidgetURL+"/oauth/authorize"), username, "demo")
}

// hostLogin plays the host page of disableLoginPopup=1: it takes oAuthUri
// from rc-login-popup-notify, signs in there itself, reads the redirect to
// its own callback with the code, and posts rc-adapter-authorization-code.
func hostLogin(t *testing.T, e *env, username string) {
	t.Helper()
	frame := frameCtx(t, e)
	if err := chromedp.Do(within(t, frame, 10*time.Second), chromedp.Click(chromedp.CSS("#cb-sign-in"))); err != nil {
		t.Fatalf("click Sign in: %v", err)
	}
	m := waitMessage(t, e.ctx, "rc-login-popup-notify", "")
	oAuthURI, _ := m.Data["oAuthUri"].(string)
	callback := authorizeOverHTTP(t, oAuthURI, username, "demo")
	if !strings.HasPrefix(callback, e.DemoURL+"/oauth/callback?") {
		t.Fatalf("redirected to %s, want the host's callback", callback)
	}
	eval[bool](t, e.ctx, `(RCAdapter.frame.contentWindow.postMessage({type: 'rc-adapter-authorization-code', callbackUri: `+
		quote(callback)+`}, `+quote(e.WidgetURL)+`), true)`)
}

var (
	csrfRe   = regexp.MustCompile(`name="csrf_token"[^>]*value="([^"]+)"`)
	hiddenRe = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)
)

// authorizeOverHTTP is the host's own sign-in window, driven over HTTP: it
// returns where the authorization server sent the browser.
func authorizeOverHTTP(t *testing.T, authURL, username, password string) string {
	t.Helper()
	status, location := submitSignIn(t, authURL, username, password)
	if status != http.StatusSeeOther && status != http.StatusFound {
		t.Fatalf("sign-in answered %d", status)
	}
	return location
}

// submitSignIn fills in and posts the sign-in form of authURL; it answers
// the form's status and redirect.
func submitSignIn(t *testing.T, authURL, username, password string) (int, string) {
	t.Helper()
	jarless := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 2 * time.Minute} // against a hang only
	u, _ := url.Parse(authURL)
	u.Host = strings.Replace(u.Host, "localhost", "127.0.0.1", 1)
	resp, err := jarless.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(body)
	m := csrfRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("sign-in page %d without CSRF field", resp.StatusCode)
	}
	form := url.Values{"csrf_token": {m[1]}, "username": {username}, "password": {password}}
	for _, h := range hiddenRe.FindAllStringSubmatch(page, -1) {
		if h[1] != "csrf_token" {
			form.Add(h[1], strings.NewReplacer("&amp;", "&", "&#34;", `"`, "&#39;", "'").Replace(h[2]))
		}
	}
	req, _ := http.NewRequest("POST", u.Scheme+"://"+u.Host+u.Path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range resp.Cookies() {
		req.AddCookie(c)
	}
	post, err := jarless.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	return post.StatusCode, post.Header.Get("Location")
}

func logout(t *testing.T, e *env) {
	t.Helper()
	if res := eval[any](t, e.ctx, `RCAdapter.logoutUser()`); res != "ok" {
		t.Fatalf("logoutUser resolved %v", res)
	}
	waitFor[bool](t, e.ctx, "signed-out status after sign-in", `(() => {
		const s = cbDemo.messages.filter(m => m.data.type === 'rc-login-status-notify').map(m => m.data.loggedIn);
		return s.length >= 2 && s[s.length - 1] === false && s[s.length - 2] === true;
	})()`)
	waitMessage(t, e.ctx, "rc-route-changed-notify", `m.data.path === '/login'`)
}

// noSecretsReachedHost scans every message the host page got for token
// material and for the widget's cookie values.
func noSecretsReachedHost(t *testing.T, e *env, allowCode bool) {
	t.Helper()
	msgs := eval[[]message](t, e.ctx, `cbDemo.messages`)
	raw, _ := json.Marshal(msgs)
	all := string(raw)
	for _, bad := range []string{"access_token", "refresh_token", "id_token", "accessToken", "refreshToken", "code_verifier"} {
		if strings.Contains(all, bad) {
			t.Errorf("the host page received %q", bad)
		}
	}
	if !allowCode && strings.Contains(all, "code=") {
		t.Error("the host page received an authorization code")
	}
	cookies, err := chromedp.Run(within(t, e.ctx, 10*time.Second), chromedp.Action[[]*network.Cookie](
		func(ctx context.Context, tg *chromedp.Target) ([]*network.Cookie, error) {
			res, err := networkGetCookies(ctx, tg, e.WidgetURL)
			return res, err
		}))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cookies {
		if len(c.Value) > 8 && strings.Contains(all, c.Value) {
			t.Errorf("the host page received the value of cookie %s", c.Name)
		}
	}
	if len(msgs) == 0 {
		t.Fatal("no messages to scan")
	}
}

func TestPopupLogin(t *testing.T) {
	e := start(t)
	openDemo(t, e, "")
	popupLogin(t, e, "alice@demo.test")
	waitLoggedIn(t, e, "+16505550100*101")
	m := waitMessage(t, e.ctx, "rc-region-settings-notify", `m.data.areaCode === '650'`)
	if m.Data["countryCode"] != "US" {
		t.Errorf("region %v", m.Data)
	}
	// A reload keeps the session: the widget starts signed in.
	openDemo(t, e, "")
	waitMessage(t, e.ctx, "rc-login-status-notify", `m.data.loggedIn === true`)
	logout(t, e)
	noSecretsReachedHost(t, e, false)
}

func TestHostDrivenLogin(t *testing.T) {
	e := start(t)
	openDemo(t, e, "?disableLoginPopup=1")
	hostLogin(t, e, "bob@demo.test")
	waitLoggedIn(t, e, "+16505550100*102")
	logout(t, e)
	noSecretsReachedHost(t, e, true)
}

// With third-party cookies phased out the widget's cookie is partitioned
// by the host site (CHIPS); both flows must still work.
func TestLoginWithThirdPartyCookiesBlocked(t *testing.T) {
	t.Run("popup", func(t *testing.T) {
		e := start(t, "test-third-party-cookie-phaseout")
		openDemo(t, e, "")
		popupLogin(t, e, "alice@demo.test")
		waitLoggedIn(t, e, "+16505550100*101")
		noSecretsReachedHost(t, e, false)
	})
	t.Run("host", func(t *testing.T) {
		e := start(t, "test-third-party-cookie-phaseout")
		openDemo(t, e, "?disableLoginPopup=1")
		hostLogin(t, e, "bob@demo.test")
		waitLoggedIn(t, e, "+16505550100*102")
		noSecretsReachedHost(t, e, true)
	})
}
