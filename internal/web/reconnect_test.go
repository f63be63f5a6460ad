package web

import (
	"bufio"
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/bridge"
)

// TestEventsSurviveReconnects publishes a few thousand events to a widget
// session while its stream is cut at random moments; the client reconnects
// with Last-Event-ID each time and must see every event exactly once, in
// order.
func TestEventsSurviveReconnects(t *testing.T) {
	env := newTestEnv(t)
	resp, _ := get(t, nil, env.widget.URL+"/app?clientId=demo")
	var cookie string
	for _, c := range resp.Cookies() {
		if c.Name == SessionCookie {
			cookie = c.Name + "=" + c.Value
		}
	}
	req, _ := http.NewRequest("GET", env.widget.URL, nil)
	req.Header.Set("Cookie", cookie)
	sid, ok := env.srv.existingSession(req)
	if !ok {
		t.Fatal("no session")
	}
	const total = 3000
	// The client starts from a known position: the marker before event 1.
	marker, err := env.hub.Publish(bridge.SessionGroup(sid), map[string]any{"type": "rc-route-changed-notify", "n": 0})
	if err != nil {
		t.Fatal(err)
	}
	// The publisher stays within the replay log (512 events) of what the
	// client has read, however slow a loaded machine makes the client: the
	// test is about cuts, not about a client that falls behind the log.
	var read atomic.Int64
	go func() {
		for i := 1; i <= total; i++ {
			for int64(i)-read.Load() > 256 {
				time.Sleep(time.Millisecond)
			}
			env.hub.Publish(bridge.SessionGroup(sid), map[string]any{"type": "rc-route-changed-notify", "n": i})
			if i%50 == 0 {
				time.Sleep(2 * time.Millisecond) // a busy but not absurd rate
			}
		}
	}()

	rng := rand.New(rand.NewPCG(1, 2))
	lastID, next, cuts := marker.ID, 1, 0
	deadline := time.Now().Add(5 * time.Minute) // a guard against a hang, not a measure
	for next <= total {
		if time.Now().After(deadline) {
			t.Fatalf("gave up at event %d after %d cuts", next, cuts)
		}
		ctx, cancel := context.WithCancel(context.Background())
		// Every other stream is opened anew with ?lastEventId=, as the widget
		// does after a silent stream; the others reconnect as EventSource does.
		target := env.widget.URL + "/widget/events?clientId=demo"
		if cuts%2 == 1 {
			target += "&lastEventId=" + url.QueryEscape(lastID)
		}
		r, _ := http.NewRequestWithContext(ctx, "GET", target, nil)
		r.Header.Set("Cookie", cookie)
		if cuts%2 == 0 {
			r.Header.Set("Last-Event-ID", lastID)
		}
		stream, err := http.DefaultClient.Do(r)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		budget := 1 + rng.IntN(150) // events to read before this connection is cut
		sc := bufio.NewScanner(stream.Body)
		id, event := "", ""
		for budget > 0 && sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				event = ""
			case strings.HasPrefix(line, "event: "):
				event = strings.TrimPrefix(line, "event: ") // a heartbeat: not a message
			case strings.HasPrefix(line, "id: "):
				id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "data: ") && event == "":
				var ev struct {
					Type string `json:"type"`
					N    int    `json:"n"`
				}
				json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev)
				if ev.Type == "cb-resync" {
					t.Fatalf("resync after %d events: the replay log lost the position", next-1)
				}
				if ev.N != next {
					t.Fatalf("got event %d, want %d (after %d cuts)", ev.N, next, cuts)
				}
				next++
				read.Store(int64(next - 1))
				lastID = id
				budget--
			}
			if next > total {
				break
			}
		}
		cancel()
		stream.Body.Close()
		cuts++
	}
	if cuts < 20 {
		t.Fatalf("only %d cuts: the test did not exercise reconnects", cuts)
	}
	t.Logf("%d events in order, exactly once, across %d cut connections", total, cuts)
}
