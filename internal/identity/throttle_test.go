package identity

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for the Throttle.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *fakeClock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newTestThrottle() (*Throttle, *fakeClock) {
	c := &fakeClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	return NewThrottle(c.now), c
}

func TestThrottleDelay(t *testing.T) {
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{3, time.Second},
		{4, 2 * time.Second},
		{5, 4 * time.Second},
		{11, 256 * time.Second},
		{12, 5 * time.Minute},
		{13, 5 * time.Minute},
		{1000, 5 * time.Minute},
	}
	for _, tt := range tests {
		if got := throttleDelay(tt.failures); got != tt.want {
			t.Errorf("throttleDelay(%d) = %v, want %v", tt.failures, got, tt.want)
		}
	}
}

func TestThrottleBackOff(t *testing.T) {
	th, clock := newTestThrottle()
	const key = "user:alice@demo.test"
	for i := 1; i <= 2; i++ {
		th.Failure(key)
		if w := th.Wait(key); w != 0 {
			t.Fatalf("after %d failures: wait %v, want 0", i, w)
		}
	}
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		th.Failure(key)
		if w := th.Wait(key); w != want {
			t.Fatalf("after %d failures: wait %v, want %v", i+3, w, want)
		}
		clock.advance(want / 2)
		if w := th.Wait(key); w != want/2 {
			t.Fatalf("half-way: wait %v, want %v", w, want/2)
		}
		clock.advance(want / 2)
		if w := th.Wait(key); w != 0 {
			t.Fatalf("after the delay: wait %v, want 0", w)
		}
	}
	if w := th.Wait("ip:192.0.2.1"); w != 0 {
		t.Fatalf("another key waits %v", w)
	}
	for i := 0; i < 20; i++ {
		th.Failure(key)
	}
	if w := th.Wait(key); w != 5*time.Minute {
		t.Fatalf("after 25 failures: wait %v, want the 5m cap", w)
	}
	th.Success(key)
	if w := th.Wait(key); w != 0 {
		t.Fatalf("after success: wait %v", w)
	}
	for i := 0; i < 3; i++ {
		th.Failure(key)
	}
	if w := th.Wait(key); w != time.Second {
		t.Fatalf("success did not reset the count: wait %v", w)
	}
}

func TestThrottleExpiresIdleKeys(t *testing.T) {
	th, clock := newTestThrottle()
	for i := 0; i < 2; i++ {
		th.Failure("a")
	}
	clock.advance(10 * time.Minute)
	th.Failure("b")
	clock.advance(5*time.Minute + time.Second)
	th.Failure("a") // "a" was idle 15 min: this is its first failure again
	th.Failure("a")
	if w := th.Wait("a"); w != 0 {
		t.Fatalf("expired key kept its count: wait %v", w)
	}
	clock.advance(15 * time.Minute)
	if th.Wait("b"); th.size() != 0 {
		t.Fatalf("%d keys remembered after 15 idle minutes", th.size())
	}
}

func TestThrottleBounded(t *testing.T) {
	th, _ := newTestThrottle()
	th.maxKeys = 3
	for i := 0; i < 5; i++ {
		for j := 0; j < 3; j++ {
			th.Failure(fmt.Sprint("ip:", i))
		}
	}
	if th.size() != 3 {
		t.Fatalf("%d keys remembered, want at most 3", th.size())
	}
	for i, want := range []bool{false, false, true, true, true} {
		if got := th.Wait(fmt.Sprint("ip:", i)) > 0; got != want {
			t.Errorf("key %d throttled = %t, want %t (the oldest are evicted)", i, got, want)
		}
	}
}

func TestThrottleConcurrent(t *testing.T) {
	th := NewThrottle(nil)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				key := fmt.Sprint("user:", i%10)
				th.Failure(key)
				th.Wait(key)
				if i%7 == 0 {
					th.Success(key)
				}
			}
		}()
	}
	wg.Wait()
	if th.size() > 10 {
		t.Fatalf("%d keys for 10 names", th.size())
	}
}
