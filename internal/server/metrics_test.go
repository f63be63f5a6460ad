package server

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/metrics"
)

const testMetricsToken = "0123456789abcdef-metrics"

// series reads a scrape in Prometheus's text format: each series as it is
// written (name{label="value",…}, labels in name order) to its value.
func series(t *testing.T, body string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if i < 0 || err != nil {
			t.Fatalf("scrape line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

// scrape gets /metrics from base with the token ("": none) and reads it.
func scrape(t *testing.T, base, token string) (map[string]float64, string) {
	t.Helper()
	var header []string
	if token != "" {
		header = []string{"Authorization", "Bearer " + token}
	}
	r := do(t, browser(), "GET", base+"/metrics", nil, header...)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: %d %s", base, r.StatusCode, r.body)
	}
	return series(t, r.body), r.body
}

// wantRefused checks that /metrics at base is refused with status and code.
func wantRefused(t *testing.T, base string, status int, code string, header ...string) {
	t.Helper()
	r := do(t, browser(), "GET", base+"/metrics", nil, header...)
	var body httperror.Body
	if r.StatusCode != status || json.Unmarshal([]byte(r.body), &body) != nil || body.ErrorCode != code {
		t.Fatalf("/metrics at %s with %q: %d %s, want %d %s", base, header, r.StatusCode, r.body, status, code)
	}
	if strings.Contains(r.body, "callbridge_") {
		t.Fatalf("a refusal carries metrics: %s", r.body)
	}
}

// TestRequestMetrics: each request is counted by the route template it
// matched, never its path, with the status sent, also when the handler
// answered with an error; event streams are counted but not timed.
func TestRequestMetrics(t *testing.T) {
	m := metrics.New()
	e := echo.New()
	e.HTTPErrorHandler = httperror.Handler(slog.New(slog.DiscardHandler))
	e.GET("/widget/calls/:id", func(c echo.Context) error {
		if c.Param("id") == "gone" {
			return &httperror.Error{Status: http.StatusNotFound, Code: "CallNotFound", Message: "no such call"}
		}
		return c.String(http.StatusOK, "ok")
	})
	e.GET("/widget/events", func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderContentType, "text/event-stream")
		return c.String(http.StatusOK, ": hello\n\n")
	})
	widgetMetrics(m, "")(e) // mounted after the routes, as internal/server does
	for _, target := range []string{"/widget/calls/c-1", "/widget/calls/c-2", "/widget/calls/gone", "/widget/events", "/nowhere/x-1", "/metrics"} {
		e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", target, nil))
	}
	req := httptest.NewRequest("BREW", "/widget/calls/c-1", nil)
	e.ServeHTTP(httptest.NewRecorder(), req)

	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	got := series(t, w.Body.String())
	for name, want := range map[string]float64{
		`callbridge_http_requests_total{code="200",method="GET",route="/widget/calls/:id"}`:        2,
		`callbridge_http_requests_total{code="404",method="GET",route="/widget/calls/:id"}`:        1,
		`callbridge_http_requests_total{code="200",method="GET",route="/widget/events"}`:           1,
		`callbridge_http_requests_total{code="404",method="GET",route="unmatched"}`:                2,
		`callbridge_http_requests_total{code="405",method="OTHER",route="/widget/calls/:id"}`:      1,
		`callbridge_http_request_duration_seconds_count{method="GET",route="/widget/calls/:id"}`:   3,
		`callbridge_http_request_duration_seconds_count{method="GET",route="/widget/events"}`:      0,
		`callbridge_http_request_duration_seconds_count{method="OTHER",route="/widget/calls/:id"}`: 1,
	} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v", name, got[name], want)
		}
	}
	for _, raw := range []string{"c-1", "gone", "x-1", "BREW"} {
		if strings.Contains(w.Body.String(), raw) {
			t.Errorf("a label carries %q from a request", raw)
		}
	}
}

