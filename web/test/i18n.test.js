// Tests of i18n.js, the widget's words and formats, under `node --test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { catalogue } from './english.js';
import { formatCount, formatDate, formatList, language, setCatalogue, t } from '../static/i18n.js';

test('t fills placeholders, picks plural forms by language and writes numbers as the language does', (ctx) => {
  ctx.after(() => setCatalogue('en-US', catalogue('en')));
  setCatalogue('fr-FR', {
    'a.hello': 'Bonjour, {name}',
    'a.calls': { one: '{count} appel manqué', other: '{count} appels manqués' },
  });
  assert.equal(language(), 'fr-FR');
  assert.equal(t('a.hello', { name: 'Ada' }), 'Bonjour, Ada');
  assert.equal(t('a.hello'), 'Bonjour, {name}');
  assert.equal(t('a.calls', { count: 0 }), '0 appel manqué');
  assert.equal(t('a.calls', { count: 1 }), '1 appel manqué');
  assert.equal(t('a.calls', { count: 2 }), '2 appels manqués');
  assert.equal(t('a.calls', { count: 1500 }).replace(/\s/g, ' '), '1 500 appels manqués');
  assert.equal(formatList(['A', 'B', 'C']), 'A, B et C');

  setCatalogue('en-US', { 'a.calls': { one: '{count} missed call', other: '{count} missed calls' } });
  assert.equal(t('a.calls', { count: 0 }), '0 missed calls');
  assert.equal(t('a.calls', { count: 1 }), '1 missed call');
  assert.equal(formatCount(1500), '1,500');
});

test('t shows a missing key as itself, with one warning', (ctx) => {
  const warnings = [];
  ctx.mock.method(console, 'warn', (...args) => warnings.push(args.join(' ')));
  assert.equal(t('nowhere.toBeFound'), 'nowhere.toBeFound');
  assert.equal(t('nowhere.toBeFound'), 'nowhere.toBeFound');
  assert.equal(warnings.length, 1);
});

test('formatDate writes dates in the language of the widget', (ctx) => {
  ctx.after(() => setCatalogue('en-US', catalogue('en')));
  const when = Date.UTC(2026, 2, 5, 14, 30);
  const options = { month: 'long', day: 'numeric', timeZone: 'UTC' };
  setCatalogue('de', {});
  assert.equal(formatDate(when, options), '5. März');
  setCatalogue('es', {});
  assert.equal(formatDate(when, options), '5 de marzo');
  setCatalogue('fr-FR', {});
  assert.equal(formatDate(when, options), '5 mars');
  setCatalogue('en-US', {});
  assert.equal(formatDate(when, options), 'March 5');
});

test('every catalogue has the keys of the English one', () => {
  const en = catalogue('en');
  for (const lang of ['fr', 'de', 'es']) {
    assert.deepEqual(Object.keys(catalogue(lang)).sort(), Object.keys(en).sort(), lang);
  }
});
