package pgtest

import (
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestWithSearchPath(t *testing.T) {
	for _, base := range []string{
		"postgres://postgres@/postgres?host=%2Ftmp%2Fcallbridge-pg-1&port=40000&sslmode=disable",
		"postgresql://app:secret@db.example:5433/callbridge?search_path=public&application_name=tests",
		"host=/tmp/callbridge-pg-1 port=40000 user=postgres dbname=postgres search_path=public",
	} {
		t.Run(base, func(t *testing.T) {
			want, err := pgx.ParseConfig(base)
			if err != nil {
				t.Fatal(err)
			}
			s, err := withSearchPath(base, "test_0123456789abcdef")
			if err != nil {
				t.Fatal(err)
			}
			got, err := pgx.ParseConfig(s)
			if err != nil {
				t.Fatalf("%q: %v", s, err)
			}
			if sp := got.RuntimeParams["search_path"]; sp != "test_0123456789abcdef" {
				t.Errorf("%q: search_path %q", s, sp)
			}
			if got.Host != want.Host || got.Port != want.Port || got.User != want.User ||
				got.Password != want.Password || got.Database != want.Database ||
				got.RuntimeParams["application_name"] != want.RuntimeParams["application_name"] {
				t.Errorf("%q: connects to %s:%d/%s as %s, want %s:%d/%s as %s (the rest unchanged)", s,
					got.Host, got.Port, got.Database, got.User, want.Host, want.Port, want.Database, want.User)
			}
		})
	}
}
