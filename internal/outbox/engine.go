package outbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Defaults of Config.
const (
	DefaultParallel = 8
	// DefaultRescan finds within seconds the jobs other servers add to a
	// shared database, and those an engine that died left behind.
	DefaultRescan = 2 * time.Second
	// DefaultLease is longer than an attempt takes (a request to the SMS
	// provider is cut at 10 s, to a subscription's receiver at 5 s), and
	// renewed every half of it besides.
	DefaultLease = 30 * time.Second
)

// storeTimeout bounds the bookkeeping of an attempt, which is done even
// when the engine is stopping (a delivered job must not be delivered
// again after the restart).
const storeTimeout = 5 * time.Second

// Config tunes an engine. Zero values take the defaults.
type Config struct {
	// Parallel bounds the attempts made at once, over every target.
	Parallel int
	// Rescan is how often Run looks in the store for targets nobody told
	// it of (jobs stored by another process, jobs another engine gave up
	// or stopped holding, or a wake-up that was lost).
	Rescan time.Duration
	// ID names the engine in the claims of the jobs it attempts; engines
	// that share a database need different ones. "": a new NewID.
	ID string
	// Lease is how long a claim lasts unless renewed: the engine renews
	// it every half of it while an attempt runs, and the jobs of an
	// engine that died go to the others once it lapses. The engines of a
	// database measure it on clocks that must agree (NTP) to well within
	// it.
	Lease time.Duration
	// Clock is what due times, back-off waits and leases are measured on.
	Clock  Clock
	Logger *slog.Logger
	// Observe, when set, is told the outcome of every attempt (for
	// metrics); it must not block.
	Observe Observer
}

// Observer is told the outcome of an attempt at a job of kind.
type Observer func(kind string, o Outcome)

// Outcome is how an attempt ended.
type Outcome string

// The outcomes of an attempt. A stop in the middle of one is none.
const (
	Delivered Outcome = "delivered" // the job ends
	Dropped   Outcome = "dropped"   // ErrDrop: the job ends undelivered
	Failed    Outcome = "failed"    // tried again after the back-off
	GivenUp   Outcome = "given_up"  // failed its kind's last attempt: the job ends undelivered
)

// Engine delivers the jobs of its kinds. Add, Wake, Drop and Attempt may
// be called from any goroutine, before, during or after Run.
type Engine struct {
	cfg   Config
	id    string
	store Store
	kinds map[string]Kind
	names []string // of kinds, for the store
	clock Clock
	log   *slog.Logger
	wake  chan struct{}
	slots chan struct{} // one per attempt being made

	mu      sync.Mutex
	workers map[Target]*worker // targets being delivered
	wanted  map[Target]bool    // targets with new jobs and no worker yet
}

// worker is the state of the goroutine that delivers one target's jobs.
type worker struct {
	again   bool  // a job was added since the worker last looked
	current int64 // the job it attempts or waits for
}

// New returns an engine over st that delivers the given kinds of jobs; Run
// makes the attempts.
func New(cfg Config, st Store, kinds map[string]Kind) *Engine {
	if cfg.Parallel <= 0 {
		cfg.Parallel = DefaultParallel
	}
	if cfg.Rescan <= 0 {
		cfg.Rescan = DefaultRescan
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.ID == "" {
		cfg.ID = NewID()
	}
	if cfg.Clock == nil {
		cfg.Clock = RealClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	own := make(map[string]Kind, len(kinds))
	names := make([]string, 0, len(kinds))
	for name, k := range kinds {
		if k.Policy.Backoff == nil {
			k.Policy.Backoff = Exponential(time.Second, time.Minute)
		}
		own[name] = k
		names = append(names, name)
	}
	slices.Sort(names)
	return &Engine{cfg: cfg, id: cfg.ID, store: st, kinds: own, names: names, clock: cfg.Clock, log: cfg.Logger,
		wake: make(chan struct{}, 1), slots: make(chan struct{}, cfg.Parallel),
		workers: map[Target]*worker{}, wanted: map[Target]bool{}}
}

// NewID returns a new engine id: the host's name, the process id and a
// random part, so that it names this engine alone among those sharing a
// database; a restarted server is a new engine.
func NewID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "host"
	}
	b := make([]byte, 6)
	rand.Read(b) // never fails
	return host + "-" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b)
}

