package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// tscPath is TypeScript's compiler as e2e/package-lock.json pins it.
const tscPath = "node_modules/typescript/bin/tsc"

// tscFlags compile a host page as an integrator's build would, strictly,
// for a browser.
var tscFlags = []string{"--strict", "--noEmit", "--target", "es2022", "--module", "esnext",
	"--moduleResolution", "bundler", "--lib", "es2022,dom"}

// tsc compiles one file of e2e/typescript and returns the compiler's output.
func tsc(t *testing.T, file string) (string, error) {
	t.Helper()
	args := append([]string{"--no-install", "tsc"}, tscFlags...)
	out, err := exec.Command("npx", append(args, filepath.Join("typescript", file))...).CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("npx tsc did not run: %v\n%s", err, out)
	}
	return string(out), err
}

// TestTypeScriptContract compiles an example host page against the
// definitions the server serves at /adapter.d.ts (web/static/adapter.d.ts,
// generated from internal/bridge): it narrows events on their type, posts
// commands and calls window.RCAdapter, and its @ts-expect-error lines must
// stay errors. A page that reads a field a narrowed event has not must fail
// to compile, with that error.
func TestTypeScriptContract(t *testing.T) {
	if _, err := os.Stat(filepath.FromSlash(tscPath)); err != nil {
		t.Fatalf("TypeScript is missing (%v): run `npm ci` in e2e/ (scripts/test.sh does)", err)
	}
	if _, err := exec.LookPath("npx"); err != nil {
		t.Fatal("no npx: install Debian's npm (scripts/test.sh does)")
	}
	t.Run("host example compiles", func(t *testing.T) {
		if out, err := tsc(t, "host-example.ts"); err != nil || strings.TrimSpace(out) != "" {
			t.Fatalf("tsc --strict: %v\n%s", err, out)
		}
	})
	t.Run("a wrong field does not", func(t *testing.T) {
		out, err := tsc(t, "wrong-field.ts")
		if err == nil {
			t.Fatalf("wrong-field.ts compiled; the definitions let event.call.callerNumber through\n%s", out)
		}
		want := "wrong-field.ts(8,23): error TS2339: Property 'callerNumber' does not exist on type 'WebphoneCall'."
		if !strings.Contains(out, want) || strings.Count(out, "error TS") != 1 {
			t.Fatalf("tsc failed otherwise than with\n %s\ngot:\n%s", want, out)
		}
	})
}
