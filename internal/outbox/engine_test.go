package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/outbox"
	"github.com/callbridge/widget-server/internal/store"
)

// patience only guards against a hang: every wait is for an event.
const patience = 20 * time.Second

// fakeClock stands still until the engine waits: a wait moves it on and is
// recorded.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newClock() *fakeClock { return &fakeClock{now: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

func (c *fakeClock) slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sleeps)
}

// handler records what happens to each job, by Ref, on events; attempt
// decides the outcome of an attempt (nil: delivered).
type handler struct {
	events  chan string
	attempt func(ctx context.Context, j outbox.Job) error
	gaveUp  chan outbox.Job
}

func newHandler(attempt func(ctx context.Context, j outbox.Job) error) *handler {
	return &handler{events: make(chan string, 100), attempt: attempt, gaveUp: make(chan outbox.Job, 10)}
}

func (h *handler) Attempt(ctx context.Context, j outbox.Job) error {
	h.events <- "start " + j.Ref
	var err error
	if h.attempt != nil {
		err = h.attempt(ctx, j)
	}
	h.events <- "end " + j.Ref
	return err
}

func (h *handler) GiveUp(_ context.Context, j outbox.Job, err error) {
	j.LastError = err.Error()
	h.gaveUp <- j
}

// next returns the next event.
func (h *handler) next(t *testing.T) string {
	t.Helper()
	select {
	case ev := <-h.events:
		return ev
	case <-time.After(patience):
		t.Fatal("no attempt")
	}
	return ""
}

// expect reads events until it has seen every one of want, and returns
// them all in the order they came.
func (h *handler) expect(t *testing.T, want ...string) []string {
	t.Helper()
	var got []string
	for missing := slices.Clone(want); len(missing) > 0; {
		ev := h.next(t)
		got = append(got, ev)
		missing = slices.DeleteFunc(missing, func(w string) bool { return w == ev })
	}
	return got
}

func openStore(t *testing.T, dir string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// run starts the engine's Run and returns the function that stops it and
// waits for it to return.
func run(e *outbox.Engine) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}

func job(target, ref string) outbox.Job {
	return outbox.Job{Kind: "test", Target: target, Ref: ref, Payload: []byte(`{"ref":"` + ref + `"}`)}
}

