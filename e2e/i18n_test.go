package e2e

import (
	"context"
	"os"
	"regexp"
	"slices"
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

// cutWords is a JavaScript expression, run in a page, that lists the words
// that do not fit their box: text wider than its element that spills out,
// and the label of a tab, a button or a call control cut short in any way
// (a long name in a list may end in an ellipsis).
const cutWords = `(() => {
	const shown = (el) => el.getClientRects().length > 0 && !el.closest('[inert]') && el.checkVisibility({visibilityProperty: true});
	const out = [];
	for (const el of document.body.querySelectorAll('*')) {
		if (el.closest('script, style, template, svg, .visually-hidden') || !shown(el)) continue;
		const own = [...el.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent).join('').trim();
		if (!own) continue;
		const cs = getComputedStyle(el);
		// Inline text wraps; a 1-px box is text kept for screen readers only.
		if (cs.display === 'inline' || el.clientWidth <= 1 || el.scrollWidth <= el.clientWidth + 1) continue;
		const label = el.matches('.tab__label, .call-control__label, .button__label, .link-button, .button, .segmented__option');
		if (label || (cs.textOverflow !== 'ellipsis' && cs.overflowX === 'visible')) out.push(own);
	}
	return out;
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
			if len(regexp.MustCompile(`\pL`).FindAllString(placeholderPattern.ReplaceAllString(text, ""), -1)) < 3 {
				continue // "{name} · {number}": nothing to tell the language by
			}
			patterns = append(patterns, messagePattern(text))
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

// viewWords are the words a user meets on each view, in one language.
type viewWords map[string][]string

// checkLanguage fails if a view in language lang shows an English message
// of the catalogue, or a word it shows in English too (english, the same
// view's words in English) that is not a name or number of the demo's
// data; it returns the view's words. With CB_SCREENSHOT_DIR set it keeps
// the widget as lang-<lang>-<view>.png.
func checkLanguage(t *testing.T, e *env, ctx context.Context, lang, view string, english []string) []string {
	t.Helper()
	words := eval[[]string](t, ctx, visibleWords)
	if len(words) == 0 {
		t.Errorf("%s, %s: no words shown", lang, view)
	}
	if cut := eval[[]string](t, ctx, cutWords); len(cut) > 0 {
		t.Errorf("%s, %s: words that do not fit: %q", lang, view, cut)
	}
	if lang != locale.Reference {
		if foreign := foreignWords(lang, words); len(foreign) > 0 {
			t.Errorf("%s, %s: English messages shown: %q", lang, view, foreign)
		}
		if same := untranslated(lang, words, english); len(same) > 0 {
			t.Errorf("%s, %s: words shown as in English: %q", lang, view, same)
		}
	}
	if dir := os.Getenv("CB_SCREENSHOT_DIR"); dir != "" && ctx != e.ctx {
		layoutScreenshot(t, e, dir, "lang-"+lang+"-"+view)
	}
	return words
}

// dataWords are words of the demo's data, the same in every language:
// people and companies of the demo's extensions and CRM, the app, the CRM's
// own words, e-mail addresses, numbers, the letters of the keypad.
var dataWords = regexp.MustCompile(`^(` + strings.Join([]string{
	`Alice Adams`, `Bob Brown`, `Carol C\pL+`, `Ada Lovelace`, `Grace Hopper`, `Alan Turing`, `Demo Co\.`,
	`Support`, `SMS · .*`, `Bonjour, Hallo, Hola`, `Callbridge.*`, `.*Demo CRM.*`, `\S+@\S+`, `[A-Z]{3,4}`, `[-+*#()0-9 ]+ · .*`,
}, "|") + `)$`)

// untranslated lists the words of a view that are shown the same in
// English, with at least three letters in a row, and not data. A word of a
// message that is the same in both languages ("SMS", "Ext. {number}" in
// Spanish) is not one.
func untranslated(lang string, words, english []string) []string {
	en := locale.Default.Catalogue(locale.Reference)
	c := locale.Default.Catalogue(lang)
	var same []*regexp.Regexp
	for key, m := range en.Messages {
		for _, text := range m.Texts() {
			if strings.Contains(strings.Join(c.Messages[key].Texts(), "\x00"), text) {
				same = append(same, messagePattern(text))
			}
		}
	}
	inEnglish := map[string]bool{}
	for _, w := range english {
		inEnglish[w] = true
	}
	var out []string
	for _, w := range words {
		if !inEnglish[w] || dataWords.MatchString(w) || !regexp.MustCompile(`\pL{3}`).MatchString(w) ||
			slices.ContainsFunc(same, func(p *regexp.Regexp) bool { return p.MatchString(w) }) {
			continue
		}
		out = append(out, w)
	}
	sort.Strings(out)
	return out
}

