package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// TestReadinessChecksAtMostOnceASecond: /readyz answers the outcome of its
// checks again for a second, however many ask, at once or one after the
// other; only then does it run them again. A clock of the test's own says
// when the second is over.
func TestReadinessChecksAtMostOnceASecond(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	var runs atomic.Int32
	var broken atomic.Bool
	ready := &readiness{log: slog.New(slog.DiscardHandler), now: clock, checks: []readyCheck{
		{"storage", func(context.Context) error {
			runs.Add(1)
			if broken.Load() {
				return errors.New("disk full")
			}
			return nil
		}},
	}}
	e := echo.New()
	ready.routes(e)
	get := func() int {
		w := httptest.NewRecorder()
		e.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
		return w.Code
	}

	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if code := get(); code != http.StatusOK {
				t.Errorf("readyz: %d", code)
			}
		})
	}
	wg.Wait()
	if n := runs.Load(); n != 1 {
		t.Fatalf("20 requests at once ran the checks %d times, want 1", n)
	}

	broken.Store(true)
	advance(readyFor - time.Millisecond)
	if code := get(); code != http.StatusOK || runs.Load() != 1 {
		t.Fatalf("within the second: %d after %d runs, want the first outcome again", code, runs.Load())
	}
	advance(time.Millisecond)
	if code := get(); code != http.StatusServiceUnavailable || runs.Load() != 2 {
		t.Fatalf("after the second: %d after %d runs, want the checks run again and failing", code, runs.Load())
	}
	broken.Store(false)
	if code := get(); code != http.StatusServiceUnavailable || runs.Load() != 2 {
		t.Fatalf("a failure is kept for the second too: %d after %d runs", code, runs.Load())
	}
	advance(-time.Hour) // a clock set back does not keep the outcome for an hour
	if code := get(); code != http.StatusOK || runs.Load() != 3 {
		t.Fatalf("after the clock went back: %d after %d runs", code, runs.Load())
	}
}
