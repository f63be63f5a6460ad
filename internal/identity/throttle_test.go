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
	const user, addr = "ext:1", "192.0.2.1"
	for i := 1; i <= 2; i++ {
		th.Failure(user, addr)
		if w := th.Wait(user, addr); w != 0 {
			t.Fatalf("after %d failures: wait %v, want 0", i, w)
		}
	}
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		th.Failure(user, addr)
		if w := th.Wait(user, addr); w != want {
			t.Fatalf("after %d failures: wait %v, want %v", i+3, w, want)
		}
		clock.advance(want / 2)
		if w := th.Wait(user, addr); w != want/2 {
			t.Fatalf("half-way: wait %v, want %v", w, want/2)
		}
		clock.advance(want / 2)
		if w := th.Wait(user, addr); w != 0 {
			t.Fatalf("after the delay: wait %v, want 0", w)
		}
	}
	if w := th.Wait("ext:2", "192.0.2.2"); w != 0 {
		t.Fatalf("another user at another address waits %v", w)
	}
	for i := 0; i < 20; i++ {
		th.Failure(user, addr)
	}
	if w := th.Wait(user, addr); w != 5*time.Minute {
		t.Fatalf("after 25 failures: wait %v, want the 5m cap", w)
	}
	th.Success(user, addr)
	if w := th.Wait(user, addr); w != 0 {
		t.Fatalf("after success: wait %v", w)
	}
	for i := 0; i < 3; i++ {
		th.Failure(user, addr)
	}
	if w := th.Wait(user, addr); w != time.Second {
		t.Fatalf("success did not reset the count: wait %v", w)
	}
}

// TestThrottleKeys checks that each counter holds on its own: a user is
// throttled from every address, an address for every user.
func TestThrottleKeys(t *testing.T) {
	th, _ := newTestThrottle()
	for i := 0; i < 3; i++ {
		th.Failure("ext:1", fmt.Sprint("198.51.100.", i))
	}
	if w := th.Wait("ext:1", "198.51.100.99"); w == 0 {
		t.Error("a user failing from three addresses is not throttled from a fourth")
	}
	for i := 0; i < 3; i++ {
		th.Failure(fmt.Sprint("name:guess", i), "203.0.113.1")
	}
	if w := th.Wait("name:guess99", "203.0.113.1"); w == 0 {
		t.Error("an address failing as three users is not throttled as a fourth")
	}
	if w := th.Wait("ext:2", "203.0.113.2"); w != 0 {
		t.Errorf("an unrelated user and address wait %v", w)
	}
	if w := th.Wait("198.51.100.0", "ext:1"); w != 0 {
		t.Errorf("a user's key counts as an address: wait %v", w)
	}
}

// TestThrottleSuccessTakesOnlyItsShare is the attack on a shared address:
// a success by one user, even one who holds an account and fails on
// purpose, clears neither another user's counter nor the failures others
// left at the address.
func TestThrottleSuccessTakesOnlyItsShare(t *testing.T) {
	tests := []struct {
		name      string
		failures  [][2]string // user, addr
		success   [2]string
		user      string // then: may this user try, from this address?
		addr      string
		throttled bool
	}{
		{"another user's success keeps the address count",
			[][2]string{{"ext:2", "A"}, {"ext:2", "A"}, {"ext:3", "A"}}, [2]string{"ext:1", "A"}, "ext:4", "A", true},
		{"another user's success keeps the victim's count",
			[][2]string{{"ext:2", "A"}, {"ext:2", "B"}, {"ext:2", "C"}}, [2]string{"ext:1", "A"}, "ext:2", "D", true},
		{"a guesser's own failures and success clear only his share",
			[][2]string{{"ext:2", "A"}, {"ext:2", "A"}, {"ext:2", "A"}, {"ext:1", "A"}, {"ext:1", "A"}}, [2]string{"ext:1", "A"}, "ext:5", "A", true},
		{"the user's own share goes",
			[][2]string{{"ext:1", "A"}, {"ext:1", "A"}, {"ext:2", "A"}}, [2]string{"ext:1", "A"}, "ext:4", "A", false},
		{"a success elsewhere keeps the address count",
			[][2]string{{"ext:1", "A"}, {"ext:1", "A"}, {"ext:1", "A"}}, [2]string{"ext:1", "B"}, "ext:4", "A", true},
		{"a success forgets the user's failures everywhere",
			[][2]string{{"ext:1", "A"}, {"ext:1", "B"}, {"ext:1", "C"}}, [2]string{"ext:1", "D"}, "ext:1", "E", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th, _ := newTestThrottle()
			for _, f := range tt.failures {
				th.Failure(f[0], f[1])
			}
			th.Success(tt.success[0], tt.success[1])
			if got := th.Wait(tt.user, tt.addr) > 0; got != tt.throttled {
				t.Fatalf("%s from %s throttled = %t, want %t", tt.user, tt.addr, got, tt.throttled)
			}
		})
	}
}

