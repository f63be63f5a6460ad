package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/store"
)

// widgetCall calls a widget endpoint as the widget's own script does.
func widgetCall(t *testing.T, c *http.Client, srv *instance, method, path string, body any) response {
	t.Helper()
	var in *strings.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		in = strings.NewReader(string(b))
	} else {
		in = strings.NewReader("")
	}
	return do(t, c, method, srv.WidgetURL+path, in, "Content-Type", "application/json",
		"X-Callbridge", "1", "X-Callbridge-Client", "demo", "Origin", srv.WidgetURL)
}

// TestJWTCredentialsOverHTTP: with the demo app made confidential, the
// widget still signs its users in; a user creates a JWT credential in the
// widget, a server exchanges it with the app's secret for the user's
// tokens; an administrator sees and revokes it, which ends those tokens at
// once; nobody manages another's without being their administrator.
func TestJWTCredentialsOverHTTP(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := startServer(t, Config{})
	db, err := store.Open(ctx, srv.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	secret, hash := identity.NewClientSecret()
	if err := db.SetAppSecret(ctx, "demo", hash); err != nil {
		t.Fatal(err)
	}
	db.Close()

	// The widget signs in as the app, with its own secret.
	bob := signedInWidget(t, srv, "bob@demo.test")
	alice := signedInWidget(t, srv, "alice@demo.test")

	created := widgetCall(t, bob, srv, "POST", "/widget/jwt-credentials", map[string]any{"name": "Bob's CRM", "expiresInDays": 30})
	cred := created.json(t)
	jwt, _ := cred["jwt"].(string)
	if created.StatusCode != http.StatusCreated || jwt == "" || cred["status"] != "Active" || cred["expirationTime"] == nil {
		t.Fatalf("create: %d %s", created.StatusCode, created.body)
	}
	if cc := created.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("the answer with the JWT may be cached: %q", cc)
	}
	c := &http.Client{}
	exchange := func(assertion, secret string) response {
		req, _ := http.NewRequest("POST", srv.WidgetURL+"/restapi/oauth/token", strings.NewReader(url.Values{
			"grant_type": {identity.GrantTypeJWTBearer}, "assertion": {assertion}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("demo", secret)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return response{resp, string(b)}
	}
	if r := exchange(jwt, "wrong"); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("exchange with a wrong secret: %d %s", r.StatusCode, r.body)
	}
	access, _ := tokens(t, exchange(jwt, secret))
	me := do(t, c, "GET", srv.WidgetURL+"/restapi/v1.0/account/~/extension/~", nil, "Authorization", "Bearer "+access)
	if me.StatusCode != http.StatusOK || me.json(t)["extensionNumber"] != "102" {
		t.Fatalf("signed in as: %d %s", me.StatusCode, me.body)
	}
	bobID := fmt.Sprint(me.json(t)["id"])

	list := widgetCall(t, bob, srv, "GET", "/widget/jwt-credentials", nil)
	records, _ := list.json(t)["records"].([]any)
	if list.StatusCode != http.StatusOK || len(records) != 1 || records[0].(map[string]any)["lastUsedTime"] == nil || records[0].(map[string]any)["jwt"] != nil {
		t.Fatalf("bob's list: %d %s", list.StatusCode, list.body)
	}

	// Bob may not touch alice's; alice, an administrator, may touch bob's.
	var aliceID string
	exts, _ := widgetCall(t, bob, srv, "GET", "/widget/extensions", nil).json(t)["records"].([]any)
	for _, x := range exts {
		if x := x.(map[string]any); x["extensionNumber"] == "101" {
			aliceID = fmt.Sprint(x["id"])
		}
	}
	if aliceID == "" {
		t.Fatal("alice is not in the directory")
	}
	if r := widgetCall(t, bob, srv, "POST", "/widget/jwt-credentials", map[string]any{"name": "x", "extensionId": aliceID}); r.StatusCode != http.StatusForbidden {
		t.Errorf("bob for alice: %d %s", r.StatusCode, r.body)
	}
	if r := widgetCall(t, bob, srv, "GET", "/widget/jwt-credentials?extensionId="+aliceID, nil); r.StatusCode != http.StatusForbidden {
		t.Errorf("bob lists alice's: %d %s", r.StatusCode, r.body)
	}
	mine := widgetCall(t, alice, srv, "POST", "/widget/jwt-credentials", map[string]any{"name": "Alice's"})
	if mine.StatusCode != http.StatusCreated {
		t.Fatalf("alice's own: %d %s", mine.StatusCode, mine.body)
	}
	if r := widgetCall(t, bob, srv, "DELETE", "/widget/jwt-credentials/"+fmt.Sprint(mine.json(t)["id"]), nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("bob revokes alice's: %d %s", r.StatusCode, r.body)
	}
	seen := widgetCall(t, alice, srv, "GET", "/widget/jwt-credentials?extensionId="+bobID, nil)
	if recs, _ := seen.json(t)["records"].([]any); seen.StatusCode != http.StatusOK || len(recs) != 1 {
		t.Fatalf("alice lists bob's: %d %s", seen.StatusCode, seen.body)
	}
	revoked := widgetCall(t, alice, srv, "DELETE", "/widget/jwt-credentials/"+fmt.Sprint(cred["id"]), nil)
	if revoked.StatusCode != http.StatusOK || revoked.json(t)["status"] != "Revoked" {
		t.Fatalf("alice revokes bob's: %d %s", revoked.StatusCode, revoked.body)
	}
	wantUnauthorized(t, do(t, c, "GET", srv.WidgetURL+"/restapi/v1.0/account/~/extension/~", nil, "Authorization", "Bearer "+access),
		"a token of a revoked credential")
	if r := exchange(jwt, secret); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "invalid_grant") {
		t.Errorf("exchange of a revoked credential: %d %s", r.StatusCode, r.body)
	}

	for _, bad := range []struct {
		body  map[string]any
		param string
	}{
		{map[string]any{"name": ""}, "name"},
		{map[string]any{"name": "x", "expiresInDays": 5000}, "expiresInDays"},
		{map[string]any{"name": "x", "extensionId": "abc"}, "extensionId"},
	} {
		r := widgetCall(t, bob, srv, "POST", "/widget/jwt-credentials", bad.body)
		m := r.json(t)
		errs, _ := m["errors"].([]any)
		if r.StatusCode != http.StatusBadRequest || m["errorCode"] != "InvalidParameter" || len(errs) == 0 || errs[0].(map[string]any)["parameterName"] != bad.param {
			t.Errorf("%v: %d %s", bad.body, r.StatusCode, r.body)
		}
	}
	md := do(t, c, "GET", srv.WidgetURL+"/.well-known/oauth-authorization-server", nil)
	if !strings.Contains(md.body, identity.GrantTypeJWTBearer) || !strings.Contains(md.body, "client_secret_basic") {
		t.Errorf("metadata: %s", md.body)
	}
}