// Add stores jobs and has Run deliver them, each after the jobs of its
// target added before. A job with no NextAttempt is due now. When its kind
// keeps a bounded number per target, the first waiting beyond it are
// removed, with a log line.
func (e *Engine) Add(ctx context.Context, jobs ...Job) error {
	for i := range jobs {
		j := &jobs[i]
		k, ok := e.kinds[j.Kind]
		if !ok {
			return fmt.Errorf("add delivery: unknown kind %q", j.Kind)
		}
		if j.NextAttempt.IsZero() {
			j.NextAttempt = e.clock.Now()
		}
		if err := e.store.AddJob(ctx, j); err != nil {
			return fmt.Errorf("add %s delivery to %s: %w", j.Kind, j.Target, err)
		}
		if keep := k.Policy.Keep; keep > 0 {
			t := Target{j.Kind, j.Target}
			e.mu.Lock()
			var current int64
			if w := e.workers[t]; w != nil {
				current = w.current
			}
			e.mu.Unlock()
			n, err := e.store.TrimJobs(ctx, j.Kind, j.Target, keep, current)
			if err != nil {
				return fmt.Errorf("bound %s deliveries to %s: %w", j.Kind, j.Target, err)
			}
			if n > 0 {
				e.log.Warn("delivery queue full: the oldest waiting dropped", slog.String("kind", j.Kind),
					slog.String("target", j.Target), slog.Int("dropped", n), slog.Int("keep", keep))
			}
		}
		e.Wake(j.Kind, j.Target)
	}
	return nil
}

// Wake tells Run that a target has a new job, stored by other means (in
// the transaction that made what it delivers).
func (e *Engine) Wake(kind, target string) {
	t := Target{kind, target}
	e.mu.Lock()
	if w := e.workers[t]; w != nil {
		w.again = true
		e.mu.Unlock()
		return
	}
	e.wanted[t] = true
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Drop removes every job of a target that is not done yet; an attempt
// being made goes on, but is not tried again.
func (e *Engine) Drop(ctx context.Context, kind, target string) error {
	n, err := e.store.DeleteJobs(ctx, kind, target)
	if err != nil {
		return fmt.Errorf("drop %s deliveries to %s: %w", kind, target, err)
	}
	if n > 0 {
		e.log.Debug("deliveries dropped", slog.String("kind", kind), slog.String("target", target), slog.Int("dropped", n))
	}
	return nil
}

// Attempt makes one attempt of a stored job now, on the caller's
// goroutine, and settles it as Run would: for work done at once when it
// can be, with the stored job to fall back on. Its NextAttempt must lie
// beyond the time the attempt can take, so that no engine's Run claims it
// meanwhile (a job is claimed only once due); the job is not claimed. It
// returns the attempt's error.
func (e *Engine) Attempt(ctx context.Context, j Job) error {
	if _, ok := e.kinds[j.Kind]; !ok {
		return fmt.Errorf("attempt delivery: unknown kind %q", j.Kind)
	}
	err := e.attempt(ctx, j, "")
	if err != nil && !errors.Is(err, ErrDrop) {
		e.Wake(j.Kind, j.Target) // tried again by Run
	}
	return err
}

// Run delivers jobs until ctx ends: those stored before it started, also
// by an earlier process, and those added meanwhile. It returns when ctx
// has ended and every attempt in flight is over; a job cut short stays
// as it was, and the next Run makes the attempt again.
func (e *Engine) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	rescan := time.NewTimer(0)
	defer rescan.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-rescan.C:
			e.scan(ctx)
			rescan.Reset(e.cfg.Rescan)
		case <-e.wake:
		}
		e.startWorkers(ctx, &wg)
	}
}

