// Tests of calls.js, the rules of the phone's calls and their registry,
// under `node --test`.
import { catalogue } from './english.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  ACTION_RULES, dialerError, dialerProblemText, errorText, MAX_FINISHED, NO_RECORD, phoneError, RECORD, STATUS, callState, canAct, clock, controlError, createCallRegistry, currentEntry,
  describeCall, dialerStatus, endText, failureText, findCall, isLive, isOnHold, isRinging, newEntry, readCall,
  nextRecord, readCallEvent, recordElapsed, recordStatus, recordText, refusal, rowState, sessionCall, statusText,
} from '../static/calls.js';
import { setCatalogue } from '../static/i18n.js';

const BUILTIN_NAMES = Object.getOwnPropertyNames(Object.prototype);

// entry makes a call entry: fields of the call, then fields of the entry.
function entry(call, fields = {}) {
  return { ...newEntry({ id: 'c1', direction: 'Outbound', callStatus: STATUS.connected, ...call }), ...fields };
}

test('readCall keeps call objects with an id', () => {
  assert.deepEqual(readCall({ id: 'c1', callStatus: 'connected' }), { id: 'c1', callStatus: 'connected' });
  for (const raw of [null, undefined, 'c1', 7, [], { id: '' }, { id: 7 }, {}, Object.create({ id: 'c1' })]) {
    assert.equal(readCall(raw), null, JSON.stringify(raw));
  }
});

test('a call is live when connected or held, held by its flag or its status', () => {
  assert.equal(isLive({ callStatus: STATUS.connected }), true);
  assert.equal(isLive({ callStatus: STATUS.onHold }), true);
  assert.equal(isLive({ callStatus: STATUS.connecting }), false);
  assert.equal(isOnHold({ callStatus: STATUS.connected, isOnHold: true }), true);
  assert.equal(isOnHold({ callStatus: STATUS.onHold }), true);
  assert.equal(isOnHold({ callStatus: STATUS.connected, isOnHold: false }), false);
});

test('a call rings here while inbound, setting up or connecting, with no media and no answer under way', () => {
  const inbound = (callStatus, fields) => entry({ direction: 'Inbound', callStatus }, fields);
  assert.equal(isRinging(inbound(STATUS.setup)), true);
  assert.equal(isRinging(inbound(STATUS.connecting)), true);
  assert.equal(isRinging(inbound(STATUS.connected)), false);
  assert.equal(isRinging(inbound(STATUS.connecting, { answering: true })), false);
  assert.equal(isRinging(inbound(STATUS.connecting, { pc: {} })), false);
  assert.equal(isRinging(entry({ direction: 'Outbound', callStatus: STATUS.connecting })), false);
});

