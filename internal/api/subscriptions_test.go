package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/store"
	"github.com/callbridge/widget-server/internal/webhooks"
)

// acceptingReceivers stands for every receiver on the Internet: each
// passes the address check and takes every notification. The tests here
// are about requests; deliveries are tested with real receivers in
// internal/webhooks and internal/server.
type acceptingReceivers struct{}

func (acceptingReceivers) RoundTrip(r *http.Request) (*http.Response, error) {
	h := http.Header{}
	if tok := r.Header.Get(webhooks.HeaderValidationToken); tok != "" {
		h.Set(webhooks.HeaderValidationToken, tok)
	}
	return &http.Response{StatusCode: http.StatusOK, Header: h, Body: http.NoBody, Request: r}, nil
}

// subscriptionEnv serves the subscription routes to callers named by the
// X-As header (alice, the admin; bob; eve of another account), as the
// bearer middleware would after checking their tokens.
type subscriptionEnv struct {
	h       http.Handler
	callers map[string]apiCaller
}

func newSubscriptionEnv(t testing.TB) *subscriptionEnv {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	env := &subscriptionEnv{callers: map[string]apiCaller{}}
	for i, who := range []struct{ name, account string }{{"alice", "+14155550100"}, {"bob", "+14155550100"}, {"eve", "+4930123456"}} {
		acct, err := db.AccountByMainNumber(ctx, who.account)
		if err != nil {
			acct = identity.Account{Company: who.account, MainNumber: who.account, CountryCode: "US"}
			if err := db.CreateAccount(ctx, &acct); err != nil {
				t.Fatal(err)
			}
		}
		x := identity.Extension{AccountID: acct.ID, Number: strconv.Itoa(101 + i), Name: who.name, Email: who.name + "@example.com",
			Role: identity.RoleUser, Status: identity.StatusEnabled}
		if who.name == "alice" {
			x.Role = identity.RoleAdmin
		}
		if err := db.CreateExtension(ctx, &x, "no-password"); err != nil {
			t.Fatal(err)
		}
		env.callers[who.name] = apiCaller{acct, x}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	hooks := webhooks.New(webhooks.Config{Client: &http.Client{Transport: acceptingReceivers{}}, Logger: log}, db)
	t.Cleanup(hooks.Close)
	srv := NewServer(Config{PublicURL: "http://localhost:8080"}, Deps{Log: log, Directory: identity.NewDirectory(db), Webhooks: hooks})
	e := echo.New()
	e.HTTPErrorHandler = httperror.Handler(log)
	as := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Set(string(extensionKey), env.callers[c.Request().Header.Get("X-As")])
			return next(c)
		}
	}
	srv.subscriptionAPIRoutes(e.Group("/restapi/v1.0"), []echo.MiddlewareFunc{as})
	env.h = e
	return env
}

func (env *subscriptionEnv) do(as, method, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/restapi/v1.0/subscription"+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-As", as)
	rec := httptest.NewRecorder()
	env.h.ServeHTTP(rec, req)
	return rec
}

const hookBody = `{"eventFilters": [%s], "deliveryMode": {"transportType": "WebHook", "address": "https://crm.example.com/hook"}}`

func subscriptionBody(filters ...string) string {
	q := make([]string, len(filters))
	for i, f := range filters {
		q[i] = strconv.Quote(f)
	}
	return strings.Replace(hookBody, "%s", strings.Join(q, ", "), 1)
}

