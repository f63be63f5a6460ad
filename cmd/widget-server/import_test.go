package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/store"
)

// TestExtensionsImport: one command adds many users with one initial
// password, each of whom signs in with it; bad input stores none of them.
func TestExtensionsImport(t *testing.T) {
	ctx := context.Background()
	dataDir := filepath.Join(t.TempDir(), "data")
	vars := env(map[string]string{"WIDGET_DATA_DIR": dataDir})
	run := func(stdin string, args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, args, vars, strings.NewReader(stdin), &out, io.Discard)
		return out.String(), err
	}
	if _, err := run("", "accounts", "add", "--company", "Acme", "--main-number", "+14155550100"); err != nil {
		t.Fatal(err)
	}
	var csv strings.Builder
	csv.WriteString("first pass\r\n")
	for i := range 50 {
		fmt.Fprintf(&csv, "%d,\"Lee, Ann %d\",ann%d@Acme.test\n", 300+i, i, i)
		if i == 10 {
			csv.WriteString("\n") // blank lines are skipped
		}
	}
	out, err := run(csv.String(), "extensions", "import", "--main-number", "+14155550100", "--password-stdin")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "50 extensions imported") {
		t.Errorf("import says %q", out)
	}
	list, err := run("", "extensions", "list", "--main-number", "+14155550100")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(list, "Lee, Ann 49") || !strings.Contains(list, "ann0@acme.test") {
		t.Errorf("extensions list lacks the imported users:\n%s", list)
	}

	db, err := store.Open(ctx, dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dir := identity.NewDirectory(db)
	for _, u := range []string{"ann0@acme.test", "+14155550100*349"} {
		if _, _, err := dir.Authenticate(ctx, u, "first pass"); err != nil {
			t.Errorf("sign in as %s: %v", u, err)
		}
	}

	args := []string{"extensions", "import", "--main-number", "+14155550100", "--password-stdin"}
	for _, tt := range []struct {
		name, stdin string
		args        []string
	}{
		{"no --password-stdin", "pass\n400,Cy,cy@acme.test\n", args[:4]},
		{"no users", "pass\n", args},
		{"empty password", "\n400,Cy,cy@acme.test\n", args},
		{"short password", "abc\n400,Cy,cy@acme.test\n", args},
		{"two fields", "pass\n400,cy@acme.test\n", args},
		{"bad number", "pass\n400,Cy,cy@acme.test\n4x1,Di,di@acme.test\n", args},
		{"bad email", "pass\n400,Cy,cy@acme.test\n401,Di,di-at-acme\n", args},
		{"number twice", "pass\n400,Cy,cy@acme.test\n400,Di,di@acme.test\n", args},
		{"email twice", "pass\n400,Cy,cy@acme.test\n401,Di,CY@acme.test\n", args},
		{"unknown account", "pass\n400,Cy,cy@acme.test\n", []string{"extensions", "import", "--main-number", "+14155550199", "--password-stdin"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := run(tt.stdin, tt.args...); err == nil {
				t.Fatal("import succeeded")
			}
			if _, _, err := dir.ExtensionByEmail(ctx, "cy@acme.test"); !errors.Is(err, identity.ErrNotFound) {
				t.Fatalf("a refused import stored a user: %v", err)
			}
		})
	}
	// A taken number stops the import where it is met.
	out, err = run("pass\n400,Cy,cy@acme.test\n349,Di,di@acme.test\n402,Ed,ed@acme.test\n", args...)
	if !errors.Is(err, identity.ErrConflict) || !strings.Contains(err.Error(), "1 of 3 imported") {
		t.Fatalf("import over a taken number: %q, %v", out, err)
	}
}