test('each action is allowed on the calls it applies to, and refused in words otherwise', () => {
  const ringing = entry({ direction: 'Inbound', callStatus: STATUS.connecting });
  const connected = entry({ isOnMute: false }, { pc: {} });
  const held = entry({ callStatus: STATUS.onHold, isOnHold: true });
  const muted = entry({ isOnMute: true });
  const placing = entry({ id: '', callStatus: STATUS.setup }, { id: '' });
  const cases = [
    [ringing, 'answer', ''], [ringing, 'reject', ''], [ringing, 'hangup', ''],
    [ringing, 'hold', 'Cannot hold a call that is ringing.'],
    [connected, 'answer', 'Cannot answer a call that is connected.'],
    [connected, 'hold', ''], [connected, 'mute', ''], [connected, 'dtmf', ''],
    [connected, 'unhold', 'Cannot unhold a call that is connected.'],
    [connected, 'unmute', 'Cannot unmute a call that is connected.'],
    [held, 'unhold', ''], [held, 'hold', 'Cannot hold a call that is on hold.'],
    [held, 'dtmf', 'Cannot dtmf a call that is on hold.'],
    [muted, 'unmute', ''], [muted, 'dtmf', 'Cannot dtmf a call that is connected.'],
    [placing, 'hangup', ''], [placing, 'mute', 'Cannot mute a call that is being placed.'],
    [entry({ callStatus: STATUS.connecting }), 'hold', 'Cannot hold a call that is not connected yet.'],
  ];
  for (const [e, action, want] of cases) {
    assert.equal(refusal(e, action), want, `${action} on ${JSON.stringify(e.call)}`);
    assert.equal(canAct(e, action), want === '', `canAct ${action}`);
  }
  const busy = { ...connected, busy: 'hold' };
  assert.equal(refusal(busy, 'mute'), 'Cannot mute a call that is busy.');
  // Tones may go while another action is under way; the buttons wait.
  assert.equal(refusal(busy, 'dtmf'), '');
  assert.equal(canAct(busy, 'dtmf'), false);
  assert.equal(canAct(null, 'hangup'), false);
  assert.deepEqual(Object.keys(ACTION_RULES).sort(), [
    'addParticipant', 'answer', 'cancelTransfer', 'completeTransfer', 'dtmf', 'endConference', 'forward', 'hangup', 'hold',
    'ignore', 'merge', 'move', 'mute', 'muteParticipant', 'pauseRecord', 'reject', 'removeParticipant', 'resumeRecord',
    'startRecord', 'stopRecord', 'switch', 'toVoicemail', 'transfer', 'unhold', 'unmute',
  ]);
});

test('a call in a conference is neither transferred, moved nor recorded; only its host adds to it', () => {
  const plain = entry({}, { pc: {} });
  const hosted = entry({}, { pc: {}, conference: { id: 'conf-1', host: true, participants: [] } });
  const joined = entry({}, { pc: {}, conference: { id: 'conf-1', host: false, participants: [] } });
  const held = entry({ callStatus: STATUS.onHold, isOnHold: true });
  const ringing = entry({ direction: 'Inbound', callStatus: STATUS.connecting });
  const cases = [
    [plain, 'merge', true], [held, 'merge', true], [ringing, 'merge', false],
    [plain, 'addParticipant', true], [hosted, 'addParticipant', true], [joined, 'addParticipant', false],
    [ringing, 'addParticipant', false],
    [plain, 'removeParticipant', false], [hosted, 'removeParticipant', true], [joined, 'removeParticipant', true],
    [plain, 'muteParticipant', false], [hosted, 'muteParticipant', true],
    [plain, 'endConference', false], [hosted, 'endConference', true], [joined, 'endConference', true],
    [plain, 'transfer', true], [hosted, 'transfer', false], [joined, 'transfer', false],
    [plain, 'move', true], [hosted, 'move', false],
    [plain, 'startRecord', true], [hosted, 'startRecord', false],
    [hosted, 'hold', true], [hosted, 'mute', true], [joined, 'hangup', true],
  ];
  for (const [e, action, want] of cases) {
    assert.equal(canAct(e, action), want, `${action} on ${e.conference ? `a conference (host ${e.conference.host})` : e.call.callStatus}`);
  }
});

test('the panel shows the focused call, else one not on hold, else the latest; never a ringing one', () => {
  const held = entry({ id: 'a', callStatus: STATUS.onHold });
  const live = entry({ id: 'b' });
  const heldToo = entry({ id: 'c', isOnHold: true });
  const ringing = entry({ id: 'd', direction: 'Inbound', callStatus: STATUS.setup });
  assert.equal(currentEntry([held, live, heldToo], null), live);
  assert.equal(currentEntry([held, live, heldToo], heldToo), heldToo);
  assert.equal(currentEntry([held, heldToo], null), heldToo);
  assert.equal(currentEntry([ringing], ringing), null);
  assert.equal(currentEntry([], null), null);
});

