package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/oauth"
	"github.com/callbridge/widget-server/internal/presence"
	"github.com/callbridge/widget-server/internal/store"
	"github.com/callbridge/widget-server/internal/telephony"
)

// historyEnv is a widget server with store-backed sessions, an account
// with two users, and a session cookie for each. The call log and the
// presence it shows are the platform API's (internal/api tests them): here
// they are stand-ins that record what the endpoints ask of them.
type historyEnv struct {
	*testEnv
	db         *store.DB
	alice, bob identity.Extension
	cookies    map[string]string // by user: the Cookie header of a signed-in widget
	history    *fakeHistory
	presence   *fakePresence
}

// fakeHistory answers the call log with one record naming the extension
// and the query it was asked for, or a 400 for perPage=0.
type fakeHistory struct{}

func (fakeHistory) CallLogRecords(_ context.Context, acct identity.Account, ext identity.Extension, q url.Values) (any, error) {
	if q.Get("perPage") == "0" {
		return nil, httperror.InvalidParam("perPage", "an integer from 1 to 1000")
	}
	return []map[string]any{{"extension": ext.ID, "account": acct.ID, "query": q.Encode()}}, nil
}

// syncPresence is the presence event of the given statuses.
func syncPresence(telephonyStatus, userStatus, dndStatus string) bridge.SyncPresence {
	return bridge.NewSyncPresence(presence.Of(telephony.TelephonyStatus(telephonyStatus),
		presence.UserPresence{UserStatus: userStatus, DNDStatus: dndStatus}))
}

// fakePresence keeps what was set per extension, refusing userStatus Away.
type fakePresence struct {
	mu  sync.Mutex
	set map[int64]bridge.SyncPresence
}

func (p *fakePresence) SyncPresence(_ context.Context, ext int64) (bridge.SyncPresence, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if v, ok := p.set[ext]; ok {
		return v, nil
	}
	return syncPresence("NoCall", "Available", "TakeAllCalls"), nil
}

