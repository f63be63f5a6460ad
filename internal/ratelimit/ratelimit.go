// Package ratelimit is the token bucket both HTTP faces of the server limit
// requests with (the platform API per extension, the widget per session and
// its SMS per extension): per key, limit tokens refilled at limit per
// window, one taken per request. Admit tells the client its budget in the
// X-Rate-Limit-* headers and, past the limit, answers the error model's 429
// with Retry-After (internal/httperror).
//
// It must not import internal/web, internal/api or internal/server.
package ratelimit

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/httperror"
)

// Limiter is a token bucket per key: limit tokens, refilled at limit per
// window, one taken per request. Buckets that have refilled are forgotten,
// so memory follows the number of recently active keys.
type Limiter[K comparable] struct {
	limit  int
	window time.Duration
	now    func() time.Time
	tell   func(key K) // set once, before use (ShareWith)

	mu        sync.Mutex
	buckets   map[K]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	at     time.Time // when tokens was computed
}

// New returns a limiter of limit requests per window and key; now is its
// clock (time.Now outside tests).
func New[K comparable](limit int, window time.Duration, now func() time.Time) *Limiter[K] {
	return &Limiter[K]{limit: limit, window: window, now: now, buckets: map[K]*bucket{}, lastSweep: now()}
}

// Admit takes a token of key's bucket and sets the X-Rate-Limit-* headers;
// with none left it answers 429 with Retry-After.
func (l *Limiter[K]) Admit(c echo.Context, key K) error {
	remaining, wait, ok := l.Take(key)
	h := c.Response().Header()
	h.Set("X-Rate-Limit-Limit", strconv.Itoa(l.limit))
	h.Set("X-Rate-Limit-Remaining", strconv.Itoa(remaining))
	h.Set("X-Rate-Limit-Window", strconv.Itoa(int(math.Ceil(l.window.Seconds()))))
	if ok {
		return nil
	}
	secs := max(1, int(math.Ceil(wait.Seconds())))
	return &httperror.Error{Status: http.StatusTooManyRequests, Code: "TooManyRequests", RetryAfter: strconv.Itoa(secs),
		Message: "request rate exceeded: at most " + strconv.Itoa(l.limit) + " requests per " +
			l.window.String() + "; retry after " + strconv.Itoa(secs) + " s"}
}

// ShareWith makes the limiter give tell the key of each token it takes,
// for the other nodes of a cluster to Spend: a limit that must hold for
// the whole cluster (a cost, such as SMS). Call it before the limiter is
// used.
func (l *Limiter[K]) ShareWith(tell func(key K)) { l.tell = tell }

// Spend takes a token of key's bucket that another node took, when there
// is one left.
func (l *Limiter[K]) Spend(key K) { l.take(key) }

// Left returns the whole tokens key's bucket has now, taking none.
func (l *Limiter[K]) Left(key K) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		return l.limit
	}
	return int(l.refilled(b, l.now()))
}

// Take takes a token of key's bucket. It returns the whole tokens left and,
// when there was none to take, how long until there is one.
func (l *Limiter[K]) Take(key K) (remaining int, wait time.Duration, ok bool) {
	remaining, wait, ok = l.take(key)
	if ok && l.tell != nil {
		l.tell(key)
	}
	return remaining, wait, ok
}

func (l *Limiter[K]) take(key K) (remaining int, wait time.Duration, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.lastSweep) >= l.window {
		l.sweepLocked(now)
	}
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: float64(l.limit), at: now}
		l.buckets[key] = b
	}
	b.tokens = l.refilled(b, now)
	b.at = now
	if b.tokens < 1 {
		perToken := l.window / time.Duration(l.limit)
		return 0, time.Duration((1 - b.tokens) * float64(perToken)).Round(time.Millisecond), false
	}
	b.tokens--
	return int(b.tokens), 0, true
}

func (l *Limiter[K]) refilled(b *bucket, now time.Time) float64 {
	elapsed := now.Sub(b.at)
	if elapsed <= 0 {
		return b.tokens
	}
	return min(float64(l.limit), b.tokens+float64(l.limit)*elapsed.Seconds()/l.window.Seconds())
}

func (l *Limiter[K]) sweepLocked(now time.Time) {
	for k, b := range l.buckets {
		if l.refilled(b, now) >= float64(l.limit) {
			delete(l.buckets, k)
		}
	}
	l.lastSweep = now
}