// TestSubscriptionRequests: who may subscribe to what, and the parameter
// each bad request names.
func TestSubscriptionRequests(t *testing.T) {
	env := newSubscriptionEnv(t)
	bobID := strconv.FormatInt(env.callers["bob"].Extension.ID, 10)
	aliceID := strconv.FormatInt(env.callers["alice"].Extension.ID, 10)
	eveID := strconv.FormatInt(env.callers["eve"].Extension.ID, 10)
	acct := strconv.FormatInt(env.callers["alice"].Account.ID, 10)

	tests := []struct {
		name, as, body string
		status         int
		code, param    string
	}{
		{"own presence", "bob", subscriptionBody("/restapi/v1.0/account/~/extension/~/presence"), 200, "", ""},
		{"admin: another extension", "alice", subscriptionBody("/account/" + acct + "/extension/" + bobID + "/telephony/sessions"), 200, "", ""},
		{"user: another extension", "bob", subscriptionBody("/restapi/v1.0/account/~/extension/" + aliceID + "/presence"), 403, "InsufficientPermissions", ""},
		{"admin: another account's extension", "alice", subscriptionBody("/restapi/v1.0/account/~/extension/" + eveID + "/presence"), 400, "InvalidParameter", "eventFilters"},
		{"admin: no such extension", "alice", subscriptionBody("/restapi/v1.0/account/~/extension/999999/presence"), 400, "InvalidParameter", "eventFilters"},
		{"another account", "alice", subscriptionBody("/restapi/v1.0/account/999/extension/~/presence"), 400, "InvalidParameter", "eventFilters"},
		{"unknown event", "bob", subscriptionBody("/restapi/v1.0/account/~/extension/~/call-log"), 400, "InvalidParameter", "eventFilters"},
		{"no filters", "bob", subscriptionBody(), 400, "InvalidParameter", "eventFilters"},
		{"too many filters", "bob", subscriptionBody(strings.Split(strings.Repeat("/account/~/extension/~/presence,", 17), ",")[:17]...), 400, "InvalidParameter", "eventFilters"},
		{"no delivery mode", "bob", `{"eventFilters": ["/account/~/extension/~/presence"]}`, 400, "InvalidParameter", "deliveryMode"},
		{"PubNub", "bob", `{"eventFilters": ["/account/~/extension/~/presence"], "deliveryMode": {"transportType": "PubNub"}}`, 400, "InvalidParameter", "deliveryMode.transportType"},
		{"no address", "bob", `{"eventFilters": ["/account/~/extension/~/presence"], "deliveryMode": {"transportType": "WebHook"}}`, 400, "InvalidParameter", "deliveryMode.address"},
		{"http address", "bob", `{"eventFilters": ["/account/~/extension/~/presence"], "deliveryMode": {"transportType": "WebHook", "address": "http://crm.example.com/"}}`, 400, "InvalidParameter", "deliveryMode.address"},
		{"bad token", "bob", `{"eventFilters": ["/account/~/extension/~/presence"], "deliveryMode": {"transportType": "WebHook", "address": "https://crm.example.com/", "verificationToken": "a\nb"}}`, 400, "InvalidParameter", "deliveryMode.verificationToken"},
		{"expiresIn 0", "bob", `{"eventFilters": ["/account/~/extension/~/presence"], "expiresIn": 0, "deliveryMode": {"transportType": "WebHook", "address": "https://crm.example.com/"}}`, 400, "InvalidParameter", "expiresIn"},
		{"expiresIn huge", "bob", `{"eventFilters": ["/account/~/extension/~/presence"], "expiresIn": 9223372036854775807, "deliveryMode": {"transportType": "WebHook", "address": "https://crm.example.com/"}}`, 400, "InvalidParameter", "expiresIn"},
		{"expiresIn text", "bob", `{"eventFilters": ["/account/~/extension/~/presence"], "expiresIn": "1h"}`, 400, "InvalidParameter", "expiresIn"},
		{"unknown field", "bob", `{"eventFilters": ["/account/~/extension/~/presence"], "events": []}`, 400, "InvalidParameter", "events"},
		{"not JSON", "bob", `{"eventFilters": [`, 400, "InvalidJSON", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := env.do(tt.as, "POST", "", tt.body)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if tt.status == 200 {
				var sub apiSubscription
				if err := json.Unmarshal(rec.Body.Bytes(), &sub); err != nil || sub.Status != "Active" || len(sub.DeliveryMode.SigningSecret) != 64 ||
					len(sub.EventFilters) != 1 || strings.Contains(sub.EventFilters[0], "~") || sub.ExpiresIn != 604800 {
					t.Fatalf("created %s", rec.Body)
				}
				return
			}
			var e httperror.Body
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.ErrorCode != tt.code || len(e.Errors) != 1 || e.Errors[0].ParameterName != tt.param {
				t.Fatalf("error %s, want %s naming %q", rec.Body, tt.code, tt.param)
			}
		})
	}
}

