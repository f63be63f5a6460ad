// Tests of history.js's pure functions under `node --test`.
import { catalogue } from './english.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  countMissed, describeRecord, duration, errorText, missedBadge, newestStart, recordingOf, relativeTime,
} from '../static/history.js';
import { setCatalogue } from '../static/i18n.js';
import { RequestError } from '../static/server.js';

test('a call-log result named after an Object built-in is shown as it is written', () => {
  for (const name of Object.getOwnPropertyNames(Object.prototype)) {
    const record = { direction: 'Outbound', result: name, to: { extensionNumber: '102' } };
    assert.equal(describeRecord(record, 'US').detail, `Outgoing · ${name}`, name);
  }
  const rejected = { direction: 'Outbound', result: 'Rejected', to: { extensionNumber: '102' } };
  assert.equal(describeRecord(rejected, 'US').detail, 'Outgoing · Declined');
  // The words of the call view's end, for each result they share.
  for (const [result, words] of [['Failed', 'Call failed'], ['Canceled', 'Call cancelled'], ['Busy', 'Busy'], ['No Answer', 'No answer']]) {
    assert.equal(describeRecord({ ...rejected, result }, 'US').detail, `Outgoing · ${words}`, result);
  }
  // A failed call says why, in the call view's words for its code.
  for (const [reasonCode, words] of [[480, 'Unavailable'], [404, 'Number not found'], [999, 'Call failed'], ['480', 'Call failed'],
    ['constructor', 'Call failed']]) {
    assert.equal(describeRecord({ ...rejected, result: 'Failed', reasonCode }, 'US').detail, `Outgoing · ${words}`, String(reasonCode));
  }
  assert.equal(describeRecord({ ...rejected, result: 'Busy', reasonCode: 480 }, 'US').detail, 'Outgoing · Busy');
});

test('duration writes whole seconds as m:ss, and h:mm:ss from an hour on', () => {
  const cases = [[0, '0:00'], [5, '0:05'], [59.9, '0:59'], [61, '1:01'], [3599, '59:59'], [3600, '1:00:00'], [36061, '10:01:01'],
    [-3, '0:00'], ['42', '0:42'], [undefined, '0:00'], [Number.NaN, '0:00']];
  for (const [seconds, want] of cases) assert.equal(duration(seconds), want, String(seconds));
});

test('relativeTime says how long ago, in minutes, hours, then days', () => {
  const now = new Date(2024, 5, 15, 12, 0, 0).getTime();
  const minute = 60_000;
  assert.equal(relativeTime(now - 30_000, now), 'Just now');
  assert.equal(relativeTime(now - 5 * minute, now), '5 min ago');
  assert.equal(relativeTime(now - 3 * 60 * minute, now), '3 h ago');
  assert.equal(relativeTime(new Date(2024, 5, 14, 23, 0).getTime(), now), 'Yesterday');
  assert.equal(relativeTime(new Date(2024, 5, 12, 9, 0).getTime(), now), '3 days ago');
  assert.equal(relativeTime(new Date(2024, 5, 1, 9, 0).getTime(), now), 'Jun 1');
  assert.equal(relativeTime(new Date(2023, 11, 24, 9, 0).getTime(), now), 'Dec 24, 2023');
});

test('relativeTime and the records speak the widget\'s language', (ctx) => {
  ctx.after(() => setCatalogue('en-US', catalogue('en')));
  const now = new Date(2024, 5, 15, 12, 0, 0).getTime();
  const minute = 60_000;
  setCatalogue('fr-FR', catalogue('fr'));
  assert.equal(relativeTime(now - 30_000, now), 'À l\'instant');
  assert.equal(relativeTime(now - 5 * minute, now), 'Il y a 5 min');
  assert.equal(relativeTime(new Date(2024, 5, 14, 23, 0).getTime(), now), 'Hier');
  assert.equal(relativeTime(new Date(2024, 5, 12, 9, 0).getTime(), now), 'Il y a 3 jours');
  assert.equal(relativeTime(new Date(2024, 5, 1, 9, 0).getTime(), now), '1 juin');
  const missed = { direction: 'Inbound', result: 'Missed', from: { phoneNumber: '+16505550100' } };
  assert.equal(describeRecord(missed, 'US').detail, 'Entrant · Manqué');
  assert.equal(describeRecord({ direction: 'Outbound', result: 'Failed', reasonCode: 480, to: {} }, 'US').name, 'Numéro inconnu');
  setCatalogue('de', catalogue('de'));
  assert.equal(relativeTime(now - 3 * 60 * minute, now), 'Vor 3 Std.');
  assert.equal(relativeTime(new Date(2024, 5, 13, 9, 0).getTime(), now), 'Vor 2 Tagen');
  assert.equal(describeRecord({ direction: 'Outbound', result: 'Failed', reasonCode: 480, to: {} }, 'US').detail,
    'Ausgehend · Nicht erreichbar');
  setCatalogue('es-ES', catalogue('es'));
  assert.equal(relativeTime(now - 5 * minute, now), 'Hace 5 min');
  assert.equal(describeRecord({ direction: 'Inbound', result: 'Rejected', from: {} }, 'US').detail, 'Entrante · Rechazada');
});

