package pgtest_test

import (
	"database/sql"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/callbridge/widget-server/internal/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// open opens url with database/sql's pgx driver, closed when the test ends.
func open(t *testing.T, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func currentSchema(t *testing.T, db *sql.DB) string {
	t.Helper()
	var schema sql.NullString
	if err := db.QueryRow("SELECT current_schema()").Scan(&schema); err != nil {
		t.Fatal(err)
	}
	if !schema.Valid {
		t.Fatal("current_schema() is NULL: the URL's search_path names no schema that exists")
	}
	return schema.String
}

func TestURLsAreSeparateEmptySchemas(t *testing.T) {
	url1, url2 := pgtest.URL(t), pgtest.URL(t)
	if url1 == url2 {
		t.Fatalf("two calls gave the same URL %q", url1)
	}
	db1, db2 := open(t, url1), open(t, url2)
	s1, s2 := currentSchema(t, db1), currentSchema(t, db2)
	if s1 == s2 {
		t.Fatalf("both URLs select schema %q", s1)
	}
	for _, db := range []*sql.DB{db1, db2} {
		var n int
		if err := db.QueryRow("SELECT count(*) FROM pg_class WHERE relnamespace = current_schema()::regnamespace").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("a new schema holds %d relations", n)
		}
	}

	if _, err := db1.Exec("CREATE TABLE items (name text NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db1.Exec("INSERT INTO items (name) VALUES ($1)", "first"); err != nil {
		t.Fatal(err)
	}
	var n int
	err := db2.QueryRow("SELECT count(*) FROM items").Scan(&n)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42P01" {
		t.Fatalf("the table created through the first URL, read through the second: %v; want undefined_table (42P01)", err)
	}

	// The same name in the other schema is another table.
	if _, err := db2.Exec("CREATE TABLE items (name text NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db2.Exec("INSERT INTO items (name) VALUES ($1)", "second"); err != nil {
		t.Fatal(err)
	}
	for db, want := range map[*sql.DB]string{db1: "first", db2: "second"} {
		var names []string
		rows, err := db.Query("SELECT name FROM items")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				t.Fatal(err)
			}
			names = append(names, name)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if len(names) != 1 || names[0] != want {
			t.Errorf("items holds %q, want [%s]", names, want)
		}
	}
}

func TestSchemaIsDroppedWhenTheTestEnds(t *testing.T) {
	var schema string
	t.Run("user", func(t *testing.T) {
		db := open(t, pgtest.URL(t))
		schema = currentSchema(t, db)
		if _, err := db.Exec("CREATE TABLE items (name text)"); err != nil {
			t.Fatal(err)
		}
	})
	if t.Failed() || schema == "" {
		t.FailNow()
	}
	db := open(t, pgtest.URL(t))
	var exists bool
	if err := db.QueryRow("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("schema %s is still there after its test ended", schema)
	}
}

func TestParallelTestsGetTheirOwnSchemas(t *testing.T) {
	schemas := make(chan string, 4)
	t.Run("group", func(t *testing.T) {
		for range cap(schemas) {
			t.Run("user", func(t *testing.T) {
				t.Parallel()
				db := open(t, pgtest.URL(t))
				if _, err := db.Exec("CREATE TABLE items (name text)"); err != nil {
					t.Fatal(err)
				}
				schemas <- currentSchema(t, db)
			})
		}
	})
	close(schemas)
	seen := map[string]bool{}
	for s := range schemas {
		if seen[s] {
			t.Errorf("schema %s given to two tests", s)
		}
		seen[s] = true
	}
	if len(seen) != cap(schemas) {
		t.Errorf("%d schemas for %d tests", len(seen), cap(schemas))
	}
}