// TestSubscriptionVisibility: users see and change their own
// subscriptions, administrators their account's, nobody another account's;
// the secret is shown only at creation.
func TestSubscriptionVisibility(t *testing.T) {
	env := newSubscriptionEnv(t)
	create := func(as string) string {
		rec := env.do(as, "POST", "", subscriptionBody("/account/~/extension/~/presence"))
		var sub apiSubscription
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &sub) != nil {
			t.Fatalf("create as %s: %d %s", as, rec.Code, rec.Body)
		}
		return sub.ID
	}
	bobs, alices, eves := create("bob"), create("alice"), create("eve")
	list := func(as string) []string {
		var l apiSubscriptionList
		rec := env.do(as, "GET", "", "")
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &l) != nil {
			t.Fatalf("list as %s: %d %s", as, rec.Code, rec.Body)
		}
		var ids []string
		for _, r := range l.Records {
			if r.DeliveryMode.SigningSecret != "" {
				t.Fatalf("the list shows a secret: %s", rec.Body)
			}
			ids = append(ids, r.ID)
		}
		return ids
	}
	if got := list("bob"); len(got) != 1 || got[0] != bobs {
		t.Fatalf("bob lists %v", got)
	}
	if got := list("alice"); len(got) != 2 || got[0] != bobs || got[1] != alices {
		t.Fatalf("alice lists %v", got)
	}
	if got := list("eve"); len(got) != 1 || got[0] != eves {
		t.Fatalf("eve lists %v", got)
	}
	for _, tt := range []struct {
		as, id string
		status int
	}{
		{"bob", bobs, 200}, {"alice", bobs, 200}, {"bob", alices, 404}, {"eve", bobs, 404}, {"alice", eves, 404},
		{"bob", "no-such-id", 404}, {"bob", strings.Repeat("x", 65), 404},
	} {
		for _, op := range []struct{ method, suffix, body string }{
			{"GET", "", ""}, {"PUT", "", `{"eventFilters": ["/account/~/extension/~/presence?detailedTelephonyState=true"]}`}, {"POST", "/renew", ""},
		} {
			if rec := env.do(tt.as, op.method, "/"+tt.id+op.suffix, op.body); rec.Code != tt.status {
				t.Errorf("%s %s%s as %s: %d %s, want %d", op.method, tt.id, op.suffix, tt.as, rec.Code, rec.Body, tt.status)
			} else if rec.Code == 200 && strings.Contains(rec.Body.String(), "signingSecret") {
				t.Errorf("%s %s shows the secret", op.method, op.suffix)
			}
		}
	}
	if rec := env.do("eve", "DELETE", "/"+bobs, ""); rec.Code != 404 {
		t.Fatalf("eve deletes bob's: %d", rec.Code)
	}
	if rec := env.do("alice", "DELETE", "/"+bobs, ""); rec.Code != 200 {
		t.Fatalf("the admin deletes bob's: %d %s", rec.Code, rec.Body)
	}
	if rec := env.do("bob", "GET", "/"+bobs, ""); rec.Code != 404 {
		t.Fatalf("after delete: %d", rec.Code)
	}
}

// TestSubscriptionLimit: the 21st subscription of an account is refused.
func TestSubscriptionLimit(t *testing.T) {
	env := newSubscriptionEnv(t)
	for i := range webhooks.DefaultLimit {
		if rec := env.do("bob", "POST", "", subscriptionBody("/account/~/extension/~/presence")); rec.Code != 200 {
			t.Fatalf("subscription %d: %d %s", i+1, rec.Code, rec.Body)
		}
	}
	rec := env.do("alice", "POST", "", subscriptionBody("/account/~/extension/~/presence"))
	var e httperror.Body
	if rec.Code != http.StatusForbidden || json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.ErrorCode != "SubscriptionLimitExceeded" ||
		!strings.Contains(e.Message, "20") {
		t.Fatalf("over the limit: %d %s", rec.Code, rec.Body)
	}
	if rec := env.do("eve", "POST", "", subscriptionBody("/account/~/extension/~/presence")); rec.Code != 200 {
		t.Fatalf("another account: %d %s", rec.Code, rec.Body)
	}
}

// FuzzSubscriptionRequests sends any body to any subscription route as
// any caller: the answer is JSON and never a 5xx.
func FuzzSubscriptionRequests(f *testing.F) {
	for _, seed := range []struct{ method, path, body string }{
		{"POST", "", subscriptionBody("/restapi/v1.0/account/~/extension/~/presence?detailedTelephonyState=true")},
		{"POST", "", subscriptionBody("/account/~/extension/2/telephony/sessions", "/account/1/extension/~/message-store")},
		{"POST", "", `{"eventFilters":["/account/~/extension/~/presence"],"expiresIn":-5,"deliveryMode":{"transportType":"webhook","address":"https://h/x","verificationToken":"t"}}`},
		{"POST", "", `{"eventFilters":null,"deliveryMode":{}}`},
		{"POST", "", `[]`},
		{"PUT", "/x", `{"eventFilters":["/account/~/extension/~/presence"],"deliveryMode":{"transportType":"WebHook","address":"https://[::1]:99999/"}}`},
		{"POST", "/x/renew", ""},
		{"DELETE", "/x", ""},
		{"GET", "", ""},
	} {
		f.Add(seed.method, seed.path, seed.body, true)
	}
	env := newSubscriptionEnv(f)
	f.Fuzz(func(t *testing.T, method, path, body string, admin bool) {
		switch method {
		case "GET", "POST", "PUT", "DELETE":
		default:
			return
		}
		if strings.ContainsAny(path, " ?#%\\") || (path != "" && !strings.HasPrefix(path, "/")) {
			return
		}
		if _, err := url.ParseRequestURI("/restapi/v1.0/subscription" + path); err != nil {
			return
		}
		as := "bob"
		if admin {
			as = "alice"
		}
		rec := env.do(as, method, path, body)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: status %d %s", method, path, body, rec.Code, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("%s %s %q: %d, content type %q", method, path, body, rec.Code, ct)
		}
	})
}
