// Package store persists the server's state in SQL: SQLite (modernc.org/sqlite,
// no cgo) by default, PostgreSQL (pgx) for several nodes. It implements the storage interfaces that the domain
// packages declare; it knows nothing of HTTP, the bridge or media.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
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
	dialect  dialect
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
	return open(ctx, conn, sqliteDialect, dir, path)
}

// OpenDatabase opens the database that database names: a PostgreSQL URL
// (postgres:// or postgresql://), or "" for the SQLite database in dir.
// dir keeps the audio files either way.
func OpenDatabase(ctx context.Context, database, dir string) (*DB, error) {
	if database == "" {
		return Open(ctx, dir)
	}
	if !IsPostgresURL(database) {
		return nil, fmt.Errorf("database %q: not a postgres:// URL", redactURL(database))
	}
	if err := ensureWritableDir(dir); err != nil {
		return nil, err
	}
	conn, err := newPostgresConnector(database, dir)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", redactURL(database), err)
	}
	db, err := open(ctx, conn, postgresDialect, dir, redactURL(database))
	if err != nil {
		return nil, err
	}
	// Connections are kept, not opened for each statement (each is a
	// server process to start); a node holds at most postgresMaxOpen, so
	// several nodes stay within the server's max_connections (100 by
	// default).
	db.sql.SetMaxOpenConns(postgresMaxOpen)
	db.sql.SetMaxIdleConns(postgresMaxIdle)
	db.sql.SetConnMaxIdleTime(5 * time.Minute)
	return db, nil
}

// A node's PostgreSQL connections: at most postgresMaxOpen at once, up to
// postgresMaxIdle of them kept between statements.
const (
	postgresMaxOpen = 24
	postgresMaxIdle = 16
)

// IsPostgresURL reports whether s names a PostgreSQL database.
func IsPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// redactURL is a database URL fit for a log or an error: without its
// password.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(a URL that does not parse)"
	}
	return u.Redacted()
}

func open(ctx context.Context, conn *connector, d dialect, dir, name string) (*DB, error) {
	sdb := sql.OpenDB(conn)
	if err := sdb.PingContext(ctx); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("open database %s: %w", name, err)
	}
	if err := conn.remember(); err != nil {
		sdb.Close()
		return nil, err
	}
	db := &DB{sql: sdb, conn: conn, dialect: d, audioDir: audioDirOf(dir)}
	if err := db.migrate(ctx); err != nil {
		sdb.Close()
		return nil, err
	}
	return db, nil
}

// Engine names the database's engine: "sqlite" or "postgres".
func (db *DB) Engine() string { return db.dialect.String() }

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

// migrate applies every embedded migration not applied yet, in order, each
// in its own transaction. Files are named NNNN_what.sql; each is a template
// of the dialect's words (schemaWords). Nodes that start together against
// one PostgreSQL database take turns: each migration's transaction holds
// an advisory lock and reads the version again under it.
func (db *DB) migrate(ctx context.Context) error {
	words := db.dialect.words()
	if err := db.inTx(ctx, func(tx *sql.Tx) error {
		if db.dialect == postgresDialect {
			// CREATE TABLE IF NOT EXISTS is not safe against another node
			// running it at the same moment: they take turns.
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, migrationLock); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version    INTEGER PRIMARY KEY,
		applied_at TEXT NOT NULL DEFAULT `+words.Now+`)`)
		return err
	}); err != nil {
		return fmt.Errorf("migrate: %w", err)
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
		if done, err := db.applied(ctx, db.sql, v); err != nil {
			return fmt.Errorf("migrate: read version: %w", err)
		} else if done {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return fmt.Errorf("migrate %s: %w", base, err)
		}
		stmt, err := db.dialect.expand(base, string(body))
		if err != nil {
			return fmt.Errorf("migrate %s: %w", base, err)
		}
		if err := db.inTx(ctx, func(tx *sql.Tx) error {
			if db.dialect == postgresDialect {
				if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, migrationLock); err != nil {
					return err
				}
				if done, err := db.applied(ctx, tx, v); err != nil || done {
					return err // done: another node applied it while this one waited
				}
			}
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
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

// applied reports whether migration v was applied. Each migration is
// looked up, not compared with the highest: one added to the middle of the
// list (a branch merged late) is applied too.
func (db *DB) applied(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}, v int) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_version WHERE version = ?`, v).Scan(&n)
	return n > 0, err
}

// migrationLock is the PostgreSQL advisory lock key of migrations.
const migrationLock = 0x43616c6c62 // "Callb"

// lockTx serialises, inside tx, the transactions that take the same key
// until they end: a count and the insert it allows (a limit), read and
// written with no other writer in between; ids taken after it, committed
// in their order, for readers that go on from the last id they saw.
// SQLite's write transactions are serial already; PostgreSQL's are not, so
// there it is an advisory transaction lock.
func (db *DB) lockTx(ctx context.Context, tx *sql.Tx, key string) error {
	if db.dialect != postgresDialect {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(?, 0))`, key)
	return err
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
