// Tests of callcontrol.js, the business call actions, under `node --test`:
// the real registry and signalling, with fakes for the server, the media,
// the ringer and the view that record what they are asked.
import './english.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { createCallControl, entryForRemote, readTarget } from '../static/callcontrol.js';
import { STATUS, createCallRegistry } from '../static/calls.js';
import { createRemoteCalls, readActiveCall } from '../static/remotecalls.js';
import { CALLS_URL, callUrl, createSignalling } from '../static/signalling.js';

// phone builds the call control over fakes. answers maps "METHOD url" to
// the server's answer (or a function of the body); log lists what happened.
function phone(t, answers = {}) {
  t.mock.method(console, 'warn', () => {});
  const log = [];
  const state = { dialerProblem: '', session: { loggedIn: true } };
  const registry = createCallRegistry();
  const remote = createRemoteCalls();
  const media = {
    prepare: () => {},
    dropPrepared: () => {},
    watchStats: () => {},
    applyMute: () => {},
    muteNow: () => {},
    offer: async (entry) => { entry.pc = 'pc'; return 'offer'; },
    dialOffer: async (entry) => { entry.pc = 'pc'; return { sdp: 'offer', microphone: null }; },
    answerOffer: async (entry) => { entry.pc = 'pc'; return { sdp: 'answer-offer', microphone: null }; },
    accept: async (entry, sdp) => log.push(['accept', entry.id, sdp]),
    close: (entry) => { entry.pc = null; log.push(['close', entry.id]); },
    end: (entry) => { entry.pc = null; log.push(['end', entry.id]); },
  };
  const view = {
    render: () => {},
    focus: (entry) => registry.focus(entry),
    shows: (entry) => registry.current() === entry,
    showEnded: (entry) => log.push(['showEnded', entry.id]),
    endedWith: () => {},
    clearEnded: () => {},
  };
  const requests = [];
  const request = async (method, url, body) => {
    requests.push([method, url, body]);
    const answer = answers[`${method} ${url}`];
    if (answer === undefined) throw Object.assign(new Error(`no answer for ${method} ${url}`), { code: 'NotFound' });
    if (answer instanceof Error) throw answer;
    return typeof answer === 'function' ? answer(body) : answer;
  };
  const device = () => 'dev1';
  const store = { get: () => state };
  const ringer = { update: () => {} };
  const signalling = createSignalling({ device, store, request, registry, media, ringer, view, elsewhere: (id) => Boolean(remote.get(id)) });
  const notices = [];
  const control = createCallControl({ device, request, registry, media, signalling, remote, view, notify: (n) => notices.push(n) });
  const event = (type, call) => signalling.handleEvent({ type, call });
  const steps = (name) => log.filter((l) => l[0] === name);
  return { control, signalling, registry, remote, requests, notices, event, steps };
}

const connected = (id, fields = {}) => ({ id, partyId: `p-${id}`, direction: 'Outbound', callStatus: STATUS.connected, to: '+15550100', ...fields });
const ringing = (id) => ({ id, partyId: `p-${id}`, direction: 'Inbound', callStatus: STATUS.setup, from: '+16505550102' });

test('readTarget reads the number a call goes to', () => {
  assert.equal(readTarget(' (650) 555-0100 '), '6505550100');
  assert.equal(readTarget('103'), '103');
  assert.throws(() => readTarget(''), { code: 'invalidNumber', message: 'Enter a number or pick an extension.' });
  assert.throws(() => readTarget(undefined), { code: 'invalidNumber' });
  assert.throws(() => readTarget('1'.repeat(65)), { code: 'invalidNumber', message: 'A number has at most 64 characters.' });
});

test('ignore stops the call ringing here without a word; forward sends it on', async (t) => {
  const p = phone(t, {
    [`POST ${callUrl('r1', 'ignore')}`]: { call: ringing('r1') },
    [`POST ${callUrl('r2', 'forward')}`]: { call: ringing('r2') },
  });
  p.event('rc-call-ring-notify', ringing('r1'));
  p.event('rc-call-ring-notify', ringing('r2'));
  await p.control.actions.ignore(p.registry.get('r1'));
  assert.deepEqual(p.requests.at(-1), ['POST', callUrl('r1', 'ignore'), { deviceId: 'dev1' }]);
  assert.equal(p.registry.get('r1'), undefined);
  await assert.rejects(p.control.actions.forward(p.registry.get('r2'), {}), { code: 'invalidNumber' });
  const entry = p.registry.get('r2');
  await p.control.actions.forward(entry, { forwardNumber: '+1 (650) 555-0103' });
  assert.deepEqual(p.requests.at(-1), ['POST', callUrl('r2', 'forward'), { deviceId: 'dev1', to: '+16505550103' }]);
  assert.equal(entry.call.result, 'Forwarded');
  assert.equal(entry.done, true);
  assert.deepEqual(p.steps('showEnded'), [], 'a ringing call is not on the panel');
});

