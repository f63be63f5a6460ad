package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrUnavailable is what a store error wraps when the storage, not the
// statement, failed: the disk is full, the data directory or the database
// file is read-only, an I/O error, the file cannot be opened, or the file was
// moved, replaced or removed under the running server. Callers test it with
// errors.Is; the HTTP layer answers 503 StorageUnavailable.
var ErrUnavailable = errors.New("storage unavailable")

// UnavailableError is a storage failure with what the operator needs to fix
// it: the data directory, the operation, and SQLite's own error.
type UnavailableError struct {
	Dir string // the data directory
	Op  string // what the store was doing: "open", "begin", "commit", "exec INSERT INTO call_log", …
	Err error  // SQLite's error (a *sqlite.Error), or errFileReplaced
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("storage unavailable: data dir %s: %s: %v", e.Dir, e.Op, e.Err)
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUnavailable) hold for every UnavailableError.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

// errFileReplaced is why a write is refused when the database file is no
// longer the one the store opened. In WAL mode SQLite would go on writing to
// the old file, whose data nobody will ever read again: a silent loss.
var errFileReplaced = errors.New("the database file was moved, replaced or removed since the server opened it")

// storageCodes are the SQLite primary result codes that say the storage
// failed rather than the statement (https://www.sqlite.org/rescode.html).
var storageCodes = map[int]bool{
	sqlite3.SQLITE_READONLY: true, // read-only file or file system
	sqlite3.SQLITE_IOERR:    true, // the operating system reported an I/O error
	sqlite3.SQLITE_FULL:     true, // the disk (or max_page_count) is full
	sqlite3.SQLITE_CANTOPEN: true, // the file cannot be opened
	sqlite3.SQLITE_PERM:     true, // the operating system refused access
	sqlite3.SQLITE_CORRUPT:  true, // the file is damaged
	sqlite3.SQLITE_NOTADB:   true, // the file is not a database (replaced by something else)
}

// storageFailure reports whether err is SQLite saying the storage failed.
func storageFailure(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && storageCodes[se.Code()&0xff]
}

// connector opens the SQLite connections of one database so that every
// storage failure surfaces as an UnavailableError, and refuses writes once
// the database file is not the one it opened. Other errors pass unchanged
// (database/sql compares some of them by identity).
type connector struct {
	base    driver.Connector
	dialect dialect
	dir     string
	path    string                      // the SQLite file; "" for PostgreSQL
	file    atomic.Pointer[os.FileInfo] // the database file as opened; nil until known

	unavailable, refused atomic.Uint64 // errors so far (ErrorCounts)
}

// ErrorCounts are the database's errors since it was opened.
type ErrorCounts struct {
	// Unavailable counts storage failures: the errors that wrap
	// ErrUnavailable.
	Unavailable uint64
	// Refused counts the statements SQLite refused for another reason: a
	// constraint, a busy database, a malformed statement.
	Refused uint64
}

// ErrorCounts returns the database's errors since it was opened. Errors
// of the database/sql layer (no rows, a cancelled context) are not
// counted: they are not the database's.
func (db *DB) ErrorCounts() ErrorCounts {
	return ErrorCounts{Unavailable: db.conn.unavailable.Load(), Refused: db.conn.refused.Load()}
}

func newConnector(dir, path, dsn string) (*connector, error) {
	base, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return &connector{base: base, dialect: sqliteDialect, dir: dir, path: path}, nil
}

// wrap turns a storage failure of op into an UnavailableError.
// Every error of the database's is counted (ErrorCounts).
func (c *connector) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	unavailable, refused := false, false
	if c.dialect == postgresDialect {
		unavailable, refused = postgresFailure(err)
	} else {
		var se *sqlite.Error
		unavailable, refused = storageFailure(err), errors.As(err, &se)
	}
	if unavailable {
		c.unavailable.Add(1)
		return &UnavailableError{Dir: c.where(), Op: op, Err: err}
	}
	if refused {
		c.refused.Add(1)
	}
	return err
}

// where names the database in an UnavailableError: the data directory of
// a SQLite one.
func (c *connector) where() string {
	if c.dialect == postgresDialect {
		return "PostgreSQL"
	}
	return c.dir
}

// remember records the identity of the database file as opened.
func (c *connector) remember() error {
	if c.path == "" {
		return nil
	}
	fi, err := os.Stat(c.path)
	if err != nil {
		return fmt.Errorf("database file %s: %w", c.path, err)
	}
	c.file.Store(&fi)
	return nil
}

// checkFile refuses op when the database path no longer names the file the
// store opened (same device and inode).
func (c *connector) checkFile(op string) error {
	opened := c.file.Load()
	if opened == nil {
		return nil
	}
	now, err := os.Stat(c.path)
	if err == nil && os.SameFile(*opened, now) {
		return nil
	}
	c.unavailable.Add(1)
	return &UnavailableError{Dir: c.dir, Op: op, Err: errFileReplaced}
}

