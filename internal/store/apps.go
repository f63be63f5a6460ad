package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/callbridge/widget-server/internal/identity"
)

var _ identity.AppStore = (*DB)(nil)

// App returns the app registered under clientID, or identity.ErrNotFound.
func (db *DB) App(ctx context.Context, clientID string) (identity.App, error) {
	row := db.sql.QueryRowContext(ctx,
		`SELECT client_id, name, origins, redirect_uris, features, secret_hash FROM apps WHERE client_id = ?`, clientID)
	app, err := scanApp(row)
	if errors.Is(err, sql.ErrNoRows) {
		return identity.App{}, fmt.Errorf("app %q: %w", clientID, identity.ErrNotFound)
	}
	if err != nil {
		return identity.App{}, fmt.Errorf("app %q: %w", clientID, err)
	}
	return app, nil
}

// Apps lists every registered app ordered by client id.
func (db *DB) Apps(ctx context.Context) ([]identity.App, error) {
	rows, err := db.sql.QueryContext(ctx,
		`SELECT client_id, name, origins, redirect_uris, features, secret_hash FROM apps ORDER BY client_id`)
	if err != nil {
		return nil, fmt.Errorf("list apps: %w", err)
	}
	defer rows.Close()
	var apps []identity.App
	for rows.Next() {
		app, err := scanApp(rows)
		if err != nil {
			return nil, fmt.Errorf("list apps: %w", err)
		}
		apps = append(apps, app)
	}
	return apps, rows.Err()
}

// PutApp validates app and inserts or replaces it. The app's secret is
// SetAppSecret's: an app put again keeps it.
func (db *DB) PutApp(ctx context.Context, app identity.App) error {
	if err := app.Validate(); err != nil {
		return err
	}
	origins, _ := json.Marshal(nonNil(app.Origins))
	redirects, _ := json.Marshal(nonNil(app.RedirectURIs))
	features, _ := json.Marshal(app.Features)
	_, err := db.sql.ExecContext(ctx, `
		INSERT INTO apps (client_id, name, origins, redirect_uris, features) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (client_id) DO UPDATE SET name = excluded.name, origins = excluded.origins,
			redirect_uris = excluded.redirect_uris, features = excluded.features,
			updated_at = ?`,
		app.ClientID, app.Name, string(origins), string(redirects), string(features), timeText(time.Now()))
	if err != nil {
		return fmt.Errorf("put app %q: %w", app.ClientID, err)
	}
	return nil
}

// SetAppSecret makes an app confidential with the secret whose hash is
// given (identity.HashClientSecret), or public again with "".
func (db *DB) SetAppSecret(ctx context.Context, clientID, hash string) error {
	if hash != "" && !identity.ValidSecretHash(hash) {
		return fmt.Errorf("%w: app %q: not a client secret hash", identity.ErrInvalid, clientID)
	}
	res, err := db.sql.ExecContext(ctx, `UPDATE apps SET secret_hash = ?,
		updated_at = ? WHERE client_id = ?`, hash, timeText(time.Now()), clientID)
	if err != nil {
		return fmt.Errorf("set secret of app %q: %w", clientID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("app %q: %w", clientID, identity.ErrNotFound)
	}
	return nil
}

// DeleteApp removes an app; identity.ErrNotFound when there was none.
func (db *DB) DeleteApp(ctx context.Context, clientID string) error {
	res, err := db.sql.ExecContext(ctx, `DELETE FROM apps WHERE client_id = ?`, clientID)
	if err != nil {
		return fmt.Errorf("delete app %q: %w", clientID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("delete app %q: %w", clientID, identity.ErrNotFound)
	}
	return nil
}

type scanner interface{ Scan(dest ...any) error }

func scanApp(s scanner) (identity.App, error) {
	var app identity.App
	var origins, redirects, features string
	if err := s.Scan(&app.ClientID, &app.Name, &origins, &redirects, &features, &app.SecretHash); err != nil {
		return app, err
	}
	if err := errors.Join(
		json.Unmarshal([]byte(origins), &app.Origins),
		json.Unmarshal([]byte(redirects), &app.RedirectURIs),
		json.Unmarshal([]byte(features), &app.Features),
	); err != nil {
		return app, fmt.Errorf("decode app %q: %w", app.ClientID, err)
	}
	return app, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