test('a blind transfer sends the call to the target, and this tab leaves it at once', async (t) => {
  const p = phone(t, { [`POST ${callUrl('c1', 'transfer')}`]: { call: { ...connected('c1'), isOnTransfer: true } } });
  p.event('rc-call-start-notify', connected('c1'));
  const entry = p.registry.get('c1');
  p.registry.focus(entry);
  await p.control.actions.transfer(entry, { transferNumber: '103' });
  assert.deepEqual(p.requests, [['POST', callUrl('c1', 'transfer'), { deviceId: 'dev1', to: '103' }]]);
  assert.equal(entry.done, true);
  assert.equal(entry.call.callStatus, STATUS.finished);
  assert.equal(entry.call.result, 'Transferred');
  assert.deepEqual(p.steps('showEnded'), [['showEnded', 'c1']]);
  // Its end comes as an event too, and changes nothing more.
  p.event('rc-call-end-notify', { ...connected('c1'), result: 'Transferred' });
  assert.deepEqual(p.registry.entries(), []);
});

test('a warm transfer consults the target on a second call, then bridges the two parties', async (t) => {
  const consultCall = { id: 'c2', partyId: 'p-c2', direction: 'Outbound', callStatus: STATUS.connecting, to: '103' };
  const p = phone(t, {
    [`POST ${CALLS_URL}`]: { call: consultCall, sdp: 'answer' },
    [`POST ${callUrl('c1', 'bridge')}`]: { call: connected('c1') },
  });
  p.event('rc-call-start-notify', connected('c1'));
  const original = p.registry.get('c1');
  await p.control.actions.transfer(original, { transferNumber: '103', warm: true });
  assert.deepEqual(p.requests[0], ['POST', CALLS_URL, { deviceId: 'dev1', to: '103', sdp: 'offer' }]);
  const consult = p.registry.get('c2');
  assert.equal(consult.consultOf, 'c1');
  assert.equal(p.registry.current(), consult);
  // The server held the first call for the consult.
  p.event('rc-call-hold-notify', { ...connected('c1'), callStatus: STATUS.onHold, isOnHold: true });
  // A second transfer waits for this one.
  await assert.rejects(p.control.actions.transfer(original, { transferNumber: '104' }), { code: 'invalidState' });
  // Not before the consulted party answers.
  await assert.rejects(p.control.actions.completeTransfer(consult), { code: 'invalidState' });
  p.event('rc-call-start-notify', { ...consultCall, callStatus: STATUS.connected });
  await p.control.actions.completeTransfer(consult);
  assert.deepEqual(p.requests.at(-1), ['POST', callUrl('c1', 'bridge'), { deviceId: 'dev1', with: 'c2' }]);
  assert.equal(original.done && consult.done, true);
  assert.equal(original.call.result, 'Transferred');
  assert.equal(consult.call.result, 'Transferred');
  assert.equal(original.busy, '');
  await assert.rejects(p.control.actions.completeTransfer(consult), { code: 'invalidState', message: 'There is no transfer in progress.' });
});

test('cancelling a warm transfer hangs the consult call up', async (t) => {
  const p = phone(t, {
    [`POST ${CALLS_URL}`]: { call: { ...connected('c2'), to: '103' }, sdp: 'answer' },
    [`POST ${callUrl('c2', 'hangup')}`]: { call: { ...connected('c2'), callStatus: STATUS.finished } },
  });
  p.event('rc-call-start-notify', connected('c1'));
  await p.control.actions.transfer(p.registry.get('c1'), { transferNumber: '103', warm: true });
  // Either call names the transfer.
  await p.control.actions.cancelTransfer(p.registry.get('c1'));
  assert.deepEqual(p.requests.at(-1), ['POST', callUrl('c2', 'hangup'), { deviceId: 'dev1' }]);
  assert.equal(p.registry.get('c2'), undefined);
  assert.ok(p.registry.get('c1'), 'the first call stays, for the server to resume');
});

