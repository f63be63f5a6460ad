package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/callbridge/widget-server/internal/presence"
)

// UserPresence is what an extension's user sets of its presence: the user
// status and the do-not-disturb status. internal/presence owns it; the
// store keeps it for presence.Store.
type UserPresence = presence.UserPresence

// UserPresence returns the presence the extension set; ok is false when it
// never set one.
func (db *DB) UserPresence(ctx context.Context, extensionID int64) (p UserPresence, ok bool, err error) {
	err = db.sql.QueryRowContext(ctx, `SELECT user_status, dnd_status FROM presence WHERE extension_id = ?`,
		extensionID).Scan(&p.UserStatus, &p.DNDStatus)
	if errors.Is(err, sql.ErrNoRows) {
		return UserPresence{}, false, nil
	}
	if err != nil {
		return UserPresence{}, false, fmt.Errorf("presence of extension %d: %w", extensionID, err)
	}
	return p, true, nil
}

// SetUserPresence stores the extension's presence, replacing what it had.
func (db *DB) SetUserPresence(ctx context.Context, extensionID int64, p UserPresence) error {
	_, err := db.sql.ExecContext(ctx, `INSERT INTO presence (extension_id, user_status, dnd_status) VALUES (?, ?, ?)
		ON CONFLICT (extension_id) DO UPDATE SET user_status = excluded.user_status, dnd_status = excluded.dnd_status,
		updated_at = ?`, extensionID, p.UserStatus, p.DNDStatus, timeText(time.Now()))
	if err != nil {
		return fmt.Errorf("set presence of extension %d: %w", extensionID, constraintError(err))
	}
	return nil
}

// UserPresences returns every stored presence by extension id, so that a
// starting server can apply do-not-disturb to the calls at once.
func (db *DB) UserPresences(ctx context.Context) (map[int64]UserPresence, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT extension_id, user_status, dnd_status FROM presence`)
	if err != nil {
		return nil, fmt.Errorf("presences: %w", err)
	}
	defer rows.Close()
	out := map[int64]UserPresence{}
	for rows.Next() {
		var id int64
		var p UserPresence
		if err := rows.Scan(&id, &p.UserStatus, &p.DNDStatus); err != nil {
			return nil, fmt.Errorf("presences: %w", err)
		}
		out[id] = p
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("presences: %w", err)
	}
	return out, nil
}
