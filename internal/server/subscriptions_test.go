package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/webhooks"
)

func init() {
	// docs/api-subscriptions.md: $WEBHOOK_URL is a receiver that passes the
	// address check, $SUBSCRIPTION_ID a subscription of the admin's.
	docsSeeders = append(docsSeeders, func(t *testing.T, srv *instance, admin *platform) map[string]string {
		r := newHookReceiver(t)
		sub := subscribe(t, admin, r.URL+"/hooks/phone", "", 0, "/restapi/v1.0/account/~/extension/~/presence")
		return map[string]string{"WEBHOOK_URL": r.URL + "/hooks/phone", "SUBSCRIPTION_ID": sub.ID}
	})
}

// hookReceiver is a CRM's webhook endpoint: it passes the address check,
// answers the next fail notifications with 500, and hands every
// notification it gets to the test.
type hookReceiver struct {
	*httptest.Server
	got  chan hookDelivery
	fail atomic.Int32
}

type hookDelivery struct {
	header http.Header
	raw    []byte
	n      struct {
		UUID           string         `json:"uuid"`
		Event          string         `json:"event"`
		Timestamp      string         `json:"timestamp"`
		SubscriptionID string         `json:"subscriptionId"`
		OwnerID        string         `json:"ownerId"`
		Body           map[string]any `json:"body"`
	}
}

func newHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	r := &hookReceiver{got: make(chan hookDelivery, 1000)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if tok := req.Header.Get("Validation-Token"); tok != "" {
			w.Header().Set("Validation-Token", tok)
			return
		}
		d := hookDelivery{header: req.Header.Clone()}
		d.raw, _ = io.ReadAll(req.Body)
		if err := json.Unmarshal(d.raw, &d.n); err != nil {
			t.Errorf("notification is not JSON: %s", d.raw)
		}
		r.got <- d
		if r.fail.Add(-1) >= 0 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	t.Cleanup(r.Close)
	return r
}

// next returns the next notification of the subscription.
func (r *hookReceiver) next(t *testing.T, sub string) hookDelivery {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case d := <-r.got:
			if d.n.SubscriptionID == sub {
				return d
			}
		case <-deadline:
			t.Fatalf("no notification for subscription %s", sub)
		}
	}
}

// verified checks a notification's signature and verification token.
func (d hookDelivery) verified(t *testing.T, secret, token string) hookDelivery {
	t.Helper()
	if err := webhooks.Verify(secret, d.header, d.raw, time.Now(), 5*time.Minute); err != nil {
		t.Fatalf("notification signature: %v\n%s", err, d.raw)
	}
	if got := d.header.Get("Verification-Token"); got != token {
		t.Fatalf("Verification-Token %q, want %q", got, token)
	}
	return d
}

func (d hookDelivery) seq() int64 { return int64(d.n.Body["sequence"].(float64)) }

type subscription struct {
	ID             string   `json:"id"`
	URI            string   `json:"uri"`
	Status         string   `json:"status"`
	EventFilters   []string `json:"eventFilters"`
	CreationTime   string   `json:"creationTime"`
	ExpirationTime string   `json:"expirationTime"`
	ExpiresIn      int64    `json:"expiresIn"`
	OwnerID        string   `json:"ownerId"`
	DeliveryMode   struct {
		TransportType     string `json:"transportType"`
		Address           string `json:"address"`
		VerificationToken string `json:"verificationToken"`
		SigningSecret     string `json:"signingSecret"`
	} `json:"deliveryMode"`
}

func subscriptionRequest(address, token string, expiresIn int, filters ...string) string {
	q := make([]string, len(filters))
	for i, f := range filters {
		q[i] = strconv.Quote(f)
	}
	expires := ""
	if expiresIn > 0 {
		expires = fmt.Sprintf(`, "expiresIn": %d`, expiresIn)
	}
	return fmt.Sprintf(`{"eventFilters": [%s], "deliveryMode": {"transportType": "WebHook", "address": %q, "verificationToken": %q}%s}`,
		strings.Join(q, ", "), address, token, expires)
}

