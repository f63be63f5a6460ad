package web

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	static "github.com/callbridge/widget-server/web/static"
)

// TestBundleRunsAsTheModulesDo: a joined entry sees its imports, renamed
// ones too, after their modules ran, in dependency order, each module
// once, each in its own scope (the same top-level name in two modules);
// node runs the result.
func TestBundleRunsAsTheModulesDo(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("no node: install Debian's nodejs (scripts/test.sh does)")
	}
	files := map[string][]byte{
		"app.js": []byte(`import { greet, SHARED as LOG } from './b.js';
import {
  twice as double,
  LOG as LOG_A,
} from './a.js';
const local = 'app';
LOG.push(local);
console.log(JSON.stringify({ greeting: greet('x'), doubled: double(21), log: LOG, same: LOG === LOG_A }));
`),
		"a.js": []byte(`// a module both others import
export const LOG = [];
const local = 'a';
LOG.push(local);
export function twice(n) { return 2 * n; }
`),
		"b.js": []byte(`import { LOG, twice } from './a.js';
const local = 'b';
LOG.push(local);
export async function unused() {}
export class Thing {}
export function greet(name) { return 'hello ' + name + twice(1); }
export const SHARED = LOG;
`),
	}
	// The re-export on the last line of b.js is not a declaration: refused.
	files["b.js"] = []byte(string(files["b.js"]) + "export { LOG };\n")
	if _, err := bundleModules(files, "app.js"); err == nil || !strings.Contains(err.Error(), "b.js exports otherwise") {
		t.Fatalf("a re-export: %v", err)
	}
	files["b.js"] = []byte(strings.TrimSuffix(string(files["b.js"]), "export { LOG };\n"))
	out, err := bundleModules(files, "app.js")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "widget.mjs")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := exec.Command(node, path).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s\n%s", err, got, out)
	}
	want := `{"greeting":"hello x2","doubled":42,"log":["a","b","app"],"same":true}`
	if strings.TrimSpace(string(got)) != want {
		t.Fatalf("the bundle printed %s, want %s\n%s", got, want, out)
	}
}

// TestBundleRefusesWhatItCannotJoin: the server does not start with a
// widget whose meaning the join would change.
func TestBundleRefusesWhatItCannotJoin(t *testing.T) {
	for name, tc := range map[string]struct {
		files map[string]string
		want  string
	}{
		"a cycle": {map[string]string{"app.js": "import { a } from './a.js';\n", "a.js": "import { b } from './app.js';\nexport const a = 1;\n"},
			"a cycle"},
		"a default export": {map[string]string{"app.js": "import { a } from './a.js';\n", "a.js": "export default 1;\nexport const a = 1;\n"},
			"exports otherwise"},
		"export let": {map[string]string{"app.js": "import { a } from './a.js';\n", "a.js": "export let a = 1;\n"},
			"exports otherwise"},
		"a namespace import": {map[string]string{"app.js": "import * as a from './a.js';\n", "a.js": "export const a = 1;\n"},
			"an import other than"},
		"a bare import": {map[string]string{"app.js": "import './a.js';\n", "a.js": "export const a = 1;\n"},
			"an import other than"},
		"a missing name": {map[string]string{"app.js": "import { b } from './a.js';\n", "a.js": "export const a = 1;\n"},
			"which a.js does not export"},
		"a missing file": {map[string]string{"app.js": "import { b } from './nope.js';\n"},
			"not a static file"},
	} {
		files := map[string][]byte{}
		for n, s := range tc.files {
			files[n] = []byte(s)
		}
		if _, err := bundleModules(files, "app.js"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, tc.want)
		}
	}
}

// TestWidgetBundle: the widget's own modules join, and the page loads the
// joined script; node finds it well formed.
func TestWidgetBundle(t *testing.T) {
	a, err := NewAssets(static.FS)
	if err != nil {
		t.Fatal(err)
	}
	f := a.files[BundleName]
	if f == nil || f.ctype != "text/javascript; charset=utf-8" {
		t.Fatalf("no %s", BundleName)
	}
	for _, want := range []string{"\n// app.js\n(() => {", "\n// phone.js\nconst __phone = (() => {"} {
		if !strings.Contains(string(f.body), want) {
			t.Errorf("the bundle lacks %q", want)
		}
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("no node: install Debian's nodejs (scripts/test.sh does)")
	}
	path := filepath.Join(t.TempDir(), "widget.mjs")
	if err := os.WriteFile(path, f.body, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(node, "--check", path).CombinedOutput(); err != nil {
		t.Fatalf("node --check: %v\n%s", err, out)
	}
}

// TestBootScript runs the page's inline boot script as a browser would, in
// a frame of an allowed host page: it tells the host of the session and
// keeps the host's messages for the widget.
func TestBootScript(t *testing.T) {
	a, err := NewAssets(static.FS)
	if err != nil {
		t.Fatal(err)
	}
	boot := a.BootScript()
	if boot == "" {
		t.Fatal("no boot script")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("no node: install Debian's nodejs (scripts/test.sh does)")
	}
	const config = `{"hostOrigin":"https://crm.example.com","allowedOrigins":["https://crm.example.com"],"features":{"call":true},` +
		`"session":{"loggedIn":true,"loginNumber":"+16505550100*101","features":{"call":true,"sms":false},"region":{"countryCode":"US","areaCode":"650"}}}`
	page := `const posted = [];
const listeners = [];
globalThis.window = {
  parent: { postMessage: (message, origin) => posted.push([message.type, message.loggedIn, origin]) },
  location: { ancestorOrigins: [] },
  addEventListener: (type, fn) => listeners.push(fn),
  removeEventListener: () => {},
};
window.document = { referrer: '' };
globalThis.document = { getElementById: (id) => (id === 'cb-config' ? { textContent: ` + "`" + config + "`" + ` } : null) };
` + boot + `
listeners.forEach((fn) => fn({ data: { type: 'rc-adapter-new-call' } }));
console.log(JSON.stringify({ posted, origin: window.cbEarly.postedTo, kept: window.cbEarly.take().map((e) => e.data.type),
  leaked: Object.keys(globalThis).filter((k) => k.startsWith('__')) }));
`
	path := filepath.Join(t.TempDir(), "page.js")
	if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(node, path).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	const want = `{"posted":[["rc-login-status-notify",true,"https://crm.example.com"],["rc-region-settings-notify",null,"https://crm.example.com"]],` +
		`"origin":"https://crm.example.com","kept":["rc-adapter-new-call"],"leaked":[]}`
	if got := strings.TrimSpace(string(out)); got != want {
		t.Errorf("the boot script in a page:\n got %s\nwant %s", got, want)
	}
}
