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

const jobColumns = `id, kind, target, ref, payload, attempts, next_attempt, last_error`

// AddJob stores a new delivery job and sets its ID.
func (db *DB) AddJob(ctx context.Context, j *outbox.Job) error {
	return db.inTx(ctx, func(tx *sql.Tx) error { return insertJob(ctx, tx, j) })
}

// insertJob stores j in tx, also in the transaction of what it delivers.
func insertJob(ctx context.Context, tx *sql.Tx, j *outbox.Job) error {
	payload := j.Payload
	if payload == nil {
		payload = []byte{}
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

// SaveJob records a failed attempt: the attempts, when to try next and
// the last error. A job no longer stored stays gone.
func (db *DB) SaveJob(ctx context.Context, j outbox.Job) error {
	_, err := db.sql.ExecContext(ctx, `UPDATE outbox SET attempts = ?, next_attempt = ?, last_error = ? WHERE id = ?`,
		j.Attempts, j.NextAttempt.UTC().Format(jobTime), j.LastError, j.ID)
	if err != nil {
		return fmt.Errorf("save job %d: %w", j.ID, err)
	}
	return nil
}

// DeleteJob removes a finished job; one already gone is fine.
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
// the job except, and says how many it removed.
func (db *DB) TrimJobs(ctx context.Context, kind, target string, keep int, except int64) (int, error) {
	res, err := db.sql.ExecContext(ctx, `DELETE FROM outbox WHERE kind = ? AND target = ? AND id != ? AND id NOT IN
		(SELECT id FROM outbox WHERE kind = ? AND target = ? AND id != ? ORDER BY id DESC LIMIT ?)`,
		kind, target, except, kind, target, except, keep)
	if err != nil {
		return 0, fmt.Errorf("trim %s jobs of %s: %w", kind, target, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func scanJob(row interface{ Scan(...any) error }) (outbox.Job, error) {
	var j outbox.Job
	var next string
	if err := row.Scan(&j.ID, &j.Kind, &j.Target, &j.Ref, &j.Payload, &j.Attempts, &next, &j.LastError); err != nil {
		return j, err
	}
	var err error
	if j.NextAttempt, err = time.Parse(time.RFC3339, next); err != nil {
		return j, fmt.Errorf("job %d: %w", j.ID, err)
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