// subscribe creates a subscription that must succeed.
func subscribe(t *testing.T, p *platform, address, token string, expiresIn int, filters ...string) subscription {
	t.Helper()
	return decodeSubscription(t, p.call("POST", "/subscription", subscriptionRequest(address, token, expiresIn, filters...)))
}

func decodeSubscription(t *testing.T, r response) subscription {
	t.Helper()
	var s subscription
	if r.StatusCode != http.StatusOK || json.Unmarshal([]byte(r.body), &s) != nil {
		t.Fatalf("subscription: %d %s", r.StatusCode, r.body)
	}
	return s
}

// TestSubscriptionAPI drives every subscription endpoint with real tokens:
// create, read, list, update, renew, delete, and their refusals.
func TestSubscriptionAPI(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{APIRateLimit: 10000})
	alice, bob := newPlatform(t, srv, "alice@demo.test"), newPlatform(t, srv, "bob@demo.test")
	aliceID, bobID := alice.extensionID(), bob.extensionID()
	r := newHookReceiver(t)

	s := subscribe(t, bob, r.URL+"/hook", "bob-token", 0, "/restapi/v1.0/account/~/extension/~/presence?detailedTelephonyState=true",
		"/account/~/extension/~/telephony/sessions")
	created, err1 := time.Parse(time.RFC3339, s.CreationTime)
	expires, err2 := time.Parse(time.RFC3339, s.ExpirationTime)
	acct := int64(bob.get("/account/~/extension/~")["account"].(map[string]any)["id"].(float64))
	wantFilters := fmt.Sprintf("/restapi/v1.0/account/%d/extension/%d/presence?detailedTelephonyState=true,/restapi/v1.0/account/%d/extension/%d/telephony/sessions",
		acct, bobID, acct, bobID)
	if err1 != nil || err2 != nil || expires.Sub(created) != 7*24*time.Hour || s.ExpiresIn != 604800 || s.Status != "Active" ||
		s.URI != srv.WidgetURL+"/restapi/v1.0/subscription/"+s.ID || strings.Join(s.EventFilters, ",") != wantFilters ||
		s.OwnerID != strconv.FormatInt(bobID, 10) || s.DeliveryMode.TransportType != "WebHook" || s.DeliveryMode.Address != r.URL+"/hook" ||
		s.DeliveryMode.VerificationToken != "bob-token" || len(s.DeliveryMode.SigningSecret) != 64 {
		t.Fatalf("created %+v", s)
	}
	got := decodeSubscription(t, bob.call("GET", "/subscription/"+s.ID, ""))
	if got.ID != s.ID || got.DeliveryMode.SigningSecret != "" || got.Status != "Active" {
		t.Fatalf("read %+v", got)
	}
	if l := bob.get("/subscription"); len(records(t, l)) != 1 || records(t, l)[0]["id"] != s.ID || l["uri"] != srv.WidgetURL+"/restapi/v1.0/subscription" {
		t.Fatalf("Bob's list %v", l)
	}
	// The administrator subscribes to Bob's sessions, sees both, and may
	// manage Bob's; Bob sees only his.
	a := subscribe(t, alice, r.URL+"/admin", "", 60, fmt.Sprintf("/restapi/v1.0/account/~/extension/%d/telephony/sessions", bobID))
	if a.ExpiresIn != 60 || a.DeliveryMode.VerificationToken != "" {
		t.Fatalf("admin's subscription %+v", a)
	}
	if l := records(t, alice.get("/subscription")); len(l) != 2 {
		t.Fatalf("the admin's list %v", l)
	}
	if l := records(t, bob.get("/subscription")); len(l) != 1 {
		t.Fatalf("Bob's list %v", l)
	}
	wantAPIError(t, bob.call("GET", "/subscription/"+a.ID, ""), 404, "NotFound", "")

	// PUT replaces the filters, and renews for a new expiresIn.
	u := decodeSubscription(t, alice.call("PUT", "/subscription/"+s.ID,
		`{"eventFilters": ["/restapi/v1.0/account/~/extension/`+strconv.FormatInt(bobID, 10)+`/presence"], "expiresIn": 3600}`))
	if len(u.EventFilters) != 1 || !strings.HasSuffix(u.EventFilters[0], "/presence") || u.ExpiresIn != 3600 || u.DeliveryMode.Address != r.URL+"/hook" {
		t.Fatalf("updated %+v", u)
	}
	// Renew gives the lifetime again, from now.
	time.Sleep(1100 * time.Millisecond)
	rn := decodeSubscription(t, bob.call("POST", "/subscription/"+s.ID+"/renew", ""))
	if rn.ExpirationTime <= u.ExpirationTime || rn.ExpiresIn != 3600 {
		t.Fatalf("renewed %+v after %+v", rn, u)
	}
	d := decodeSubscription(t, bob.call("DELETE", "/subscription/"+s.ID, ""))
	if d.ID != s.ID {
		t.Fatalf("deleted %+v", d)
	}
	for _, m := range []string{"GET", "DELETE"} {
		wantAPIError(t, bob.call(m, "/subscription/"+s.ID, ""), 404, "NotFound", "")
	}
	wantAPIError(t, bob.call("POST", "/subscription/"+s.ID+"/renew", ""), 404, "NotFound", "")

	// Refusals.
	body := func(filter string) string { return subscriptionRequest(r.URL, "", 0, filter) }
	wantAPIError(t, bob.call("POST", "/subscription", body("/restapi/v1.0/account/~/extension/~/call-log")), 400, "InvalidParameter", "eventFilters")
	wantAPIError(t, bob.call("POST", "/subscription", body(fmt.Sprintf("/restapi/v1.0/account/~/extension/%d/presence", aliceID))),
		403, "InsufficientPermissions", "")
	wantAPIError(t, alice.call("POST", "/subscription", body("/restapi/v1.0/account/~/extension/987654/presence")), 400, "InvalidParameter", "eventFilters")
	wantAPIError(t, bob.call("POST", "/subscription", subscriptionRequest(r.URL, "", 400*24*3600, "/account/~/extension/~/presence")),
		400, "InvalidParameter", "expiresIn")
	wantAPIError(t, bob.call("POST", "/subscription", `{"eventFilters": ["/account/~/extension/~/presence"], "deliveryMode": {"transportType": "PubNub"}}`),
		400, "InvalidParameter", "deliveryMode.transportType")
	silent := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer silent.Close()
	wantAPIError(t, bob.call("POST", "/subscription", subscriptionRequest(silent.URL, "", 0, "/account/~/extension/~/presence")),
		400, "WebhookVerificationFailed", "deliveryMode.address")
	wantAPIError(t, bob.call("PUT", "/subscription/"+a.ID, body("/account/~/extension/~/presence")), 404, "NotFound", "")
	r2 := do(t, bob.c, "GET", bob.base+"/subscription", nil)
	wantAPIError(t, r2, 401, "TokenMissing", "")

	// The account's limit: 20, whoever creates them.
	n := len(records(t, alice.get("/subscription")))
	for i := n; i < webhooks.DefaultLimit; i++ {
		subscribe(t, bob, r.URL, "", 0, "/account/~/extension/~/presence")
	}
	over := alice.call("POST", "/subscription", body("/account/~/extension/~/presence"))
	wantAPIError(t, over, 403, "SubscriptionLimitExceeded", "")
	if !strings.Contains(over.body, "20") {
		t.Fatalf("the limit error does not say the limit: %s", over.body)
	}
	// Deleting one makes room.
	alice.call("DELETE", "/subscription/"+a.ID, "")
	subscribe(t, alice, r.URL, "", 0, "/account/~/extension/~/presence")
}

