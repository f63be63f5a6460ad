// Package locale chooses the language the widget and its pages speak and
// looks their words up in the message catalogues of web/i18n.
//
// A page asks for a language with a tag (the widget's lang flag, the sign-in
// page's ui_locales) or, when none is given, with the browser's
// Accept-Language. The tag keeps its region for formats (fr-CA writes dates
// as Canadians do) and its base language picks the catalogue; a language
// without a catalogue gets English, and then US formats, so words and
// formats never disagree.
package locale

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"golang.org/x/text/language"

	"github.com/callbridge/widget-server/web/i18n"
)

// Reference is the language every catalogue is checked against, and the
// one a page falls back to.
const Reference = "en"

// Message is one entry of a catalogue: a string, or plural forms keyed by
// CLDR category ("one", "other", …).
type Message struct {
	Text   string
	Plural map[string]string
}

// UnmarshalJSON reads a string or an object of plural forms.
func (m *Message) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &m.Text)
	}
	if err := json.Unmarshal(b, &m.Plural); err != nil {
		return fmt.Errorf("a message is a string or an object of plural forms: %w", err)
	}
	if _, ok := m.Plural["other"]; !ok {
		return fmt.Errorf("plural forms without \"other\"")
	}
	return nil
}

// MarshalJSON writes the message as it was read.
func (m Message) MarshalJSON() ([]byte, error) {
	if m.Plural != nil {
		return json.Marshal(m.Plural)
	}
	return json.Marshal(m.Text)
}

// Texts are the message's strings: the text, or each plural form.
func (m Message) Texts() []string {
	if m.Plural == nil {
		return []string{m.Text}
	}
	out := make([]string, 0, len(m.Plural))
	for _, k := range sortedKeys(m.Plural) {
		out = append(out, m.Plural[k])
	}
	return out
}

// Catalogue is the messages of one language.
type Catalogue struct {
	Lang     string             // base language: en, fr, …
	Messages map[string]Message // by full key, area.key
	js       []byte
}

// Set is the catalogues of every language there is.
type Set struct {
	byLang  map[string]*Catalogue
	tags    []language.Tag // matcher order; Reference first
	matcher language.Matcher
}

