package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/callbridge/widget-server/internal/identity"
)

var _ identity.JWTCredentialStore = (*DB)(nil)

const jwtColumns = `id, account_id, extension_id, name, created_by, created_at, expires_at, revoked_at, last_used_at`

// CreateJWTCredential stores c unless its extension holds limit usable
// credentials already (identity.ErrLimit).
func (db *DB) CreateJWTCredential(ctx context.Context, c identity.JWTCredential, limit int) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.lockTx(ctx, tx, fmt.Sprintf("jwt credentials of extension %d", c.ExtensionID)); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM jwt_credentials
			WHERE extension_id = ? AND revoked_at = '' AND (expires_at = '' OR expires_at > ?)`,
			c.ExtensionID, timeText(c.CreatedAt)).Scan(&n); err != nil {
			return fmt.Errorf("count jwt credentials: %w", err)
		}
		if n >= limit {
			return fmt.Errorf("extension %d has %d jwt credentials: %w", c.ExtensionID, n, identity.ErrLimit)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO jwt_credentials (`+jwtColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.AccountID, c.ExtensionID, c.Name, c.CreatedBy, timeText(c.CreatedAt),
			timeText(c.ExpiresAt), timeText(c.RevokedAt), timeText(c.LastUsedAt))
		if err != nil {
			return fmt.Errorf("create jwt credential: %w", err)
		}
		return nil
	})
}

// JWTCredential returns one credential, or identity.ErrNotFound.
func (db *DB) JWTCredential(ctx context.Context, id string) (identity.JWTCredential, error) {
	c, err := scanJWT(db.sql.QueryRowContext(ctx, `SELECT `+jwtColumns+` FROM jwt_credentials WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("jwt credential %s: %w", id, identity.ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("jwt credential %s: %w", id, err)
	}
	return c, nil
}

// JWTCredentials lists an extension's credentials, newest first.
func (db *DB) JWTCredentials(ctx context.Context, extensionID int64) ([]identity.JWTCredential, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+jwtColumns+` FROM jwt_credentials
		WHERE extension_id = ? ORDER BY created_at DESC, id`, extensionID)
	if err != nil {
		return nil, fmt.Errorf("jwt credentials of %d: %w", extensionID, err)
	}
	defer rows.Close()
	out := []identity.JWTCredential{}
	for rows.Next() {
		c, err := scanJWT(rows)
		if err != nil {
			return nil, fmt.Errorf("jwt credentials of %d: %w", extensionID, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// RevokeJWTCredential marks the credential revoked and ends every token
// family exchanged for it: access tokens go, refresh tokens stay inactive
// so that presenting one is refused as reuse.
func (db *DB) RevokeJWTCredential(ctx context.Context, id string, at time.Time) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE jwt_credentials SET revoked_at = ? WHERE id = ? AND revoked_at = ''`, timeText(at), id)
		if err != nil {
			return fmt.Errorf("revoke jwt credential %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM jwt_credentials WHERE id = ?`, id).Scan(&one); errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("jwt credential %s: %w", id, identity.ErrNotFound)
			}
		}
		families := `SELECT request_id FROM jwt_credential_grants WHERE credential_id = ?`
		if _, err := tx.ExecContext(ctx, `DELETE FROM oauth_requests WHERE kind = ? AND request_id IN (`+families+`)`, kindAccess, id); err != nil {
			return fmt.Errorf("revoke tokens of jwt credential %s: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE oauth_requests SET active = 0 WHERE kind = ? AND request_id IN (`+families+`)`, kindRefresh, id); err != nil {
			return fmt.Errorf("revoke tokens of jwt credential %s: %w", id, err)
		}
		return nil
	})
}

// UseJWTCredential records an exchange of the credential.
func (db *DB) UseJWTCredential(ctx context.Context, id, requestID string, at time.Time) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE jwt_credentials SET last_used_at = ? WHERE id = ?`, timeText(at), id); err != nil {
			return fmt.Errorf("use jwt credential %s: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO jwt_credential_grants (credential_id, request_id) VALUES (?, ?)
			ON CONFLICT DO NOTHING`, id, requestID); err != nil {
			return fmt.Errorf("use jwt credential %s: %w", id, err)
		}
		return nil
	})
}

func scanJWT(s scanner) (identity.JWTCredential, error) {
	var c identity.JWTCredential
	var created, expires, revoked, used string
	if err := s.Scan(&c.ID, &c.AccountID, &c.ExtensionID, &c.Name, &c.CreatedBy, &created, &expires, &revoked, &used); err != nil {
		return c, err
	}
	var err error
	for _, f := range []struct {
		text string
		t    *time.Time
	}{{created, &c.CreatedAt}, {expires, &c.ExpiresAt}, {revoked, &c.RevokedAt}, {used, &c.LastUsedAt}} {
		if f.text == "" {
			continue
		}
		if *f.t, err = time.Parse(time.RFC3339Nano, f.text); err != nil {
			return c, fmt.Errorf("jwt credential %s: time %q: %w", c.ID, f.text, err)
		}
	}
	return c, nil
}

// timeText is a time as the table keeps it: RFC 3339 in UTC, ” for zero.
// Fixed width (milliseconds), so that texts compare as the times do.
func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}