// TestPresenceWebhooks: a CRM's receiver gets signed notifications of
// presence, with a sequence that only grows, when the user changes their
// status through the API and when they call; telephony-session
// notifications of the call; retries after failures; nothing once the
// subscription expired.
func TestPresenceWebhooks(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{APIRateLimit: 10000})
	alice, bob := newPlatform(t, srv, "alice@demo.test"), newPlatform(t, srv, "bob@demo.test")
	aliceID := alice.extensionID()
	r := newHookReceiver(t)
	sub := subscribe(t, alice, r.URL, "crm-token", 0, "/restapi/v1.0/account/~/extension/~/presence?detailedTelephonyState=true",
		"/restapi/v1.0/account/~/extension/~/telephony/sessions")
	secret := sub.DeliveryMode.SigningSecret
	acct := int64(alice.get("/account/~/extension/~")["account"].(map[string]any)["id"].(float64))
	presenceEvent := fmt.Sprintf("/restapi/v1.0/account/%d/extension/%d/presence?detailedTelephonyState=true", acct, aliceID)
	sessionsEvent := fmt.Sprintf("/restapi/v1.0/account/%d/extension/%d/telephony/sessions", acct, aliceID)
	before := int64(alice.get("/account/~/extension/~/presence")["sequence"].(float64))

	// A status change alone takes a new, larger sequence, which the
	// presence resource shows from then on.
	const presence = "/account/~/extension/~/presence"
	if r := alice.call("PUT", presence, `{"userStatus": "Busy"}`); r.StatusCode != http.StatusOK {
		t.Fatalf("PUT presence: %d %s", r.StatusCode, r.body)
	}
	busy := r.next(t, sub.ID).verified(t, secret, "crm-token")
	b := busy.n.Body
	if busy.n.Event != presenceEvent || busy.n.OwnerID != strconv.FormatInt(aliceID, 10) || len(busy.n.UUID) != 36 ||
		b["userStatus"] != "Busy" || b["presenceStatus"] != "Busy" || b["telephonyStatus"] != "NoCall" || b["dndStatus"] != "TakeAllCalls" ||
		int64(b["extensionId"].(float64)) != aliceID || busy.seq() <= before {
		t.Fatalf("presence notification %s (sequence before %d)", busy.raw, before)
	}
	if calls, ok := b["activeCalls"].([]any); !ok || len(calls) != 0 {
		t.Fatalf("detailed presence without activeCalls: %s", busy.raw)
	}
	if seq := int64(alice.get(presence)["sequence"].(float64)); seq != busy.seq() {
		t.Fatalf("presence resource sequence %d, notification %d", seq, busy.seq())
	}
	// The same status again changes nothing: the next notification is the
	// next change.
	alice.call("PUT", presence, `{"userStatus": "Busy"}`)
	alice.call("PUT", presence, `{"userStatus": "Available"}`)
	avail := r.next(t, sub.ID).verified(t, secret, "crm-token")
	if avail.n.Body["userStatus"] != "Available" || avail.seq() <= busy.seq() {
		t.Fatalf("after Available: %s", avail.raw)
	}

	// A call to the echo line: Ringing, CallConnected, NoCall, each with the
	// call; and the session's changes.
	tab := openTab(t, srv, "alice@demo.test")
	media := newPeer(t)
	call := tab.dial(t, "+15550101", media)
	last := avail.seq()
	var statuses []string
	var sessions []hookDelivery
	for len(statuses) == 0 || statuses[len(statuses)-1] != "NoCall" {
		d := r.next(t, sub.ID).verified(t, secret, "crm-token")
		switch d.n.Event {
		case sessionsEvent:
			sessions = append(sessions, d)
			continue
		case presenceEvent:
		default:
			t.Fatalf("event %q", d.n.Event)
		}
		if d.seq() <= last {
			t.Fatalf("presence sequence %d after %d", d.seq(), last)
		}
		last = d.seq()
		st := d.n.Body["telephonyStatus"].(string)
		statuses = append(statuses, st)
		calls := d.n.Body["activeCalls"].([]any)
		if len(calls) != 1 {
			t.Fatalf("%s with %d active calls: %s", st, len(calls), d.raw)
		}
		c := calls[0].(map[string]any)
		if c["telephonySessionId"] != call["telephonySessionId"] || c["telephonyStatus"] != st || c["to"] != "+15550101" || c["direction"] != "Outbound" {
			t.Fatalf("%s: active call %v of call %v", st, c, call)
		}
		switch st {
		case "CallConnected":
			media.waitConnected(t)
			tab.hangup(t, call["id"].(string))
		case "NoCall":
			if d.n.Body["presenceStatus"] != "Available" {
				t.Fatalf("after the call %s", d.raw)
			}
		}
	}
	if strings.Join(statuses, ",") != "Ringing,CallConnected,NoCall" {
		t.Fatalf("presence went %v", statuses)
	}
	var sessionSeq int64
	for _, d := range sessions {
		s := d.n.Body
		if s["id"] != call["telephonySessionId"] || s["sessionId"] != call["sessionId"] || int64(s["sequence"].(float64)) <= sessionSeq {
			t.Fatalf("session notification %s after sequence %d", d.raw, sessionSeq)
		}
		sessionSeq = int64(s["sequence"].(float64))
	}
	// Each event's session goes out before its presence: the last session
	// notification before NoCall shows Alice's party disconnected.
	if len(sessions) < 2 {
		t.Fatalf("%d session notifications", len(sessions))
	}
	end := sessions[len(sessions)-1]
	for _, p := range end.n.Body["parties"].([]any) {
		p := p.(map[string]any)
		owner, _ := p["owner"].(map[string]any)
		if owner != nil && owner["extensionId"] == strconv.FormatInt(aliceID, 10) && p["status"].(map[string]any)["code"] != "Disconnected" {
			t.Fatalf("last session notification %s", end.raw)
		}
	}

	// Bob's receiver fails twice: the third attempt, a few seconds later,
	// delivers the same notification.
	flaky := newHookReceiver(t)
	flaky.fail.Store(2)
	bs := subscribe(t, bob, flaky.URL, "", 0, "/restapi/v1.0/account/~/extension/~/presence")
	bob.call("PUT", presence, `{"dndStatus": "DoNotAcceptAnyCalls"}`)
	first := flaky.next(t, bs.ID).verified(t, bs.DeliveryMode.SigningSecret, "")
	for range 2 {
		again := flaky.next(t, bs.ID).verified(t, bs.DeliveryMode.SigningSecret, "")
		if again.n.UUID != first.n.UUID || again.seq() != first.seq() {
			t.Fatalf("retry %s of %s", again.raw, first.raw)
		}
	}
	if first.n.Body["dndStatus"] != "DoNotAcceptAnyCalls" || first.n.Body["activeCalls"] != nil {
		t.Fatalf("Bob's presence %s", first.raw)
	}

	// An expired subscription gets nothing; extended, it gets what comes after.
	short := newHookReceiver(t)
	ss := subscribe(t, bob, short.URL, "", 1, "/restapi/v1.0/account/~/extension/~/presence")
	deadline := time.Now().Add(patience)
	for decodeSubscription(t, bob.call("GET", "/subscription/"+ss.ID, "")).Status != "Suspended" {
		if time.Now().After(deadline) {
			t.Fatal("the subscription did not expire")
		}
		time.Sleep(100 * time.Millisecond)
	}
	bob.call("PUT", presence, `{"userStatus": "Offline"}`) // while expired
	if s := decodeSubscription(t, bob.call("PUT", "/subscription/"+ss.ID, `{"eventFilters": ["/account/~/extension/~/presence"], "expiresIn": 3600}`)); s.Status != "Active" {
		t.Fatalf("extended %+v", s)
	}
	bob.call("PUT", presence, `{"userStatus": "Available"}`)
	if d := short.next(t, ss.ID); d.n.Body["userStatus"] != "Available" {
		t.Fatalf("the first notification after expiry is %s: one sent while expired was delivered", d.raw)
	}
}