// messagePattern matches a message with any filling of its placeholders.
func messagePattern(text string) *regexp.Regexp {
	parts := placeholderPattern.Split(text, -1)
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile(`^` + strings.Join(parts, `.+`) + `$`)
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

// TestLanguages: with lang=fr-FR, de-DE and es-ES the adapter's bar, the
// sign-in window and each view of the widget (signed out, the dialer, a
// call, history, messages, settings, contacts) speak that language: no
// English message of the catalogue, no word shown as the English widget
// shows it (bar the demo's names); the page's lang is the tag. With
// CB_SCREENSHOT_DIR set each view is kept as lang-<lang>-<view>.png.
func TestLanguages(t *testing.T) {
	e := start(t)
	api := newAPIClient(t, e.Addrs, "alice@demo.test")
	var english viewWords
	for _, tag := range []string{"en-US", "fr-FR", "de-DE", "es-ES"} {
		lang := tag[:2]
		t.Run(tag, func(t *testing.T) {
			if english == nil && lang != locale.Reference {
				t.Skip("the English views did not finish")
			}
			words := viewWords{}
			check := func(ctx context.Context, view string) {
				t.Helper()
				words[view] = checkLanguage(t, e, ctx, lang, view, english[view])
			}
			openDemo(t, e, "?lang="+tag)
			if lang != locale.Reference {
				logout(t, e)
			}
			if bar := eval[map[string]any](t, e.ctx, barState); bar["title"] != msg(t, lang, "adapter.phone") {
				t.Errorf("the adapter's bar says %q", bar["title"])
			}
			frame := frameCtx(t, e)
			if got := eval[string](t, frame, `document.documentElement.lang`); got != tag {
				t.Errorf("<html lang> is %q, want %q", got, tag)
			}
			check(frame, "signed-out")
			click(t, frame, "#cb-sign-in")
			popup := popupCtx(t, e, e.WidgetURL+"/oauth/authorize")
			waitFor[bool](t, popup, "the sign-in page", `document.readyState === 'complete' && !!document.getElementById('login-submit')`)
			if got := eval[string](t, popup, `document.documentElement.lang`); got != tag {
				t.Errorf("the sign-in window's lang is %q, want %q", got, tag)
			}
			check(popup, "sign-in-window")
			fillSignIn(t, popup, "alice@demo.test", "demo")
			waitLoggedIn(t, e, "+16505550100*101")
			languageViews(t, e, api, frame, tag, check)
			if lang == locale.Reference && !t.Failed() {
				english = words
			}
		})
	}
}

// languageViews walks the signed-in views in language tag.
func languageViews(t *testing.T, e *env, api *apiClient, frame context.Context, tag string, check func(context.Context, string)) {
	t.Helper()
	lang := tag[:2]
	eval[any](t, e.ctx, `RCAdapter.navigateTo('/dialer')`)
	waitFor[bool](t, frame, "the dialer ready", `!document.getElementById('cb-dial-call').disabled`)
	tabs := eval[[]string](t, frame, `[...document.querySelectorAll('#cb-tabs .tab__label')].map(l => l.textContent)`)
	want := []string{msg(t, lang, "shell.tabDialer"), msg(t, lang, "shell.tabCalls"), msg(t, lang, "shell.tabHistory"),
		msg(t, lang, "shell.tabMessages"), msg(t, lang, "shell.tabSettings")}
	if strings.Join(tabs, "|") != strings.Join(want, "|") {
		t.Errorf("tabs %q, want %q", tabs, want)
	}
	check(frame, "dialer")

	// A call to the tone line, named in the language.
	dialAnswered(t, e, frame, "+15550100", "the tone line")
	check(frame, "call")
	click(t, frame, "#cb-keypad-toggle")
	waitFor[bool](t, frame, "the keypad", `!document.getElementById('cb-call-pad').hidden`)
	check(frame, "call-keypad")
	click(t, frame, "#cb-keypad-toggle")
	click(t, frame, "#cb-transfer-open")
	waitFor[bool](t, frame, "the transfer sheet", `!document.getElementById('cb-transfer').hidden && document.querySelectorAll('#cb-transfer-list li').length > 0`)
	check(frame, "transfer")
	click(t, frame, "#cb-transfer-close")
	waitFor[bool](t, frame, "the transfer sheet closed", `document.getElementById('cb-transfer').hidden`)
	click(t, frame, "#cb-call-log")
	waitFor[bool](t, frame, "the log dialog", `document.getElementById('cb-log-dialog').open`)
	check(frame, "log-dialog")
	click(t, frame, "#cb-log-cancel")
	waitFor[bool](t, frame, "the log dialog closed", `!document.getElementById('cb-log-dialog').open`)
	click(t, frame, "#cb-hangup")
	waitFor[bool](t, frame, "the call ended", `document.getElementById('cb-active-call').hidden`)

	// A call that rings: the ringing test line, by its name in the language.
	ringAlice(t, api, frame, func() { check(frame, "incoming") })

	for _, route := range []string{"/history", "/messages", "/settings", "/contacts"} {
		eval[any](t, e.ctx, `RCAdapter.navigateTo(`+quote(route)+`)`)
		waitFor[bool](t, frame, route, `!document.querySelector(`+quote(`.pages [data-route="`+route+`"]`)+`).hidden`)
		if route == "/history" {
			waitFor[bool](t, frame, "the call in history", `document.querySelectorAll('#cb-history-list li').length > 0`)
			// The call's date and time, as the language writes them.
			when := eval[map[string]string](t, frame, `(() => { const el = document.querySelector('#cb-history-list .history-row__time');
				return {shown: el.title, want: new Intl.DateTimeFormat(document.documentElement.lang, {dateStyle: 'medium', timeStyle: 'short'}).format(new Date(el.dateTime))}; })()`)
			if when["shown"] == "" || when["shown"] != when["want"] {
				t.Errorf("%s: the call's time is %q, want %q", tag, when["shown"], when["want"])
			}
		}
		check(frame, strings.TrimPrefix(route, "/"))
	}

	// A text to the echo line, and its answer.
	eval[any](t, e.ctx, `RCAdapter.clickToSMS('+15550101', 'Bonjour, Hallo, Hola')`)
	waitFor[bool](t, frame, "the composer", `!document.getElementById('cb-compose-send').disabled`)
	check(frame, "compose")
	click(t, frame, "#cb-compose-send")
	waitFor[bool](t, frame, "the echo line's answer", `document.querySelectorAll('#cb-thread-messages .bubble[data-direction="in"]').length > 0`)
	check(frame, "thread")
}