test('findCall finds a host\'s call by any of its ids, else the ringing or current call', () => {
  const a = entry({ id: 'a', telephonySessionId: 'ts-a', sessionId: 's-a', callId: 'x-a' });
  const ringing = entry({ id: 'r', direction: 'Inbound', callStatus: STATUS.connecting });
  const placing = entry({ id: '', callId: 'x-p' }, { id: '' });
  const list = [a, ringing, placing];
  for (const id of ['a', 'ts-a', 's-a', 'x-a']) assert.equal(findCall(list, null, id, 'hangup'), a, id);
  assert.equal(findCall(list, null, 'x-p', 'hangup'), null);
  assert.equal(findCall(list, null, 'nope', 'hangup'), null);
  assert.equal(findCall(list, null, undefined, 'answer'), ringing);
  assert.equal(findCall(list, null, null, 'reject'), ringing);
  assert.equal(findCall(list, null, undefined, 'hold'), a);
  assert.equal(findCall([ringing], null, undefined, 'hold'), null);

  // Without a callId, removeParticipant and endConference mean the call in
  // a conference, the one shown first.
  const conf = entry({ id: 'k' }, { conference: { id: 'conf-1', host: true, participants: [] } });
  const other = entry({ id: 'o' });
  assert.equal(findCall([conf, other], other, undefined, 'endConference'), conf);
  assert.equal(findCall([conf, other], other, undefined, 'removeParticipant'), conf);
  assert.equal(findCall([conf, other], other, undefined, 'hangup'), other);
  assert.equal(findCall([other], other, undefined, 'endConference'), other);
  assert.equal(findCall([conf, other], other, 'o', 'endConference'), other);
});

test('controlError names failures the way rc-control-call-error does', () => {
  const cases = [
    ['invalidState', 'invalidState'], ['InvalidCallState', 'invalidState'], ['NoSuchCall', 'noSuchCall'],
    ['NotFound', 'noSuchCall'], ['microphone', 'failed'], ['', 'failed'], [undefined, 'failed'],
    ['FeatureNotAvailable', 'unsupported'],
  ];
  for (const [code, want] of cases) assert.equal(controlError({ code }), want, String(code));
  assert.equal(controlError(null), 'failed');
  assert.equal(controlError(new Error('plain')), 'failed');
});

test('clock writes a call\'s duration as mm:ss, and h:mm:ss from an hour on', () => {
  const cases = [[-5, '00:00'], [0, '00:00'], [999, '00:00'], [1_000, '00:01'], [61_500, '01:01'], [3_599_000, '59:59'],
    [3_600_000, '1:00:00'], [36_061_000, '10:01:01']];
  for (const [ms, want] of cases) assert.equal(clock(ms), want, String(ms));
});

test('describeCall names the other end of a call, with its number shown for the region', () => {
  const cases = [
    [{ direction: 'Inbound', from: '+16505550100', fromUserName: 'Ann' }, 'US', { name: 'Ann', number: '(650) 555-0100' }],
    [{ direction: 'Inbound', from: '+16505550100' }, 'GB', { name: '+1 (650) 555-0100', number: '' }],
    [{ direction: 'Inbound', fromNumber: '102' }, 'US', { name: 'Ext. 102', number: '' }],
    [{ direction: 'Inbound', from: '102', fromUserName: 'Bob' }, 'US', { name: 'Bob', number: 'Ext. 102' }],
    [{ direction: 'Outbound', to: '+15550100', toUserName: 'Test line' }, 'US', { name: 'Tone line', number: '+1 555 0100' }],
    [{ direction: 'Inbound', from: { phoneNumber: '+16505550100' } }, 'US', { name: '(650) 555-0100', number: '' }],
    [{ direction: 'Inbound' }, 'US', { name: 'Unknown caller', number: '' }],
    [{ direction: 'Outbound', to: '6505550100', toUserName: 'Bob' }, 'US', { name: 'Bob', number: '(650) 555-0100' }],
    [{ direction: 'Outbound', toNumber: '*101' }, 'US', { name: '*101', number: '' }],
    [{ direction: 'Outbound', to: 7, toUserName: 7 }, 'US', { name: 'Unknown number', number: '' }],
  ];
  for (const [call, region, want] of cases) assert.deepEqual(describeCall(call, region), want, JSON.stringify(call));
});