// Load reads the catalogues of fsys (<language>/<area>.json).
func Load(fsys fs.FS) (*Set, error) {
	files, err := fs.Glob(fsys, "*/*.json")
	if err != nil {
		return nil, err
	}
	s := &Set{byLang: map[string]*Catalogue{}}
	for _, name := range files {
		lang, area := path.Dir(name), strings.TrimSuffix(path.Base(name), ".json")
		if !areaPattern.MatchString(area) {
			return nil, fmt.Errorf("%s: an area is named in lower case letters", name)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		var msgs map[string]Message
		dec := json.NewDecoder(bytes.NewReader(b))
		if err := dec.Decode(&msgs); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		c := s.byLang[lang]
		if c == nil {
			if _, err := language.ParseBase(lang); err != nil {
				return nil, fmt.Errorf("%s: %q is not a language", name, lang)
			}
			c = &Catalogue{Lang: lang, Messages: map[string]Message{}}
			s.byLang[lang] = c
		}
		for k, m := range msgs {
			if !keyPattern.MatchString(k) {
				return nil, fmt.Errorf("%s: key %q: keys are camelCase words joined by dots", name, k)
			}
			c.Messages[area+"."+k] = m
		}
	}
	if s.byLang[Reference] == nil {
		return nil, fmt.Errorf("no %s catalogue", Reference)
	}
	s.tags = []language.Tag{language.Make(Reference)}
	for _, lang := range s.Languages() {
		if lang != Reference {
			s.tags = append(s.tags, language.Make(lang))
		}
	}
	s.matcher = language.NewMatcher(s.tags)
	for _, c := range s.byLang {
		if c.js, err = json.Marshal(c.Messages); err != nil {
			return nil, err
		}
	}
	return s, nil
}

var (
	areaPattern = regexp.MustCompile(`^[a-z]+$`)
	keyPattern  = regexp.MustCompile(`^[a-z][A-Za-z0-9]*(\.[a-z][A-Za-z0-9]*)*$`)
)

// Default is the catalogues built into the binary.
var Default = mustLoad()

func mustLoad() *Set {
	s, err := Load(i18n.FS)
	if err != nil {
		panic("locale: the embedded catalogues: " + err.Error()) // a build defect, caught by the tests
	}
	return s
}

// Languages lists the catalogues' languages, sorted.
func (s *Set) Languages() []string {
	return sortedKeys(s.byLang)
}

// Catalogue returns the catalogue of a base language, or nil.
func (s *Set) Catalogue(lang string) *Catalogue { return s.byLang[lang] }

// Locale is the language a page speaks: the tag for formats (as the page's
// lang attribute and the widget's Intl calls use it) and the catalogue of
// its words.
type Locale struct {
	Tag string
	*Catalogue
}

// Match picks the locale for a page. requested is a language tag the page
// was asked for (may be empty); acceptLanguage the browser's header, used
// when requested is empty. A tag whose language has no catalogue falls back
// to English with US formats; ok is false then, so the caller can say so.
func (s *Set) Match(requested, acceptLanguage string) (l Locale, ok bool) {
	var want []language.Tag
	if requested != "" {
		t, err := language.Parse(requested)
		if err != nil {
			return s.english(), false
		}
		want = []language.Tag{t}
	} else {
		want, _, _ = language.ParseAcceptLanguage(acceptLanguage)
		if len(want) == 0 {
			return s.english(), true
		}
	}
	_, index, conf := s.matcher.Match(want...)
	if conf < language.High {
		return s.english(), requested == ""
	}
	c := s.byLang[s.tags[index].String()]
	// The tag for formats is the one asked for when it is of the catalogue's
	// language (fr-CA stays fr-CA), else the catalogue's own.
	tag := c.Lang
	for _, w := range want {
		if base, _ := w.Base(); base.String() == c.Lang {
			tag = w.String()
			break
		}
	}
	if tag == Reference {
		tag = "en-US"
	}
	return Locale{Tag: tag, Catalogue: c}, true
}

func (s *Set) english() Locale {
	return Locale{Tag: "en-US", Catalogue: s.byLang[Reference]}
}

// T is the message of key with {name} placeholders filled from args, given
// as name, value pairs. A key the catalogue lacks shows as the key itself
// (the tests keep that from happening).
func (c *Catalogue) T(key string, args ...any) string {
	m, ok := c.Messages[key]
	if !ok {
		return key
	}
	text := m.Text
	if m.Plural != nil {
		text = m.Plural["other"]
		for i := 0; i+1 < len(args); i += 2 {
			if args[i] == "count" {
				if n, ok := args[i+1].(int); ok {
					if v, ok := m.Plural[c.pluralForm(n)]; ok {
						text = v
					}
				}
			}
		}
	}
	return fill(text, args)
}

// pluralForm is the CLDR category of an integer in the catalogue's
// language, for the languages there are catalogues of.
func (c *Catalogue) pluralForm(n int) string {
	switch c.Lang {
	case "fr":
		if n == 0 || n == 1 {
			return "one"
		}
	default:
		if n == 1 {
			return "one"
		}
	}
	return "other"
}

// JSON is the catalogue as the widget's scripts read it: full keys to
// messages.
func (c *Catalogue) JSON() []byte { return c.js }

var placeholder = regexp.MustCompile(`\{([A-Za-z][A-Za-z0-9]*)\}`)

func fill(text string, args []any) string {
	if len(args) < 2 || !strings.Contains(text, "{") {
		return text
	}
	return placeholder.ReplaceAllStringFunc(text, func(p string) string {
		name := p[1 : len(p)-1]
		for i := 0; i+1 < len(args); i += 2 {
			if args[i] == name {
				return fmt.Sprint(args[i+1])
			}
		}
		return p
	})
}

// Placeholders lists the {names} of a text, sorted and without repeats.
func Placeholders(text string) []string {
	seen := map[string]bool{}
	for _, m := range placeholder.FindAllStringSubmatch(text, -1) {
		seen[m[1]] = true
	}
	return sortedKeys(seen)
}

type contextKey struct{}

// With returns ctx carrying the locale, for the templates.
func With(ctx context.Context, l Locale) context.Context {
	return context.WithValue(ctx, contextKey{}, l)
}

// From returns the locale of ctx, English if it has none.
func From(ctx context.Context) Locale {
	if l, ok := ctx.Value(contextKey{}).(Locale); ok && l.Catalogue != nil {
		return l
	}
	return Default.english()
}

// T looks key up in the locale of ctx.
func T(ctx context.Context, key string, args ...any) string {
	return From(ctx).T(key, args...)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
