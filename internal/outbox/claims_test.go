package outbox_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/outbox"
	"github.com/callbridge/widget-server/internal/store"
	"github.com/callbridge/widget-server/internal/store/pgtest"
)

// The tests of engines that share a database run on PostgreSQL, as
// servers that share one do. The test binary is also the server that
// TestKilledServer kills.
func TestMain(m *testing.M) {
	if url := os.Getenv(killedEnv); url != "" {
		os.Exit(killedServer(url, os.Getenv(killedDirEnv)))
	}
	pgtest.Main(m)
}

// killedEnv names the database of the test binary run as the server
// TestKilledServer kills.
const killedEnv = "CALLBRIDGE_OUTBOX_KILLED_SERVER"

// killedDirEnv names its data directory.
const killedDirEnv = "CALLBRIDGE_OUTBOX_KILLED_DIR"

// killedLease is the lease of the server that is killed.
const killedLease = 500 * time.Millisecond

// killedServer runs an engine whose attempts never end, saying on stdout
// which job it attempts, until it is killed.
func killedServer(url, dir string) int {
	ctx := context.Background()
	db, err := store.OpenDatabase(ctx, url, dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	hang := newHandler(func(ctx context.Context, j outbox.Job) error {
		fmt.Printf("attempting %s\n", j.Ref)
		<-ctx.Done()
		return ctx.Err()
	})
	go func() {
		for range hang.events {
		}
	}()
	outbox.New(outbox.Config{ID: "killed", Lease: killedLease}, db, map[string]outbox.Kind{"test": {Handler: hang}}).Run(ctx)
	return 0
}

// node is one server's handle on a shared PostgreSQL database.
func node(t *testing.T, url string) *store.DB {
	t.Helper()
	db, err := store.OpenDatabase(context.Background(), url, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// skips counts an engine's log lines that say it left target a to another
// engine.
type skips struct {
	mu sync.Mutex
	n  int
}

func (s *skips) Write(p []byte) (int, error) {
	if line := string(p); strings.Contains(line, "delivery attempted by another engine") && strings.Contains(line, " target=a ") {
		s.mu.Lock()
		s.n++
		s.mu.Unlock()
	}
	return len(p), nil
}

func (s *skips) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// logger writes an engine's debug log to w.
func logger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// receiver is a webhook receiver that counts what it is sent, by ref, and
// answers 503 to the first request of every third job.
type receiver struct {
	mu        sync.Mutex
	requests  map[string]int      // by ref
	delivered map[string][]string // refs answered 200, by target, in the order they came
	inFlight  map[string]int      // by target
	overlaps  []string
	done      chan string // a ref answered 200
}

func newReceiver(t *testing.T) (*receiver, *httptest.Server) {
	rc := &receiver{requests: map[string]int{}, delivered: map[string][]string{}, inFlight: map[string]int{},
		done: make(chan string, 1000)}
	srv := httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(srv.Close)
	return rc, srv
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	target := strings.TrimPrefix(r.URL.Path, "/")
	ref := r.Header.Get("X-Ref")
	rc.mu.Lock()
	rc.inFlight[target]++
	if rc.inFlight[target] > 1 {
		rc.overlaps = append(rc.overlaps, ref)
	}
	rc.requests[ref]++
	fail := rc.requests[ref] == 1 && strings.HasSuffix(ref, "-0")
	rc.mu.Unlock()
	defer func() {
		rc.mu.Lock()
		rc.inFlight[target]--
		rc.mu.Unlock()
	}()
	if fail {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	rc.mu.Lock()
	rc.delivered[target] = append(rc.delivered[target], ref)
	rc.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
	rc.done <- ref
}

// poster delivers jobs to the receiver, as a webhook delivery does, and
// counts the jobs it delivered.
type poster struct {
	url    string
	client *http.Client
	mu     sync.Mutex
	n      int
}

func (p *poster) Attempt(ctx context.Context, j outbox.Job) error {
	status, err := outbox.Post(ctx, p.client, outbox.Request{URL: p.url + "/" + j.Target, Header: http.Header{"X-Ref": {j.Ref}}, Body: j.Payload})
	if err != nil {
		return err
	}
	if status/100 != 2 {
		return fmt.Errorf("receiver answered %d", status)
	}
	p.mu.Lock()
	p.n++
	p.mu.Unlock()
	return nil
}

func (p *poster) GiveUp(context.Context, outbox.Job, error) {}

func (p *poster) delivered() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// TestEnginesShareJobs: two engines over one database, each adding jobs
// the other finds by its scan, deliver every job once, one at a time and
// in order per target, also those whose first attempt failed.
func TestEnginesShareJobs(t *testing.T) {
	url := pgtest.URL(t)
	rc, srv := newReceiver(t)
	fast := outbox.Policy{Backoff: func(int) time.Duration { return time.Millisecond }}
	var engines []*outbox.Engine
	var posters []*poster
	for _, id := range []string{"a", "b"} {
		p := &poster{url: srv.URL, client: srv.Client()}
		e := outbox.New(outbox.Config{ID: id, Rescan: 20 * time.Millisecond}, node(t, url), map[string]outbox.Kind{"test": {Handler: p, Policy: fast}})
		engines, posters = append(engines, e), append(posters, p)
		defer run(e)()
	}

	const targets, perTarget = 6, 8
	want := map[string][]string{}
	for n := range perTarget {
		for i := range targets {
			target := fmt.Sprint("t", i)
			ref := fmt.Sprintf("%s-%d-%d", target, n, n%3)
			want[target] = append(want[target], ref)
			if err := engines[(n+i)%2].Add(context.Background(), job(target, ref)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for range targets * perTarget {
		select {
		case <-rc.done:
		case <-time.After(patience):
			t.Fatalf("delivered %v", rc.delivered)
		}
	}
	db := node(t, url)
	waitFor(t, func() bool { return len(jobs(t, db)) == 0 })

	rc.mu.Lock()
	defer rc.mu.Unlock()
	for target, refs := range want {
		if !slices.Equal(rc.delivered[target], refs) {
			t.Errorf("target %s got %v, want %v", target, rc.delivered[target], refs)
		}
		for _, ref := range refs {
			if n, tries := rc.requests[ref], 1+btoi(strings.HasSuffix(ref, "-0")); n != tries {
				t.Errorf("%s was sent %d times, want %d", ref, n, tries)
			}
		}
	}
	if len(rc.overlaps) > 0 {
		t.Errorf("sent while another request of its target was in flight: %v", rc.overlaps)
	}
	if a, b := posters[0].delivered(), posters[1].delivered(); a+b != targets*perTarget {
		t.Errorf("engines delivered %d and %d", a, b)
	} else {
		t.Logf("engine a delivered %d, engine b %d", a, b)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestStoppedEngineLeavesItsJobs: while one engine attempts a target's
// first job the other leaves the target alone; when the first stops in
// the middle of the attempt, the other delivers the target's jobs, in
// order, that attempt not counted.
func TestStoppedEngineLeavesItsJobs(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	held := newHandler(func(ctx context.Context, j outbox.Job) error {
		if j.Ref == "a1" {
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	})
	first := outbox.New(outbox.Config{ID: "first", Rescan: 20 * time.Millisecond}, node(t, url), map[string]outbox.Kind{"test": {Handler: held}})
	if err := first.Add(ctx, job("a", "a1"), job("a", "a2"), job("b", "b1")); err != nil {
		t.Fatal(err)
	}
	stopFirst := run(first)
	held.expect(t, "start a1", "end b1")

	attempts := make(chan int, 10)
	other := newHandler(func(_ context.Context, j outbox.Job) error {
		attempts <- j.Attempts
		return nil
	})
	var skipped skips
	second := outbox.New(outbox.Config{ID: "second", Rescan: 20 * time.Millisecond, Logger: logger(&skipped)}, node(t, url),
		map[string]outbox.Kind{"test": {Handler: other}})
	defer run(second)()
	waitFor(t, func() bool { return skipped.count() >= 2 }) // it looked, twice, and left a1 to the first
	select {
	case ev := <-other.events:
		t.Fatalf("the second engine attempted a job of the first: %s", ev)
	default:
	}

	stopFirst()
	if got := other.expect(t, "end a1", "end a2"); !slices.Equal(got, []string{"start a1", "end a1", "start a2", "end a2"}) {
		t.Fatalf("the second engine %v", got)
	}
	if n := <-attempts; n != 0 {
		t.Fatalf("a1 had %d attempts: the one cut short counted", n)
	}
	db := node(t, url)
	waitFor(t, func() bool { return len(jobs(t, db)) == 0 })
}

// TestDeadEngineLeaseLapses: a job claimed by an engine that never
// finishes (its server died) is delivered by another once the claim's
// lease has lapsed, not before; the jobs after it follow in order.
func TestDeadEngineLeaseLapses(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	db := node(t, url)
	for _, j := range []outbox.Job{job("a", "a1"), job("a", "a2")} {
		j.NextAttempt = time.Now()
		if err := db.AddJob(ctx, &j); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	dead, claimed, err := db.ClaimJob(ctx, "test", "a", "dead", now, now.Add(300*time.Millisecond))
	if err != nil || !claimed || dead.Ref != "a1" {
		t.Fatalf("claim of the dead engine: %+v %v %v", dead, claimed, err)
	}

	began := make(chan time.Time, 10)
	h := newHandler(func(_ context.Context, j outbox.Job) error {
		if j.Ref == "a1" {
			began <- time.Now()
		}
		return nil
	})
	e := outbox.New(outbox.Config{ID: "alive", Rescan: 20 * time.Millisecond}, node(t, url), map[string]outbox.Kind{"test": {Handler: h}})
	defer run(e)()
	if got := h.expect(t, "end a1", "end a2"); !slices.Equal(got, []string{"start a1", "end a1", "start a2", "end a2"}) {
		t.Fatalf("after the lease %v", got)
	}
	if at := <-began; at.Before(dead.ClaimedUntil) {
		t.Fatalf("a1 attempted at %v, within the dead engine's lease (until %v)", at, dead.ClaimedUntil)
	}
	waitFor(t, func() bool { return len(jobs(t, db)) == 0 })
}

// TestKilledServer: a server killed (SIGKILL) in the middle of an attempt
// leaves its claim behind; another delivers the job once the lease
// lapses, and the next after it.
func TestKilledServer(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	db := node(t, url)
	for _, j := range []outbox.Job{job("a", "a1"), job("a", "a2")} {
		j.NextAttempt = time.Now()
		if err := db.AddJob(ctx, &j); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), killedEnv+"="+url, killedDirEnv+"="+t.TempDir())
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "attempting a1\n" {
		t.Fatalf("the server said %q, %v", line, err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	left := jobs(t, db)
	if len(left) != 2 || left[0].ClaimedBy != "killed" {
		t.Fatalf("after the kill %+v", left)
	}

	began := make(chan time.Time, 10)
	h := newHandler(func(_ context.Context, j outbox.Job) error {
		if j.Ref == "a1" {
			began <- time.Now()
		}
		return nil
	})
	e := outbox.New(outbox.Config{ID: "alive", Rescan: 20 * time.Millisecond}, node(t, url), map[string]outbox.Kind{"test": {Handler: h}})
	defer run(e)()
	if got := h.expect(t, "end a1", "end a2"); !slices.Equal(got, []string{"start a1", "end a1", "start a2", "end a2"}) {
		t.Fatalf("after the kill %v", got)
	}
	if at := <-began; at.Before(left[0].ClaimedUntil) {
		t.Fatalf("a1 attempted at %v, within the killed server's lease (until %v)", at, left[0].ClaimedUntil)
	}
	waitFor(t, func() bool { return len(jobs(t, db)) == 0 })
}

// TestLongAttemptKeepsItsClaim: an attempt that runs longer than the lease
// keeps its job, renewing the claim: the other engine, looking all along,
// never attempts it.
func TestLongAttemptKeepsItsClaim(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	db := node(t, url)
	const lease = 2 * time.Second
	release := make(chan struct{})
	long := newHandler(func(ctx context.Context, j outbox.Job) error {
		if j.Ref == "a1" {
			select {
			case <-release:
			case <-ctx.Done(): // the test failed
				return ctx.Err()
			}
		}
		return nil
	})
	first := outbox.New(outbox.Config{ID: "first", Lease: lease}, node(t, url), map[string]outbox.Kind{"test": {Handler: long}})
	defer run(first)()
	if err := first.Add(ctx, job("a", "a1")); err != nil {
		t.Fatal(err)
	}
	long.expect(t, "start a1")
	claim := jobs(t, db)[0]
	if claim.ClaimedBy != "first" {
		t.Fatalf("attempted unclaimed: %+v", claim)
	}

	other := newHandler(nil)
	var skipped skips
	second := outbox.New(outbox.Config{ID: "second", Lease: lease, Rescan: 20 * time.Millisecond, Logger: logger(&skipped)}, node(t, url),
		map[string]outbox.Kind{"test": {Handler: other}})
	defer run(second)()
	// The first lease lapses; the claim, renewed, holds.
	waitFor(t, func() bool {
		j := jobs(t, db)
		return time.Now().After(claim.ClaimedUntil) && len(j) == 1 && j[0].ClaimedBy == "first" && j[0].ClaimedUntil.After(claim.ClaimedUntil)
	})
	seen := skipped.count()
	waitFor(t, func() bool { return skipped.count() >= seen+2 }) // the second engine looked since
	close(release)
	long.expect(t, "end a1")
	waitFor(t, func() bool { return len(jobs(t, db)) == 0 })
	select {
	case ev := <-other.events:
		t.Fatalf("the second engine attempted the job of the first: %s", ev)
	default:
	}
}
