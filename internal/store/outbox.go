package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/callbridge/widget-server/internal/outbox"
)

var _ outbox.Store = (*DB)(nil)

// jobTime is how due times are stored: RFC 3339 in UTC with a fixed width,
// as message times are.
const jobTime = messageTime

const jobColumns = `id, kind, target, ref, payload, attempts, next_attempt, last_error, claimed_by, claimed_until`

// AddJob stores a new delivery job and sets its ID.
func (db *DB) AddJob(ctx context.Context, j *outbox.Job) error {
	return db.inTx(ctx, func(tx *sql.Tx) error { return db.insertJob(ctx, tx, j) })
}

// jobLock is the lockTx key of the jobs added to a target.
func jobLock(kind, target string) string {
	return "outbox " + kind + " target " + target
}

// insertJob stores j in tx, also in the transaction of what it delivers.
func (db *DB) insertJob(ctx context.Context, tx *sql.Tx, j *outbox.Job) error {
	payload := j.Payload
	if payload == nil {
		payload = []byte{}
	}
	// A target's first job, its lowest id, is the only one an engine
	// claims and attempts. A job committed after a higher id of its target
	// would go out after it, even while another engine still attempts it.
	// Taken before the id is and held until commit, the lock makes a
	// target's id order its commit order on PostgreSQL; other targets do
	// not wait.
	if err := db.lockTx(ctx, tx, jobLock(j.Kind, j.Target)); err != nil {
		return fmt.Errorf("add %s job: %w", j.Kind, err)
	}
	err := tx.QueryRowContext(ctx, `INSERT INTO outbox (kind, target, ref, payload, attempts, next_attempt, last_error)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, j.Kind, j.Target, j.Ref, payload, j.Attempts, j.NextAttempt.UTC().Format(jobTime), j.LastError).Scan(&j.ID)
	if err != nil {
		return fmt.Errorf("add %s job: %w", j.Kind, err)
	}
	return nil
}

// JobCounts counts the jobs waiting, by kind.
func (db *DB) JobCounts(ctx context.Context) (map[string]int, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT kind, COUNT(*) FROM outbox GROUP BY kind`)
	if err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var kind string
		var n int
		if err := rows.Scan(&kind, &n); err != nil {
			return nil, fmt.Errorf("count jobs: %w", err)
		}
		out[kind] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	return out, nil
}