func jobs(t *testing.T, db *store.DB) []outbox.Job {
	t.Helper()
	all, err := db.Jobs(context.Background(), "test")
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// TestRestart stops the engine while a receiver holds a delivery: nothing
// is lost, the stop is no attempt, and an engine opened again on the same
// data delivers what was pending, in order.
func TestRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openStore(t, dir)
	held := newHandler(func(ctx context.Context, j outbox.Job) error {
		if j.Ref == "a1" {
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	})
	first := outbox.New(outbox.Config{}, db, map[string]outbox.Kind{"test": {Handler: held}})
	if err := first.Add(ctx, job("a", "a1"), job("a", "a2"), job("b", "b1")); err != nil {
		t.Fatal(err)
	}
	stop := run(first)
	held.expect(t, "start a1", "end b1")
	stop()
	left := jobs(t, db)
	if len(left) != 2 || left[0].Ref != "a1" || left[1].Ref != "a2" || left[0].Attempts != 0 || left[0].LastError != "" {
		t.Fatalf("after the stop %+v, want a1 untried, then a2", left)
	}
	if string(left[1].Payload) != `{"ref":"a2"}` {
		t.Fatalf("payload %q", left[1].Payload)
	}
	db.Close()

	db = openStore(t, dir)
	again := newHandler(nil)
	second := outbox.New(outbox.Config{}, db, map[string]outbox.Kind{"test": {Handler: again}})
	defer run(second)()
	if got := again.expect(t, "end a1", "end a2"); !slices.Equal(got, []string{"start a1", "end a1", "start a2", "end a2"}) {
		t.Fatalf("after the restart %v", got)
	}
	// The last job is removed after its attempt returned: wait for it.
	waitFor(t, func() bool { return len(jobs(t, db)) == 0 })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never met")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestOrderPerTarget: a target's second job waits until its first is
// done; another target's job does not.
func TestOrderPerTarget(t *testing.T) {
	db := openStore(t, t.TempDir())
	release := make(chan struct{})
	h := newHandler(func(ctx context.Context, j outbox.Job) error {
		if j.Ref == "a1" {
			<-release
		}
		return nil
	})
	e := outbox.New(outbox.Config{}, db, map[string]outbox.Kind{"test": {Handler: h}})
	defer run(e)()
	if err := e.Add(context.Background(), job("a", "a1"), job("a", "a2"), job("b", "b1")); err != nil {
		t.Fatal(err)
	}
	got := h.expect(t, "start a1", "end b1") // b1 is done while a1 is held
	close(release)
	got = append(got, h.expect(t, "end a2")...)
	i := func(ev string) int { return slices.Index(got, ev) }
	if i("end a1") < 0 || i("start a2") < i("end a1") || i("end b1") > i("end a1") {
		t.Fatalf("events %v", got)
	}
}

// TestBackoffAndGiveUp: a failing job waits the back-off between attempts,
// doubling up to the cap, and is given up after the last attempt, logged;
// the next job of its target goes out after it.
func TestBackoffAndGiveUp(t *testing.T) {
	db := openStore(t, t.TempDir())
	clock := newClock()
	var logs syncBuffer
	h := newHandler(func(_ context.Context, j outbox.Job) error {
		if j.Ref == "fails" {
			return fmt.Errorf("attempt %d: receiver answered 503", j.Attempts+1)
		}
		return nil
	})
	var seen outcomes
	e := outbox.New(outbox.Config{Clock: clock, Logger: slog.New(slog.NewTextHandler(&logs, nil)), Observe: seen.observe}, db, map[string]outbox.Kind{
		"test": {Handler: h, Policy: outbox.Policy{MaxAttempts: 5, Backoff: outbox.Exponential(time.Second, 4*time.Second)}}})
	defer run(e)()
	if err := e.Add(context.Background(), job("a", "fails"), job("a", "next")); err != nil {
		t.Fatal(err)
	}
	var given outbox.Job
	select {
	case given = <-h.gaveUp:
	case <-time.After(patience):
		t.Fatal("never given up")
	}
	if given.Ref != "fails" || given.Attempts != 5 || given.LastError != "attempt 5: receiver answered 503" {
		t.Fatalf("given up %+v", given)
	}
	got := h.expect(t, "end next")
	if n := strings.Count(strings.Join(got, " "), "start fails"); n != 5 || got[len(got)-2] != "start next" {
		t.Fatalf("attempts %v", got)
	}
	if want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second}; !slices.Equal(clock.slept(), want) {
		t.Fatalf("waits %v, want %v", clock.slept(), want)
	}
	if !strings.Contains(logs.String(), "delivery given up") || !strings.Contains(logs.String(), "attempts=5") {
		t.Fatalf("log:\n%s", logs.String())
	}
	waitFor(t, func() bool { return len(jobs(t, db)) == 0 })
	want := map[string]int{"test failed": 4, "test given_up": 1, "test delivered": 1}
	waitFor(t, func() bool { return maps.Equal(seen.counts(), want) })
}

// outcomes counts what an engine observes.
type outcomes struct {
	mu sync.Mutex
	n  map[string]int
}

func (o *outcomes) observe(kind string, out outbox.Outcome) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.n == nil {
		o.n = map[string]int{}
	}
	o.n[kind+" "+string(out)]++
}

func (o *outcomes) counts() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return maps.Clone(o.n)
}

func TestExponential(t *testing.T) {
	b := outbox.Exponential(10*time.Millisecond, time.Second)
	var got []time.Duration
	for n := 1; n <= 10; n++ {
		got = append(got, b(n))
	}
	want := []time.Duration{10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000}
	for i := range want {
		want[i] *= time.Millisecond
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%v", got)
	}
}

// TestDropAndKeep: ErrDrop ends a job with no retry and no give-up; a
// kind that keeps two waiting per target drops the oldest waiting, never
// the one being attempted; Drop empties a target.
func TestDropAndKeep(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, t.TempDir())
	release := make(chan struct{})
	h := newHandler(func(_ context.Context, j outbox.Job) error {
		switch j.Ref {
		case "gone":
			return fmt.Errorf("receiver said 410: %w", outbox.ErrDrop)
		case "1":
			<-release
		}
		return nil
	})
	var seen outcomes
	e := outbox.New(outbox.Config{Observe: seen.observe}, db, map[string]outbox.Kind{"test": {Handler: h, Policy: outbox.Policy{Keep: 2, MaxAttempts: 1}}})
	defer run(e)()
	if err := e.Add(ctx, job("a", "gone")); err != nil {
		t.Fatal(err)
	}
	h.expect(t, "end gone")
	if err := e.Add(ctx, job("a", "1")); err != nil {
		t.Fatal(err)
	}
	h.expect(t, "start 1")
	for _, ref := range []string{"2", "3", "4", "5"} {
		if err := e.Add(ctx, job("a", ref)); err != nil {
			t.Fatal(err)
		}
	}
	later := func(ref string) outbox.Job { j := job("b", ref); j.NextAttempt = time.Now().Add(time.Hour); return j }
	if err := e.Add(ctx, later("b1"), later("b2")); err != nil {
		t.Fatal(err)
	}
	if err := e.Drop(ctx, "test", "b"); err != nil {
		t.Fatal(err)
	}
	close(release)
	got := h.expect(t, "end 1", "end 4", "end 5")
	if !slices.Equal(got, []string{"end 1", "start 4", "end 4", "start 5", "end 5"}) {
		t.Fatalf("after the held one %v, want 4 and 5 (2 and 3 dropped)", got)
	}
	waitFor(t, func() bool { return len(jobs(t, db)) == 0 })
	want := map[string]int{"test dropped": 1, "test delivered": 3}
	waitFor(t, func() bool { return maps.Equal(seen.counts(), want) })
	select {
	case j := <-h.gaveUp:
		t.Fatalf("given up %+v", j)
	case ev := <-h.events:
		t.Fatalf("after all: %s", ev)
	default:
	}
}

