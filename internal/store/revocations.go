package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/callbridge/widget-server/internal/identity"
)

// revocationKeep is how long a revocation stays readable: far longer than
// any server takes to read it.
const revocationKeep = 24 * time.Hour

// revocationLock is the lockTx key of the revocations added.
const revocationLock = "credential revocations"

// revokeCredentials ends, inside tx, everything an extension signed in
// with: its widget sessions, its access tokens, its refresh tokens and its
// unused authorization codes (kept inactive, so presenting one is seen as
// reuse and answered invalid_grant), and records an identity.Revocation for
// the servers that hold its streams and devices.
func (db *DB) revokeCredentials(ctx context.Context, tx *sql.Tx, extensionID int64, reason string) error {
	subject := identity.Subject(extensionID)
	exec := func(query string, args ...any) error {
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			return fmt.Errorf("revoke credentials of extension %d: %w", extensionID, err)
		}
		return nil
	}
	if err := exec(`DELETE FROM widget_sessions WHERE extension_id = ?`, extensionID); err != nil {
		return err
	}
	if err := exec(`DELETE FROM oauth_requests WHERE subject = ? AND kind = ?`, subject, kindAccess); err != nil {
		return err
	}
	if err := exec(`UPDATE oauth_requests SET active = 0 WHERE subject = ? AND kind IN (?, ?)`, subject, kindRefresh, kindCode); err != nil {
		return err
	}
	// Servers read the revocations after the last seq they saw, so one
	// committed after a higher seq would never be read: taken before the
	// seq is and held until commit, the lock makes seq order commit order
	// on PostgreSQL.
	if err := db.lockTx(ctx, tx, revocationLock); err != nil {
		return fmt.Errorf("revoke credentials of extension %d: %w", extensionID, err)
	}
	if err := exec(`INSERT INTO credential_revocations (extension_id, reason) VALUES (?, ?)`, extensionID, reason); err != nil {
		return err
	}
	return exec(`DELETE FROM credential_revocations WHERE at < ?`, timeText(time.Now().Add(-revocationKeep)))
}

// LastRevocation returns the sequence number of the newest revocation, 0
// when there is none.
func (db *DB) LastRevocation(ctx context.Context) (int64, error) {
	var seq int64
	if err := db.sql.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM credential_revocations`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("last revocation: %w", err)
	}
	return seq, nil
}

// RevocationsAfter returns up to limit revocations newer than seq, oldest first.
func (db *DB) RevocationsAfter(ctx context.Context, seq int64, limit int) ([]identity.Revocation, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT seq, extension_id, reason FROM credential_revocations
		WHERE seq > ? ORDER BY seq LIMIT ?`, seq, limit)
	if err != nil {
		return nil, fmt.Errorf("revocations after %d: %w", seq, err)
	}
	defer rows.Close()
	var out []identity.Revocation
	for rows.Next() {
		var r identity.Revocation
		if err := rows.Scan(&r.Seq, &r.ExtensionID, &r.Reason); err != nil {
			return nil, fmt.Errorf("revocations after %d: %w", seq, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