// NextJob returns the first job of a target; ok is false when it has none.
func (db *DB) NextJob(ctx context.Context, kind, target string) (outbox.Job, bool, error) {
	j, err := scanJob(db.sql.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM outbox
		WHERE kind = ? AND target = ? ORDER BY id LIMIT 1`, kind, target))
	if errors.Is(err, sql.ErrNoRows) {
		return outbox.Job{}, false, nil
	}
	if err != nil {
		return outbox.Job{}, false, fmt.Errorf("next %s job of %s: %w", kind, target, err)
	}
	return j, true, nil
}

// Jobs returns every job of the given kinds, in the order they were added.
func (db *DB) Jobs(ctx context.Context, kinds ...string) ([]outbox.Job, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+jobColumns+` FROM outbox WHERE kind IN (`+placeholders(len(kinds))+`) ORDER BY id`,
		anys(kinds)...)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	defer rows.Close()
	var out []outbox.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("jobs: %w", err)
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// JobTargets lists the targets of the given kinds that have jobs.
func (db *DB) JobTargets(ctx context.Context, kinds []string) ([]outbox.Target, error) {
	if len(kinds) == 0 {
		return nil, nil
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT DISTINCT kind, target FROM outbox WHERE kind IN (`+placeholders(len(kinds))+`)`,
		anys(kinds)...)
	if err != nil {
		return nil, fmt.Errorf("job targets: %w", err)
	}
	defer rows.Close()
	var out []outbox.Target
	for rows.Next() {
		var t outbox.Target
		if err := rows.Scan(&t.Kind, &t.Target); err != nil {
			return nil, fmt.Errorf("job targets: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// ClaimJob claims the first job of a target for the engine by, until
// until, when it is due at now and nobody else holds a live claim on it,
// and returns it; otherwise it returns the first job as stored, unclaimed
// (ID 0 when there is none). On PostgreSQL the row is locked with SKIP
// LOCKED: an engine never waits for another one's claim, it finds the job
// taken.
func (db *DB) ClaimJob(ctx context.Context, kind, target, by string, now, until time.Time) (j outbox.Job, claimed bool, err error) {
	if by == "" {
		return outbox.Job{}, false, fmt.Errorf("claim %s job of %s: no engine id", kind, target)
	}
	head := `SELECT ` + jobColumns + ` FROM outbox WHERE id = (SELECT MIN(id) FROM outbox WHERE kind = ? AND target = ?)`
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		j, err = scanJob(tx.QueryRowContext(ctx, head+db.dialect.skipLocked(), kind, target))
		if errors.Is(err, sql.ErrNoRows) && db.dialect == postgresDialect {
			// None, or another engine claims or settles it at this
			// moment: as it was before that, it is not this engine's.
			j, err = scanJob(tx.QueryRowContext(ctx, head, kind, target))
			if err == nil {
				return nil
			}
		}
		if errors.Is(err, sql.ErrNoRows) {
			j = outbox.Job{}
			return nil
		}
		if err != nil {
			return err
		}
		taken := j.ClaimedBy != "" && j.ClaimedBy != by && j.ClaimedUntil.After(now)
		if taken || j.NextAttempt.After(now) {
			return nil
		}
		// The row is locked by this transaction (PostgreSQL), the whole
		// database is (SQLite); the UPDATE checks the conditions again
		// anyway, so that a claim never rests on the lock alone.
		untilText, nowText := timeText(until), timeText(now)
		res, err := tx.ExecContext(ctx, `UPDATE outbox SET claimed_by = ?, claimed_until = ?
			WHERE id = ? AND next_attempt <= ? AND (claimed_by = '' OR claimed_by = ? OR claimed_until <= ?)`,
			by, untilText, j.ID, now.UTC().Format(jobTime), by, nowText)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return err
		}
		j.ClaimedBy = by
		j.ClaimedUntil, _ = time.Parse(time.RFC3339, untilText) // as read back
		claimed = true
		return nil
	})
	if err != nil {
		return outbox.Job{}, false, fmt.Errorf("claim %s job of %s: %w", kind, target, err)
	}
	return j, claimed, nil
}

// RenewJob extends the claim of by on a job to until; held is false when by
// no longer holds it.
func (db *DB) RenewJob(ctx context.Context, id int64, by string, until time.Time) (bool, error) {
	if by == "" {
		return false, fmt.Errorf("renew job %d: no engine id", id)
	}
	res, err := db.sql.ExecContext(ctx, `UPDATE outbox SET claimed_until = ? WHERE id = ? AND claimed_by = ?`, timeText(until), id, by)
	if err != nil {
		return false, fmt.Errorf("renew job %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("renew job %d: %w", id, err)
	}
	return n == 1, nil
}

// SaveJob records a failed attempt — the attempts, when to try next and
// the last error — and releases the claim, when by still holds the job (by
// "": nobody does). saved is false when it does not, or the job is gone.
func (db *DB) SaveJob(ctx context.Context, j outbox.Job, by string) (bool, error) {
	res, err := db.sql.ExecContext(ctx, `UPDATE outbox SET attempts = ?, next_attempt = ?, last_error = ?, claimed_by = '', claimed_until = ''
		WHERE id = ? AND claimed_by = ?`, j.Attempts, j.NextAttempt.UTC().Format(jobTime), j.LastError, j.ID, by)
	if err != nil {
		return false, fmt.Errorf("save job %d: %w", j.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("save job %d: %w", j.ID, err)
	}
	return n == 1, nil
}

// DeleteJob removes a finished job, whoever holds it: a job delivered is
// done, even when the engine that delivered it had lost its claim. One
// already gone is fine.
func (db *DB) DeleteJob(ctx context.Context, id int64) error {
	if _, err := db.sql.ExecContext(ctx, `DELETE FROM outbox WHERE id = ?`, id); err != nil {
		return fmt.Errorf("delete job %d: %w", id, err)
	}
	return nil
}

// DeleteJobs removes the jobs of a target and says how many there were.
func (db *DB) DeleteJobs(ctx context.Context, kind, target string) (int, error) {
	res, err := db.sql.ExecContext(ctx, `DELETE FROM outbox WHERE kind = ? AND target = ?`, kind, target)
	if err != nil {
		return 0, fmt.Errorf("delete %s jobs of %s: %w", kind, target, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// TrimJobs removes the first jobs of a target until keep are left besides
// the job except and the claimed ones (attempted now, by some engine), and
// says how many it removed.
func (db *DB) TrimJobs(ctx context.Context, kind, target string, keep int, except int64) (int, error) {
	res, err := db.sql.ExecContext(ctx, `DELETE FROM outbox WHERE kind = ? AND target = ? AND id != ? AND claimed_by = '' AND id NOT IN
		(SELECT id FROM outbox WHERE kind = ? AND target = ? AND id != ? AND claimed_by = '' ORDER BY id DESC LIMIT ?)`,
		kind, target, except, kind, target, except, keep)
	if err != nil {
		return 0, fmt.Errorf("trim %s jobs of %s: %w", kind, target, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func scanJob(row interface{ Scan(...any) error }) (outbox.Job, error) {
	var j outbox.Job
	var next, until string
	if err := row.Scan(&j.ID, &j.Kind, &j.Target, &j.Ref, &j.Payload, &j.Attempts, &next, &j.LastError, &j.ClaimedBy, &until); err != nil {
		return j, err
	}
	var err error
	if j.NextAttempt, err = time.Parse(time.RFC3339, next); err != nil {
		return j, fmt.Errorf("job %d: %w", j.ID, err)
	}
	if until != "" {
		if j.ClaimedUntil, err = time.Parse(time.RFC3339, until); err != nil {
			return j, fmt.Errorf("job %d: claim: %w", j.ID, err)
		}
	}
	if len(j.Payload) == 0 {
		j.Payload = nil
	}
	return j, nil
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
