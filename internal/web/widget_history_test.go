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
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/oauth"
	"github.com/callbridge/widget-server/internal/presence"
	"github.com/callbridge/widget-server/internal/store"
	"github.com/callbridge/widget-server/internal/telephony"
)

// historyEnv is a widget server with a store-backed call log, presence and
// sessions, an account with two users, and a session cookie for each.
type historyEnv struct {
	*testEnv
	db         *store.DB
	presence   *presence.Keeper
	alice, bob identity.Extension
	cookies    map[string]string // by user: the Cookie header of a signed-in widget
}

func newHistoryEnv(t testing.TB) *historyEnv {
	t.Helper()
	h := &historyEnv{cookies: map[string]string{}}
	var sessions *oauth.Sessions
	h.testEnv = newTestEnvWith(t, func(d *Deps) {
		h.db = d.Apps.(*store.DB)
		var err error
		sessions, err = oauth.NewSessions(h.db, nil, []byte(strings.Repeat("s", 32)), slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		h.presence = presence.New(presence.Config{}, h.db)
		d.Sessions, d.CallLog, d.Presence = sessions, h.db, h.presence
	})
	h.presence.Subscribe(bridge.NewDispatcher(nil, h.hub, h.presence, nil, nil).PresenceEvent)
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

// addCalls stores n calls of alice's, one a minute, the newest a minute
// ago, and one of bob's.
func (h *historyEnv) addCalls(t *testing.T, n int) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	alice := telephony.Endpoint{PhoneNumber: "+16505550101", Name: "Alice Adams", ExtensionNumber: "101"}
	var recs []telephony.CallRecord
	for i := range n {
		at := now.Add(-time.Duration(n-i) * time.Minute)
		line := telephony.Endpoint{PhoneNumber: fmt.Sprintf("+155501%02d", i)}
		rec := telephony.CallRecord{ID: fmt.Sprintf("a%d", i), Extension: h.alice.ID, SessionID: fmt.Sprint(i),
			TelephonySessionID: fmt.Sprintf("s-%d", i), PartyID: fmt.Sprintf("a%d", i), StartTime: at,
			Duration: time.Duration(i) * time.Second, Direction: telephony.Outbound, From: alice, To: line,
			Type: "Voice", Action: "Phone Call", Result: telephony.ResultConnected}
		if i%2 == 1 {
			rec.Direction, rec.From, rec.To, rec.Result = telephony.Inbound, line, alice, telephony.ResultMissed
		}
		recs = append(recs, rec)
	}
	recs = append(recs, telephony.CallRecord{ID: "b0", Extension: h.bob.ID, SessionID: "b", TelephonySessionID: "s-b",
		PartyID: "b0", StartTime: now, Direction: telephony.Outbound, Type: "Voice", Action: "Phone Call", Result: telephony.ResultBusy})
	if err := h.db.AddCallRecords(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
}

func TestWidgetCallLog(t *testing.T) {
	h := newHistoryEnv(t)
	h.addCalls(t, 5)

	status, body := h.widgetRequest(t, "alice", http.MethodGet, "/widget/call-log?perPage=3", "")
	if status != http.StatusOK {
		t.Fatalf("status %d: %v", status, body)
	}
	records, _ := body["records"].([]any)
	var ids []string
	for _, r := range records {
		ids = append(ids, r.(map[string]any)["id"].(string))
	}
	if strings.Join(ids, ",") != "a4,a3,a2" {
		t.Fatalf("records %v, want alice's three newest", ids)
	}
	newest := records[0].(map[string]any)
	if newest["direction"] != "Outbound" || newest["result"] != "Call connected" || newest["duration"] != 4.0 ||
		newest["telephonySessionId"] != "s-4" || newest["to"].(map[string]any)["phoneNumber"] != "+15550104" {
		t.Errorf("newest record %v", newest)
	}
	if missed := records[1].(map[string]any); missed["direction"] != "Inbound" || missed["result"] != "Missed" {
		t.Errorf("second record %v", missed)
	}

	status, body = h.widgetRequest(t, "bob", http.MethodGet, "/widget/call-log", "")
	if records, _ := body["records"].([]any); status != http.StatusOK || len(records) != 1 || records[0].(map[string]any)["id"] != "b0" {
		t.Errorf("bob's call log: %d %v", status, body)
	}
	// Filters are the API's.
	status, body = h.widgetRequest(t, "alice", http.MethodGet, "/widget/call-log?direction=Inbound", "")
	if records, _ := body["records"].([]any); status != http.StatusOK || len(records) != 2 {
		t.Errorf("inbound calls: %d %v", status, body)
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

func TestWidgetSetPresence(t *testing.T) {
	h := newHistoryEnv(t)
	sub, _, _, err := h.hub.Subscribe(bridge.ExtensionGroup(h.alice.ID), "")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	status, body := h.widgetRequest(t, "alice", http.MethodPut, "/widget/presence", `{"userStatus":"busy","dndStatus":"DoNotAcceptAnyCalls"}`)
	want := map[string]any{"telephonyStatus": "NoCall", "userStatus": "Busy", "dndStatus": "DoNotAcceptAnyCalls", "presenceStatus": "Busy"}
	if status != http.StatusOK || fmt.Sprint(body) != fmt.Sprint(want) {
		t.Fatalf("answer %d %v, want %v", status, body, want)
	}
	stored, ok, err := h.db.UserPresence(context.Background(), h.alice.ID)
	if err != nil || !ok || stored.UserStatus != "Busy" || stored.DNDStatus != "DoNotAcceptAnyCalls" {
		t.Errorf("stored %+v %t %v", stored, ok, err)
	}
	select {
	case evs := <-sub.C:
		ev := evs[0]
		var got map[string]any
		json.Unmarshal(ev.Data, &got)
		if got["type"] != "rc-adapter-syncPresence" || got["userStatus"] != "Busy" || got["dndStatus"] != "DoNotAcceptAnyCalls" {
			t.Errorf("event %s", ev.Data)
		}
	case <-time.After(30 * time.Second): // against a hang only
		t.Fatal("alice's widgets were not told")
	}

	// What is left out stays.
	status, body = h.widgetRequest(t, "alice", http.MethodPut, "/widget/presence", `{"dndStatus":"TakeAllCalls"}`)
	if status != http.StatusOK || body["userStatus"] != "Busy" || body["dndStatus"] != "TakeAllCalls" {
		t.Errorf("partial update: %d %v", status, body)
	}
	// Bob's presence is his own.
	if _, ok, _ := h.db.UserPresence(context.Background(), h.bob.ID); ok {
		t.Error("bob's presence changed")
	}
}

// TestWidgetHistoryRefusals covers the answers of the three endpoints to
// requests they must refuse, each a JSON error naming what is wrong.
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
		{"bad direction", "alice", "GET", "/widget/call-log?direction=Up", "", nil, 400, "InvalidParameter", "direction"},
		{"bad userStatus", "alice", "PUT", "/widget/presence", `{"userStatus":"Away"}`, nil, 400, "InvalidParameter", "userStatus"},
		{"bad dndStatus", "alice", "PUT", "/widget/presence", `{"dndStatus":"Never"}`, nil, 400, "InvalidParameter", "dndStatus"},
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
	if stored, ok, _ := h.db.UserPresence(context.Background(), h.alice.ID); ok {
		t.Errorf("a refused request changed the presence: %+v", stored)
	}
}

// FuzzWidgetHistoryRequests sends arbitrary queries to the widget's call log
// and bodies to its presence: the answer is JSON, never a panic or a 5xx,
// and a presence it accepts is one of the documented values.
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
			if r.Method == http.MethodPut && rec.Code == http.StatusOK {
				var p presenceState
				json.Unmarshal(rec.Body.Bytes(), &p)
				if !contains(presence.UserStatuses, p.UserStatus) || !contains(presence.DNDStatuses, p.DNDStatus) {
					t.Fatalf("%q set presence %+v", body, p)
				}
			}
		}
	})
}
