// Tests of signalling.js, the phone's requests and call events, under
// `node --test`: the real registry, with fakes for the server, the media,
// the ringer and the view that record what they are asked.
import './english.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { STATUS, createCallRegistry } from '../static/calls.js';
import { CALLS_URL, callUrl, createSignalling, dialledProblem } from '../static/signalling.js';

// phone builds signalling over fakes. answers maps "METHOD url" to the
// server's answer (or a function of the body); log lists what happened.
function phone(t, { answers = {}, dialerProblem = '', loggedIn = true, elsewhere } = {}) {
  t.mock.method(console, 'warn', () => {});
  const log = [];
  const state = { dialerProblem, session: { loggedIn } };
  const registry = createCallRegistry();
  const media = {
    prepare: (entry) => { entry.prepared ??= { pc: 'prepared' }; log.push(['prepare', entry.id]); },
    dropPrepared: (entry) => { entry.prepared = null; log.push(['drop', entry.id]); },
    watchStats: () => {},
    applyMute: () => {},
    muteNow: (entry) => log.push(['muteNow', entry.id]),
    offer: async (entry) => { entry.pc = 'pc'; return 'offer'; },
    dialOffer: async (entry) => { entry.pc = 'pc'; return { sdp: 'offer', microphone: null }; },
    answerOffer: async (entry) => { entry.pc = 'pc'; return { sdp: 'answer-offer', microphone: null }; },
    accept: async (entry, sdp) => log.push(['accept', entry.id, sdp]),
    close: (entry) => { entry.pc = null; log.push(['close', entry.id]); },
    end: (entry) => { entry.pc = null; log.push(['end', entry.id]); },
  };
  const ringer = { update: (calls) => log.push(['ring', calls.filter((e) => e.call.direction === 'Inbound' && !e.pc && !e.answering).map((e) => e.id)]) };
  const view = {
    render: () => {},
    focus: (entry) => registry.focus(entry),
    shows: (entry) => registry.current() === entry,
    showEnded: (entry) => log.push(['showEnded', entry.id]),
    endedWith: (id, text) => log.push(['endedWith', id, text]),
    clearEnded: () => log.push(['clearEnded']),
  };
  const requests = [];
  const request = async (method, url, body) => {
    requests.push([method, url, body]);
    const answer = answers[`${method} ${url}`];
    if (answer === undefined) throw Object.assign(new Error(`no answer for ${method} ${url}`), { code: 'NotFound' });
    return typeof answer === 'function' ? answer(body) : answer;
  };
  const s = createSignalling({ device: () => 'dev1', store: { get: () => state }, request, registry, media, ringer, view, elsewhere });
  const steps = (name) => log.filter((l) => l[0] === name);
  return { s, registry, log, steps, requests, state };
}

const ringing = (id = 'in1') => ({ id, direction: 'Inbound', callStatus: STATUS.setup, from: '+16505550100', partyId: 'p1' });

test('a ringing call rings and prepares its answer; its end closes it, and late events bring nothing back', (t) => {
  const { s, registry, steps } = phone(t);
  s.handleEvent({ type: 'rc-call-ring-notify', call: ringing() });
  const entry = registry.get('in1');
  assert.ok(entry);
  assert.deepEqual(steps('prepare'), [['prepare', 'in1']]);
  assert.deepEqual(steps('ring').at(-1), ['ring', ['in1']]);

  s.handleEvent({ type: 'rc-call-end-notify', call: { ...ringing(), result: 'Missed' } });
  assert.equal(entry.done, true);
  assert.equal(entry.call.callStatus, STATUS.finished);
  assert.equal(entry.call.result, 'Missed');
  assert.deepEqual(steps('end'), [['end', 'in1']]);
  assert.deepEqual(steps('ring').at(-1), ['ring', []]);
  // A ringing call is not on the panel, so it says nothing of the end.
  assert.deepEqual(steps('showEnded'), []);

  s.handleEvent({ type: 'rc-call-ring-notify', call: ringing() });
  assert.equal(registry.get('in1'), undefined);
  assert.deepEqual(registry.entries(), []);
});