// TestRunWaitsForAttempts: Run returns only after the attempt in flight
// has returned.
func TestRunWaitsForAttempts(t *testing.T) {
	db := openStore(t, t.TempDir())
	var mu sync.Mutex
	returned := false
	h := newHandler(func(ctx context.Context, j outbox.Job) error {
		<-ctx.Done()
		time.Sleep(10 * time.Millisecond) // a slow return: Run must wait for it all the same
		mu.Lock()
		returned = true
		mu.Unlock()
		return ctx.Err()
	})
	e := outbox.New(outbox.Config{}, db, map[string]outbox.Kind{"test": {Handler: h}})
	stop := run(e)
	if err := e.Add(context.Background(), job("a", "1")); err != nil {
		t.Fatal(err)
	}
	h.expect(t, "start 1")
	stop()
	mu.Lock()
	defer mu.Unlock()
	if !returned {
		t.Fatal("Run returned while an attempt was in flight")
	}
}

// TestAttemptNow: an attempt made by the caller removes a delivered job;
// a failed one is saved with its back-off and left to Run.
func TestAttemptNow(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, t.TempDir())
	clock := newClock()
	fail := true
	h := newHandler(func(context.Context, outbox.Job) error {
		if fail {
			return errors.New("database busy")
		}
		return nil
	})
	e := outbox.New(outbox.Config{Clock: clock}, db, map[string]outbox.Kind{"test": {Handler: h}})
	j := job("a", "1")
	j.NextAttempt = clock.Now().Add(time.Minute) // the caller's own attempt comes first
	if err := e.Add(ctx, j); err != nil {
		t.Fatal(err)
	}
	stored := jobs(t, db)[0]
	if err := e.Attempt(ctx, stored); err == nil {
		t.Fatal("the failed attempt answered nil")
	}
	h.expect(t, "end 1")
	if left := jobs(t, db); len(left) != 1 || left[0].Attempts != 1 || left[0].LastError != "database busy" ||
		!left[0].NextAttempt.Equal(clock.Now().Add(time.Second)) {
		t.Fatalf("after a failed attempt %+v", left)
	}
	fail = false // read by Run's worker only after it starts
	defer run(e)()
	h.expect(t, "end 1")
	waitFor(t, func() bool { return len(jobs(t, db)) == 0 })
}

// TestPost: the body and headers reach the receiver as JSON, the status
// comes back, and a huge answer is not read to its end.
func TestPost(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Type") != "application/json" || r.Header.Get("X-Signature") != "sig" || r.Method != http.MethodPost {
			t.Errorf("request %s %v", r.Method, r.Header)
		}
		w.WriteHeader(http.StatusAccepted)
		chunk := []byte(strings.Repeat("x", 64<<10))
		for {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			select {
			case <-stop:
				return
			default:
			}
		}
	}))
	defer srv.Close()
	status, err := outbox.Post(context.Background(), srv.Client(), outbox.Request{URL: srv.URL, Header: http.Header{"X-Signature": {"sig"}}, Body: []byte(`{}`)})
	if err != nil || status != http.StatusAccepted {
		t.Fatalf("post: %d %v", status, err)
	}
	if _, err := outbox.Post(context.Background(), srv.Client(), outbox.Request{URL: "http://127.0.0.1:1/"}); err == nil {
		t.Fatal("no error with nobody listening")
	}
}

// syncBuffer is a log's output that tests read while the engine writes.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