test('statusText says what a call is doing, with its clock once connected', () => {
  const now = 1_000_000;
  assert.equal(statusText(entry({}, { connectedAt: now - 65_000 }), now), '01:05');
  assert.equal(statusText(entry({ isOnHold: true }), now), 'On hold');
  assert.equal(statusText(entry({ callStatus: STATUS.setup }), now), 'Calling…');
  assert.equal(statusText(entry({ callStatus: STATUS.connecting }), now), 'Ringing…');
  assert.equal(statusText(entry({ direction: 'Inbound', callStatus: STATUS.connecting }), now), 'Connecting…');
  assert.equal(statusText(entry({ callStatus: STATUS.setup }, { answering: true }), now), 'Connecting…');
});

test('callState and rowState are the data-state of the panel and of a row', () => {
  assert.equal(callState(entry({ isOnHold: true })), 'onHold');
  assert.equal(callState(entry({ callStatus: STATUS.connecting })), 'connecting');
  assert.equal(rowState(entry({ direction: 'Inbound', callStatus: STATUS.setup })), 'ringing');
  assert.equal(rowState(entry({})), 'connected');
});

test('a call ends with its failure, else its result, else "Call ended"; results named after built-ins read as ended', () => {
  assert.equal(endText(entry({ result: 'Busy' }, { failure: 'Number not found' })), 'Number not found');
  assert.equal(endText(entry({ result: 'Rejected' })), 'Declined');
  assert.equal(endText(entry({ result: 'Canceled' })), 'Call cancelled');
  assert.equal(endText(entry({})), 'Call ended');
  for (const name of BUILTIN_NAMES) assert.equal(endText(entry({ result: name })), 'Call ended', name);
});

test('failureText reads a failure by its code; any other failed', () => {
  assert.equal(failureText({ code: 486 }), 'Busy');
  assert.equal(failureText({ code: '404' }), 'Number not found');
  // The server's reason is English, for developers: the user reads that the call failed.
  assert.equal(failureText({ code: 499, reason: 'Gone away' }), 'Call failed');
  assert.equal(failureText({ code: 499, reason: 7 }), 'Call failed');
  for (const name of BUILTIN_NAMES) assert.equal(failureText({ code: name }), 'Call failed', name);
});

test('readCallEvent reads the call events the phone follows', () => {
  const call = { id: 'c1', callStatus: STATUS.connected };
  for (const type of ['rc-call-init-notify', 'rc-call-ring-notify', 'rc-call-start-notify', 'rc-call-hold-notify',
    'rc-call-resume-notify', 'rc-call-mute-notify']) {
    assert.deepEqual(readCallEvent({ type, call }), { op: 'update', call }, type);
  }
  assert.deepEqual(readCallEvent({ type: 'rc-call-end-notify', call }),
    { op: 'end', call: { id: 'c1', callStatus: STATUS.finished } });
  assert.deepEqual(readCallEvent({ type: 'rc-call-failed-notify', call, code: 603 }), { op: 'fail', call, text: 'Declined' });
  const session = { id: 's1', parties: [] };
  assert.deepEqual(readCallEvent({ type: 'rc-telephony-session-notify', telephonySession: session }), { op: 'session', session });
  assert.deepEqual(readCallEvent({ type: 'rc-call-ring-notify', call: { id: '' } }), { op: 'none' });
  assert.deepEqual(readCallEvent({ type: 'rc-call-end-notify' }), { op: 'none' });
  assert.equal(readCallEvent({ type: 'rc-message-store-notify', call }), null);
  assert.equal(readCallEvent({ call }), null);
  for (const name of BUILTIN_NAMES) assert.equal(readCallEvent({ type: name, call }), null, name);
});