test('call events are ignored while signed out, and events of other kinds always', (t) => {
  const { s, registry, steps, state } = phone(t, { loggedIn: false });
  s.handleEvent({ type: 'rc-call-ring-notify', call: ringing() });
  assert.deepEqual(registry.entries(), []);
  assert.deepEqual(steps('ring'), []);
  state.session.loggedIn = true;
  s.handleEvent({ type: 'rc-message-store-notify', call: ringing() });
  s.handleEvent({ type: 'constructor', call: ringing() });
  assert.deepEqual(registry.entries(), []);
  assert.deepEqual(steps('ring'), []);
  // A call event without a readable call still has the phone look again.
  s.handleEvent({ type: 'rc-call-ring-notify', call: { id: 7 } });
  assert.deepEqual(steps('ring'), [['ring', []]]);
});

test('a failure says how a call failed, on the call or on the panel that shows its end', (t) => {
  const { s, registry, steps } = phone(t);
  const call = { id: 'out1', direction: 'Outbound', callStatus: STATUS.connecting };
  s.handleEvent({ type: 'rc-call-start-notify', call });
  const entry = registry.get('out1');
  s.handleEvent({ type: 'rc-call-failed-notify', call: { ...call, callStatus: STATUS.finished }, code: 486 });
  assert.equal(entry.failure, 'Busy');
  assert.equal(registry.get('out1'), undefined, 'the failure finished the call');
  assert.deepEqual(steps('end'), [['end', 'out1']]);
  assert.deepEqual(steps('showEnded'), [['showEnded', 'out1']]);
  s.handleEvent({ type: 'rc-call-failed-notify', call, code: 404 });
  assert.deepEqual(steps('endedWith'), [['endedWith', 'out1', 'Number not found']]);
});

test('the caller\'s call connects when the telephony session says the other party answered', (t) => {
  const { s, registry } = phone(t);
  const call = { id: 'out1', direction: 'Outbound', callStatus: STATUS.connecting, partyId: 'p1' };
  s.handleEvent({ type: 'rc-call-start-notify', call });
  const parties = (other) => [{ id: 'p1', status: { code: 'Answered' } }, { id: 'p2', status: { code: other } }];
  s.handleEvent({ type: 'rc-telephony-session-notify', telephonySession: { id: 'out1', parties: parties('Proceeding') } });
  assert.equal(registry.get('out1').call.callStatus, STATUS.connecting);
  s.handleEvent({ type: 'rc-telephony-session-notify', telephonySession: { id: 'elsewhere', parties: parties('Answered') } });
  s.handleEvent({ type: 'rc-telephony-session-notify', telephonySession: null });
  assert.equal(registry.get('out1').call.callStatus, STATUS.connecting);
  s.handleEvent({ type: 'rc-telephony-session-notify', telephonySession: { id: 'out1', parties: parties('Answered') } });
  assert.equal(registry.get('out1').call.callStatus, STATUS.connected);
  assert.ok(registry.get('out1').connectedAt > 0);
});

test('dial places the call with its offer and applies the server\'s answer', async (t) => {
  const placed = { id: 'out1', direction: 'Outbound', callStatus: STATUS.setup, to: '6505550100' };
  const { s, registry, requests, steps } = phone(t, { answers: { [`POST ${CALLS_URL}`]: { call: placed, sdp: 'answer' } } });
  const dialling = s.dial(' (650) 555-0100 ');
  assert.ok(registry.dialing, 'the call waits as the one being dialled');
  assert.equal(registry.entries()[0].call.to, '6505550100');
  await dialling;
  assert.deepEqual(requests, [['POST', CALLS_URL, { deviceId: 'dev1', to: '6505550100', sdp: 'offer' }]]);
  assert.equal(registry.dialing, null);
  assert.equal(registry.get('out1').call, placed);
  assert.deepEqual(steps('accept'), [['accept', 'out1', 'answer']]);
});