test('a failed request says why in the user\'s words, never in the server\'s', () => {
  const failure = (code) => new RequestError(code, `server text for ${code}`);
  assert.equal(errorText(failure('network')), 'no connection to the server');
  assert.equal(errorText(failure('NotSignedIn')), 'your session has ended');
  for (const code of ['InternalError', 'http500', 'toString', '']) assert.equal(errorText(failure(code)), 'try again later', code);
  assert.equal(errorText(null), 'try again later');
});

test('a record names the other party, its number shown for the region, and what came of the call', () => {
  const record = {
    direction: 'Inbound', result: 'Call connected', duration: 75,
    from: { name: 'Ann', phoneNumber: '+16505550100' }, to: { extensionNumber: '101' },
  };
  assert.deepEqual(describeRecord(record, 'US'),
    { kind: 'inbound', name: 'Ann', numberText: '(650) 555-0100', number: '+16505550100', detail: '(650) 555-0100 · 1:15' });
  const missed = { direction: 'Inbound', result: 'Missed', from: { phoneNumber: '+16505550100' } };
  assert.deepEqual(describeRecord(missed, 'GB'),
    { kind: 'missed', name: '+1 (650) 555-0100', numberText: '', number: '+16505550100', detail: 'Incoming · Missed' });
  const toExtension = { direction: 'Outbound', result: 'Busy', to: { extensionNumber: '102', phoneNumber: '+16505550102' } };
  assert.equal(describeRecord(toExtension, 'US').number, '102');
});

test('a record shows its party as the incoming card and the call view do', () => {
  const bob = { direction: 'Inbound', result: 'Call connected', duration: 5, from: { name: 'Bob', extensionNumber: '102', phoneNumber: '+16505550102' } };
  assert.deepEqual(describeRecord(bob, 'US'),
    { kind: 'inbound', name: 'Bob', numberText: 'Ext. 102', number: '102', detail: 'Ext. 102 · 0:05' });
  const tone = { direction: 'Outbound', result: 'Call connected', duration: 3, to: { name: 'Test line', phoneNumber: '+15550100' } };
  assert.deepEqual(describeRecord(tone, 'US'),
    { kind: 'outbound', name: 'Tone line', numberText: '+1 555 0100', number: '+15550100', detail: '+1 555 0100 · 0:03' });
});

test('a record names its recording only when the call log gives one with an id', () => {
  assert.equal(recordingOf({ recording: { id: '123', type: 'OnDemand' } }), '123');
  assert.equal(recordingOf({}), '');
  assert.equal(recordingOf({ recording: null }), '');
  assert.equal(recordingOf({ recording: 'x' }), '');
  assert.equal(recordingOf({ recording: { id: 7 } }), '');
});

test('countMissed counts the missed inbound calls that started after the newest one seen', () => {
  const at = (min) => new Date(Date.UTC(2026, 0, 1, 9, min)).toISOString();
  const records = [
    { direction: 'Inbound', result: 'Missed', startTime: at(30) },
    { direction: 'Inbound', result: 'No Answer', startTime: at(20) },
    { direction: 'Inbound', result: 'Call connected', startTime: at(25) },
    { direction: 'Inbound', result: 'Rejected', startTime: at(26) },
    { direction: 'Outbound', result: 'No Answer', startTime: at(27) },
    { direction: 'Inbound', result: 'Missed', startTime: at(5) },
  ];
  const seen = Date.parse(at(10));
  assert.equal(countMissed(records, seen), 2);
  assert.equal(countMissed(records, 0), 3);
  assert.equal(countMissed(records, newestStart(records)), 0);
  assert.equal(newestStart(records), Date.parse(at(30)));
  assert.equal(newestStart([]), 0);
  assert.equal(newestStart([{ startTime: 'not a time' }]), 0);
});

test('missedBadge is empty for none and says 99+ above 99', () => {
  assert.equal(missedBadge(0), '');
  assert.equal(missedBadge(1), '1');
  assert.equal(missedBadge(99), '99');
  assert.equal(missedBadge(100), '99+');
});
