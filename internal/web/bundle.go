package web

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// The widget page loads one script, widget.js: app.js and every module it
// imports, joined at start. A cold widget otherwise fetches and evaluates
// some forty modules one level of imports at a time, which costs a cold
// load about 150 ms (docs/performance.md); the modules stay as they are in
// the source, where the node tests import them one by one.
//
// The join is exact for what the widget's modules are, and refuses the rest
// so that the server does not start with a widget it changed the meaning
// of: sibling imports of named bindings only (`import { a, b as c } from
// './x.js';`), exports only on declarations (`export function`, `export
// async function`, `export const`, `export class`), no cycles. Each module
// runs in a function scope of its own, after those it imports, and hands
// its exports on as an object; with no `export let`, an export never changes
// after its module ran, so reading it once is the same as ESM's live binding.

// BundleName is the joined script's name among the static files.
const BundleName = "widget.js"

var (
	importLine = regexp.MustCompile(`(?m)^import\s*\{([^}]*)\}\s*from\s*'\./([A-Za-z0-9_-]+\.js)';[ \t]*$`)
	anyImport  = regexp.MustCompile(`(?m)^import\b`)
	exportDecl = regexp.MustCompile(`(?m)^export (?:async function|function|const|class)\s+([A-Za-z_$][\w$]*)`)
	anyExport  = regexp.MustCompile(`(?m)^export\b`)
	identifier = regexp.MustCompile(`^[A-Za-z_$][\w$]*$`)
)

// bundleModules joins entry and the modules it imports, from files (name →
// source), into one script.
func bundleModules(files map[string][]byte, entry string) ([]byte, error) {
	type module struct {
		name    string
		body    string
		imports []string
		exports map[string]bool
	}
	mods := map[string]*module{}
	var order []*module
	state := map[string]int{} // 1: being visited, 2: done
	var visit func(name, from string) error
	visit = func(name, from string) error {
		switch state[name] {
		case 1:
			return fmt.Errorf("widget bundle: %s and %s import each other (a cycle)", from, name)
		case 2:
			return nil
		}
		src, ok := files[name]
		if !ok {
			return fmt.Errorf("widget bundle: %s imports %s, which is not a static file", from, name)
		}
		state[name] = 1
		m := &module{name: name, body: string(src), exports: map[string]bool{}}
		if n, want := len(importLine.FindAllIndex(src, -1)), len(anyImport.FindAllIndex(src, -1)); n != want {
			return fmt.Errorf("widget bundle: %s has an import other than `import { … } from './x.js';`", name)
		}
		for _, im := range importLine.FindAllStringSubmatch(m.body, -1) {
			m.imports = append(m.imports, im[2])
			if err := visit(im[2], name); err != nil {
				return err
			}
		}
		for _, ex := range exportDecl.FindAllStringSubmatch(m.body, -1) {
			m.exports[ex[1]] = true
		}
		if n, want := len(exportDecl.FindAllStringIndex(m.body, -1)), len(anyExport.FindAllStringIndex(m.body, -1)); n != want {
			return fmt.Errorf("widget bundle: %s exports otherwise than on a function, const or class declaration", name)
		}
		mods[name] = m
		order = append(order, m)
		state[name] = 2
		return nil
	}
	if err := visit(entry, "the page"); err != nil {
		return nil, err
	}
	scope := func(name string) string {
		return "__" + strings.NewReplacer(".js", "", "-", "_").Replace(name)
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "// The widget's modules joined in one script (internal/web/bundle.go); the sources are in web/static.\n")
	for _, m := range order {
		var bad error
		body := importLine.ReplaceAllStringFunc(m.body, func(line string) string {
			im := importLine.FindStringSubmatch(line)
			var names []string
			for _, part := range strings.Split(im[1], ",") {
				part = strings.TrimSpace(part)
				if part == "" {
					continue
				}
				name, alias, renamed := strings.Cut(part, " as ")
				name, alias = strings.TrimSpace(name), strings.TrimSpace(alias)
				if !identifier.MatchString(name) || renamed && !identifier.MatchString(alias) {
					bad = fmt.Errorf("widget bundle: %s: cannot read the import %q", m.name, part)
					continue
				}
				if !mods[im[2]].exports[name] {
					bad = fmt.Errorf("widget bundle: %s imports %s, which %s does not export", m.name, name, im[2])
				}
				if renamed {
					names = append(names, name+": "+alias)
				} else {
					names = append(names, name)
				}
			}
			return "const { " + strings.Join(names, ", ") + " } = " + scope(im[2]) + ";"
		})
		if bad != nil {
			return nil, bad
		}
		body = anyExport.ReplaceAllString(body, "")
		var exported []string
		for _, ex := range exportDecl.FindAllStringSubmatch(m.body, -1) {
			exported = append(exported, ex[1])
		}
		fmt.Fprintf(&out, "\n// %s\n", m.name)
		if m.name == entry {
			fmt.Fprintf(&out, "(() => {\n%s\n})();\n", body)
			continue
		}
		fmt.Fprintf(&out, "const %s = (() => {\n%s\nreturn { %s };\n})();\n", scope(m.name), body, strings.Join(exported, ", "))
	}
	return out.Bytes(), nil
}
