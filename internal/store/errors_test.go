package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"modernc.org/sqlite"
)

// TestStorageFailuresAreUnavailable produces real SQLite failures of the
// storage — a full database, a read-only file, a file that cannot be opened
// or is not a database, a file replaced under the running store — and checks
// that each wraps ErrUnavailable with the data dir, the operation and
// SQLite's error, while errors of the statement itself do not.
func TestStorageFailuresAreUnavailable(t *testing.T) {
	sqliteOnly(t)
	ctx := context.Background()
	tests := []struct {
		name   string
		fail   func(t *testing.T, dir string) error
		op     string // what the error must name
		sqlite string // SQLite's message, when SQLite failed
	}{
		{"database full", func(t *testing.T, dir string) error {
			db := openIn(t, dir)
			conn, err := db.sql.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			var pages int
			if err := conn.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
				t.Fatal(err)
			}
			if _, err := conn.ExecContext(ctx, `PRAGMA max_page_count = `+strconv.Itoa(pages)); err != nil {
				t.Fatal(err)
			}
			_, err = conn.ExecContext(ctx, `INSERT INTO call_log (id, extension_id, session_id, telephony_session_id, party_id,
				start_time, duration, direction, from_number, from_name, from_ext, to_number, to_name, to_ext, type, action, result)
				VALUES ('r1', 1, 's', 't', 'p', '2025-01-01T00:00:00.000Z', 0, 'Outbound', ?, '', '', '', '', '', 'Voice', 'VoIP Call', 'Call connected')`,
				strings.Repeat("x", 64<<10))
			return err
		}, "exec INSERT INTO call_log", "database or disk is full"},
		{"read-only file", func(t *testing.T, dir string) error {
			openIn(t, dir).Close()
			db := rawOpen(t, dir, "?mode=ro")
			_, err := db.ExecContext(ctx, `UPDATE widget_sessions SET last_seen = 'now'`)
			return err
		}, "exec UPDATE widget_sessions SET last_seen", "readonly database"},
		{"cannot open", func(t *testing.T, dir string) error {
			return rawOpen(t, filepath.Join(dir, "missing"), "").PingContext(ctx)
		}, "open", "unable to open database file"},
		{"not a database", func(t *testing.T, dir string) error {
			if err := os.WriteFile(filepath.Join(dir, FileName), []byte(strings.Repeat("not a database ", 512)), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := rawOpen(t, dir, "").ExecContext(ctx, `CREATE TABLE t (v)`)
			return err
		}, "exec CREATE TABLE t", "file is not a database"},
		{"file replaced", func(t *testing.T, dir string) error {
			db := openIn(t, dir)
			path := filepath.Join(dir, FileName)
			if err := os.Rename(path, path+".moved"); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return db.SetUserPresence(ctx, 1, UserPresence{UserStatus: "Busy", DNDStatus: "TakeAllCalls"})
		}, "exec INSERT INTO presence", ""},
		{"file removed", func(t *testing.T, dir string) error {
			db := openIn(t, dir)
			if err := os.Remove(filepath.Join(dir, FileName)); err != nil {
				t.Fatal(err)
			}
			return db.inTx(ctx, func(tx *sql.Tx) error { return nil })
		}, "begin", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			err := tc.fail(t, dir)
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("err = %v (%T), want one that wraps ErrUnavailable", err, err)
			}
			var ue *UnavailableError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v: no UnavailableError in it", err)
			}
			if ue.Dir != dir && ue.Dir != filepath.Join(dir, "missing") {
				t.Errorf("data dir %q, want %q", ue.Dir, dir)
			}
			if !strings.HasPrefix(ue.Op, tc.op) {
				t.Errorf("operation %q, want %q…", ue.Op, tc.op)
			}
			var se *sqlite.Error
			if tc.sqlite != "" && (!errors.As(err, &se) || !strings.Contains(se.Error(), tc.sqlite)) {
				t.Errorf("SQLite's error %v, want %q", ue.Err, tc.sqlite)
			}
			if tc.sqlite == "" && !errors.Is(err, errFileReplaced) {
				t.Errorf("cause %v, want errFileReplaced", ue.Err)
			}
			for _, want := range []string{dir, ue.Op} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message %q does not name %q", err, want)
				}
			}
		})
	}
}