test('sessionCall connects or holds a call once another party answered', () => {
  const call = { id: 'c1', partyId: 'p1', callStatus: STATUS.connecting, isOnHold: false };
  const session = (mine, other) => ({ id: 'c1', parties: [{ id: 'p1', status: { code: mine } }, { id: 'p2', status: { code: other } }] });
  assert.deepEqual(sessionCall(call, session('Answered', 'Answered')), { ...call, callStatus: STATUS.connected, isOnHold: false });
  assert.deepEqual(sessionCall(call, session('Hold', 'Answered')), { ...call, callStatus: STATUS.onHold, isOnHold: true });
  assert.deepEqual(sessionCall(call, session('Answered', 'Hold')), { ...call, callStatus: STATUS.connected, isOnHold: false });
  assert.equal(sessionCall(call, session('Answered', 'Proceeding')), null);
  assert.equal(sessionCall(call, session('Proceeding', 'Answered')), null);
  assert.equal(sessionCall(call, session('toString', 'Answered')), null);
  assert.equal(sessionCall({ ...call, callStatus: STATUS.connected }, session('Answered', 'Answered')), null);
  assert.equal(sessionCall({ ...call, partyId: 'p9' }, session('Answered', 'Answered')), null);
  assert.equal(sessionCall(call, { id: 'c1' }), null);
});

test('dialerStatus says whether the dialer can call and what keeps it from calling', () => {
  const state = (fields = {}, session = {}) => ({
    callWith: 'browser', ...fields, session: { loggedIn: true, features: { call: true }, ...session },
  });
  const cases = [
    [state({}, { loggedIn: false }), 'available', false, { ready: false, problem: '' }],
    [state({}, { features: { call: false } }), 'available', false, { ready: false, problem: 'callingOff' }],
    [state(), 'available', true, { ready: false, problem: 'callingOff' }],
    [state({ callWith: 'ringout' }), 'blocked', false, { ready: true, problem: '' }],
    [state(), 'checking', false, { ready: false, problem: '' }],
    [state(), 'available', false, { ready: true, problem: '' }],
    [state(), 'blocked', false, { ready: false, problem: 'microphoneBlocked' }],
    [state(), 'absent', false, { ready: false, problem: 'microphoneAbsent' }],
    [state(), 'unsupported', false, { ready: false, problem: 'microphoneUnsupported' }],
    [state(), 'toString', false, { ready: true, problem: '' }],
  ];
  for (const [s, microphone, callingOff, want] of cases) {
    assert.deepEqual(dialerStatus(s, microphone, callingOff), want, `${JSON.stringify(s)} ${microphone} ${callingOff}`);
  }
});

test('the registry names the call being dialled from its first event', () => {
  const registry = createCallRegistry();
  const dialling = newEntry({ id: '', direction: 'Outbound', callStatus: STATUS.setup });
  registry.dial(dialling);
  assert.deepEqual(registry.entries(), [dialling]);
  assert.deepEqual(registry.known(), []);
  // An inbound call is not the one being dialled, and is made only when asked.
  assert.equal(registry.entryFor({ id: 'in', direction: 'Inbound' }, { create: false }), null);
  const inbound = registry.entryFor({ id: 'in', direction: 'Inbound' }, { create: true });
  assert.equal(inbound.id, 'in');
  const named = registry.entryFor({ id: 'out', direction: 'Outbound' }, { create: false });
  assert.equal(named, dialling);
  assert.equal(dialling.id, 'out');
  assert.equal(registry.get('out'), dialling);
  assert.deepEqual(registry.entries(), [inbound, dialling]);
  // Another outbound call is a new one.
  const other = registry.entryFor({ id: 'out2', direction: 'Outbound' }, { create: true });
  assert.notEqual(other, dialling);
  assert.equal(registry.dialing, dialling);
  registry.dialled(other);
  assert.equal(registry.dialing, dialling);
  registry.dialled(dialling);
  assert.equal(registry.dialing, null);
});

