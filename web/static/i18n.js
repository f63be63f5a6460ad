// The widget's words and formats. The page carries the message catalogue
// of its language (a JSON block, #cb-messages, from web/i18n) and names the
// language in <html lang>; t() looks a message up by key and fills its
// {placeholders}, and the format functions write dates, times and numbers
// as that language does. Every user-visible string comes from here.

const LOG_PREFIX = '[callbridge]';

let messages = {};
let tag = 'en-US';
const warned = new Set();
let formats = new Map();

// setCatalogue makes messages (full key → message) and the language tag the
// widget's; the page's are read when this module loads.
export function setCatalogue(languageTag, catalogue) {
  tag = languageTag || 'en-US';
  messages = catalogue && typeof catalogue === 'object' ? catalogue : {};
  formats = new Map();
}

// language is the widget's language tag (fr-FR, de, …).
export function language() {
  return tag;
}

// t is the message of key with {name} placeholders filled from vars. A
// message with plural forms picks the form for vars.count. Numbers are
// written as the language writes them. A key the catalogue lacks shows as
// itself, with a console warning (the catalogue tests keep that from
// happening).
export function t(key, vars) {
  let message = messages[key];
  if (message === undefined) {
    if (!warned.has(key)) {
      warned.add(key);
      console.warn(LOG_PREFIX, `no message ${key} in the ${tag} catalogue`);
    }
    return key;
  }
  if (typeof message === 'object' && message !== null) {
    const count = Number(vars?.count);
    message = message[plural(Number.isFinite(count) ? count : 0)] ?? message.other ?? '';
  }
  if (!vars || !message.includes('{')) return message;
  return message.replace(/\{([A-Za-z][A-Za-z0-9]*)\}/g, (whole, name) => {
    const value = vars[name];
    if (value === undefined || value === null) return whole;
    return typeof value === 'number' ? formatCount(value) : String(value);
  });
}

function plural(count) {
  return cached('plural', () => new Intl.PluralRules(tag)).select(count);
}

// formatCount writes an integer or a decimal as the language does (1 234 in
// French, 1.234 in German).
export function formatCount(n) {
  return cached('number', () => new Intl.NumberFormat(tag)).format(n);
}

// formatDate writes a moment (milliseconds since the epoch) with the
// Intl.DateTimeFormat options given, in the widget's language.
export function formatDate(ms, options = { dateStyle: 'medium', timeStyle: 'short' }) {
  const key = 'date ' + JSON.stringify(options);
  return cached(key, () => new Intl.DateTimeFormat(tag, options)).format(new Date(ms));
}

// formatList joins words as the language does ("A, B and C", "A, B et C").
export function formatList(items) {
  return cached('list', () => new Intl.ListFormat(tag, { style: 'long', type: 'conjunction' })).format(items);
}

function cached(key, make) {
  let f = formats.get(key);
  if (!f) {
    try {
      f = make();
    } catch {
      // A tag Intl does not know (it passed the server's check) formats as
      // English rather than breaking the widget.
      tag = 'en-US';
      f = make();
    }
    formats.set(key, f);
  }
  return f;
}

function readPage() {
  const doc = globalThis.document;
  const block = doc?.getElementById?.('cb-messages');
  if (!block) return;
  try {
    setCatalogue(doc.documentElement.lang, JSON.parse(block.textContent));
  } catch (err) {
    console.warn(LOG_PREFIX, `the page's message catalogue cannot be read: ${err.message}`);
  }
}

readPage();
