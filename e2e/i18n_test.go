package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/callbridge/widget-server/internal/locale"
)

// visibleWords is a JavaScript expression, run in a page, that lists the
// words a user meets there: the text of every element shown (its own text
// nodes), and the names, titles and placeholders of the elements shown.
const visibleWords = `(() => {
	const shown = (el) => el.getClientRects().length > 0 && !el.closest('[inert]') && el.checkVisibility({visibilityProperty: true});
	const out = new Set();
	for (const el of document.body.querySelectorAll('*')) {
		if (el.closest('script, style, template, svg') || !shown(el)) continue;
		const own = [...el.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent).join('').trim();
		if (own) out.add(own);
		for (const a of ['aria-label', 'title', 'placeholder']) {
			const v = el.getAttribute(a);
			if (v && v.trim()) out.add(v.trim());
		}
	}
	return [...out];
})()`

// foreignWords returns the words of a page in language lang that are
// English messages of the catalogue whose translation differs: a string
// the widget forgot to translate. A message with placeholders matches any
// filling of them.
func foreignWords(lang string, words []string) []string {
	en := locale.Default.Catalogue(locale.Reference)
	c := locale.Default.Catalogue(lang)
	var patterns []*regexp.Regexp
	for key, m := range en.Messages {
		translated := strings.Join(c.Messages[key].Texts(), "\x00")
		for _, text := range m.Texts() {
			if strings.Contains(translated, text) {
				continue // the same in both languages ("SMS", "Offline")
			}
			parts := placeholderPattern.Split(text, -1)
			if len(regexp.MustCompile(`\pL`).FindAllString(strings.Join(parts, ""), -1)) < 3 {
				continue // "{name} · {number}": nothing to tell the language by
			}
			for i, p := range parts {
				parts[i] = regexp.QuoteMeta(p)
			}
			patterns = append(patterns, regexp.MustCompile(`^`+strings.Join(parts, `.+`)+`$`))
		}
	}
	var out []string
	for _, w := range words {
		for _, p := range patterns {
			if p.MatchString(w) {
				out = append(out, w)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

var placeholderPattern = regexp.MustCompile(`\{[A-Za-z0-9]+\}`)

// checkLanguage fails if a page in language lang shows English words; with
// CB_SCREENSHOT_DIR set it keeps the widget as lang-<lang>-<state>.png.
func checkLanguage(t *testing.T, e *env, ctx context.Context, lang, state string) {
	t.Helper()
	words := eval[[]string](t, ctx, visibleWords)
	if len(words) == 0 {
		t.Errorf("%s, %s: no words shown", lang, state)
	}
	if english := foreignWords(lang, words); len(english) > 0 {
		t.Errorf("%s, %s: English words shown: %q", lang, state, english)
	}
	if dir := os.Getenv("CB_SCREENSHOT_DIR"); dir != "" && ctx != e.ctx {
		layoutScreenshot(t, e, dir, "lang-"+lang+"-"+state)
	}
}

// msg is the message of key in lang, for comparing with what a page shows.
func msg(t *testing.T, lang, key string, args ...any) string {
	t.Helper()
	c := locale.Default.Catalogue(lang)
	if _, ok := c.Messages[key]; !ok {
		t.Fatalf("no message %s in %s", key, lang)
	}
	return c.T(key, args...)
}

func quoteJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

var _ = fmt.Sprint
