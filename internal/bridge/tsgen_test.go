package bridge

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/callbridge/widget-server/internal/presence"
)

const definitionsPath = "web/static/adapter.d.ts"

// TestTypeScriptDefinitions keeps the committed definitions what the Go
// contract generates; -update rewrites them.
func TestTypeScriptDefinitions(t *testing.T) {
	want, err := TypeScript()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", filepath.FromSlash(definitionsPath))
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: run `%s`", err, TypeScriptRegenerate)
	}
	if string(got) == string(want) {
		return
	}
	gotLines, wantLines := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	line := 0
	for line < len(gotLines) && line < len(wantLines) && gotLines[line] == wantLines[line] {
		line++
	}
	at := func(lines []string) string {
		if line < len(lines) {
			return lines[line]
		}
		return "(end of file)"
	}
	t.Errorf("%s is not what internal/bridge generates: run `%s` and commit it\nfirst difference, line %d:\n have %s\n want %s",
		definitionsPath, TypeScriptRegenerate, line+1, at(gotLines), at(wantLines))
}

// TestTypeScriptEveryType: the definitions have one interface per event
// and command, each in its union, and every object they name.
func TestTypeScriptEveryType(t *testing.T) {
	ts, err := TypeScript()
	if err != nil {
		t.Fatal(err)
	}
	src := string(ts)
	for _, typ := range slices.Concat(specTypes(Events), commandTypes()) {
		name := tsName(typ)
		if !strings.Contains(src, "export interface "+name+" {\n  type: '"+typ+"';\n") {
			t.Errorf("no interface %s with type '%s'", name, typ)
		}
		if !strings.Contains(src, "\n  | "+name+"\n") && !strings.Contains(src, "\n  | "+name+";\n") {
			t.Errorf("%s is in no union", name)
		}
	}
	declared := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^export (?:interface|type) (\w+)`).FindAllStringSubmatch(src, -1) {
		declared[m[1]] = true
	}
	for _, m := range regexp.MustCompile(`: ([A-Z]\w+)(?:\[\])?(?: \| null)?;`).FindAllStringSubmatch(src, -1) {
		if !declared[m[1]] && m[1] != "HTMLIFrameElement" {
			t.Errorf("%s is used but not declared", m[1])
		}
	}
	for _, want := range []string{
		"  direction: 'Inbound' | 'Outbound';", // a union from Go constants
		"  duration?: number;",                 // omitempty
		"  callId: string | null;",             // a pointer without omitempty
		"  requestId?: string | number;",       // the embedded Request
		"  controlCall(callAction: AdapterControlCall['callAction'], callId?: string, options?: ControlCallOptions): Promise<unknown>;",
		"  theme?: 'light' | 'dark' | 'auto';", // a flag
		"  change: 'created' | 'ended' | 'held' | 'invited' | 'joined' | 'left' | 'rejected' | 'removed' | 'resumed' | 'updated';",
	} {
		if !strings.Contains(src, want+"\n") {
			t.Errorf("the definitions have no line %q", want)
		}
	}
}

func specTypes(specs []EventSpec) []string {
	var out []string
	for _, e := range specs {
		out = append(out, e.Type)
	}
	return out
}

func commandTypes() []string {
	var out []string
	for _, c := range Commands {
		out = append(out, c.Type)
	}
	return out
}

// TestAdapterAPIMatchesScript: AdapterAPI lists the members of adapter.js's
// window.RCAdapter, and each method posts the command with the parameters
// AdapterAPI says.
func TestAdapterAPIMatchesScript(t *testing.T) {
	js := readRepoFile(t, "web/static/adapter.js")
	start := strings.Index(js, "\n  const api = {\n")
	if start < 0 {
		t.Fatal("adapter.js has no `const api = {`")
	}
	block := js[start:]
	block = block[:strings.Index(block, "\n  };\n")]
	var members []string
	for _, m := range regexp.MustCompile(`(?m)^    (\w+)\b`).FindAllStringSubmatch(block, -1) {
		members = append(members, m[1])
	}
	var names []string
	for _, m := range AdapterAPI {
		names = append(names, m.Name)
	}
	if !reflect.DeepEqual(members, names) {
		t.Errorf("adapter.js's RCAdapter has %v; AdapterAPI %v", members, names)
	}
	method := regexp.MustCompile(`(?m)^    (\w+): \(([^)]*)\) => .*?send\('(rc-[\w-]+)'`)
	posts := map[string]AdapterMethod{}
	for _, m := range method.FindAllStringSubmatch(block, -1) {
		var params []string
		if m[2] != "" {
			params = strings.Split(strings.ReplaceAll(m[2], " ", ""), ",")
		}
		posts[m[1]] = AdapterMethod{Name: m[1], Command: m[3], Params: params}
	}
	for _, m := range AdapterAPI {
		p, ok := posts[m.Name]
		switch {
		case m.Command == "" && ok:
			t.Errorf("RCAdapter.%s posts %s; AdapterAPI says it posts nothing", m.Name, p.Command)
		case m.Command != "" && (p.Command != m.Command || !slices.Equal(p.Params, m.Params)):
			t.Errorf("RCAdapter.%s: adapter.js posts %q with %v; AdapterAPI says %q with %v", m.Name, p.Command, p.Params, m.Command, m.Params)
		}
	}
}

// TestCommandFieldsMatchScript: each field commands.js checks for a command
// is a field of its Go payload, required or optional alike and of the same
// kind, and its lists of values are those of the Go contract.
func TestCommandFieldsMatchScript(t *testing.T) {
	js := readRepoFile(t, "web/static/commands.js")
	table := js[strings.Index(js, "export const COMMANDS"):]
	table = table[:strings.Index(table, "\n});")]
	entry := regexp.MustCompile(`'(rc-[\w-]+)':\s*\{\s*fields:\s*\{([^}]*)\}`)
	fieldRe := regexp.MustCompile(`(\w+): (required|optional)\('(\w+)'`)
	common := fieldRe.FindStringSubmatch(js[strings.Index(js, "export const COMMON_FIELDS"):])
	if common == nil || common[1] != "requestId" || common[2] != "optional" {
		t.Fatalf("commands.js COMMON_FIELDS is not {requestId: optional(...)}: %v", common)
	}
	payloads := map[string]any{}
	for _, c := range Commands {
		payloads[c.Type] = c.Payload
	}
	g := &tsGen{fieldTypes: tsFieldTypes(), used: map[fieldKey]bool{}, named: map[reflect.Type]string{}}
	seen := 0
	for _, e := range entry.FindAllStringSubmatch(table, -1) {
		typ := e[1]
		payload, ok := payloads[typ]
		if !ok {
			t.Errorf("commands.js has %s, which has no payload in Commands", typ)
			continue
		}
		seen++
		fields := g.fields(reflect.TypeOf(payload))
		for _, f := range fieldRe.FindAllStringSubmatch(e[2], -1) {
			name, required, kind := f[1], f[2] == "required", f[3]
			i := slices.IndexFunc(fields, func(tf tsField) bool { return tf.name == name })
			if i < 0 {
				t.Errorf("%s: commands.js checks %s, which %T has not", typ, name, payload)
				continue
			}
			tf := fields[i]
			if tf.optional == required {
				t.Errorf("%s.%s: commands.js says required=%t, the Go field optional=%t", typ, name, required, tf.optional)
			}
			want := map[string]string{"string": "string", "uri": "string", "boolean": "boolean", "number": "number", "id": stringOrNumber}[kind]
			switch {
			case kind == "object":
				if tf.ts == "string" || tf.ts == "boolean" || tf.ts == "number" {
					t.Errorf("%s.%s: commands.js takes an object, the Go field is %s", typ, name, tf.ts)
				}
			case kind == "string" && strings.HasPrefix(tf.ts, "'"):
				// a union of string literals
			case tf.ts != want:
				t.Errorf("%s.%s: commands.js takes %s, the Go field is %s", typ, name, kind, tf.ts)
			}
		}
	}
	if seen != len(Commands) {
		t.Errorf("read the fields of %d commands of commands.js; Commands has %d", seen, len(Commands))
	}
	list := func(name string) []string {
		m := regexp.MustCompile(`(?s)const ` + name + ` = \[(.*?)\];`).FindStringSubmatch(js)
		if m == nil {
			t.Fatalf("commands.js has no %s", name)
		}
		var out []string
		for _, s := range regexp.MustCompile(`'([^']*)'`).FindAllStringSubmatch(m[1], -1) {
			out = append(out, s[1])
		}
		return out
	}
	for name, want := range map[string][]string{
		"CALL_ACTIONS": CallActions, "USER_STATUSES": presence.UserStatuses, "DND_STATUSES": presence.DNDStatuses,
	} {
		if got := list(name); !slices.Equal(got, want) {
			t.Errorf("commands.js %s = %v; internal/bridge has %v", name, got, want)
		}
	}
}

// TestCallingModesMatchScript: the callingMode the widget's settings report
// for each callWith is CallingModes'.
func TestCallingModesMatchScript(t *testing.T) {
	m := regexp.MustCompile(`const CALLING_MODES = Object.freeze\(\{([^}]*)\}\)`).FindStringSubmatch(readRepoFile(t, "web/static/settings.js"))
	if m == nil {
		t.Fatal("settings.js has no CALLING_MODES")
	}
	got := map[string]string{}
	for _, kv := range regexp.MustCompile(`(\w+): '([^']*)'`).FindAllStringSubmatch(m[1], -1) {
		got[kv[1]] = kv[2]
	}
	if !reflect.DeepEqual(got, CallingModes) {
		t.Errorf("settings.js CALLING_MODES = %v; internal/bridge CallingModes = %v", got, CallingModes)
	}
}
