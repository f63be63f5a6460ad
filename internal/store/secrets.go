package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// maxSecretName bounds a secret's name; the names are the server's own.
const maxSecretName = 100

// Secret returns the secret kept under name, storing the one generate
// makes when there is none yet. Processes that ask at once, on one
// database, all get the value the first to store it stored: generate may
// run in several of them, but only one value is kept.
func (db *DB) Secret(ctx context.Context, name string, generate func() (string, error)) (string, error) {
	if name == "" || len(name) > maxSecretName {
		return "", fmt.Errorf("secret %q: a name of 1 to %d bytes", name, maxSecretName)
	}
	v, err := db.secret(ctx, name)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("secret %s: %w", name, err)
	}
	v, err = generate()
	if err != nil {
		return "", fmt.Errorf("secret %s: %w", name, err)
	}
	if v == "" {
		return "", fmt.Errorf("secret %s: generated empty", name)
	}
	if _, err := db.sql.ExecContext(ctx, `INSERT INTO secrets (name, value) VALUES (?, ?)
		ON CONFLICT (name) DO NOTHING`, name, v); err != nil {
		return "", fmt.Errorf("secret %s: %w", name, err)
	}
	// Another process may have stored its own first: read what is kept.
	if v, err = db.secret(ctx, name); err != nil {
		return "", fmt.Errorf("secret %s: %w", name, err)
	}
	return v, nil
}

func (db *DB) secret(ctx context.Context, name string) (string, error) {
	var v string
	err := db.sql.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&v)
	return v, err
}
