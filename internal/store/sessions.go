package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/oauth"
)

var _ oauth.SessionStore = (*DB)(nil)

// LockSession holds session id for this process until unlock, across the
// processes on one PostgreSQL database (oauth.SessionLocker): the nodes
// of a cluster refresh its tokens once, since a refresh token used twice
// revokes them all. It is a transaction holding an advisory lock. On
// SQLite one process uses the database, and nothing is held.
func (db *DB) LockSession(ctx context.Context, id string) (unlock func(), err error) {
	if db.dialect != postgresDialect {
		return func() {}, nil
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	if err := db.lockTx(ctx, tx, "session:"+id); err != nil {
		return nil, errors.Join(err, tx.Rollback())
	}
	return func() { tx.Rollback() }, nil
}

// PutSession inserts or replaces a signed-in widget session.
func (db *DB) PutSession(ctx context.Context, s oauth.StoredSession) error {
	_, err := db.sql.ExecContext(ctx, `
		INSERT INTO widget_sessions (id, client_id, extension_id, token, created_at, last_seen) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET token = excluded.token, last_seen = excluded.last_seen`,
		s.ID, s.ClientID, s.ExtensionID, s.SealedToken, s.Created.UTC().Format(time.RFC3339Nano), s.LastSeen.UTC().Format(time.RFC3339Nano))
	if err != nil {
		return fmt.Errorf("put session: %w", err)
	}
	return nil
}

// Session loads a session; oauth.ErrSessionEnded when there is none. A
// session whose extension is disabled or gone is no session either: it is
// deleted as it is read, wherever the status was changed.
func (db *DB) Session(ctx context.Context, id string) (oauth.StoredSession, error) {
	var s oauth.StoredSession
	var created, seen, status string
	err := db.sql.QueryRowContext(ctx, `
		SELECT s.id, s.client_id, s.extension_id, s.token, s.created_at, s.last_seen, COALESCE(e.status, '')
		FROM widget_sessions s LEFT JOIN extensions e ON e.id = s.extension_id WHERE s.id = ?`, id).
		Scan(&s.ID, &s.ClientID, &s.ExtensionID, &s.SealedToken, &created, &seen, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return s, oauth.ErrSessionEnded
	}
	if err != nil {
		return s, fmt.Errorf("load session: %w", err)
	}
	if status != identity.StatusEnabled {
		if err := db.DeleteSession(ctx, id); err != nil {
			return s, err
		}
		return oauth.StoredSession{}, fmt.Errorf("%w: extension %d is %s", oauth.ErrSessionEnded, s.ExtensionID, cmp.Or(status, "gone"))
	}
	s.Created, err = time.Parse(time.RFC3339Nano, created)
	if err == nil {
		s.LastSeen, err = time.Parse(time.RFC3339Nano, seen)
	}
	if err != nil {
		return s, fmt.Errorf("load session: %w", err)
	}
	return s, nil
}

// DeleteSession forgets a session.
func (db *DB) DeleteSession(ctx context.Context, id string) error {
	if _, err := db.sql.ExecContext(ctx, `DELETE FROM widget_sessions WHERE id = ?`, id); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// TouchSession records activity.
func (db *DB) TouchSession(ctx context.Context, id string, at time.Time) error {
	if _, err := db.sql.ExecContext(ctx, `UPDATE widget_sessions SET last_seen = ? WHERE id = ?`,
		at.UTC().Format(time.RFC3339Nano), id); err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// SessionIDs lists every stored session.
func (db *DB) SessionIDs(ctx context.Context) ([]string, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT id FROM widget_sessions`)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
