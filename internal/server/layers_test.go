package server

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/callbridge/widget-server/"

// forbidden lists, per package of ours, the imports that would break the
// dependency direction of the design: cmd → server → web/api → bridge →
// presence/telephony/messaging → media/sip/store interfaces. A domain
// package declares the interfaces it needs; internal/store implements them
// and so may import domain types, never the other way round. An entry
// ending in "/" forbids a whole module path prefix.
var forbidden = map[string][]string{
	"internal/web":       {"internal/api", "internal/server", "cmd/"},
	"internal/api":       {"internal/web", "internal/server", "web/static", "cmd/"},
	"internal/bridge":    {"internal/web", "internal/api", "internal/server", "internal/store", "internal/media", "web/", "github.com/labstack/", "github.com/pion/"},
	"internal/presence":  {"internal/web", "internal/api", "internal/server", "internal/bridge", "internal/store", "internal/media", "web/", "github.com/labstack/", "github.com/pion/"},
	"internal/telephony": {"internal/web", "internal/api", "internal/server", "internal/bridge", "internal/presence", "internal/store", "internal/media", "internal/sip", "web/", "github.com/labstack/", "github.com/pion/", "github.com/emiago/"},
	"internal/messaging": {"internal/web", "internal/api", "internal/server", "internal/bridge", "internal/store", "internal/media", "web/", "github.com/labstack/", "github.com/pion/"},
	"internal/media":     {"internal/web", "internal/api", "internal/server", "internal/bridge", "internal/presence", "internal/telephony", "internal/messaging", "internal/store", "web/", "github.com/labstack/"},
	"internal/store":     {"internal/web", "internal/api", "internal/server", "internal/bridge", "internal/media", "web/", "github.com/labstack/", "github.com/pion/"},
	"internal/identity":  {"internal/web", "internal/api", "internal/server", "internal/bridge", "internal/store", "internal/media", "web/", "github.com/labstack/", "github.com/pion/"},
	"internal/webhooks":  {"internal/web", "internal/api", "internal/server", "internal/bridge", "internal/store", "internal/media", "web/", "github.com/labstack/", "github.com/pion/"},
	"internal/oauth":     {"internal/web", "internal/api", "internal/server", "internal/bridge", "internal/store", "internal/media", "web/", "github.com/pion/"},
}

// TestDependencyDirection reads the imports of every non-test Go file of
// the module and fails on any that goes against the design's direction:
// only the programs (cmd, and the load tools under bench) import the
// server, nothing imports cmd, and each
// package in forbidden stays off its list.
func TestDependencyDirection(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	imports := map[string]map[string]bool{} // package dir → imports
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		pkg := filepath.ToSlash(rel)
		if imports[pkg] == nil {
			imports[pkg] = map[string]bool{}
		}
		for _, spec := range f.Imports {
			p, _ := strconv.Unquote(spec.Path.Value)
			imports[pkg][strings.TrimPrefix(p, module)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, layer := range []string{"internal/web", "internal/bridge", "internal/telephony", "internal/store"} {
		if imports[layer] == nil {
			t.Fatalf("no Go files read for %s: is the walk rooted at the module?", layer)
		}
	}

	var pkgs []string
	for pkg := range imports {
		pkgs = append(pkgs, pkg)
	}
	sort.Strings(pkgs)
	for _, pkg := range pkgs {
		for imp := range imports[pkg] {
			program := strings.HasPrefix(pkg, "cmd/") || strings.HasPrefix(pkg, "bench/")
			if (imp == "internal/server" && !program) || strings.HasPrefix(imp, "cmd/") {
				t.Errorf("%s imports %s: only the programs (cmd, bench) may import the server, and nothing imports cmd", pkg, imp)
			}
			for owner, bad := range forbidden {
				if pkg != owner && !strings.HasPrefix(pkg, owner+"/") {
					continue
				}
				for _, b := range bad {
					if imp == b || (strings.HasSuffix(b, "/") && strings.HasPrefix(imp, b)) || strings.HasPrefix(imp, b+"/") {
						t.Errorf("%s imports %s, against the design's dependency direction", pkg, imp)
					}
				}
			}
		}
	}
}