// TestThrottleSharesBounded: past throttleMaxShares users an address's
// failures are no longer told apart, and none of them can be cleared.
func TestThrottleSharesBounded(t *testing.T) {
	th, _ := newTestThrottle()
	for i := 0; i < throttleMaxShares+10; i++ {
		th.Failure(fmt.Sprint("name:user", i), "A")
	}
	th.mu.Lock()
	e := th.keys[addrKey("A")].Value.(*throttleEntry)
	shares, failures := len(e.by), e.failures
	th.mu.Unlock()
	if shares != throttleMaxShares || failures != throttleMaxShares+10 {
		t.Fatalf("%d shares of %d failures, want %d of %d", shares, failures, throttleMaxShares, throttleMaxShares+10)
	}
	th.Success(fmt.Sprint("name:user", throttleMaxShares+5), "A") // not told apart: takes nothing
	if th.Wait("name:other", "A") == 0 {
		t.Fatal("the address is no longer throttled")
	}
}

func TestThrottleExpiresIdleKeys(t *testing.T) {
	th, clock := newTestThrottle()
	for i := 0; i < 2; i++ {
		th.Failure("a", "x")
	}
	clock.advance(10 * time.Minute)
	th.Failure("b", "y")
	clock.advance(5*time.Minute + time.Second)
	th.Failure("a", "x") // "a" and "x" were idle 15 min: this is their first failure again
	th.Failure("a", "x")
	if w := th.Wait("a", "x"); w != 0 {
		t.Fatalf("expired key kept its count: wait %v", w)
	}
	clock.advance(15 * time.Minute)
	if th.Wait("b", "y"); th.size() != 0 {
		t.Fatalf("%d keys remembered after 15 idle minutes", th.size())
	}
}

func TestThrottleBounded(t *testing.T) {
	th, _ := newTestThrottle()
	th.maxKeys = 6
	for i := 0; i < 5; i++ {
		for j := 0; j < 3; j++ {
			th.Failure(fmt.Sprint("ext:", i), fmt.Sprint("192.0.2.", i))
		}
	}
	if th.size() != 6 {
		t.Fatalf("%d keys remembered, want at most 6", th.size())
	}
	for i, want := range []bool{false, false, true, true, true} {
		if got := th.Wait(fmt.Sprint("ext:", i), "198.51.100.1") > 0; got != want {
			t.Errorf("user %d throttled = %t, want %t (the oldest are evicted)", i, got, want)
		}
		if got := th.Wait("ext:99", fmt.Sprint("192.0.2.", i)) > 0; got != want {
			t.Errorf("address %d throttled = %t, want %t (the oldest are evicted)", i, got, want)
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
				user, addr := fmt.Sprint("ext:", i%10), fmt.Sprint("192.0.2.", g)
				th.Failure(user, addr)
				th.Wait(user, addr)
				if i%7 == 0 {
					th.Success(user, addr)
				}
			}
		}()
	}
	wg.Wait()
	if th.size() > 18 {
		t.Fatalf("%d keys for 10 users and 8 addresses", th.size())
	}
}

// TestThrottleShared: two nodes' throttles, each telling the other what it
// counts, slow a guesser who spreads the tries across them as one would;
// a success on either forgets the user's failures on both. What one
// applies from the other is not told back.
func TestThrottleShared(t *testing.T) {
	a, _ := newTestThrottle()
	b, _ := newTestThrottle()
	told := 0
	a.ShareWith(func(failure bool, user, addr string) { told++; b.Apply(failure, user, addr) })
	b.ShareWith(func(failure bool, user, addr string) { told++; a.Apply(failure, user, addr) })
	const user = "ext:1"
	a.Failure(user, "192.0.2.1")
	b.Failure(user, "192.0.2.2")
	a.Failure(user, "192.0.2.3")
	for name, th := range map[string]*Throttle{"a": a, "b": b} {
		if w := th.Wait(user, "192.0.2.9"); w != time.Second {
			t.Fatalf("node %s after three failures across both: wait %v, want 1s", name, w)
		}
	}
	b.Success(user, "192.0.2.2")
	if w := a.Wait(user, "192.0.2.9"); w != 0 {
		t.Fatalf("node a after a success on b: wait %v", w)
	}
	if told != 4 {
		t.Fatalf("%d told, want each of the 4 once", told)
	}
}