test('a call the registry forgot stays finished, and the newest finished ones are remembered', () => {
  const registry = createCallRegistry({ maxFinished: 2 });
  const made = ['a', 'b', 'c'].map((id) => registry.entryFor({ id, direction: 'Inbound' }, { create: true }));
  registry.focus(made[0]);
  assert.equal(registry.current(), made[0]);
  made.forEach((e) => registry.forget(e));
  assert.deepEqual(registry.entries(), []);
  assert.equal(registry.current(), null);
  assert.equal(registry.entryFor({ id: 'c', direction: 'Inbound' }, { create: true }), null);
  assert.equal(registry.entryFor({ id: 'b', direction: 'Inbound' }, { create: true }), null);
  // The oldest fell out of the memory.
  assert.notEqual(registry.entryFor({ id: 'a', direction: 'Inbound' }, { create: true }), null);
  // A call being dialled that ends before the server named it is simply dropped.
  const placing = newEntry({ id: '', direction: 'Outbound', callStatus: STATUS.setup });
  registry.dial(placing);
  placing.done = true;
  registry.forget(placing);
  assert.equal(registry.entries().includes(placing), false);
  assert.equal(MAX_FINISHED, 64);
});

test('the registry finds a host\'s call among its calls', () => {
  const registry = createCallRegistry();
  const a = registry.entryFor({ id: 'a', direction: 'Outbound', callStatus: STATUS.onHold }, { create: true });
  const b = registry.entryFor({ id: 'b', direction: 'Outbound', callStatus: STATUS.connected }, { create: true });
  assert.equal(registry.find(undefined, 'hold'), b);
  registry.focus(a);
  assert.equal(registry.find(undefined, 'hold'), a);
  assert.equal(registry.find('b', 'hold'), b);
});

test('findCall takes the ringing call for ignore and forward, and a held one to switch to', () => {
  const live = entry({ id: 'a' });
  const held = entry({ id: 'b', callStatus: STATUS.onHold, isOnHold: true });
  const ringing = entry({ id: 'r', direction: 'Inbound', callStatus: STATUS.connecting });
  const list = [live, held, ringing];
  assert.equal(findCall(list, null, undefined, 'ignore'), ringing);
  assert.equal(findCall(list, null, undefined, 'forward'), ringing);
  assert.equal(findCall(list, null, undefined, 'switch'), held);
  assert.equal(findCall(list, null, undefined, 'transfer'), live);
  // With only a held call, switching means it.
  assert.equal(findCall([held], null, undefined, 'switch'), held);
  assert.equal(findCall(list, null, 'a', 'switch'), live);
});

test('the business actions apply to the calls they are for', () => {
  const ringing = entry({ direction: 'Inbound', callStatus: STATUS.connecting });
  const connected = entry({}, { pc: {} });
  const held = entry({ callStatus: STATUS.onHold, isOnHold: true });
  const connecting = entry({ callStatus: STATUS.connecting });
  const cases = [
    [ringing, 'ignore', true], [ringing, 'forward', true], [connected, 'ignore', false], [connected, 'forward', false],
    [held, 'switch', true], [connected, 'switch', false], [ringing, 'switch', false],
    [connected, 'transfer', true], [held, 'transfer', true], [connecting, 'transfer', false], [ringing, 'transfer', false],
    [connected, 'move', true], [held, 'move', false], [connecting, 'move', false],
    [held, 'completeTransfer', true], [connected, 'cancelTransfer', true], [ringing, 'completeTransfer', false],
  ];
  for (const [e, action, want] of cases) assert.equal(canAct(e, action), want, `${action} on ${JSON.stringify(e.call)}`);
});

