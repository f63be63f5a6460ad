// Package store persists the server's state in SQL: SQLite (modernc.org/sqlite,
// no cgo) by default. It implements the storage interfaces that the domain
// packages declare; it knows nothing of HTTP, the bridge or media.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrations embed.FS

// FileName is the database file inside the data directory.
const FileName = "callbridge.db"

// DB is the project's database handle.
type DB struct {
	sql      *sql.DB
	conn     *connector
	audioDir string // AudioDir
	// ringTimeout is the ring time of an extension without an answering
	// rule of its own (SetDefaultRingTimeout); 0: DefaultRingTimeout.
	ringTimeout time.Duration
}

// Open opens (creating when needed) the SQLite database in dir, switches it to
// WAL and applies pending migrations. It fails clearly when dir is not writable.
// Later storage failures (a full disk, a read-only or replaced file) come
// back as errors that wrap ErrUnavailable.
func Open(ctx context.Context, dir string) (*DB, error) {
	if err := ensureWritableDir(dir); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, FileName)
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	conn, err := newConnector(dir, path, dsn)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	sdb := sql.OpenDB(conn)
	if err := sdb.PingContext(ctx); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if err := conn.remember(); err != nil {
		sdb.Close()
		return nil, err
	}
	db := &DB{sql: sdb, conn: conn, audioDir: audioDirOf(dir)}
	if err := db.migrate(ctx); err != nil {
		sdb.Close()
		return nil, err
	}
	return db, nil
}

// Close closes the database.
func (db *DB) Close() error { return db.sql.Close() }

// CheckWritable reports whether the database takes a write now, and the
// audio directory a file: the readiness check. The write changes nothing
// (the schema version's row, rewritten as it is) but goes through the
// write lock and the journal as any other.
func (db *DB) CheckWritable(ctx context.Context) error {
	if _, err := db.sql.ExecContext(ctx,
		`UPDATE schema_version SET version = version WHERE version = (SELECT MAX(version) FROM schema_version)`); err != nil {
		return fmt.Errorf("database write: %w", err)
	}
	if db.audioDir != "" {
		return ensureWritableDir(db.audioDir)
	}
	return nil
}

// SchemaVersion returns the number of the last applied migration.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := db.sql.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&v)
	return v, err
}

func ensureWritableDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data dir %s: cannot create it: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".write-check-*")
	if err != nil {
		return fmt.Errorf("data dir %s is not writable: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// migrate applies every embedded migration newer than the schema version, each
// in its own transaction. Files are named NNNN_what.sql.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.sql.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version    INTEGER PRIMARY KEY,
		applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	current, err := db.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("migrate: read version: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		base := filepath.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return fmt.Errorf("migrate: bad migration name %s", base)
		}
		if v <= current {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return fmt.Errorf("migrate %s: %w", base, err)
		}
		if err := db.inTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (?)`, v)
			return err
		}); err != nil {
			return fmt.Errorf("migrate %s: %w", base, err)
		}
	}
	return nil
}

func (db *DB) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return errors.Join(err, tx.Rollback())
	}
	return tx.Commit()
}
