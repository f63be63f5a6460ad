package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/ratelimit"
)

// FuzzWidgetCallControl sends arbitrary bodies to the call actions of a
// signed-in tab (alice's a1, "$DEVICE" in a body) on her connected call
// ("$CALL" in the path), served by the real switch: whatever arrives, the
// answer is a JSON error or success, never a panic or a 5xx.
func FuzzWidgetCallControl(f *testing.F) {
	f.Add("transfer", `{"deviceId":"$DEVICE","to":"103"}`)
	f.Add("forward", `{"deviceId":"$DEVICE","to":"+15550107"}`)
	f.Add("bridge", `{"deviceId":"$DEVICE","with":"$CALL"}`)
	f.Add("bridge", `{"deviceId":"$DEVICE","with":["s-1"]}`)
	f.Add("move", `{"deviceId":"$DEVICE","to":["$DEVICE"]}`)
	f.Add("move", `{"deviceId":"$DEVICE","to":null}`)
	f.Add("pickup", `{"deviceId":"$DEVICE","sdp":"v=0"}`)
	f.Add("answer", `{"deviceId":"$DEVICE","sdp":"v=0","action":"end"}`)
	f.Add("switch", `{"deviceId":"$DEVICE"}`)
	f.Add("ignore", `{"deviceId":"$DEVICE","x":1}`)
	env := newCallEnv(f)
	call := env.dial(f, "b1", "101")
	env.answer(f, "a1", call.ID)
	// Past the widget's rate limit every request would be a 429.
	env.srv.widgetLimit = ratelimit.New[string](1<<30, time.Minute, time.Now)
	handler := env.srv.Widget()
	f.Fuzz(func(t *testing.T, action, body string) {
		if strings.ContainsAny(action, "/ ?#%") || strings.ContainsFunc(action, func(r rune) bool { return r < ' ' || r >= 0x7f }) {
			return
		}
		body = strings.NewReplacer("$DEVICE", env.tabs["a1"].device, "$CALL", call.ID).Replace(body)
		req := httptest.NewRequest(http.MethodPost, "/widget/calls/"+call.ID+"/"+action, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(widgetHeader, "1")
		req.Header.Set(clientHeader, "demo")
		req.Header.Set("Cookie", env.cookies["alice"])
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %q: status %d %s", action, body, rec.Code, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("%s %q: %d, content type %q", action, body, rec.Code, ct)
		}
	})
}