test('dial refuses numbers it cannot call, a dialer with a problem, and a second call being placed', async (t) => {
  await assert.rejects(phone(t).s.dial('  '), { code: 'invalidNumber', message: 'Enter a number to call.' });
  await assert.rejects(phone(t).s.dial('1'.repeat(65)), { code: 'invalidNumber', message: 'A number has at most 64 characters.' });
  await assert.rejects(phone(t, { dialerProblem: 'callingOff' }).s.dial('101'), { code: 'callingOff', message: 'Calling is off for this app' });
  await assert.rejects(phone(t, { dialerProblem: 'microphoneBlocked' }).s.dial('101'),
    { code: 'microphone', message: 'Microphone blocked — allow it in the browser' });
  const { s } = phone(t, { answers: { [`POST ${CALLS_URL}`]: new Promise(() => {}) } });
  s.dial('101');
  await assert.rejects(s.dial('102'), { code: 'busy' });
});

test('a call hung up before the server named it is cancelled there once named', async (t) => {
  let named;
  const answered = new Promise((resolve) => { named = resolve; });
  const { s, registry, requests } = phone(t, {
    answers: { [`POST ${CALLS_URL}`]: answered, [`POST ${callUrl('out1', 'hangup')}`]: {} },
  });
  const dialling = s.dial('101');
  await new Promise((resolve) => setImmediate(resolve));
  const [entry] = registry.entries();
  await s.endCall(entry, 'hangup');
  assert.equal(entry.failure, 'Call cancelled');
  named({ call: { id: 'out1', direction: 'Outbound', callStatus: STATUS.setup }, sdp: 'answer' });
  await assert.rejects(dialling, { code: 'cancelled' });
  assert.deepEqual(requests.at(-1), ['POST', callUrl('out1', 'hangup'), { deviceId: 'dev1' }]);
  assert.deepEqual(registry.entries(), []);
});

test('answering leaves the call in progress to the server, which holds or ends it as asked', async (t) => {
  const answered = (body) => ({ call: { ...ringing(), callStatus: STATUS.connected, asked: body.action }, sdp: 'answer' });
  const { s, registry, requests, steps } = phone(t, { answers: { [`POST ${callUrl('in1', 'answer')}`]: answered } });
  s.handleEvent({ type: 'rc-call-start-notify', call: { id: 'live', direction: 'Outbound', callStatus: STATUS.connected } });
  s.handleEvent({ type: 'rc-call-ring-notify', call: ringing() });
  await s.answer(registry.get('in1'), { action: 'end' });
  // No hold of its own: a call the widget held would not resume by itself.
  assert.deepEqual(requests, [['POST', callUrl('in1', 'answer'), { deviceId: 'dev1', sdp: 'answer-offer', action: 'end' }]]);
  assert.equal(registry.get('in1').call.callStatus, STATUS.connected);
  assert.equal(registry.get('in1').answering, false);
  assert.deepEqual(steps('accept'), [['accept', 'in1', 'answer']]);
  assert.equal(registry.current(), registry.get('in1'));

  // Holding is the server's default: the answer asks for nothing else then.
  for (const options of [undefined, { action: 'hold' }, { action: 'park' }]) {
    const other = phone(t, { answers: { [`POST ${callUrl('in1', 'answer')}`]: answered } });
    other.s.handleEvent({ type: 'rc-call-ring-notify', call: ringing() });
    await other.s.answer(other.registry.get('in1'), options);
    assert.deepEqual(other.requests[0][2], { deviceId: 'dev1', sdp: 'answer-offer' }, JSON.stringify(options));
  }
});

test('a call that ended here rings again as a recall (a new party) or when it moves here, not otherwise', (t) => {
  let elsewhere = false;
  const { s, registry } = phone(t);
  s.handleEvent({ type: 'rc-call-ring-notify', call: ringing() });
  s.handleEvent({ type: 'rc-call-end-notify', call: { ...ringing(), result: 'Transferred' } });
  s.handleEvent({ type: 'rc-call-ring-notify', call: { ...ringing(), partyId: 'p2' } });
  assert.equal(registry.get('in1')?.call.partyId, 'p2', 'the recall rings');

  const other = phone(t, { elsewhere: () => elsewhere });
  other.s.handleEvent({ type: 'rc-call-ring-notify', call: ringing() });
  other.s.handleEvent({ type: 'rc-call-end-notify', call: ringing() });
  other.s.handleEvent({ type: 'rc-call-ring-notify', call: ringing() });
  assert.equal(other.registry.get('in1'), undefined, 'a late ring of the same party brings nothing back');
  other.s.handleEvent({ type: 'rc-call-start-notify', call: { ...ringing(), callStatus: STATUS.connected } });
  assert.equal(other.registry.get('in1'), undefined);
  elsewhere = true;
  other.s.handleEvent({ type: 'rc-call-ring-notify', call: ringing() });
  assert.ok(other.registry.get('in1'), 'a call on another device of the user rings here when it moves');
});