test('a call ends as transferred, forwarded or moved', () => {
  assert.equal(endText(entry({ result: 'Transferred' })), 'Call transferred');
  assert.equal(endText(entry({ result: 'Forwarded' })), 'Call forwarded');
  assert.equal(endText(entry({ reason: 'moved', result: 'Call connected' })), 'Moved to another device');
  assert.equal(endText(entry({ reason: 'moved' }, { failure: 'Call failed' })), 'Call failed');
});

test('a finished call comes back as a new party of it, or when revived, never as the same party', () => {
  const registry = createCallRegistry();
  const first = registry.entryFor({ id: 's1', partyId: 'p1', direction: 'Inbound' }, { create: true });
  first.call = { ...first.call, partyId: 'p1' };
  registry.forget(first);
  assert.equal(registry.entryFor({ id: 's1', partyId: 'p1', direction: 'Inbound' }, { create: true }), null);
  const recall = registry.entryFor({ id: 's1', partyId: 'p2', direction: 'Inbound' }, { create: true });
  assert.ok(recall && recall !== first, 'a recall is a new party');
  registry.forget(recall);
  const moved = registry.entryFor({ id: 's1', partyId: 'p2', direction: 'Inbound' }, { create: true, revive: true });
  assert.ok(moved && moved !== recall);
  // A call taken here is adopted: its events count again.
  registry.forget(moved);
  const taken = newEntry({ id: 's1', partyId: 'p2', direction: 'Inbound' });
  registry.adopt(taken);
  assert.equal(registry.entryFor({ id: 's1', partyId: 'p2' }, { create: false }), taken);
});

test('voicemail takes a ringing call; the record actions follow the call\'s recordStatus', () => {
  const ringing = entry({ direction: 'Inbound', callStatus: STATUS.connecting });
  const idle = entry({ recordStatus: 'idle' }, { pc: {} });
  const recording = entry({ recordStatus: 'recording' }, { pc: {} });
  const paused = entry({ recordStatus: 'Paused' }, { pc: {} });
  const held = entry({ callStatus: STATUS.onHold, isOnHold: true, recordStatus: 'recording' });
  const cases = [
    [ringing, 'toVoicemail', ''], [idle, 'toVoicemail', 'Cannot toVoicemail a call that is connected.'],
    [ringing, 'startRecord', 'Cannot startRecord a call that is ringing.'],
    [idle, 'startRecord', ''], [idle, 'stopRecord', 'Cannot stopRecord a call that is connected.'],
    [idle, 'pauseRecord', 'Cannot pauseRecord a call that is connected.'],
    [recording, 'startRecord', 'Cannot startRecord a call that is connected.'],
    [recording, 'pauseRecord', ''], [recording, 'stopRecord', ''], [recording, 'resumeRecord', 'Cannot resumeRecord a call that is connected.'],
    [paused, 'resumeRecord', ''], [paused, 'stopRecord', ''], [paused, 'pauseRecord', 'Cannot pauseRecord a call that is connected.'],
    [held, 'stopRecord', ''], [held, 'pauseRecord', ''],
    [entry({}), 'startRecord', ''], // no recordStatus: idle
  ];
  for (const [e, action, want] of cases) {
    assert.equal(refusal(e, action), want, `${action} on ${JSON.stringify(e.call)}`);
  }
  // Without a callId, toVoicemail means the ringing call.
  assert.equal(findCall([idle, ringing], null, undefined, 'toVoicemail'), ringing);
  assert.equal(findCall([idle, ringing], null, undefined, 'startRecord'), idle);
});

test('recordStatus reads idle, recording or paused in any case', () => {
  assert.equal(recordStatus({ recordStatus: 'recording' }), RECORD.recording);
  assert.equal(recordStatus({ recordStatus: 'Recording' }), RECORD.recording);
  assert.equal(recordStatus({ recordStatus: 'PAUSED' }), RECORD.paused);
  for (const raw of [{}, { recordStatus: 'idle' }, { recordStatus: '' }, { recordStatus: 7 }, { recordStatus: 'toString' }, null]) {
    assert.equal(recordStatus(raw), RECORD.idle, JSON.stringify(raw));
  }
});