test('switch makes a held call live and shows it; move offers the call to the other devices', async (t) => {
  const p = phone(t, {
    [`POST ${callUrl('c1', 'switch')}`]: { call: connected('c1') },
    [`POST ${callUrl('c2', 'move')}`]: { call: connected('c2') },
  });
  p.event('rc-call-start-notify', { ...connected('c1'), callStatus: STATUS.onHold, isOnHold: true });
  p.event('rc-call-start-notify', connected('c2'));
  await p.control.actions.switch(p.registry.get('c1'));
  assert.deepEqual(p.requests.at(-1), ['POST', callUrl('c1', 'switch'), { deviceId: 'dev1' }]);
  assert.equal(p.registry.get('c1').call.callStatus, STATUS.connected);
  assert.equal(p.registry.current(), p.registry.get('c1'));
  await p.control.actions.move(p.registry.get('c2'));
  assert.deepEqual(p.requests.at(-1), ['POST', callUrl('c2', 'move'), { deviceId: 'dev1' }]);
  assert.equal(p.notices.length, 1);
  assert.ok(p.registry.get('c2'), 'the call stays here until another device takes it');
});

const away = (id, status = 'CallConnected') => ({
  type: 'rc-active-call-notify',
  call: {
    telephonySessionId: id, partyId: `p-${id}`, direction: 'Inbound', telephonyStatus: status, sequence: 1,
    from: { name: 'Carol Clark', phoneNumber: '+16505550103' }, to: { extensionNumber: '101' },
  },
});

test('the entry of a call taken from another device is the web-phone call it becomes', () => {
  const entry = entryForRemote(readActiveCall(away('s9').call));
  assert.equal(entry.id, 's9');
  assert.equal(entry.answering, true, 'it does not ring here');
  assert.deepEqual([entry.call.direction, entry.call.from, entry.call.fromUserName, entry.call.partyId],
    ['Inbound', '+16505550103', 'Carol Clark', 'p-s9']);
  const outbound = entryForRemote(readActiveCall({ telephonySessionId: 's8', direction: 'Outbound', to: { extensionNumber: '103' } }));
  assert.deepEqual([outbound.call.to, outbound.call.toUserName], ['103', '']);
});

test('Move here takes a call of another device with a new offer', async (t) => {
  const p = phone(t, { [`POST ${callUrl('s9', 'pickup')}`]: { call: connected('s9', { direction: 'Inbound' }), sdp: 'answer' } });
  p.remote.handleEvent(away('s9'));
  await p.control.moveHere('s9');
  assert.deepEqual(p.requests, [['POST', callUrl('s9', 'pickup'), { deviceId: 'dev1', sdp: 'offer' }]]);
  const entry = p.registry.get('s9');
  assert.equal(entry.call.callStatus, STATUS.connected);
  assert.equal(entry.answering, false);
  assert.deepEqual(p.steps('accept'), [['accept', 's9', 'answer']]);
  assert.equal(p.registry.current(), entry);
  // Now here, it is no longer offered.
  assert.deepEqual(p.remote.list((id) => Boolean(p.registry.get(id))), []);
  await assert.rejects(p.control.moveHere('s9'), { code: 'noSuchCall' });
  await assert.rejects(p.control.moveHere('nope'), { code: 'noSuchCall' });
});

test('a call that moved away can be moved back; a failed move leaves it offered unless it is gone', async (t) => {
  const gone = Object.assign(new Error('no such call'), { code: 'NoSuchCall' });
  const p = phone(t, {
    [`POST ${callUrl('c1', 'pickup')}`]: { call: connected('c1'), sdp: 'answer' },
    [`POST ${callUrl('s8', 'pickup')}`]: Object.assign(new Error('busy'), { code: 'InvalidState' }),
    [`POST ${callUrl('s7', 'pickup')}`]: gone,
  });
  // c1 moved to another device: it ended here with reason moved.
  p.event('rc-call-start-notify', connected('c1'));
  p.event('rc-call-end-notify', { ...connected('c1'), reason: 'moved' });
  assert.equal(p.registry.get('c1'), undefined);
  p.remote.handleEvent({ type: 'rc-active-call-notify', call: { telephonySessionId: 'c1', partyId: 'p-c1', telephonyStatus: 'CallConnected' } });
  await p.control.moveHere('c1');
  assert.equal(p.registry.get('c1').call.callStatus, STATUS.connected, 'its events count again');
  p.event('rc-call-hold-notify', { ...connected('c1'), callStatus: STATUS.onHold, isOnHold: true });
  assert.equal(p.registry.get('c1').call.callStatus, STATUS.onHold);

  p.remote.handleEvent(away('s8'));
  p.remote.handleEvent(away('s7'));
  await assert.rejects(p.control.moveHere('s8'), { code: 'InvalidState' });
  await assert.rejects(p.control.moveHere('s7'), { code: 'NoSuchCall' });
  assert.equal(p.registry.get('s8'), undefined);
  assert.deepEqual(p.remote.list((id) => Boolean(p.registry.get(id))).map((call) => call.id), ['s8']);
  assert.deepEqual(p.steps('end').map((s) => s[1]), ['c1', 's8', 's7']);
});