func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.base.Connect(ctx)
	if err != nil {
		return nil, c.wrap("open", err)
	}
	return &storageConn{inner: conn, c: c}, nil
}

func (c *connector) Driver() driver.Driver { return c.base.Driver() }

// opName names a statement for the log: its first words ("INSERT INTO
// call_log"), without the values.
func opName(verb, query string) string {
	words := strings.Fields(query)
	n := 0
	for i, w := range words {
		if strings.ContainsAny(w, "(,") || i == 4 {
			break
		}
		n = i + 1
	}
	return verb + " " + strings.Join(words[:n], " ")
}

// storageConn is one connection; modernc's connection implements every optional
// interface forwarded here.
type storageConn struct {
	inner driver.Conn
	c     *connector
}

var (
	_ driver.ConnBeginTx        = (*storageConn)(nil)
	_ driver.ConnPrepareContext = (*storageConn)(nil)
	_ driver.ExecerContext      = (*storageConn)(nil)
	_ driver.QueryerContext     = (*storageConn)(nil)
	_ driver.Pinger             = (*storageConn)(nil)
	_ driver.SessionResetter    = (*storageConn)(nil)
	_ driver.Validator          = (*storageConn)(nil)
)

func (k *storageConn) Prepare(query string) (driver.Stmt, error) {
	return k.PrepareContext(context.Background(), query)
}

func (k *storageConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	query = k.c.rewrite(query)
	st, err := k.inner.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, k.c.wrap(opName("prepare", query), err)
	}
	return &storageStmt{inner: st, c: k.c, query: query}, nil
}

func (k *storageConn) Close() error { return k.inner.Close() }

func (k *storageConn) Begin() (driver.Tx, error) {
	return k.BeginTx(context.Background(), driver.TxOptions{})
}

func (k *storageConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if err := k.c.checkFile("begin"); err != nil {
		return nil, err
	}
	tx, err := k.inner.(driver.ConnBeginTx).BeginTx(ctx, opts)
	if err != nil {
		return nil, k.c.wrap("begin", err)
	}
	return &storageTx{inner: tx, c: k.c}, nil
}

func (k *storageConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	op := opName("exec", query)
	if err := k.c.checkFile(op); err != nil {
		return nil, err
	}
	r, err := k.inner.(driver.ExecerContext).ExecContext(ctx, k.c.rewrite(query), k.c.args(args))
	return r, k.c.wrap(op, err)
}

func (k *storageConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	op := opName("query", query)
	rows, err := k.inner.(driver.QueryerContext).QueryContext(ctx, k.c.rewrite(query), k.c.args(args))
	if err != nil {
		return nil, k.c.wrap(op, err)
	}
	return &storageRows{Rows: rows, c: k.c, op: op}, nil
}

func (k *storageConn) Ping(ctx context.Context) error {
	return k.c.wrap("ping", k.inner.(driver.Pinger).Ping(ctx))
}

func (k *storageConn) ResetSession(ctx context.Context) error {
	return k.inner.(driver.SessionResetter).ResetSession(ctx)
}

func (k *storageConn) IsValid() bool {
	v, ok := k.inner.(driver.Validator)
	return !ok || v.IsValid()
}

type storageTx struct {
	inner driver.Tx
	c     *connector
}

func (t *storageTx) Commit() error   { return t.c.wrap("commit", t.inner.Commit()) }
func (t *storageTx) Rollback() error { return t.c.wrap("rollback", t.inner.Rollback()) }

type storageStmt struct {
	inner driver.Stmt
	c     *connector
	query string
}

func (s *storageStmt) Close() error  { return s.inner.Close() }
func (s *storageStmt) NumInput() int { return s.inner.NumInput() }

func (s *storageStmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), named(args))
}

func (s *storageStmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), named(args))
}

func (s *storageStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	op := opName("exec", s.query)
	if err := s.c.checkFile(op); err != nil {
		return nil, err
	}
	r, err := s.inner.(driver.StmtExecContext).ExecContext(ctx, s.c.args(args))
	return r, s.c.wrap(op, err)
}

func (s *storageStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	op := opName("query", s.query)
	rows, err := s.inner.(driver.StmtQueryContext).QueryContext(ctx, s.c.args(args))
	if err != nil {
		return nil, s.c.wrap(op, err)
	}
	return &storageRows{Rows: rows, c: s.c, op: op}, nil
}

func named(args []driver.Value) []driver.NamedValue {
	out := make([]driver.NamedValue, len(args))
	for i, v := range args {
		out[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return out
}

// storageRows classifies errors of steps after the first (a read can fail on I/O).
type storageRows struct {
	driver.Rows
	c  *connector
	op string
}

func (r *storageRows) Next(dest []driver.Value) error { return r.c.wrap(r.op, r.Rows.Next(dest)) }
