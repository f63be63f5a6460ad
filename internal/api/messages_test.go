package api

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/messaging"
	"github.com/callbridge/widget-server/internal/store"
)

// messageEnv is the handlers with the real message service over the test
// store, the demo account seeded, and Alice as the caller.
type messageEnv struct {
	*testEnv
	acct   identity.Account
	alice  identity.Extension
	secret []byte
}

func newMessageEnv(t testing.TB) *messageEnv { return newMessageEnvWith(t, nil) }

// newMessageEnvWith lets a test adjust the handlers' dependencies further.
func newMessageEnvWith(t testing.TB, adjust func(d *Deps, db *store.DB)) *messageEnv {
	t.Helper()
	me := &messageEnv{secret: []byte("a secret for the fuzzed webhook")}
	me.testEnv = newTestEnvWith(t, func(d *Deps, db *store.DB) {
		ctx := context.Background()
		if err := d.Directory.SeedDemo(ctx); err != nil {
			t.Fatal(err)
		}
		acct, err := d.Directory.AccountByMainNumber(ctx, identity.DemoMainNumber)
		if err != nil {
			t.Fatal(err)
		}
		me.acct = acct
		if me.alice, err = db.ExtensionByNumber(ctx, acct.ID, "101"); err != nil {
			t.Fatal(err)
		}
		d.Messages = messaging.New(messaging.Config{WebhookSecret: me.secret}, db, db)
		if adjust != nil {
			adjust(d, db)
		}
	})
	return me
}

// call runs one handler as Alice's API request would.
func (me *messageEnv) call(method, target, body, id string, h func(echo.Context) error) *httptest.ResponseRecorder {
	path, query, _ := strings.Cut(target, "?")
	var req *http.Request
	if body == "" {
		req = httptest.NewRequest(method, path, nil)
	} else {
		req = httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	}
	req.URL.RawQuery = query // as it arrives, however malformed
	rec := httptest.NewRecorder()
	c := echo.New().NewContext(req, rec)
	c.SetParamNames("accountId", "extensionId", "messageId", "id")
	c.SetParamValues("~", "~", id, id)
	c.Set(string(extensionKey), apiCaller{me.acct, me.alice})
	if err := h(c); err != nil {
		httperror.Handler(me.srv.log)(err, c)
	}
	return rec
}