test('a recording counts the time it records, not the time it is paused, and starts again from 0', () => {
  let r = NO_RECORD;
  r = nextRecord(r, RECORD.recording, 1_000);
  assert.equal(recordElapsed(r, 6_000), 5_000);
  assert.equal(recordText(r, 6_000), '00:05');
  assert.equal(nextRecord(r, RECORD.recording, 9_000), r, 'the same status changes nothing');
  r = nextRecord(r, RECORD.paused, 11_000);
  assert.equal(recordElapsed(r, 60_000), 10_000);
  assert.equal(recordText(r, 60_000), 'Paused 00:10');
  r = nextRecord(r, RECORD.recording, 70_000);
  assert.equal(recordElapsed(r, 75_500), 15_500);
  r = nextRecord(r, RECORD.idle, 80_000);
  assert.equal(r, NO_RECORD);
  assert.equal(recordText(r, 80_000), '');
  r = nextRecord(r, RECORD.recording, 90_000);
  assert.equal(recordElapsed(r, 91_000), 1_000);
  // A recording first seen paused (the widget opened during it) counts from there.
  assert.equal(recordElapsed(nextRecord(NO_RECORD, RECORD.paused, 5_000), 9_000), 0);
});

test('rc-call-record-notify updates the call; an unsupported server says unsupported', () => {
  const call = { id: 'c1', callStatus: STATUS.connected, recordStatus: 'recording' };
  assert.deepEqual(readCallEvent({ type: 'rc-call-record-notify', call, recording: { id: 'r1' } }), { op: 'update', call });
  assert.equal(controlError({ code: 'Unsupported' }), 'unsupported');
  assert.equal(controlError({ code: 'AudioStorageFull' }), 'failed');
  assert.equal(endText(entry({ result: 'Voicemail', callStatus: STATUS.finished })), 'Sent to voicemail');
});

test('a failure tells the host in English and the user in the widget\'s language', (ctx) => {
  ctx.after(() => setCatalogue('en-US', catalogue('en')));
  setCatalogue('fr-FR', catalogue('fr'));
  const blocked = dialerError('microphoneBlocked');
  assert.equal(blocked.code, 'microphone');
  assert.equal(blocked.message, 'Microphone blocked — allow it in the browser');
  assert.equal(errorText(blocked), 'Micro bloqué — autorisez-le dans le navigateur');
  assert.equal(dialerError('callingOff').code, 'callingOff');
  assert.equal(dialerProblemText('microphoneAbsent'), 'Aucun micro trouvé');
  assert.equal(dialerProblemText(''), '');
  assert.equal(dialerProblemText('toString'), '');
  // A request that failed: the server's errorCode, never its English message.
  const server = (code) => Object.assign(new Error('the call\'s state does not allow this'), { name: 'RequestError', code });
  assert.equal(errorText(server('TargetUnreachable')), 'Ce numéro est injoignable pour le moment : l\'appel reste inchangé.');
  assert.equal(errorText(server('network')), 'Le widget n\'a pas pu joindre son serveur. Vérifiez votre connexion et réessayez.');
  assert.equal(errorText(server('SomethingNew')), 'Une erreur s\'est produite. Réessayez.');
  assert.equal(errorText(server('constructor')), 'Une erreur s\'est produite. Réessayez.');
  assert.equal(errorText(undefined), 'Une erreur s\'est produite. Réessayez.');
  // A failure without words for the user says its message.
  assert.equal(errorText(phoneError('invalidState', 'Not now.')), 'Not now.');

  assert.equal(statusText(entry({ isOnHold: true }), 0), 'En attente');
  assert.equal(endText(entry({ result: 'Rejected' })), 'Refusé');
  assert.equal(failureText({ code: 404 }), 'Numéro introuvable');
  assert.equal(describeCall({ direction: 'Inbound' }, 'FR').name, 'Appelant inconnu');
});