// TestSubscriptionErrorsHideTheNetwork: an address that does not pass the
// address check is refused with one message that tells nothing of what was
// found there — no address, port, dial, TLS or status text — so the API
// cannot be used to scan the networks the server reaches. Each kind of
// failure is tried on create and on update.
func TestSubscriptionErrorsHideTheNetwork(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{APIRateLimit: 10000})
	bob := newPlatform(t, srv, "bob@demo.test")
	good := newHookReceiver(t)
	s := subscribe(t, bob, good.URL, "", 0, "/account/~/extension/~/presence")

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + closed.Addr().String() + "/hook"
	closed.Close()
	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()
	silent := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer silent.Close()
	redirect := httptest.NewServer(http.RedirectHandler(good.URL, http.StatusFound))
	defer redirect.Close()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "internal admin console", http.StatusInternalServerError)
	}))
	defer failing.Close()
	untrusted := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Validation-Token", r.Header.Get("Validation-Token"))
	}))
	defer untrusted.Close()

	cases := []struct{ name, address string }{
		{"connection refused", closedURL},
		{"404", notFound.URL + "/admin"},
		{"2xx without the token", silent.URL},
		{"redirect", redirect.URL},
		{"500 with a body", failing.URL},
		{"untrusted certificate", untrusted.URL},
		{"TLS to a plain port", strings.Replace(notFound.URL, "http://", "https://", 1)},
		{"plain HTTP to a TLS port", strings.Replace(untrusted.URL, "https://", "http://", 1)},
	}
	for _, c := range cases {
		u, _ := url.Parse(c.address)
		leaks := []string{u.Hostname(), u.Port(), "dial", "tcp", "refused", "connect", "x509", "tls", "TLS", "certificate",
			"EOF", "404", "302", "500", "Not Found", "admin", "HTTP response", "handshake", "timeout"}
		requests := map[string]func() response{
			"create": func() response {
				return bob.call("POST", "/subscription", subscriptionRequest(c.address, "", 0, "/account/~/extension/~/presence"))
			},
			"update": func() response {
				return bob.call("PUT", "/subscription/"+s.ID, subscriptionRequest(c.address, "", 0, "/account/~/extension/~/presence"))
			},
		}
		for what, call := range requests {
			t.Run(what+"/"+c.name, func(t *testing.T) {
				r := call()
				wantAPIError(t, r, 400, "WebhookVerificationFailed", "deliveryMode.address")
				for _, leak := range leaks {
					if strings.Contains(r.body, leak) {
						t.Errorf("the answer tells %q: %s", leak, r.body)
					}
				}
			})
		}
	}
	// The subscription kept its receiver through the refused updates.
	if got := decodeSubscription(t, bob.call("GET", "/subscription/"+s.ID, "")); got.DeliveryMode.Address != good.URL {
		t.Fatalf("after refused updates %+v", got)
	}
}

