// Tests of what the lists of calls say and offer (callcards.js), of the
// call-waiting panel's rules (callwaiting.js) and of the tones
// (ringer.js), under `node --test`.
import { catalogue } from './english.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { cardAction, cardStatus, elsewhereText, panelCards } from '../static/callcards.js';
import { STATUS, newEntry } from '../static/calls.js';
import { WAITING_ACTIONS, waitingCall } from '../static/callwaiting.js';
import { setCatalogue } from '../static/i18n.js';
import { RINGTONE, WAITING_TONE, createRinger, ringKind, toneBursts, tonePeriodS } from '../static/ringer.js';

function entry(id, call = {}, fields = {}) {
  return Object.assign(newEntry({ id, direction: 'Outbound', callStatus: STATUS.connected, ...call }), fields);
}
const held = (id, fields) => entry(id, { callStatus: STATUS.onHold, isOnHold: true }, fields);
const ringing = (id) => entry(id, { direction: 'Inbound', callStatus: STATUS.setup });

test('a held call switches when another is live, else resumes; a live one holds', () => {
  const live = entry('a');
  const first = held('b');
  assert.deepEqual(cardAction(first, [live, first]), { action: 'switch', label: 'Switch' });
  assert.deepEqual(cardAction(first, [first, held('c')]), { action: 'unhold', label: 'Resume' });
  assert.deepEqual(cardAction(live, [live, first]), { action: 'hold', label: 'Hold' });
  // A call still ringing out, one being placed, one ringing here or being answered: hang up only.
  assert.equal(cardAction(entry('d', { callStatus: STATUS.connecting }), []), null);
  assert.equal(cardAction(entry('', { callStatus: STATUS.setup }), []), null);
  assert.equal(cardAction(ringing('e'), []), null);
  assert.equal(cardAction(entry('f', {}, { answering: true }), []), null);
  // A ringing call is not a live one to switch from.
  assert.deepEqual(cardAction(first, [first, ringing('g')]), { action: 'unhold', label: 'Resume' });
});

test('a card says how its call stands, and which side of a warm transfer it is', () => {
  const now = 100_000;
  const original = held('a', { connectedAt: now - 5_000 });
  const consult = entry('b', {}, { consultOf: 'a', connectedAt: now - 2_000 });
  assert.equal(cardStatus(original, [original, consult], now), 'Transferring · On hold');
  assert.equal(cardStatus(consult, [original, consult], now), 'Consult · 00:02');
  assert.equal(cardStatus(original, [original], now), 'On hold');
});

test('the call panel lists cards once there is more than one call, or one elsewhere', () => {
  const a = entry('a');
  const b = held('b');
  const r = ringing('r');
  const away = { id: 's9' };
  assert.deepEqual(panelCards([a], []), { mine: [], elsewhere: [] });
  assert.deepEqual(panelCards([a, r], []), { mine: [], elsewhere: [] }, 'a ringing call waits in its own panel');
  assert.deepEqual(panelCards([a, b], []), { mine: [a, b], elsewhere: [] });
  assert.deepEqual(panelCards([a], [away]), { mine: [a], elsewhere: [away] });
  assert.deepEqual(panelCards([], [away]), { mine: [], elsewhere: [away] });
});

test('the bar names the one call on another device, or counts them', () => {
  const describe = (call) => ({ name: call.name, number: '' });
  assert.deepEqual(elsewhereText([{ name: 'Carol' }], describe), { name: 'Carol', detail: 'On your other device' });
  assert.deepEqual(elsewhereText([{ name: 'Carol' }, { name: 'Dan' }], describe), { name: '2 calls', detail: 'On your other devices' });
});

test('cards and the bar speak the widget\'s language', (ctx) => {
  ctx.after(() => setCatalogue('en-US', catalogue('en')));
  setCatalogue('de', catalogue('de'));
  const describe = (call) => ({ name: call.name, number: '' });
  assert.deepEqual(elsewhereText([{ name: 'Carol' }, { name: 'Dan' }], describe), { name: '2 Anrufe', detail: 'Auf Ihren anderen Geräten' });
  assert.deepEqual(cardAction(held('b'), [entry('a'), held('b')]), { action: 'switch', label: 'Wechseln' });
  const now = 100_000;
  const original = held('a', { connectedAt: now - 5_000 });
  const consult = entry('b', {}, { consultOf: 'a', connectedAt: now - 2_000 });
  assert.equal(cardStatus(original, [original, consult], now), 'Übergabe · Gehalten');
});

test('a call waits while it rings and another call of the tab does not', () => {
  const r = ringing('r');
  assert.equal(waitingCall([r]), null);
  assert.equal(waitingCall([entry('a'), r]), r);
  assert.equal(waitingCall([held('a'), r]), r);
  assert.equal(waitingCall([entry('a')]), null);
  assert.equal(waitingCall([entry('', { callStatus: STATUS.setup }), r]), r, 'a call being placed counts');
  assert.deepEqual(Object.fromEntries(Object.entries(WAITING_ACTIONS).map(([id, step]) => [id, [step.action, step.options?.action]])), {
    'cb-waiting-hold': ['answer', 'hold'],
    'cb-waiting-end': ['answer', 'end'],
    'cb-waiting-ignore': ['ignore', undefined],
    'cb-waiting-decline': ['reject', undefined],
  });
});

test('the call-waiting tone plays instead of the ringing tone while the tab has another call', () => {
  const tone = () => {
    const t = { playing: false, start: () => { t.playing = true; }, stop: () => { t.playing = false; } };
    return t;
  };
  const ringtone = tone();
  const waitingTone = tone();
  const ringer = createRinger({ notificationsOn: false, describe: () => ({ name: 'A', number: '' }), ringtone, waitingTone });
  const r = ringing('r');
  const live = entry('a');
  ringer.update([r]);
  assert.deepEqual([ringtone.playing, waitingTone.playing], [true, false]);
  ringer.update([live, r]);
  assert.deepEqual([ringtone.playing, waitingTone.playing], [false, true]);
  r.answering = true;
  ringer.update([live, r]);
  assert.deepEqual([ringtone.playing, waitingTone.playing], [false, false]);
  assert.equal(ringKind([]), '');
  assert.equal(ringKind([live]), '');
  assert.equal(ringKind([{ ...live, done: true }, ringing('x')]), 'ring');
});

test('the call-waiting tone is short soft beeps, the ringing tone one long burst', () => {
  assert.deepEqual(toneBursts(RINGTONE), [[0, 2]]);
  assert.equal(tonePeriodS(RINGTONE), 6);
  const beeps = toneBursts(WAITING_TONE);
  assert.equal(beeps.length, 2);
  for (const [start, end] of beeps) assert.ok(end - start <= 0.3 && end <= tonePeriodS(WAITING_TONE));
  assert.ok(WAITING_TONE.level < RINGTONE.level / 2, 'softer than the ringing tone');
  assert.ok(WAITING_TONE.rampS < WAITING_TONE.onS / 2);
});
