package ratelimit

import (
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
	l := New[int64](3, 3*time.Second, clock.Now) // one token a second
	for i, want := range []int{2, 1, 0} {
		if remaining, _, ok := l.Take(1); !ok || remaining != want {
			t.Fatalf("request %d: ok %v, remaining %d, want %d", i+1, ok, remaining, want)
		}
	}
	if _, wait, ok := l.Take(1); ok || wait != time.Second {
		t.Fatalf("4th request: ok %v, wait %v; want refused, wait 1s", ok, wait)
	}
	if _, _, ok := l.Take(2); !ok {
		t.Fatal("another key shares the bucket")
	}
	clock.advance(400 * time.Millisecond)
	if _, wait, ok := l.Take(1); ok || wait != 600*time.Millisecond {
		t.Fatalf("after 0.4 s: ok %v, wait %v", ok, wait)
	}
	clock.advance(600 * time.Millisecond)
	if remaining, _, ok := l.Take(1); !ok || remaining != 0 {
		t.Fatalf("after 1 s: ok %v, remaining %d", ok, remaining)
	}
	clock.advance(time.Hour) // refills to the limit, not beyond
	for i := 0; i < 3; i++ {
		if _, _, ok := l.Take(1); !ok {
			t.Fatalf("after an hour, request %d refused", i+1)
		}
	}
	if _, _, ok := l.Take(1); ok {
		t.Fatal("bucket refilled beyond the limit")
	}
	clock.advance(time.Hour)
	l.Take(3)
	l.mu.Lock()
	n := len(l.buckets)
	l.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d buckets kept after an idle hour, want only the new one", n)
	}
}

// TestRateLimiterShared: a limit shared by two nodes holds for both: what
// one takes, the other spends, and Left reports without taking.
func TestRateLimiterShared(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	a, b := New[int64](2, time.Hour, clock.Now), New[int64](2, time.Hour, clock.Now)
	a.ShareWith(b.Spend)
	b.ShareWith(a.Spend)
	if _, _, ok := a.Take(7); !ok {
		t.Fatal("first token refused")
	}
	if left := b.Left(7); left != 1 {
		t.Fatalf("node b has %d tokens of 7 after node a took one, want 1", left)
	}
	if _, _, ok := b.Take(7); !ok {
		t.Fatal("second token refused")
	}
	for name, l := range map[string]*Limiter[int64]{"a": a, "b": b} {
		if _, _, ok := l.Take(7); ok {
			t.Fatalf("node %s gave a third token of a limit of 2", name)
		}
	}
	b.Spend(7) // nothing left: nothing happens
	if left := a.Left(8); left != 2 {
		t.Fatalf("an untouched key has %d tokens", left)
	}
}