// TestStatementErrorsAreNotUnavailable: a constraint or a syntax error, or no
// row, is the caller's business and comes back as it was.
func TestStatementErrorsAreNotUnavailable(t *testing.T) {
	sqliteOnly(t)
	ctx := context.Background()
	db := openIn(t, t.TempDir())
	for name, err := range map[string]error{
		"syntax": func() error { _, err := db.sql.ExecContext(ctx, `INSERT INTO nowhere VALUES (`); return err }(),
		"constraint": func() error {
			_, err := db.sql.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (1)`)
			return err
		}(),
		"no rows": db.sql.QueryRowContext(ctx, `SELECT version FROM schema_version WHERE version < 0`).Scan(new(int)),
	} {
		if err == nil || errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: err = %v, want an error that is not ErrUnavailable", name, err)
		}
	}
	_, err := db.sql.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (1)`)
	var se *sqlite.Error
	if !errors.As(err, &se) {
		t.Errorf("constraint error %T: SQLite's error is not reachable", err)
	}
	if err := db.sql.QueryRowContext(ctx, `SELECT 1 WHERE 0`).Scan(new(int)); !errors.Is(err, sql.ErrNoRows) {
		t.Errorf("no rows: %v", err)
	}
}

// TestErrorCounts: the errors SQLite returns are counted, storage
// failures apart from statements it refused; no rows is no error of the
// database.
func TestErrorCounts(t *testing.T) {
	sqliteOnly(t)
	ctx := context.Background()
	dir := t.TempDir()
	db := openIn(t, dir)
	if c := db.ErrorCounts(); c != (ErrorCounts{}) {
		t.Fatalf("counts at start: %+v", c)
	}
	if _, err := db.sql.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (1)`); err == nil {
		t.Fatal("a duplicate version was taken")
	}
	if err := db.sql.QueryRowContext(ctx, `SELECT 1 WHERE 0`).Scan(new(int)); !errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("no rows: %v", err)
	}
	if c := db.ErrorCounts(); c != (ErrorCounts{Refused: 1}) {
		t.Fatalf("counts after a constraint error: %+v, want one refused", c)
	}
	if err := os.Remove(filepath.Join(dir, FileName)); err != nil {
		t.Fatal(err)
	}
	if err := db.inTx(ctx, func(tx *sql.Tx) error { return nil }); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("begin on a removed file: %v", err)
	}
	if c := db.ErrorCounts(); c != (ErrorCounts{Unavailable: 1, Refused: 1}) {
		t.Fatalf("counts after a storage failure: %+v, want one of each", c)
	}
}

func TestOpName(t *testing.T) {
	for _, tc := range []struct{ verb, query, want string }{
		{"exec", "INSERT INTO call_log (id, extension_id) VALUES (?, ?)", "exec INSERT INTO call_log"},
		{"exec", "UPDATE widget_sessions SET last_seen = ? WHERE id = ?", "exec UPDATE widget_sessions SET last_seen"},
		{"query", "SELECT COALESCE(MAX(version), 0) FROM schema_version", "query SELECT"},
		{"exec", "\n\t\tDELETE FROM widget_sessions WHERE id = ?", "exec DELETE FROM widget_sessions WHERE"},
		{"exec", "", "exec "},
	} {
		if got := opName(tc.verb, tc.query); got != tc.want {
			t.Errorf("opName(%q, %q) = %q, want %q", tc.verb, tc.query, got, tc.want)
		}
	}
}

func openIn(t *testing.T, dir string) *DB {
	t.Helper()
	db, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// rawOpen opens the database in dir through the store's connector with other
// URI parameters, as Open would but without its checks.
func rawOpen(t *testing.T, dir, params string) *sql.DB {
	t.Helper()
	path := filepath.Join(dir, FileName)
	c, err := newConnector(dir, path, "file:"+path+params)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	t.Cleanup(func() { db.Close() })
	return db
}
