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
	throttleMaxShares    = 64               // users whose failures an address's counter tells apart
)

// Throttle slows password guessing: it counts consecutive sign-in failures
// per user (Directory.SignInKey: one key per extension however its name is
// spelled) and per browser address and, from the third on, makes the key
// wait 1 s, doubling per failure up to 5 min. A success forgets the user's
// failures and takes that user's share out of the address's count, never
// the failures of others from the same address (an office behind one
// address, or a guesser who also holds an account). It lives in memory, is
// bounded in size, and is safe for concurrent use. With several nodes, each
// node's Throttle tells the others what it counts (ShareWith) and counts
// what they tell (Apply): a guesser gets no more tries by spreading them
// across the nodes.
type Throttle struct {
	now     func() time.Time
	maxKeys int
	tell    func(failure bool, user, addr string) // set once, before use (ShareWith)

	mu    sync.Mutex
	keys  map[string]*list.Element // of *throttleEntry
	order *list.List               // most recent failure at the front
}

type throttleEntry struct {
	key      string
	failures int
	last     time.Time      // last failure
	until    time.Time      // no attempt before this
	by       map[string]int // of an address: failures per user, up to throttleMaxShares users
}

// NewThrottle returns an empty Throttle reading time from now (time.Now when nil).
func NewThrottle(now func() time.Time) *Throttle {
	if now == nil {
		now = time.Now
	}
	return &Throttle{now: now, maxKeys: throttleMaxKeys, keys: map[string]*list.Element{}, order: list.New()}
}

// Keys of the two counters of a sign-in; the prefixes keep a user from
// colliding with an address.
func userKey(user string) string { return "user:" + user }
func addrKey(addr string) string { return "ip:" + addr }

// Wait returns how long a sign-in as user from addr must wait before its
// next attempt: the longer of the two counters' waits; 0 if it may try now.
func (t *Throttle) Wait(user, addr string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.expire(now)
	return max(t.wait(userKey(user), now), t.wait(addrKey(addr), now))
}

func (t *Throttle) wait(key string, now time.Time) time.Duration {
	el, ok := t.keys[key]
	if !ok {
		return 0
	}
	if d := el.Value.(*throttleEntry).until.Sub(now); d > 0 {
		return d
	}
	return 0
}

// ShareWith makes the throttle give tell each failure and success it
// records, for the other nodes to Apply. Call it before the throttle is
// used.
func (t *Throttle) ShareWith(tell func(failure bool, user, addr string)) { t.tell = tell }

// Apply records a failure or a success another node counted, as Failure
// or Success do, without telling it again.
func (t *Throttle) Apply(failure bool, user, addr string) {
	if failure {
		t.failure(user, addr)
	} else {
		t.success(user, addr)
	}
}

// Failure records a failed sign-in as user from addr against both.
func (t *Throttle) Failure(user, addr string) {
	t.failure(user, addr)
	if t.tell != nil {
		t.tell(true, user, addr)
	}
}

func (t *Throttle) failure(user, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.expire(now)
	t.fail(userKey(user), "", now)
	t.fail(addrKey(addr), user, now)
}

// fail counts a failure against key; by, when set, is the user it is
// attributed to.
func (t *Throttle) fail(key, by string, now time.Time) {
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
	if by != "" {
		if e.by == nil {
			e.by = map[string]int{}
		}
		if _, ok := e.by[by]; ok || len(e.by) < throttleMaxShares {
			e.by[by]++
		}
	}
	e.schedule()
}

// schedule sets when the key may try again after its failures.
func (e *throttleEntry) schedule() {
	e.until = time.Time{}
	if e.failures >= throttleFreeFailures {
		e.until = e.last.Add(throttleDelay(e.failures))
	}
}

// Success forgets user's failures and takes user's share out of addr's
// count; the failures of others from addr still count.
func (t *Throttle) Success(user, addr string) {
	t.success(user, addr)
	if t.tell != nil {
		t.tell(false, user, addr)
	}
}

func (t *Throttle) success(user, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if el, ok := t.keys[userKey(user)]; ok {
		t.remove(el)
	}
	el, ok := t.keys[addrKey(addr)]
	if !ok {
		return
	}
	e := el.Value.(*throttleEntry)
	share := e.by[user]
	if share == 0 {
		return
	}
	delete(e.by, user)
	if e.failures -= share; e.failures <= 0 {
		t.remove(el)
		return
	}
	e.schedule()
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
