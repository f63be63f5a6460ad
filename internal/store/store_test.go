package store

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/store/pgtest"
)

// testEngineEnv names the engine openTest opens. The package's tests run
// on SQLite, then TestMain runs them again in a child process on
// PostgreSQL (a throwaway cluster, pgtest), so each test that opens its
// database with openTest checks both.
const testEngineEnv = "CALLBRIDGE_STORE_TEST_ENGINE"

var onPostgres = os.Getenv(testEngineEnv) == "postgres"

func TestMain(m *testing.M) {
	if onPostgres {
		pgtest.Main(m)
		return
	}
	flag.Parse()
	code := m.Run()
	if code == 0 && flag.Lookup("test.bench").Value.String() == "" && flag.Lookup("test.fuzz").Value.String() == "" {
		code = runOnPostgres()
	}
	os.Exit(code)
}

// runOnPostgres runs this test binary again, with its flags, on PostgreSQL.
func runOnPostgres() int {
	fmt.Println("store: the same tests on PostgreSQL")
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Env = append(os.Environ(), testEngineEnv+"=postgres")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		fmt.Fprintln(os.Stderr, "store: the PostgreSQL run did not start:", err)
		return 1
	}
	return 0
}

// openTest opens an empty database of the engine under test.
func openTest(t *testing.T) *DB {
	t.Helper()
	var db *DB
	var err error
	if onPostgres {
		db, err = OpenDatabase(context.Background(), pgtest.URL(t), t.TempDir())
	} else {
		db, err = Open(context.Background(), t.TempDir())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// sqliteOnly skips a test of SQLite's own file handling in the PostgreSQL
// run.
func sqliteOnly(t *testing.T) {
	t.Helper()
	if onPostgres {
		t.Skip("a test of the SQLite file")
	}
}

func TestOpenMigratesOnce(t *testing.T) {
	sqliteOnly(t)
	ctx := context.Background()
	dir := t.TempDir()
	for i := 0; i < 2; i++ {
		db, err := Open(ctx, dir)
		if err != nil {
			t.Fatalf("open #%d: %v", i+1, err)
		}
		v, err := db.SchemaVersion(ctx)
		if err != nil || v < 1 {
			t.Fatalf("schema version %d, %v", v, err)
		}
		var mode string
		db.sql.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode)
		if mode != "wal" {
			t.Fatalf("journal mode %q, want wal", mode)
		}
		db.Close()
	}
}

func TestOpenReadOnlyDir(t *testing.T) {
	sqliteOnly(t)
	if os.Geteuid() == 0 {
		// root ignores directory permissions; use a path under a regular file instead
		dir := filepath.Join(t.TempDir(), "file")
		os.WriteFile(dir, nil, 0o600)
		if _, err := Open(context.Background(), filepath.Join(dir, "data")); err == nil {
			t.Fatal("opened a data dir under a regular file")
		}
		return
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o500)
	defer os.Chmod(dir, 0o700)
	_, err := Open(context.Background(), dir)
	if err == nil {
		t.Fatal("opened a read-only data dir")
	}
}

func TestApps(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	app := identity.App{
		ClientID: "crm", Name: "CRM", Origins: []string{"HTTPS://CRM.example.com:443"},
		RedirectURIs: []string{"https://w.test/oauth/redirect"}, Features: identity.Features{Call: true},
	}
	if err := db.PutApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	got, err := db.App(ctx, "crm")
	if err != nil {
		t.Fatal(err)
	}
	app.Origins = []string{"https://crm.example.com"}
	if !reflect.DeepEqual(got, app) {
		t.Fatalf("got %+v, want %+v", got, app)
	}
	app.Name = "CRM 2"
	if err := db.PutApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	all, err := db.Apps(ctx)
	if err != nil || len(all) != 1 || all[0].Name != "CRM 2" {
		t.Fatalf("apps = %+v, %v", all, err)
	}
	if err := db.PutApp(ctx, identity.App{ClientID: "bad"}); !errors.Is(err, identity.ErrInvalid) {
		t.Fatalf("put invalid app: %v", err)
	}
	if err := db.DeleteApp(ctx, "crm"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.App(ctx, "crm"); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if err := db.DeleteApp(ctx, "crm"); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

// TestOpenAppliesAMissingMigration: a migration missing below the highest
// applied one (a branch merged after a later migration) is applied at the
// next start.
func TestOpenAppliesAMissingMigration(t *testing.T) {
	sqliteOnly(t)
	ctx := context.Background()
	dir := t.TempDir()
	db, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	// 0017 makes one table and nothing else; later ones stay applied.
	if _, err := db.sql.ExecContext(ctx, `DROP TABLE answering_rules`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.sql.ExecContext(ctx, `DELETE FROM schema_version WHERE version = 17`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM answering_rules`).Scan(&n); err != nil {
		t.Fatalf("the missing migration was not applied again: %v", err)
	}
}
