package web

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// The platform API's default rate limit per extension.
const (
	DefaultAPIRateLimit  = 60
	DefaultAPIRateWindow = 10 * time.Second
)

// The widget's default rate limits: requests per session, SMS per extension.
const (
	DefaultWidgetRateLimit  = 120
	DefaultWidgetRateWindow = 10 * time.Second
	DefaultSMSRateLimit     = 30
	DefaultSMSRateWindow    = time.Minute
)

// drainRetryAfter is what a client is told to wait while the server shuts down.
const drainRetryAfter = "5"

// Drain makes the platform API answer 503 from now on: the server is shutting
// down and in-flight work is finishing. Clients retry after Retry-After,
// by then against the restarted server.
func (s *Server) Drain() { s.draining.Store(true) }

func (s *Server) refuseWhileDraining(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.draining.Load() {
			c.Response().Header().Set("Retry-After", drainRetryAfter)
			return &Error{Status: http.StatusServiceUnavailable, Code: "ShuttingDown",
				Message: "the server is shutting down; retry in a few seconds"}
		}
		return next(c)
	}
}

// rateLimit admits the caller's request if its extension has a token left,
// and tells the client its budget in X-Rate-Limit-* headers either way.
func (s *Server) rateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := limitRate(c, s.limiter, caller(c).Extension.ID); err != nil {
			return err
		}
		return next(c)
	}
}

// limitRate takes a token of key's bucket and sets the X-Rate-Limit-*
// headers; with none left it answers 429 with Retry-After.
func limitRate[K comparable](c echo.Context, l *rateLimiter[K], key K) error {
	remaining, wait, ok := l.take(key)
	h := c.Response().Header()
	h.Set("X-Rate-Limit-Limit", strconv.Itoa(l.limit))
	h.Set("X-Rate-Limit-Remaining", strconv.Itoa(remaining))
	h.Set("X-Rate-Limit-Window", strconv.Itoa(int(math.Ceil(l.window.Seconds()))))
	if ok {
		return nil
	}
	secs := max(1, int(math.Ceil(wait.Seconds())))
	h.Set("Retry-After", strconv.Itoa(secs))
	return &Error{Status: http.StatusTooManyRequests, Code: "TooManyRequests",
		Message: "request rate exceeded: at most " + strconv.Itoa(l.limit) + " requests per " +
			l.window.String() + "; retry after " + strconv.Itoa(secs) + " s"}
}

// rateLimiter is a token bucket per key: limit tokens, refilled at limit
// per window, one taken per request. Buckets that have refilled are
// forgotten, so memory follows the number of recently active keys.
type rateLimiter[K comparable] struct {
	limit  int
	window time.Duration
	now    func() time.Time

	mu        sync.Mutex
	buckets   map[K]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	at     time.Time // when tokens was computed
}

func newRateLimiter[K comparable](limit int, window time.Duration, now func() time.Time) *rateLimiter[K] {
	return &rateLimiter[K]{limit: limit, window: window, now: now, buckets: map[K]*bucket{}, lastSweep: now()}
}

// take takes a token of key's bucket. It returns the whole tokens left and,
// when there was none to take, how long until there is one.
func (l *rateLimiter[K]) take(key K) (remaining int, wait time.Duration, ok bool) {
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

func (l *rateLimiter[K]) refilled(b *bucket, now time.Time) float64 {
	elapsed := now.Sub(b.at)
	if elapsed <= 0 {
		return b.tokens
	}
	return min(float64(l.limit), b.tokens+float64(l.limit)*elapsed.Seconds()/l.window.Seconds())
}

func (l *rateLimiter[K]) sweepLocked(now time.Time) {
	for k, b := range l.buckets {
		if l.refilled(b, now) >= float64(l.limit) {
			delete(l.buckets, k)
		}
	}
	l.lastSweep = now
}