// messageTargets are the endpoints the fuzzer picks from.
func (me *messageEnv) messageTargets() []func(param, body string) *httptest.ResponseRecorder {
	s := me.srv
	const api = "/restapi/v1.0/account/~/extension/~"
	return []func(param, body string) *httptest.ResponseRecorder{
		func(_, body string) *httptest.ResponseRecorder {
			return me.call("POST", api+"/sms", body, "", s.apiSendSMS)
		},
		func(_, body string) *httptest.ResponseRecorder {
			return me.call("POST", api+"/company-pager", body, "", s.apiSendPager)
		},
		func(query, _ string) *httptest.ResponseRecorder {
			return me.call("GET", api+"/message-store?"+query, "", "", s.apiMessageStore)
		},
		func(id, _ string) *httptest.ResponseRecorder {
			return me.call("GET", api+"/message-store/x", "", id, s.apiGetMessage)
		},
		func(id, body string) *httptest.ResponseRecorder {
			return me.call("PUT", api+"/message-store/x", body, id, s.apiUpdateMessage)
		},
		func(id, _ string) *httptest.ResponseRecorder {
			return me.call("DELETE", api+"/message-store/x", "", id, s.apiDeleteMessage)
		},
		func(_, body string) *httptest.ResponseRecorder { // the provider's webhook, signed
			req := httptest.NewRequest("POST", "/webhooks/sms/inbound", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			for k, v := range messaging.Sign(me.secret, messaging.Inbound, time.Now(), []byte(body)) {
				req.Header[k] = v
			}
			rec := httptest.NewRecorder()
			me.echo.ServeHTTP(rec, req)
			return rec
		},
	}
}

// FuzzMessageRequests sends arbitrary JSON bodies, query strings and ids to
// every message endpoint of the API and to the provider's webhook: whatever
// arrives, the answer is JSON, success or a 4xx error, never a panic or a
// 5xx. The widget's have FuzzWidgetMessageRequests (internal/web).
func FuzzMessageRequests(f *testing.F) {
	for _, seed := range []struct {
		target      uint8
		param, body string
	}{
		{0, "", `{"from":{"phoneNumber":"+16505550101"},"to":[{"phoneNumber":"+16505550102"}],"text":"hi"}`},
		{0, "", `{"from":{"phoneNumber":"(650) 555-0100"},"to":[{"phoneNumber":"+15550101"}],"text":"echo"}`},
		{0, "", `{"from":{"phoneNumber":"+16505550101"},"to":[{"phoneNumber":"+14155550123"}],"text":"out"}`},
		{0, "", `{"from":{"phoneNumber":1},"to":"x","text":null}`},
		{1, "", `{"from":{"extensionNumber":"101"},"to":[{"extensionNumber":"102"},{"extensionNumber":"103"}],"text":"page"}`},
		{1, "", `{"to":[{"extensionNumber":"101"}],"text":"` + strings.Repeat("x", 1001) + `"}`},
		{2, "messageType=SMS&direction=inbound&readStatus=Unread&availability=Deleted&page=2&perPage=5", ""},
		{2, "conversationId=12345&phoneNumber=%2B16505550102&dateFrom=2026-01-01&dateTo=2026-02-01T00:00:00Z", ""},
		{2, "dateFrom=2026-02-01&dateTo=2026-01-01&perPage=0", ""},
		{3, "1", ""}, {3, "abc", ""}, {3, "99999999999999999999", ""},
		{4, "1", `{"readStatus":"Read"}`}, {4, "1", `{"readStatus":1}`}, {4, "2", `{}`},
		{5, "1", ""},
		{6, "", `{"id":"SM-1","from":"+14155550123","to":"+16505550102","text":"inbound"}`},
		{6, "", `{"id":"SM-1","from":"+14155550123","to":"+16505550100","text":"again"}`},
		{6, "", `[`},
	} {
		f.Add(seed.target, seed.param, seed.body)
	}
	me := newMessageEnv(f)
	targets := me.messageTargets()
	f.Fuzz(func(t *testing.T, target uint8, param, body string) {
		if strings.ContainsAny(param, "#\x00") {
			return
		}
		rec := targets[int(target)%len(targets)](param, body)
		if rec.Code >= 500 {
			t.Fatalf("target %d %q %q: status %d %s", target, param, body, rec.Code, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("target %d %q %q: content type %q", target, param, body, ct)
		}
	})
}

// messageStoreParams are the parameters a message-store error may name.
var messageStoreParams = []string{"page", "perPage", "messageType", "direction", "readStatus", "availability",
	"conversationId", "phoneNumber", "dateFrom", "dateTo"}

// TestMessageStoreQuery checks the parser's errors and that a list's
// canonical URI reads back to the same query.
func TestMessageStoreQuery(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	for _, raw := range []string{
		"", "messageType=sms&messageType=Pager&messageType=SMS", "direction=Inbound&readStatus=unread",
		"availability=Deleted&availability=Alive", "conversationId=3470811256931622113", "phoneNumber=(650)%20555-0102",
		"phoneNumber=102", "dateFrom=2026-01-01&dateTo=2026-01-31T12:00:00Z", "page=3&perPage=7",
	} {
		v, _ := url.ParseQuery(raw)
		r, err := parseMessageStoreQuery(v, "US", now)
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		u, _ := url.Parse(pageURI("http://x/message-store", r.params, r.page.Number, r.page.PerPage))
		again, err := parseMessageStoreQuery(u.Query(), "US", now)
		if err != nil || !reflect.DeepEqual(again.query, r.query) || again.page != r.page {
			t.Fatalf("%q: canonical %s parses to %+v, want %+v (%v)", raw, u, again.query, r.query, err)
		}
	}
	v, _ := url.ParseQuery("")
	r, _ := parseMessageStoreQuery(v, "US", now)
	if !r.query.From.Equal(now.Add(-7*24*time.Hour)) || !r.query.To.IsZero() || !reflect.DeepEqual(r.query.Availabilities, []messaging.Availability{messaging.Alive}) {
		t.Fatalf("defaults %+v", r.query)
	}
	for raw, param := range map[string]string{
		"messageType=Email": "messageType", "direction=Up": "direction", "readStatus=x": "readStatus",
		"availability=x": "availability", "conversationId=1a": "conversationId", "conversationId=" + strings.Repeat("1", 21): "conversationId",
		"phoneNumber=x": "phoneNumber", "dateFrom=x": "dateFrom", "dateTo=x": "dateTo",
		"dateFrom=2026-02-01&dateTo=2026-01-01": "dateTo", "page=0": "page", "perPage=1001": "perPage",
	} {
		v, _ := url.ParseQuery(raw)
		_, err := parseMessageStoreQuery(v, "US", now)
		var e *httperror.Error
		if !errors.As(err, &e) || e.Status != 400 || e.Param != param || !slices.Contains(messageStoreParams, e.Param) {
			t.Errorf("%q: %v, want a 400 naming %s", raw, err, param)
		}
	}
}

// TestMessagingOff: without the service the endpoints say so, and the
// message store is empty.
func TestMessagingOff(t *testing.T) {
	me := newMessageEnv(t)
	me.srv.Messages = nil
	targets := me.messageTargets()
	for i, target := range targets {
		rec := target("1", `{}`)
		switch {
		case i == 2: // the list
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"records":[]`) {
				t.Errorf("list: %d %s", rec.Code, rec.Body)
			}
		case i == 6: // the inbound webhook
			if rec.Code != http.StatusServiceUnavailable {
				t.Errorf("inbound webhook: %d %s", rec.Code, rec.Body)
			}
		case i < 6:
			if rec.Code != http.StatusNotImplemented || !strings.Contains(rec.Body.String(), "MessagingOff") {
				t.Errorf("target %d: %d %s", i, rec.Code, rec.Body)
			}
		}
	}
}
