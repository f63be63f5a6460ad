package store

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/store/pgtest"
)

func TestPostgresPlaceholders(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`a = ? AND b IN (?, ?)`, `a = $1 AND b IN ($2, $3)`},
		{`x = '?' AND y = ?`, `x = '?' AND y = $1`},
		{`x = 'it''s ?' AND y = ?`, `x = 'it''s ?' AND y = $1`},
		{`"odd?name" = ?`, `"odd?name" = $1`},
		{"-- who's there?\nSELECT ?", "-- who's there?\nSELECT $1"},
		{"a = ? -- last?", "a = $1 -- last?"},
		{`e.value ->> 'phoneNumber' = ?`, `e.value ->> 'phoneNumber' = $1`},
	} {
		if got := postgresPlaceholders(c.in); got != c.want {
			t.Errorf("%q: got %q, want %q", c.in, got, c.want)
		}
	}
}

func TestOpenDatabaseRefusesOtherURLs(t *testing.T) {
	for _, u := range []string{"mysql://x/y", "file:callbridge.db", "postgres"} {
		if _, err := OpenDatabase(context.Background(), u, t.TempDir()); err == nil {
			t.Errorf("%q opened", u)
		}
	}
	if _, err := OpenDatabase(context.Background(), "postgres://u:secret@127.0.0.1:1/db?connect_timeout=5", t.TempDir()); err == nil {
		t.Error("opened a database nobody serves")
	} else if strings.Contains(err.Error(), "secret") {
		t.Errorf("the error shows the password: %v", err)
	}
}

// TestPostgresNodesMigrateTogether: nodes that start at once against one
// empty database each apply the migrations or wait for the other, and all
// end at the same version.
func TestPostgresNodesMigrateTogether(t *testing.T) {
	if !onPostgres {
		t.Skip("a PostgreSQL test")
	}
	url := pgtest.URL(t)
	var wg sync.WaitGroup
	dbs := make([]*DB, 3)
	errs := make([]error, 3)
	for i := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dbs[i], errs[i] = OpenDatabase(context.Background(), url, t.TempDir())
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		defer dbs[i].Close()
	}
	want, _ := dbs[0].SchemaVersion(context.Background())
	for i, db := range dbs {
		if v, err := db.SchemaVersion(context.Background()); err != nil || v != want || v == 0 {
			t.Fatalf("node %d at version %d (%v), node 0 at %d", i, v, err, want)
		}
	}
	files, _ := fs.Glob(migrations, "migrations/*.sql")
	var applied int
	if err := dbs[0].sql.QueryRow(`SELECT COUNT(*) FROM schema_version`).Scan(&applied); err != nil || applied != len(files) {
		t.Fatalf("%d migrations recorded, %d files (%v)", applied, len(files), err)
	}
}

// TestPostgresLostConnectionIsUnavailable: a connection the server ends
// (an operator, a restart) fails as storage unavailable, counted, and the
// next statement gets a new connection.
func TestPostgresLostConnectionIsUnavailable(t *testing.T) {
	if !onPostgres {
		t.Skip("a PostgreSQL test")
	}
	db := openTest(t)
	ctx := context.Background()
	db.sql.SetMaxOpenConns(1)
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	if err := conn.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	other, err := sql.Open("pgx", pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.ExecContext(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	_, err = conn.ExecContext(ctx, `UPDATE accounts SET company = company`)
	conn.Close()
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("a statement on a terminated connection: %v, want ErrUnavailable", err)
	}
	if n := db.ErrorCounts().Unavailable; n == 0 {
		t.Fatal("not counted")
	}
	a := identity.Account{Company: "Acme", MainNumber: "+14155550100", CountryCode: "US"}
	if err := db.CreateAccount(ctx, &a); err != nil {
		t.Fatalf("after the lost connection: %v", err)
	}
}

// lockedTx follows a transaction that a test runs on another goroutine, by
// the server process that runs it, to see whether it waits for an
// advisory lock (lockTx) another transaction holds.
type lockedTx struct {
	pid  int
	done chan error // the goroutine's outcome, sent once
}

// goTx begins a transaction on db and runs fn, then the commit, in it on
// a goroutine of its own; the test's end cancels what is left and waits
// for the goroutine.
func goTx(t *testing.T, ctx context.Context, db *DB, fn func(context.Context, *sql.Tx) error) *lockedTx {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	l := &lockedTx{done: make(chan error, 1)}
	if err := tx.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&l.pid); err != nil {
		cancel()
		tx.Rollback()
		t.Fatal(err)
	}
	ended := make(chan struct{})
	t.Cleanup(func() {
		cancel()
		<-ended
		tx.Rollback()
	})
	go func() {
		defer close(ended)
		err := fn(ctx, tx)
		if err == nil {
			err = tx.Commit()
		}
		l.done <- err
	}()
	return l
}

// waits reports whether l waits for an advisory lock: true once the
// server shows its process waiting for one; false, with the outcome,
// when it ended first. ctx's deadline fails the test.
func (l *lockedTx) waits(t *testing.T, ctx context.Context, db *DB) (bool, error) {
	t.Helper()
	poll := time.NewTicker(5 * time.Millisecond)
	defer poll.Stop()
	for {
		select {
		case err := <-l.done:
			return false, err
		default:
		}
		var waiting bool
		err := db.sql.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE pid = ? AND wait_event_type = 'Lock' AND wait_event = 'advisory')`, l.pid).Scan(&waiting)
		if err != nil {
			t.Fatalf("process %d: %v", l.pid, err)
		}
		if waiting {
			return true, nil
		}
		select {
		case err := <-l.done:
			return false, err
		case <-poll.C:
		case <-ctx.Done():
			t.Fatalf("process %d neither ended nor waited for a lock: %v", l.pid, ctx.Err())
		}
	}
}

// ended waits for l's outcome.
func (l *lockedTx) ended(t *testing.T, ctx context.Context) error {
	t.Helper()
	select {
	case err := <-l.done:
		return err
	case <-ctx.Done():
		t.Fatalf("process %d did not end: %v", l.pid, ctx.Err())
		return nil
	}
}