// TestSubscriptionSecretsAtRest: the database in the data dir holds
// neither a subscription's signing secret nor its verification token; after
// a restart on the same data dir its notifications are still signed with
// the secret the client was given.
func TestSubscriptionSecretsAtRest(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "data")
	ctx, stop := context.WithCancel(context.Background())
	srv, done := runUntil(t, ctx, Config{DataDir: dataDir, APIRateLimit: 10000})
	alice := newPlatform(t, srv, "alice@demo.test")
	r := newHookReceiver(t)
	const presence = "/account/~/extension/~/presence"
	sub := subscribe(t, alice, r.URL, "crm-token-7f3a", 0, presence)
	secret := sub.DeliveryMode.SigningSecret
	stop()
	if err := <-done; err != nil {
		t.Fatalf("server: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(dataDir, "callbridge.db*"))
	if len(files) == 0 {
		t.Fatal("no database in the data dir")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, plain := range []string{secret, "crm-token-7f3a"} {
			if bytes.Contains(b, []byte(plain)) {
				t.Fatalf("%s holds %q", filepath.Base(f), plain)
			}
		}
	}

	srv2, _ := runUntil(t, context.Background(), Config{DataDir: dataDir, APIRateLimit: 10000})
	alice.base = srv2.WidgetURL + "/restapi/v1.0"
	if resp := alice.call("PUT", presence, `{"userStatus": "Busy"}`); resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT presence: %d %s", resp.StatusCode, resp.body)
	}
	if d := r.next(t, sub.ID).verified(t, secret, "crm-token-7f3a"); d.n.Body["userStatus"] != "Busy" {
		t.Fatalf("after the restart %s", d.raw)
	}
}
