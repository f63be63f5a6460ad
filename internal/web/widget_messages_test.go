package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/messaging"
	"github.com/callbridge/widget-server/internal/store"
)

// messageEnv is the widget's message handlers with the real message
// service over the test store, the demo account seeded, and Alice as the
// signed-in user.
type messageEnv struct {
	*testEnv
	acct  identity.Account
	alice identity.Extension
}

func newMessageEnv(t testing.TB) *messageEnv {
	t.Helper()
	me := &messageEnv{}
	me.testEnv = newTestEnvWith(t, func(d *Deps) {
		db := d.Apps.(*store.DB)
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
		d.Messages = messaging.New(messaging.Config{}, db, db)
	})
	return me
}

// call runs one handler as Alice's widget request would.
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
	c.SetParamNames("id")
	c.SetParamValues(id)
	if err := h(c); err != nil {
		httperror.Handler(me.srv.log)(err, c)
	}
	return rec
}

// FuzzWidgetMessageRequests sends arbitrary JSON bodies, query strings and
// ids to the widget's message endpoints: whatever arrives, the answer is
// JSON, success or a 4xx error, never a panic or a 5xx.
func FuzzWidgetMessageRequests(f *testing.F) {
	for _, seed := range []struct {
		target      uint8
		param, body string
	}{
		{0, "perPage=2&conversationId=1", ""}, {0, "page=0", ""},
		{1, "", `{"type":"SMS","to":["650-555-0102"],"text":"from the widget"}`},
		{1, "", `{"type":"Pager","to":["102","102","103"],"text":"pager"}`},
		{2, "1", `{"readStatus":"unread"}`},
	} {
		f.Add(seed.target, seed.param, seed.body)
	}
	me := newMessageEnv(f)
	s := me.srv
	targets := []func(param, body string) *httptest.ResponseRecorder{
		func(query, _ string) *httptest.ResponseRecorder {
			return me.call("GET", "/widget/messages?"+query, "", "", func(c echo.Context) error { return s.listWidgetMessages(c, me.alice) })
		},
		func(_, body string) *httptest.ResponseRecorder {
			return me.call("POST", "/widget/messages", body, "", func(c echo.Context) error { return s.sendWidgetMessage(c, me.acct, me.alice) })
		},
		func(id, body string) *httptest.ResponseRecorder {
			return me.call("PUT", "/widget/messages/x", body, id, func(c echo.Context) error { return s.updateWidgetMessage(c, me.alice) })
		},
	}
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

// TestWidgetDeleteMessage: the user deletes a message of theirs, which
// leaves the list; another user's is not found.
func TestWidgetDeleteMessage(t *testing.T) {
	me := newMessageEnv(t)
	s := me.srv
	sent := me.call("POST", "/widget/messages", `{"type":"Pager","to":["102"],"text":"to be deleted"}`, "",
		func(c echo.Context) error { return s.sendWidgetMessage(c, me.acct, me.alice) })
	var m struct{ ID string }
	if err := json.Unmarshal(sent.Body.Bytes(), &m); err != nil || sent.Code != http.StatusOK || m.ID == "" {
		t.Fatalf("send: %d %s", sent.Code, sent.Body)
	}
	bob, err := me.srv.Apps.(*store.DB).ExtensionByNumber(context.Background(), me.acct.ID, "102")
	if err != nil {
		t.Fatal(err)
	}
	if rec := me.call("DELETE", "/widget/messages/x", "", m.ID, func(c echo.Context) error { return s.deleteWidgetMessage(c, bob) }); rec.Code != http.StatusNotFound {
		t.Errorf("another user's copy: %d %s", rec.Code, rec.Body)
	}
	if rec := me.call("DELETE", "/widget/messages/x", "", m.ID, func(c echo.Context) error { return s.deleteWidgetMessage(c, me.alice) }); rec.Code != http.StatusOK {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	list := me.call("GET", "/widget/messages", "", "", func(c echo.Context) error { return s.listWidgetMessages(c, me.alice) })
	if strings.Contains(list.Body.String(), `"`+m.ID+`"`) {
		t.Errorf("the deleted message is still listed: %s", list.Body)
	}
	if rec := me.call("DELETE", "/widget/messages/x", "", "nope", func(c echo.Context) error { return s.deleteWidgetMessage(c, me.alice) }); rec.Code != http.StatusNotFound {
		t.Errorf("unknown message: %d %s", rec.Code, rec.Body)
	}
}