// TestMetricsAuth: with a token, /metrics answers only a request that
// bears it; the widget origin serves /metrics only then.
func TestMetricsAuth(t *testing.T) {
	m := metrics.New()
	e := echo.New()
	e.HTTPErrorHandler = httperror.Handler(slog.New(slog.DiscardHandler))
	widgetMetrics(m, testMetricsToken)(e)
	for _, tc := range []struct {
		auth string
		want int
		code string
	}{
		{"", http.StatusUnauthorized, "TokenMissing"},
		{"Bearer", http.StatusUnauthorized, "TokenMissing"},
		{"Basic " + testMetricsToken, http.StatusUnauthorized, "TokenMissing"},
		{"Bearer " + testMetricsToken[:len(testMetricsToken)-1], http.StatusUnauthorized, "TokenInvalid"},
		{"Bearer " + testMetricsToken + "x", http.StatusUnauthorized, "TokenInvalid"},
		{"Bearer " + testMetricsToken, http.StatusOK, ""},
		{"bearer " + testMetricsToken, http.StatusOK, ""},
	} {
		req := httptest.NewRequest("GET", "/metrics", nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		if w.Code != tc.want || tc.code != "" && (!strings.Contains(w.Body.String(), `"errorCode":"`+tc.code+`"`) || w.Header().Get("WWW-Authenticate") == "") {
			t.Errorf("Authorization %q: %d %s, want %d %s", tc.auth, w.Code, w.Body, tc.want, tc.code)
		}
	}

	off := echo.New()
	widgetMetrics(m, "")(off)
	w := httptest.NewRecorder()
	off.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if w.Code != http.StatusNotFound {
		t.Errorf("/metrics on the widget origin without a token: %d, want 404", w.Code)
	}

	for _, bad := range []string{"short", "0123456789abcdef ghij", "0123456789abcdef\x01"} {
		if CheckMetricsToken(bad) == nil {
			t.Errorf("token %q taken", bad)
		}
	}
	if err := CheckMetricsToken(testMetricsToken); err != nil {
		t.Errorf("token refused: %v", err)
	}
}

// TestMetricsOfACall scrapes a running server during a real call between
// two widgets through the media gateway, and after it: the call, its two
// media legs and their packets while it lasts, the call ended by its
// result and the requests after. /metrics asks for the token on both
// listeners; no label names a call or a path.
func TestMetricsOfACall(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{RingTimeout: time.Hour, MetricsListen: "127.0.0.1:0", MetricsToken: testMetricsToken})
	if srv.MetricsURL == "" {
		t.Fatal("no metrics listener")
	}
	for _, base := range []string{srv.WidgetURL, srv.MetricsURL} {
		wantRefused(t, base, http.StatusUnauthorized, "TokenMissing")
		wantRefused(t, base, http.StatusUnauthorized, "TokenInvalid", "Authorization", "Bearer not-the-token-at-all")
	}
	if r := do(t, browser(), "GET", srv.MetricsURL+"/app", nil); r.StatusCode != http.StatusNotFound {
		t.Fatalf("the metrics listener serves /app: %d", r.StatusCode)
	}

	aliceTab := openTab(t, srv, "alice@demo.test")
	bobTab := openTab(t, srv, "bob@demo.test")
	alice := newTalker(t, "alice", 'a')
	call := aliceTab.dial(t, "102", alice.peer)
	session := call["telephonySessionId"]
	bobCall := bobTab.waitFor(t, "the ring", ringsFor(session))["call"].(map[string]any)
	bob := newTalker(t, "bob", 'b')
	r := widgetPost(t, bobTab.c, srv.WidgetURL, "/widget/calls/"+bobCall["id"].(string)+"/answer",
		map[string]string{"deviceId": bobTab.device, "sdp": bob.offer})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("bob answers: %d %s", r.StatusCode, r.body)
	}
	bob.answer(t, r.json(t)["sdp"].(string))
	alice.waitHears(t, "alice", 'b', 10)
	bob.waitHears(t, "bob", 'a', 10)

	during, _ := scrape(t, srv.MetricsURL, testMetricsToken)
	sent := `callbridge_media_packets_total{direction="sent"}`
	for name, least := range map[string]float64{
		`callbridge_calls_active`:                    1,
		`callbridge_media_legs_active{kind="phone"}`: 2,
		`callbridge_event_streams_open`:              2,
		sent:                                         20,
		`callbridge_media_packets_total{direction="received"}`: 20,
		`callbridge_media_bytes_total{direction="sent"}`:       20,
	} {
		if during[name] < least {
			t.Errorf("during the call %s = %v, want at least %v", name, during[name], least)
		}
	}
	// The audio goes on: the count grows, scrape after scrape.
	deadline := time.Now().Add(patience)
	for {
		now, _ := scrape(t, srv.MetricsURL, testMetricsToken)
		if now[sent] > during[sent] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("packets sent stayed at %v", now[sent])
		}
		alice.waitHears(t, "alice", 'b', alice.count('b')+1)
	}
	connected := `callbridge_calls_ended_total{result="Call connected"}`
	if during[connected] != 0 {
		t.Fatalf("a call ended before the hangup: %v", during[connected])
	}

	aliceTab.hangup(t, call["id"].(string))
	after, body := scrape(t, srv.WidgetURL, testMetricsToken) // the widget listener serves them to the token too
	for name, want := range map[string]float64{
		`callbridge_calls_active`: 0,
		connected:                 1,
		`callbridge_http_requests_total{code="200",method="POST",route="/widget/calls/:id/:action"}`: 1, // the hangup
		`callbridge_http_requests_total{code="200",method="POST",route="/widget/calls/:id/answer"}`:  1,
		`callbridge_http_requests_total{code="401",method="GET",route="/metrics"}`:                   2,
	} {
		if after[name] != want {
			t.Errorf("after the call %s = %v, want %v", name, after[name], want)
		}
	}
	if after[sent] < during[sent] {
		t.Errorf("packets sent went back from %v to %v", during[sent], after[sent])
	}
	if after[`callbridge_http_request_duration_seconds_count{method="POST",route="/widget/calls"}`] < 1 {
		t.Error("the dial was not timed")
	}
	if after[`callbridge_http_requests_total{code="200",method="GET",route="/widget/events"}`] != 2 {
		t.Error("the two event streams were not counted")
	}
	if _, ok := after[`callbridge_http_request_duration_seconds_count{method="GET",route="/widget/events"}`]; ok {
		t.Error("an event stream was timed as a request")
	}
	if after[`go_goroutines`] < 1 || after[`process_open_fds`] < 1 {
		t.Error("no runtime or process metrics")
	}
	for _, id := range []string{call["id"].(string), session.(string), bobCall["id"].(string), aliceTab.device} {
		if strings.Contains(body, id) {
			t.Errorf("a label names %q", id)
		}
	}
	// The legs close once the hangup's effects are applied.
	for deadline := time.Now().Add(patience); ; {
		now, _ := scrape(t, srv.MetricsURL, testMetricsToken)
		if now[`callbridge_media_legs_active{kind="phone"}`] == 0 && now[`callbridge_media_legs_ended_total{kind="phone"}`] == 2 {
			if now[sent] < after[sent] {
				t.Errorf("packets sent went back from %v to %v", after[sent], now[sent])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the call's legs did not close: %v open, %v ended", now[`callbridge_media_legs_active{kind="phone"}`], now[`callbridge_media_legs_ended_total{kind="phone"}`])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestMetricsOffTheWidgetListener: with a metrics listener and no token,
// /metrics is there only, and the widget listener does not know it. An SMS
// between two extensions is a delivery of the outbox, counted.
func TestMetricsOffTheWidgetListener(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{MetricsListen: "127.0.0.1:0", APIRateLimit: 10000})
	wantRefused(t, srv.WidgetURL, http.StatusNotFound, "NotFound")
	got, _ := scrape(t, srv.MetricsURL, "")
	for _, name := range []string{`callbridge_calls_active`, `callbridge_outbox_queued{kind="webhook"}`, `callbridge_outbox_queued{kind="sms"}`,
		`callbridge_storage_errors_total{kind="unavailable"}`, `callbridge_media_legs_active{kind="rtp"}`} {
		if v, ok := got[name]; !ok || v != 0 {
			t.Errorf("%s = %v (there: %v), want 0", name, v, ok)
		}
	}
	if got[`callbridge_http_requests_total{code="404",method="GET",route="unmatched"}`] != 1 {
		t.Errorf("the refused /metrics on the widget listener was not counted as unmatched")
	}

	alice := newPlatform(t, srv, "alice@demo.test")
	sendSMS(t, alice, "(650) 555-0101", "+1 650 555 0102", "Hi Bob")
	delivered := `callbridge_deliveries_total{kind="message",outcome="delivered"}`
	for deadline := time.Now().Add(patience); ; {
		got, _ = scrape(t, srv.MetricsURL, "")
		if got[delivered] >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v after an SMS to bob", delivered, got[delivered])
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got[`callbridge_outbox_queued{kind="message"}`] != 0 {
		t.Errorf("the delivered message is still queued: %v", got[`callbridge_outbox_queued{kind="message"}`])
	}
}
