package identity

import (
	"container/list"
	"sync"
	"time"
)

// Login back-off parameters.
const (
	throttleFreeFailures = 3                // failures before a key must wait
	throttleFirstDelay   = time.Second      // wait after the third failure, doubling per further one
	throttleMaxDelay     = 5 * time.Minute  // longest wait
	throttleIdle         = 15 * time.Minute // a key with no failure for this long is forgotten
	throttleMaxKeys      = 10000            // keys remembered; the least recently failed go first
)

// Throttle slows password guessing: it counts consecutive sign-in failures
// per key (the caller uses "user:"+username and "ip:"+addr) and, from the
// third on, makes the key wait 1 s, doubling per failure up to 5 min. A
// success forgets the key. It lives in memory, is bounded in size, and is
// safe for concurrent use.
type Throttle struct {
	now     func() time.Time
	maxKeys int

	mu    sync.Mutex
	keys  map[string]*list.Element // of *throttleEntry
	order *list.List               // most recent failure at the front
}

type throttleEntry struct {
	key      string
	failures int
	last     time.Time // last failure
	until    time.Time // no attempt before this
}

// NewThrottle returns an empty Throttle reading time from now (time.Now when nil).
func NewThrottle(now func() time.Time) *Throttle {
	if now == nil {
		now = time.Now
	}
	return &Throttle{now: now, maxKeys: throttleMaxKeys, keys: map[string]*list.Element{}, order: list.New()}
}

// Wait returns how long key must wait before its next attempt; 0 if it may
// try now.
func (t *Throttle) Wait(key string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.expire(now)
	el, ok := t.keys[key]
	if !ok {
		return 0
	}
	if d := el.Value.(*throttleEntry).until.Sub(now); d > 0 {
		return d
	}
	return 0
}

// Failure records a failed attempt by key.
func (t *Throttle) Failure(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.expire(now)
	var e *throttleEntry
	if el, ok := t.keys[key]; ok {
		e = el.Value.(*throttleEntry)
		t.order.MoveToFront(el)
	} else {
		e = &throttleEntry{key: key}
		t.keys[key] = t.order.PushFront(e)
		for t.order.Len() > t.maxKeys {
			t.remove(t.order.Back())
		}
	}
	e.failures++
	e.last = now
	if e.failures >= throttleFreeFailures {
		e.until = now.Add(throttleDelay(e.failures))
	}
}

// Success forgets key's failures.
func (t *Throttle) Success(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if el, ok := t.keys[key]; ok {
		t.remove(el)
	}
}

// throttleDelay is the wait after the n-th consecutive failure (n ≥ 3).
func throttleDelay(n int) time.Duration {
	d := throttleFirstDelay
	for i := throttleFreeFailures; i < n && d < throttleMaxDelay; i++ {
		d *= 2
	}
	return min(d, throttleMaxDelay)
}

// expire drops keys idle for throttleIdle (longer than any delay); the
// oldest are at the back.
func (t *Throttle) expire(now time.Time) {
	for el := t.order.Back(); el != nil; el = t.order.Back() {
		e := el.Value.(*throttleEntry)
		if now.Sub(e.last) < throttleIdle {
			return
		}
		t.remove(el)
	}
}

func (t *Throttle) remove(el *list.Element) {
	delete(t.keys, el.Value.(*throttleEntry).key)
	t.order.Remove(el)
}

// size returns the number of keys remembered.
func (t *Throttle) size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.order.Len()
}
