package bridge

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// The public docs (docs/events.md, docs/commands.md, docs/flags.md) are the
// contract as integrators read it. These tests fail when the docs, the Go
// lists and the widget's scripts disagree.

func readRepoFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// docStates returns type → status line of every "### `type`" heading.
func docStates(t *testing.T, doc string) map[string]string {
	t.Helper()
	re := regexp.MustCompile("(?m)^### `(rc-[A-Za-z-]+)`\\s*\\nStatus: ([a-z ]+)")
	out := map[string]string{}
	for _, m := range re.FindAllStringSubmatch(doc, -1) {
		if _, dup := out[m[1]]; dup {
			t.Errorf("%s documented twice", m[1])
		}
		out[m[1]] = strings.TrimSpace(m[2])
	}
	return out
}

func TestEventsDocumented(t *testing.T) {
	docs := docStates(t, readRepoFile(t, "docs/events.md"))
	want := map[string]string{}
	for _, e := range Events {
		want[e.Type] = map[bool]string{true: "emitted", false: "not emitted yet"}[e.Emitted]
	}
	compareStates(t, "docs/events.md", docs, want)
}

func TestCommandsDocumented(t *testing.T) {
	docs := docStates(t, readRepoFile(t, "docs/commands.md"))
	want := map[string]string{}
	for _, c := range Commands {
		want[c.Type] = map[bool]string{true: "supported", false: "not supported yet"}[c.Supported]
	}
	compareStates(t, "docs/commands.md", docs, want)
}

func compareStates(t *testing.T, doc string, got, want map[string]string) {
	t.Helper()
	for typ, state := range want {
		if got[typ] == "" {
			t.Errorf("%s is in internal/bridge but not in %s", typ, doc)
		} else if !strings.HasPrefix(got[typ], state) {
			t.Errorf("%s: %s says %q, internal/bridge says %q", typ, doc, got[typ], state)
		}
	}
	for typ := range got {
		if want[typ] == "" {
			t.Errorf("%s is in %s but not in internal/bridge", typ, doc)
		}
	}
}

func TestFlagsDocumented(t *testing.T) {
	re := regexp.MustCompile("(?m)^\\| `([A-Za-z]+)` \\|")
	var documented []string
	for _, m := range re.FindAllStringSubmatch(readRepoFile(t, "docs/flags.md"), -1) {
		documented = append(documented, m[1])
	}
	want := []string{"clientId"}
	ft := reflect.TypeOf(Flags{})
	for i := 0; i < ft.NumField(); i++ {
		want = append(want, ft.Field(i).Tag.Get("json"))
	}
	sort.Strings(documented)
	sort.Strings(want)
	if !reflect.DeepEqual(documented, want) {
		t.Errorf("docs/flags.md documents %v; the code has %v", documented, want)
	}
}

// widgetScripts are the widget's modules that post events to the host.
var widgetScripts = []string{"bridge.js", "commands.js", "app.js", "session.js", "signin.js", "phone.js"}

// TestScriptsUseContractTypes checks the browser code against the contract:
// every rc-* type a script names exists, and the widget's command table
// matches Commands, supported or not.
func TestScriptsUseContractTypes(t *testing.T) {
	known := map[string]bool{}
	for _, e := range Events {
		known[e.Type] = true
	}
	for _, c := range Commands {
		known[c.Type] = true
	}
	files, _ := filepath.Glob(filepath.Join("..", "..", "web", "static", "*.js"))
	if len(files) == 0 {
		t.Fatal("no scripts found")
	}
	literal := regexp.MustCompile(`['"](rc-[a-z]+-[A-Za-z-]+)['"]`)
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, m := range literal.FindAllStringSubmatch(string(b), -1) {
			if !known[m[1]] {
				t.Errorf("%s names %s, which is not in the contract (internal/bridge)", filepath.Base(f), m[1])
			}
		}
	}

	commandsJS := readRepoFile(t, "web/static/commands.js")
	var widgetJS string
	for _, f := range widgetScripts {
		widgetJS += readRepoFile(t, "web/static/"+f)
	}
	fromServer := serverEmitted(t)
	for _, e := range Events {
		if e.Emitted && !strings.Contains(widgetJS, "'"+e.Type+"'") && !fromServer[e.Type] {
			t.Errorf("%s is marked emitted but neither the widget's scripts nor the bridge produce it", e.Type)
		}
	}
	start := strings.Index(commandsJS, "export const COMMANDS")
	if start < 0 {
		t.Fatal("commands.js has no COMMANDS table")
	}
	table := commandsJS[start:]
	table = table[:strings.Index(table, "\n});")]
	entry := regexp.MustCompile(`'(rc-[\w-]+)':\s*\{`)
	run := regexp.MustCompile(`run:\s*(\w+)`)
	unsupported := map[string]bool{"notAvailable": true, "controlCallUnsupported": true}
	got := map[string]bool{}
	for _, loc := range entry.FindAllStringSubmatchIndex(table, -1) {
		typ := table[loc[2]:loc[3]]
		r := run.FindStringSubmatch(table[loc[1]:])
		if r == nil {
			t.Fatalf("commands.js: %s has no run handler", typ)
		}
		got[typ] = !unsupported[r[1]]
	}
	want := map[string]bool{}
	for _, c := range Commands {
		want[c.Type] = c.Supported
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("commands.js COMMANDS (type → supported) = %v\ninternal/bridge Commands = %v", got, want)
	}
}
