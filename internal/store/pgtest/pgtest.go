// Package pgtest gives each test a fresh, empty PostgreSQL schema of its own.
//
// The server comes from CALLBRIDGE_TEST_POSTGRES when it names one (a
// postgres:// URL or pgx's keyword form); otherwise the first test that asks
// starts a throwaway cluster (internal/store/pgtemp) for the whole test
// process from the installed PostgreSQL. A package whose tests use it
// calls Main from its TestMain, which stops the cluster and removes its
// directory when the tests are done.
//
// Without PostgreSQL a test is skipped, except when
// CALLBRIDGE_REQUIRE_POSTGRES=1 (scripts/test.sh sets it), where it fails.
//
// It must import no package of this module but pgtemp, and only _test.go
// files import it.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/callbridge/widget-server/internal/store/pgtemp"
)

// EnvURL names the environment variable that points the tests at an existing
// server instead of a throwaway cluster.
const EnvURL = "CALLBRIDGE_TEST_POSTGRES"

// EnvRequire names the environment variable that turns a missing PostgreSQL
// from a skipped test into a failed one when it is "1".
const EnvRequire = "CALLBRIDGE_REQUIRE_POSTGRES"

// adminTimeout bounds creating and dropping a schema: generous, as the
// machine may be loaded, yet a hung server fails the test instead of hanging
// the run.
const adminTimeout = 2 * time.Minute

var (
	once    sync.Once
	base    string          // connection string of the server's database
	local   *pgtemp.Cluster // the throwaway cluster, nil when none was started
	startAt time.Duration
	failure error // why there is no server
)

// Main runs the package's tests, then stops the throwaway cluster if a test
// started one, and exits with the tests' code. A package's TestMain calls it:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if local != nil {
		if err := local.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// URL returns a connection string for database/sql's "pgx" driver (package
// github.com/jackc/pgx/v5/stdlib) or pgx itself whose search_path is a new,
// empty schema that only this test uses; the schema is dropped, with all it
// holds, when the test ends. Connections a test opens on it must be closed
// by then (t.Cleanup registered after URL runs first).
func URL(t testing.TB) string {
	t.Helper()
	started := false
	once.Do(func() {
		started = true
		base, local, failure = server()
	})
	if failure != nil {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("PostgreSQL is required (%s=1) but not available: %v", EnvRequire, failure)
		}
		t.Skipf("no PostgreSQL (install Debian's postgresql or set %s to a server's URL): %v", EnvURL, failure)
	}
	if started && local != nil {
		t.Logf("pgtest: started PostgreSQL %s in %s (initdb %s)", local.Version, startAt.Round(time.Millisecond), local.InitDB.Round(time.Millisecond))
	}

	schema, err := newSchemaName()
	if err != nil {
		t.Fatal(err)
	}
	if err := admin(func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize())
		return err
	}); err != nil {
		t.Fatalf("pgtest: creating schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		if err := admin(func(ctx context.Context, conn *pgx.Conn) error {
			_, err := conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
			return err
		}); err != nil {
			t.Errorf("pgtest: dropping schema %s: %v", schema, err)
		}
	})
	u, err := withSearchPath(base, schema)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// server finds the server the tests use: the one EnvURL names, else a
// throwaway cluster it starts.
func server() (string, *pgtemp.Cluster, error) {
	if u := os.Getenv(EnvURL); u != "" {
		if _, err := pgx.ParseConfig(u); err != nil {
			return "", nil, fmt.Errorf("%s: %w", EnvURL, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
		defer cancel()
		conn, err := pgx.Connect(ctx, u)
		if err != nil {
			return "", nil, fmt.Errorf("%s: %w", EnvURL, err)
		}
		return u, nil, conn.Close(ctx)
	}
	begin := time.Now()
	c, err := pgtemp.Start()
	if err != nil {
		return "", nil, err
	}
	startAt = time.Since(begin)
	return c.URL(), c, nil
}

// admin runs f on a connection of its own to the server's database.
func admin(f func(context.Context, *pgx.Conn) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return f(ctx, conn)
}

// newSchemaName returns a name no other test, in this process or another
// one sharing the server, uses.
func newSchemaName() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "test_" + hex.EncodeToString(b), nil
}

// withSearchPath returns the connection string s with its search_path set to
// schema, in the form s has: URL or keyword/value.
func withSearchPath(s, schema string) (string, error) {
	if strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		u, err := url.Parse(s)
		if err != nil {
			return "", err
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	// In the keyword/value form a later setting wins over an earlier one.
	return s + " search_path=" + schema, nil
}