test('dial resolves to the call placed, named as a consult call when it is one', async (t) => {
  const placed = { id: 'out2', direction: 'Outbound', callStatus: STATUS.setup, to: '103' };
  const { s, registry } = phone(t, { answers: { [`POST ${CALLS_URL}`]: { call: placed, sdp: 'answer' } } });
  const dialling = s.dial('103', { consultOf: 'first' });
  assert.equal(registry.dialing.consultOf, 'first', 'a consult call is one from the start');
  const entry = await dialling;
  assert.equal(entry, registry.get('out2'));
  assert.equal(entry.consultOf, 'first');
});

test('a failed answer request leaves the call ringing', async (t) => {
  const { s, registry, steps } = phone(t);
  s.handleEvent({ type: 'rc-call-ring-notify', call: ringing() });
  const entry = registry.get('in1');
  await assert.rejects(s.answer(entry), { code: 'NotFound' });
  assert.equal(entry.done, false);
  assert.deepEqual(steps('close'), [['close', 'in1']]);
  assert.deepEqual(steps('ring').at(-1), ['ring', ['in1']]);
});

test('muting turns the microphone off before the server answers', async (t) => {
  const call = { id: 'c1', direction: 'Outbound', callStatus: STATUS.connected, isOnMute: false };
  const { s, registry, log } = phone(t, { answers: { [`POST ${callUrl('c1', 'mute')}`]: { call: { ...call, isOnMute: true } } } });
  s.handleEvent({ type: 'rc-call-start-notify', call });
  await s.change(registry.get('c1'), 'mute');
  assert.deepEqual(log.find((l) => l[0] === 'muteNow'), ['muteNow', 'c1']);
  assert.equal(registry.get('c1').call.isOnMute, true);
});

test('resync takes the server\'s list and quietly ends the calls it no longer has', async (t) => {
  const kept = { id: 'kept', direction: 'Outbound', callStatus: STATUS.connected };
  const { s, registry, steps } = phone(t, {
    answers: { [`GET ${CALLS_URL}?deviceId=dev1`]: { calls: [{ ...kept, callStatus: STATUS.onHold }, { id: '' }, 'x'] } },
  });
  s.handleEvent({ type: 'rc-call-start-notify', call: kept });
  s.handleEvent({ type: 'rc-call-start-notify', call: { id: 'gone', direction: 'Outbound', callStatus: STATUS.connected } });
  assert.deepEqual(await s.sessions(), [{ ...kept, callStatus: STATUS.onHold }]);
  await s.resync();
  assert.deepEqual(registry.known().map((e) => [e.id, e.call.callStatus]), [['kept', STATUS.onHold]]);
  assert.deepEqual(steps('end'), [['end', 'gone']]);
  assert.deepEqual(steps('showEnded'), []);
});

test('sessions lists nothing while signed out; finishAll ends every call quietly', async (t) => {
  const { s, registry, steps, state } = phone(t);
  s.handleEvent({ type: 'rc-call-ring-notify', call: ringing('a') });
  s.handleEvent({ type: 'rc-call-start-notify', call: { id: 'b', direction: 'Outbound', callStatus: STATUS.connected } });
  s.finishAll();
  assert.deepEqual(registry.entries(), []);
  assert.deepEqual(steps('end'), [['end', 'a'], ['end', 'b']]);
  assert.deepEqual(steps('showEnded'), []);
  assert.deepEqual(steps('clearEnded'), [['clearEnded']]);
  state.session.loggedIn = false;
  assert.deepEqual(await s.sessions(), []);
});

test('dialledProblem says why a number cannot be called', () => {
  assert.equal(dialledProblem(''), null);
  assert.equal(dialledProblem('empty').code, 'invalidNumber');
  assert.equal(dialledProblem('tooLong').message, 'A number has at most 64 characters.');
});
