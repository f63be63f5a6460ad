// Package outbox delivers what the server must hand to someone outside —
// an SMS to the provider's webhook, a notification to a subscription's
// receiver — and what must happen once even across a crash, such as a
// message delivered to extensions of this server. A delivery is a Job
// stored in the database: it survives a restart, jobs of one target go
// out one at a time in the order they were added, and a failed attempt is
// tried again after an exponential back-off, until its kind's limit. Post
// makes the one kind of request deliveries are: a POST of a JSON body.
//
// Several servers can share the database: an engine claims a job before
// it attempts it, for a lease it renews while the attempt runs, so one
// engine at a time attempts a target's first job; one that dies leaves its
// jobs to the others once the lease lapses. A delivery can be made twice
// only when an engine loses its claim during an attempt — it could not
// renew it for a whole lease (cut off from the database, or stalled) and
// another took the job over: a success still ends the job, a failure is
// not recorded by the engine that lost it.
//
// The engine knows no kind of job: each kind's Handler (internal/messaging,
// internal/webhooks) makes the attempts, signs what it sends and decides
// what a failure means. internal/store keeps the jobs. It must not import
// the store, the domain packages, echo or the bridge.
package outbox

import (
	"context"
	"errors"
	"time"
)

// Job is one delivery.
type Job struct {
	ID int64 // given by the store, in the order jobs are added
	// Kind names the Handler that makes the attempts.
	Kind string
	// Target is whom the job goes to: the jobs of one kind and target go
	// out one at a time, in the order they were added (a subscription, a
	// conversation).
	Target string
	// Ref is what the job is for, to its kind: a message id, a
	// notification's uuid. The engine only logs it.
	Ref         string
	Payload     []byte
	Attempts    int       // made so far; a stop in the middle of one does not count
	NextAttempt time.Time // not before
	LastError   string    // of the last attempt that failed
	// ClaimedBy is the engine that makes an attempt of the job now, ""
	// when none does; ClaimedUntil is when its claim lapses unless the
	// engine renews it.
	ClaimedBy    string
	ClaimedUntil time.Time
}

// Store keeps the jobs. internal/store implements it with SQLite and
// PostgreSQL; with several servers on one database, claims keep the
// engines from attempting the same job at the same time.
type Store interface {
	// AddJob stores a new job and sets its ID.
	AddJob(ctx context.Context, j *Job) error
	// NextJob returns the first job of a target, as stored now; ok is
	// false when the target has none.
	NextJob(ctx context.Context, kind, target string) (j Job, ok bool, err error)
	// JobTargets lists the targets of the given kinds that have jobs.
	JobTargets(ctx context.Context, kinds []string) ([]Target, error)
	// ClaimJob claims the first job of a target for the engine by, until
	// until, and returns it. Only the first can be claimed, and only when
	// it is due at now and unclaimed, its claim lapsed (ClaimedUntil is
	// not after now), or by holds it already. claimed is false when it was not; then j is the
	// first job as stored (ID 0 when the target has none), and a due one
	// is another engine's.
	ClaimJob(ctx context.Context, kind, target, by string, now, until time.Time) (j Job, claimed bool, err error)
	// RenewJob extends the claim of by on a job to until; held is false
	// when by no longer holds it (another engine took it over after the
	// claim lapsed, or the job is gone).
	RenewJob(ctx context.Context, id int64, by string, until time.Time) (held bool, err error)
	// SaveJob records a failed attempt (Attempts, NextAttempt, LastError)
	// and releases the claim, only when by still holds it (by "": a job
	// nobody claimed, attempted by its caller); saved is false when not,
	// or when the job is no longer stored: the job stays as it is.
	SaveJob(ctx context.Context, j Job, by string) (saved bool, err error)
	// DeleteJob removes a finished job, whoever holds it; one already gone
	// is fine.
	DeleteJob(ctx context.Context, id int64) error
	// DeleteJobs removes the jobs of a target and says how many there were.
	DeleteJobs(ctx context.Context, kind, target string) (int, error)
	// TrimJobs removes the first jobs of a target until keep are left
	// besides the job except (0 for none) and the claimed ones, which
	// stay, and says how many it removed.
	TrimJobs(ctx context.Context, kind, target string, keep int, except int64) (int, error)
}

// Target is a kind and a target of it.
type Target struct {
	Kind, Target string
}

// Handler makes the attempts of one kind of job.
type Handler interface {
	// Attempt tries once to deliver j. nil means it was delivered: the job
	// ends. An error wrapping ErrDrop ends it too, with no further attempt
	// (there is nobody left to deliver it to, or the answer says never to
	// try again). Any other error is a failed attempt, tried again after
	// the back-off, unless the engine is stopping (then it was no attempt).
	Attempt(ctx context.Context, j Job) error
	// GiveUp is told of a job that failed its kind's last attempt, with
	// Attempts counting it and the last error; the job is removed after.
	GiveUp(ctx context.Context, j Job, err error)
}

// ErrDrop, wrapped by an error of Attempt, ends the job at once.
var ErrDrop = errors.New("delivery dropped")

// Policy is how the jobs of one kind are tried.
type Policy struct {
	// MaxAttempts is how many attempts a job gets before it is given up;
	// 0 tries for ever (work on this server, which fails only while the
	// database does).
	MaxAttempts int
	// Backoff is the wait after the n-th failed attempt (n from 1); nil:
	// Exponential(time.Second, time.Minute).
	Backoff func(n int) time.Duration
	// Keep bounds the jobs waiting per target, the one being attempted
	// aside: adding one more removes the first waiting, with a log line.
	// 0 keeps them all.
	Keep int
	// Timeout bounds one attempt; 0: none beyond the Handler's own.
	Timeout time.Duration
}

// Kind is a Handler with its Policy.
type Kind struct {
	Handler Handler
	Policy  Policy
}

// Exponential is a back-off that waits first after the first failed
// attempt and twice as long after each further one, never more than max.
func Exponential(first, max time.Duration) func(n int) time.Duration {
	return func(n int) time.Duration {
		d := first
		for i := 1; i < n && d < max; i++ {
			d *= 2
		}
		return min(d, max)
	}
}

// Clock is the time the engine waits on; tests give one that does not
// wait.
type Clock interface {
	Now() time.Time
	// Sleep waits d, or until ctx is done (then it returns ctx's error).
	Sleep(ctx context.Context, d time.Duration) error
}

// RealClock is the wall clock.
type RealClock struct{}

// Now is time.Now.
func (RealClock) Now() time.Time { return time.Now() }

// Sleep waits d or until ctx is done.
func (RealClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
