package pgtemp

import "testing"

func TestNewestVersion(t *testing.T) {
	got := newest([]string{
		"/usr/lib/postgresql/9.6/bin/initdb",
		"/usr/lib/postgresql/16/bin/initdb",
		"/usr/lib/postgresql/15/bin/initdb",
		"/usr/lib/postgresql/10/bin/initdb",
	})
	if got != "/usr/lib/postgresql/16/bin/initdb" {
		t.Errorf("newest: %s", got)
	}
}
