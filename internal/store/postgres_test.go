package store

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"strings"
	"sync"
	"testing"

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