// scan marks every target with jobs as wanted.
func (e *Engine) scan(ctx context.Context) {
	targets, err := e.store.JobTargets(ctx, e.names)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Error("pending deliveries not loaded", slog.Any("err", err))
		}
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, t := range targets {
		if e.workers[t] == nil {
			e.wanted[t] = true
		}
	}
}

// startWorkers starts a worker for each wanted target that has none.
func (e *Engine) startWorkers(ctx context.Context, wg *sync.WaitGroup) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for t := range e.wanted {
		if e.workers[t] != nil {
			continue
		}
		w := &worker{}
		e.workers[t] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.work(ctx, t, w)
		}()
	}
	clear(e.wanted)
}

// work delivers a target's jobs in order, waiting for each to be due, and
// ends when the target has none left, when another engine attempts its
// first job (the next scan looks again), or when ctx ends.
func (e *Engine) work(ctx context.Context, t Target, w *worker) {
	defer func() {
		e.mu.Lock()
		delete(e.workers, t)
		e.mu.Unlock()
	}()
	for ctx.Err() == nil {
		e.mu.Lock()
		w.again = false
		e.mu.Unlock()
		j, ok, err := e.store.NextJob(ctx, t.Kind, t.Target)
		if err != nil {
			if ctx.Err() == nil {
				e.log.Error("pending delivery not loaded", slog.String("kind", t.Kind), slog.String("target", t.Target), slog.Any("err", err))
				pause(ctx, time.Second)
			}
			continue
		}
		e.mu.Lock()
		if !ok {
			if !w.again {
				e.mu.Unlock()
				return
			}
			e.mu.Unlock()
			continue
		}
		w.current = j.ID
		e.mu.Unlock()
		now := e.clock.Now()
		if d := j.NextAttempt.Sub(now); d > 0 {
			if e.clock.Sleep(ctx, d) != nil {
				return
			}
			continue // read again: it may be done or dropped meanwhile
		}
		if e.takenBy(j, now) {
			e.skip(j)
			return
		}
		select {
		case e.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		now = e.clock.Now() // a slot may have taken a while
		j, claimed, err := e.store.ClaimJob(ctx, t.Kind, t.Target, e.id, now, now.Add(e.cfg.Lease))
		switch {
		case err != nil:
			<-e.slots
			if ctx.Err() == nil {
				e.log.Error("pending delivery not claimed", slog.String("kind", t.Kind), slog.String("target", t.Target), slog.Any("err", err))
				pause(ctx, time.Second)
			}
			continue
		case !claimed && j.ID != 0 && !j.NextAttempt.After(now):
			<-e.slots
			e.skip(j)
			return
		case !claimed:
			<-e.slots
			continue // done, dropped or put off meanwhile: read again
		}
		e.mu.Lock()
		w.current = j.ID
		e.mu.Unlock()
		e.attempt(ctx, j, e.id)
		<-e.slots
	}
}

// skip logs a target left to the engine that attempts its first job.
func (e *Engine) skip(j Job) {
	e.log.Debug("delivery attempted by another engine", slog.String("kind", j.Kind), slog.String("target", j.Target),
		slog.String("ref", j.Ref), slog.String("engine", j.ClaimedBy))
}

// takenBy reports whether another engine holds a live claim on j at now.
func (e *Engine) takenBy(j Job, now time.Time) bool {
	return j.ClaimedBy != "" && j.ClaimedBy != e.id && j.ClaimedUntil.After(now)
}

// attempt makes one attempt and records its outcome: a job delivered or
// dropped is removed, a failed one saved with its next attempt or given
// up after its kind's last. A stop in the middle of an attempt (ctx ended)
// is no attempt: the job stays as it was, and is released. by is the
// engine whose claim j is held by, renewed while the attempt runs; "" for
// a job the caller attempts unclaimed. A failure is recorded, and a job
// given up, only while by holds it: one taken over by another engine is
// that engine's.
func (e *Engine) attempt(ctx context.Context, j Job, by string) error {
	k := e.kinds[j.Kind]
	actx, cancel := ctx, context.CancelFunc(func() {})
	if k.Policy.Timeout > 0 {
		actx, cancel = context.WithTimeout(ctx, k.Policy.Timeout)
	}
	stopRenewing := func() {}
	if by != "" {
		stopRenewing = e.renew(ctx, j)
	}
	err := k.Handler.Attempt(actx, j)
	cancel()
	stopRenewing()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	attrs := []any{slog.String("kind", j.Kind), slog.String("target", j.Target), slog.String("ref", j.Ref)}
	if err != nil && !errors.Is(err, ErrDrop) && ctx.Err() != nil {
		if by != "" {
			if _, serr := e.store.SaveJob(sctx, j, by); serr != nil {
				e.log.Error("delivery cut short not released", append(attrs, slog.Any("err", serr))...)
			}
		}
		return err
	}
	if err == nil || errors.Is(err, ErrDrop) {
		if err != nil {
			e.observe(j.Kind, Dropped)
			e.log.Debug("delivery dropped", append(attrs, slog.Any("err", err))...)
		}
		if derr := e.store.DeleteJob(sctx, j.ID); derr != nil {
			e.log.Error("finished delivery not removed", append(attrs, slog.Any("err", derr))...)
		}
		if err == nil {
			e.observe(j.Kind, Delivered)
		}
		return err
	}
	j.Attempts++
	j.LastError = err.Error()
	attrs = append(attrs, slog.Int("attempts", j.Attempts), slog.Any("err", err))
	if k.Policy.MaxAttempts > 0 && j.Attempts >= k.Policy.MaxAttempts {
		if by != "" {
			held, rerr := e.store.RenewJob(sctx, j.ID, by, e.clock.Now().Add(e.cfg.Lease))
			if rerr != nil || !held {
				e.observe(j.Kind, Failed)
				e.log.Warn("last delivery attempt failed after its claim was lost: left to the engine holding it",
					append(attrs, slog.Any("claimErr", rerr))...)
				return err
			}
		}
		e.observe(j.Kind, GivenUp)
		e.log.Warn("delivery given up", attrs...)
		k.Handler.GiveUp(sctx, j, err)
		if derr := e.store.DeleteJob(sctx, j.ID); derr != nil {
			e.log.Error("given-up delivery not removed", append(attrs, slog.Any("err", derr))...)
		}
		return err
	}
	e.observe(j.Kind, Failed)
	wait := k.Policy.Backoff(j.Attempts)
	j.NextAttempt = e.clock.Now().Add(wait)
	e.log.Debug("delivery attempt failed", append(attrs, slog.Duration("retryIn", wait))...)
	saved, serr := e.store.SaveJob(sctx, j, by)
	switch {
	case serr != nil:
		e.log.Error("failed delivery attempt not saved", append(attrs, slog.Any("saveErr", serr))...)
	case !saved && by != "":
		e.log.Warn("failed delivery attempt not saved: its claim was lost, the job is another engine's", attrs...)
	}
	return err
}

// renew renews the claim on j every half lease until the function it
// returns is called, which waits for it to stop. A claim found lost is
// logged once and no longer renewed; the attempt goes on.
func (e *Engine) renew(ctx context.Context, j Job) (stop func()) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(e.cfg.Lease / 2)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			rctx, cancel := context.WithTimeout(ctx, storeTimeout)
			held, err := e.store.RenewJob(rctx, j.ID, e.id, e.clock.Now().Add(e.cfg.Lease))
			cancel()
			attrs := []any{slog.String("kind", j.Kind), slog.String("target", j.Target), slog.String("ref", j.Ref)}
			switch {
			case err != nil:
				if ctx.Err() == nil {
					e.log.Error("delivery claim not renewed", append(attrs, slog.Any("err", err))...)
				}
			case !held:
				e.log.Warn("delivery claim lost during an attempt: another engine may attempt it too", attrs...)
				return
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}

func (e *Engine) observe(kind string, o Outcome) {
	if e.cfg.Observe != nil {
		e.cfg.Observe(kind, o)
	}
}

// pause waits d on the wall clock, or until ctx ends.
func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
