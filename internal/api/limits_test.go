package web

import (
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestRateLimiter(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	l := newRateLimiter[int64](3, 3*time.Second, clock.Now) // one token a second
	for i, want := range []int{2, 1, 0} {
		if remaining, _, ok := l.take(1); !ok || remaining != want {
			t.Fatalf("request %d: ok %v, remaining %d, want %d", i+1, ok, remaining, want)
		}
	}
	if _, wait, ok := l.take(1); ok || wait != time.Second {
		t.Fatalf("4th request: ok %v, wait %v; want refused, wait 1s", ok, wait)
	}
	if _, _, ok := l.take(2); !ok {
		t.Fatal("another key shares the bucket")
	}
	clock.advance(400 * time.Millisecond)
	if _, wait, ok := l.take(1); ok || wait != 600*time.Millisecond {
		t.Fatalf("after 0.4 s: ok %v, wait %v", ok, wait)
	}
	clock.advance(600 * time.Millisecond)
	if remaining, _, ok := l.take(1); !ok || remaining != 0 {
		t.Fatalf("after 1 s: ok %v, remaining %d", ok, remaining)
	}
	clock.advance(time.Hour) // refills to the limit, not beyond
	for i := 0; i < 3; i++ {
		if _, _, ok := l.take(1); !ok {
			t.Fatalf("after an hour, request %d refused", i+1)
		}
	}
	if _, _, ok := l.take(1); ok {
		t.Fatal("bucket refilled beyond the limit")
	}
	clock.advance(time.Hour)
	l.take(3)
	l.mu.Lock()
	n := len(l.buckets)
	l.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d buckets kept after an idle hour, want only the new one", n)
	}
}

// TestDrainAnswers503: once the server drains, the platform API answers 503
// with Retry-After before it looks at the token.
func TestDrainAnswers503(t *testing.T) {
	env := newTestEnv(t)
	env.srv.Drain()
	resp, body := get(t, nil, env.widget.URL+"/restapi/v1.0/account/~/extension/~/call-log", "Authorization", "Bearer x")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	var e errorBody
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.ErrorCode != "ShuttingDown" || len(e.Errors) != 1 || e.Errors[0].ErrorCode != "ShuttingDown" {
		t.Fatalf("body %s (%v)", body, err)
	}
	if resp, _ := get(t, nil, env.widget.URL+"/restapi/openapi.json"); resp.StatusCode != http.StatusOK {
		t.Fatalf("the OpenAPI document while draining: %d", resp.StatusCode)
	}
}