func (p *fakePresence) UpdateUserPresence(ctx context.Context, ext int64, userStatus, dndStatus *string) error {
	if userStatus != nil && *userStatus == "Away" {
		return httperror.InvalidParam("userStatus", "one of Available, Busy, Offline")
	}
	cur, _ := p.SyncPresence(ctx, ext)
	if userStatus != nil {
		cur.UserStatus = *userStatus
	}
	if dndStatus != nil {
		cur.DNDStatus = *dndStatus
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.set == nil {
		p.set = map[int64]bridge.SyncPresence{}
	}
	p.set[ext] = syncPresence(cur.TelephonyStatus, cur.UserStatus, cur.DNDStatus)
	return nil
}

func newHistoryEnv(t testing.TB) *historyEnv {
	t.Helper()
	h := &historyEnv{cookies: map[string]string{}, history: &fakeHistory{}, presence: &fakePresence{}}
	var sessions *oauth.Sessions
	h.testEnv = newTestEnvWith(t, func(d *Deps) {
		h.db = d.Apps.(*store.DB)
		var err error
		sessions, err = oauth.NewSessions(h.db, nil, []byte(strings.Repeat("s", 32)), slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		d.Sessions, d.CallLog, d.Presence = sessions, h.history, h.presence
	})
	ctx := context.Background()
	acct := identity.Account{Company: "Test Co.", MainNumber: "+16505550100", CountryCode: "US", AreaCode: "650"}
	if err := h.db.CreateAccount(ctx, &acct); err != nil {
		t.Fatal(err)
	}
	for _, ext := range []*identity.Extension{
		{AccountID: acct.ID, Number: "101", Name: "Alice Adams", Email: "alice@test.test", DirectNumbers: []string{"+16505550101", "+16505550111"}},
		{AccountID: acct.ID, Number: "102", Name: "Bob Brown", Email: "bob@test.test"},
	} {
		ext.Role, ext.Status = identity.RoleUser, identity.StatusEnabled
		if err := h.db.CreateExtension(ctx, ext, "hash"); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	if _, h.alice, err = h.srv.Directory.ExtensionByEmail(ctx, "alice@test.test"); err != nil {
		t.Fatal(err)
	}
	if _, h.bob, err = h.srv.Directory.ExtensionByEmail(ctx, "bob@test.test"); err != nil {
		t.Fatal(err)
	}
	for name, ext := range map[string]identity.Extension{"alice": h.alice, "bob": h.bob} {
		sess, err := sessions.Create(ctx, "demo", ext.ID, &oauth2.Token{AccessToken: "token-" + name})
		if err != nil {
			t.Fatal(err)
		}
		h.cookies[name] = h.signedInCookie(t, sess.ID)
	}
	h.cookies["anonymous"] = h.anonymousCookie(t)
	return h
}

// signedInCookie is the session cookie the widget holds after signing in to
// the server-side session sid.
func (h *historyEnv) signedInCookie(t testing.TB, sid string) string {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	sess, _ := h.srv.Cookies.Get(req, SessionCookie)
	w := widgetCookie{sess}
	w.renew(sid, true)
	w.setApp("demo")
	rec := httptest.NewRecorder()
	if err := sess.Save(req, rec); err != nil {
		t.Fatal(err)
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == SessionCookie {
			return c.Name + "=" + c.Value
		}
	}
	t.Fatal("no session cookie saved")
	return ""
}

// anonymousCookie is the cookie of a widget page that nobody signed in to.
func (h *historyEnv) anonymousCookie(t testing.TB) string {
	t.Helper()
	resp, err := http.Get(h.widget.URL + "/app?clientId=demo")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == SessionCookie {
			return c.Name + "=" + c.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}

// widgetRequest sends a request as the widget's script does: with the
// widget header, from the widget's origin, with the user's cookie.
func (h *historyEnv) widgetRequest(t *testing.T, user, method, path, body string, header ...string) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, h.widget.URL+path, r)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(widgetHeader, "1")
	req.Header.Set(clientHeader, "demo")
	req.Header.Set("Origin", "http://localhost:8080")
	if user != "" {
		req.Header.Set("Cookie", h.cookies[user])
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s %s: content type %q", method, path, ct)
	}
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode, out
}

// TestWidgetCallLog: the history page's endpoint answers the signed-in
// user's call log, asking for it with the request's query (the records
// themselves: internal/api TestCallLogRecords).
func TestWidgetCallLog(t *testing.T) {
	h := newHistoryEnv(t)
	for user, ext := range map[string]identity.Extension{"alice": h.alice, "bob": h.bob} {
		status, body := h.widgetRequest(t, user, http.MethodGet, "/widget/call-log?direction=Inbound&perPage=3", "")
		records, _ := body["records"].([]any)
		if status != http.StatusOK || len(records) != 1 {
			t.Fatalf("%s: %d %v", user, status, body)
		}
		r := records[0].(map[string]any)
		if r["extension"] != float64(ext.ID) || r["account"] != float64(ext.AccountID) || r["query"] != "direction=Inbound&perPage=3" {
			t.Errorf("%s's call log was asked as %v", user, r)
		}
	}
}

func TestWidgetPhoneNumbers(t *testing.T) {
	h := newHistoryEnv(t)
	status, body := h.widgetRequest(t, "alice", http.MethodGet, "/widget/phone-numbers", "")
	got, _ := json.Marshal(body["records"])
	want := `[{"phoneNumber":"+16505550101","usageType":"DirectNumber"},{"phoneNumber":"+16505550111","usageType":"DirectNumber"},` +
		`{"phoneNumber":"+16505550100","usageType":"MainCompanyNumber"}]`
	if status != http.StatusOK || string(got) != want {
		t.Errorf("alice's numbers: %d %s", status, got)
	}
	status, body = h.widgetRequest(t, "bob", http.MethodGet, "/widget/phone-numbers", "")
	got, _ = json.Marshal(body["records"])
	if status != http.StatusOK || string(got) != `[{"phoneNumber":"+16505550100","usageType":"MainCompanyNumber"}]` {
		t.Errorf("bob's numbers: %d %s", status, got)
	}
}

// TestWidgetSetPresence: PUT /widget/presence sets what the body gives of
// the signed-in user's presence and answers the presence in the words of
// rc-adapter-syncPresence (checks, storage and the switch: internal/api
// TestUpdateUserPresence).
func TestWidgetSetPresence(t *testing.T) {
	h := newHistoryEnv(t)
	status, body := h.widgetRequest(t, "alice", http.MethodPut, "/widget/presence", `{"userStatus":"Busy","dndStatus":"DoNotAcceptAnyCalls"}`)
	want := map[string]any{"telephonyStatus": "NoCall", "userStatus": "Busy", "dndStatus": "DoNotAcceptAnyCalls", "presenceStatus": "Busy"}
	if status != http.StatusOK || fmt.Sprint(body) != fmt.Sprint(want) {
		t.Fatalf("answer %d %v, want %v", status, body, want)
	}
	// What is left out stays.
	status, body = h.widgetRequest(t, "alice", http.MethodPut, "/widget/presence", `{"dndStatus":"TakeAllCalls"}`)
	if status != http.StatusOK || body["userStatus"] != "Busy" || body["dndStatus"] != "TakeAllCalls" {
		t.Errorf("partial update: %d %v", status, body)
	}
	// Bob's presence is his own.
	if p, _ := h.presence.SyncPresence(context.Background(), h.bob.ID); p.UserStatus != "Available" {
		t.Errorf("bob's presence changed: %+v", p)
	}
	// The state the widget reloads shows it.
	status, body = h.widgetRequest(t, "alice", http.MethodGet, "/widget/state", "")
	if p, _ := body["presence"].(map[string]any); status != http.StatusOK || p["userStatus"] != "Busy" {
		t.Errorf("state %d %v", status, body)
	}
}

// TestWidgetHistoryRefusals covers the answers of the three endpoints to
// requests they must refuse, each a JSON error naming what is wrong (the
// refusals of the values themselves: internal/api TestCallLogRecords and
// TestUpdateUserPresence; here the stand-ins refuse perPage=0 and Away so
// that their errors are seen to reach the widget).
func TestWidgetHistoryRefusals(t *testing.T) {
	h := newHistoryEnv(t)
	tests := []struct {
		name, user, method, path, body string
		header                         []string
		status                         int
		code, param                    string
	}{
		{"no widget header", "alice", "GET", "/widget/call-log", "", []string{widgetHeader, ""}, 403, "MissingHeader", ""},
		{"other origin", "alice", "GET", "/widget/call-log", "", []string{"Origin", hostOrigin}, 403, "ForeignOrigin", ""},
		{"presence from other origin", "alice", "PUT", "/widget/presence", `{"userStatus":"Busy"}`, []string{"Origin", "https://evil.test"}, 403, "ForeignOrigin", ""},
		{"presence without header", "alice", "PUT", "/widget/presence", `{"userStatus":"Busy"}`, []string{widgetHeader, ""}, 403, "MissingHeader", ""},
		{"no cookie", "", "GET", "/widget/call-log", "", nil, 401, "NotSignedIn", ""},
		{"signed out", "anonymous", "GET", "/widget/call-log", "", nil, 401, "NotSignedIn", ""},
		{"signed out presence", "anonymous", "PUT", "/widget/presence", `{"userStatus":"Busy"}`, nil, 401, "NotSignedIn", ""},
		{"signed out numbers", "anonymous", "GET", "/widget/phone-numbers", "", nil, 401, "NotSignedIn", ""},
		{"bad perPage", "alice", "GET", "/widget/call-log?perPage=0", "", nil, 400, "InvalidParameter", "perPage"},
		{"bad userStatus", "alice", "PUT", "/widget/presence", `{"userStatus":"Away"}`, nil, 400, "InvalidParameter", "userStatus"},
		{"wrong type", "alice", "PUT", "/widget/presence", `{"userStatus":1}`, nil, 400, "InvalidParameter", "userStatus"},
		{"unknown field", "alice", "PUT", "/widget/presence", `{"status":"Busy"}`, nil, 400, "InvalidParameter", "status"},
		{"no body", "alice", "PUT", "/widget/presence", "", nil, 400, "InvalidJSON", ""},
		{"not JSON", "alice", "PUT", "/widget/presence", `{"userStatus":`, nil, 400, "InvalidJSON", ""},
		{"form body", "alice", "PUT", "/widget/presence", `userStatus=Busy`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "UnsupportedMediaType", ""},
		{"wrong method", "alice", "POST", "/widget/call-log", "", nil, 404, "NotFound", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := h.widgetRequest(t, tt.user, tt.method, tt.path, tt.body, tt.header...)
			if status != tt.status || body["errorCode"] != tt.code {
				t.Fatalf("%d %v, want %d %s", status, body, tt.status, tt.code)
			}
			errs, _ := body["errors"].([]any)
			if len(errs) != 1 {
				t.Fatalf("errors %v", body["errors"])
			}
			if got, _ := errs[0].(map[string]any)["parameterName"].(string); got != tt.param {
				t.Errorf("parameterName %q, want %q", got, tt.param)
			}
		})
	}
	if p, _ := h.presence.SyncPresence(context.Background(), h.alice.ID); p.UserStatus != "Available" {
		t.Errorf("a refused request changed the presence: %+v", p)
	}
}

// FuzzWidgetHistoryRequests sends arbitrary queries to the widget's call log
// and bodies to its presence: the answer is JSON, never a panic or a 5xx
// (that a presence accepted is one of the documented values: internal/api
// FuzzUserPresence).
func FuzzWidgetHistoryRequests(f *testing.F) {
	f.Add("perPage=50", `{"userStatus":"Busy","dndStatus":"DoNotAcceptAnyCalls"}`)
	f.Add("perPage=0&page=-1", `{"userStatus":null}`)
	f.Add("phoneNumber=%2B1+650+555+0100&direction=inbound&view=Detailed", `{"dndStatus":"takedepartmentcallsonly"}`)
	f.Add("dateFrom=2026-01-01&dateTo=2025-01-01", `[]`)
	f.Add("perPage=1000000000000000000000", `{"userStatus":"Offline","extra":true}`)
	h := newHistoryEnv(f)
	handler := h.srv.Widget()
	f.Fuzz(func(t *testing.T, query, body string) {
		u, err := url.ParseRequestURI("/widget/call-log?" + query)
		if err != nil || strings.ContainsFunc(query, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return
		}
		for _, r := range []*http.Request{
			httptest.NewRequest(http.MethodGet, u.String(), nil),
			httptest.NewRequest(http.MethodPut, "/widget/presence", strings.NewReader(body)),
		} {
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set(widgetHeader, "1")
			r.Header.Set(clientHeader, "demo")
			r.Header.Set("Cookie", h.cookies["alice"])
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, r)
			if rec.Code >= 500 {
				t.Fatalf("%s %s %q: status %d %s", r.Method, r.URL, body, rec.Code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("%s %s: content type %q", r.Method, r.URL, ct)
			}
		}
	})
}
