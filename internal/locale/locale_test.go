package locale

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// TestCataloguesAreComplete fails on a message missing from any catalogue,
// on one no catalogue of the reference has, and on a translation whose
// placeholders differ from the English ones.
func TestCataloguesAreComplete(t *testing.T) {
	en := Default.Catalogue(Reference)
	if len(Default.Languages()) < 4 {
		t.Fatalf("languages: %v, want at least en, fr, de and es", Default.Languages())
	}
	for _, lang := range Default.Languages() {
		c := Default.Catalogue(lang)
		for key, want := range en.Messages {
			got, ok := c.Messages[key]
			if !ok {
				t.Errorf("%s: %s is missing", lang, key)
				continue
			}
			if want.Plural == nil && got.Plural != nil {
				t.Errorf("%s: %s has plural forms; the English message has none", lang, key)
			}
			wantPH := Placeholders(strings.Join(want.Texts(), " "))
			for _, text := range got.Texts() {
				if strings.TrimSpace(text) == "" {
					t.Errorf("%s: %s is empty", lang, key)
				}
				if ph := Placeholders(text); !slices.Equal(ph, wantPH) && !(want.Plural != nil && len(ph) < len(wantPH)) {
					t.Errorf("%s: %s: placeholders %v, English has %v", lang, key, ph, wantPH)
				}
			}
			if got.Plural != nil {
				for form := range got.Plural {
					if !slices.Contains([]string{"zero", "one", "two", "few", "many", "other"}, form) {
						t.Errorf("%s: %s: %q is not a plural category", lang, key, form)
					}
				}
			}
		}
		for key := range c.Messages {
			if _, ok := en.Messages[key]; !ok {
				t.Errorf("%s: %s is not in the English catalogue", lang, key)
			}
		}
	}
}

// TestKeysInCode fails on a key the code looks up that the catalogues lack,
// and on a message that no code uses. A key is used where it is written out
// whole, in a call of t or T or in a table of keys: keys are never built
// from pieces, so this search finds them all.
func TestKeysInCode(t *testing.T) {
	root := filepath.Join("..", "..")
	var sources []string
	for _, pattern := range []string{"web/static/*.js", "web/templates/*.templ", "internal/*/*.go", "cmd/*/*.go"} {
		files, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if !strings.HasSuffix(f, "_test.go") && !strings.HasSuffix(f, "_templ.go") {
				sources = append(sources, f)
			}
		}
	}
	en := Default.Catalogue(Reference)
	areas := map[string]bool{}
	for key := range en.Messages {
		areas[key[:strings.IndexByte(key, '.')]] = true
	}
	lookups := regexp.MustCompile(`(?:\bt|\bT|\.T|tn)\(\s*(?:ctx,\s*)?["'` + "`" + `]([^"'` + "`" + `$]*)["'` + "`" + `]`)
	literal := regexp.MustCompile(`["'` + "`" + `]([a-z]+\.[a-z][A-Za-z0-9.]*)["'` + "`" + `]`)
	fileName := regexp.MustCompile(`\.(js|d\.ts|json|css|go|log|html|png|wav)$`)
	used := map[string]bool{}
	for _, f := range sources {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src := string(b)
		for _, m := range lookups.FindAllStringSubmatch(src, -1) {
			if _, ok := en.Messages[m[1]]; !ok {
				t.Errorf("%s looks up %q, which the catalogues lack", filepath.ToSlash(f), m[1])
			}
		}
		for _, m := range literal.FindAllStringSubmatch(src, -1) {
			key := m[1]
			if !areas[key[:strings.IndexByte(key, '.')]] {
				continue
			}
			if _, ok := en.Messages[key]; ok {
				used[key] = true
			} else if !fileName.MatchString(key) {
				t.Errorf("%s names %q, which the catalogues lack", filepath.ToSlash(f), key)
			}
		}
	}
	for key := range en.Messages {
		if !used[key] {
			t.Errorf("%s is in the catalogues but no code uses it", key)
		}
	}
}

func TestMatch(t *testing.T) {
	cases := []struct {
		requested, accept string
		tag, lang         string
		ok                bool
	}{
		{"", "", "en-US", "en", true},
		{"fr-FR", "", "fr-FR", "fr", true},
		{"fr-CA", "de", "fr-CA", "fr", true},
		{"de", "", "de", "de", true},
		{"es-MX", "", "es-MX", "es", true},
		{"en-GB", "", "en-GB", "en", true},
		{"ja-JP", "", "en-US", "en", false},
		{"", "de-CH,de;q=0.9,en;q=0.5", "de-CH", "de", true},
		{"", "ja,fr;q=0.8", "fr", "fr", true},
		{"", "ja", "en-US", "en", true},
		{"", "garbage;;;", "en-US", "en", true},
	}
	for _, tc := range cases {
		l, ok := Default.Match(tc.requested, tc.accept)
		if l.Tag != tc.tag || l.Lang != tc.lang || ok != tc.ok {
			t.Errorf("Match(%q, %q) = %s/%s, %v; want %s/%s, %v", tc.requested, tc.accept, l.Tag, l.Lang, ok, tc.tag, tc.lang, tc.ok)
		}
	}
}

func TestT(t *testing.T) {
	set, err := Load(fstest.MapFS{
		"en/a.json": {Data: []byte(`{"hello": "Hello, {name}", "calls": {"one": "{count} call", "other": "{count} calls"}}`)},
		"fr/a.json": {Data: []byte(`{"hello": "Bonjour, {name}", "calls": {"one": "{count} appel", "other": "{count} appels"}}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	fr, _ := set.Match("fr", "")
	en, _ := set.Match("en", "")
	cases := []struct{ got, want string }{
		{fr.T("a.hello", "name", "Ada"), "Bonjour, Ada"},
		{fr.T("a.calls", "count", 0), "0 appel"},
		{fr.T("a.calls", "count", 2), "2 appels"},
		{en.T("a.calls", "count", 0), "0 calls"},
		{en.T("a.calls", "count", 1), "1 call"},
		{en.T("a.hello"), "Hello, {name}"},
		{en.T("a.nothing"), "a.nothing"},
	}
	for _, tc := range cases {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	if got := T(With(context.Background(), fr), "a.hello", "name", "Grace"); got != "Bonjour, Grace" {
		t.Errorf("T from context: %q", got)
	}
}

func TestLoadRefusesBadCatalogues(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"no English":      {"fr/a.json": {Data: []byte(`{}`)}},
		"not JSON":        {"en/a.json": {Data: []byte(`{`)}},
		"bad key":         {"en/a.json": {Data: []byte(`{"Hello world": "x"}`)}},
		"bad area":        {"en/A.json": {Data: []byte(`{}`)}},
		"plural no other": {"en/a.json": {Data: []byte(`{"n": {"one": "x"}}`)}},
		"number":          {"en/a.json": {Data: []byte(`{"n": 3}`)}},
		"not a language":  {"en/a.json": {Data: []byte(`{}`)}, "zzzzzzzzz/a.json": {Data: []byte(`{}`)}},
	} {
		if _, err := Load(fsys); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}
