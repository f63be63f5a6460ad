// Tests of conference.js (what a conference is to the phone: the events,
// the participant list, which calls a merge joins, what the host may ask)
// and conferencecontrol.js (the requests, over the real registry and
// signalling with fakes for the server, the media and the view) under
// `node --test`.
import { catalogue } from './english.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { setCatalogue } from '../static/i18n.js';

import { STATUS, createCallRegistry, newEntry } from '../static/calls.js';
import {
  addingTo, canMerge, conferenceOfCall, conferenceTitle, conferenceUrl, describeConference, mergePair, participantProblem,
  participantRows, readConference, readConferenceEvent,
} from '../static/conference.js';
import { NOT_MERGEABLE, createConferenceControl, readParticipantNumber } from '../static/conferencecontrol.js';
import { CALLS_URL, callUrl, createSignalling } from '../static/signalling.js';

// The conference of docs/events.md: alice merged her calls with carol (s-2)
// and bob (s-1); as alice, the host, sees it from s-2.
function rawConference(fields = {}) {
  return {
    id: 'conf-1', telephonySessionId: 's-2', hostSessionId: 's-2', host: true, hostPresent: true, state: 'connected',
    participants: [
      { partyId: 'p-3', telephonySessionId: 's-2', name: 'Alice Adams', number: '+16505550101', extensionNumber: '101', host: true, status: 'Answered', muted: false, mutedByHost: false },
      { partyId: 'p-4', telephonySessionId: 's-2', name: 'Carol Clark', number: '+16505550103', extensionNumber: '103', host: false, status: 'Answered', muted: false, mutedByHost: false },
      { partyId: 'p-2', telephonySessionId: 's-1', name: 'Bob Brown', number: '+16505550102', extensionNumber: '102', host: false, status: 'Answered', muted: false, mutedByHost: false },
    ],
    ...fields,
  };
}

const notify = (change, fields) => ({ type: 'rc-conference-notify', change, conference: rawConference(fields) });

// call makes an entry of this tab: fields of the call, then of the entry.
function call(id, fields = {}, entryFields = {}) {
  return { ...newEntry({ id, partyId: `p-${id}`, direction: 'Outbound', callStatus: STATUS.connected, to: '103', ...fields }), ...entryFields };
}

test('rc-conference-notify reads as the conference, and nothing else does', () => {
  const read = readConferenceEvent(notify('created'));
  assert.equal(read.change, 'created');
  assert.deepEqual(read.conference, {
    id: 'conf-1', callId: 's-2', hostCallId: 's-2', host: true, hostPresent: true, state: 'connected',
    participants: [
      { partyId: 'p-3', callId: 's-2', name: 'Alice Adams', number: '+16505550101', extensionNumber: '101', host: true, status: 'Answered', muted: false, mutedByHost: false },
      { partyId: 'p-4', callId: 's-2', name: 'Carol Clark', number: '+16505550103', extensionNumber: '103', host: false, status: 'Answered', muted: false, mutedByHost: false },
      { partyId: 'p-2', callId: 's-1', name: 'Bob Brown', number: '+16505550102', extensionNumber: '102', host: false, status: 'Answered', muted: false, mutedByHost: false },
    ],
    invitations: [],
  });
  const invited = readConferenceEvent(notify('invited', { invitations: [{ telephonySessionId: 's-9', name: 'Dan', number: '+15550100' }, { number: 'no call' }] }));
  assert.deepEqual(invited.conference.invitations, [{ callId: 's-9', name: 'Dan', number: '+15550100' }]);
  for (const event of [
    { type: 'rc-call-end-notify', conference: rawConference() },
    { ...notify('created'), change: 'exploded' },
    { ...notify('created'), change: 'toString' },
    { type: 'rc-conference-notify', change: 'created', conference: { ...rawConference(), id: '' } },
    { type: 'rc-conference-notify', change: 'created', conference: { ...rawConference(), telephonySessionId: 7 } },
    { type: 'rc-conference-notify', change: 'created', conference: null },
    { type: 'rc-conference-notify', change: 'created' },
  ]) {
    assert.equal(readConferenceEvent(event), null, JSON.stringify(event).slice(0, 80));
  }
  // Participants without a party are left out; a list that is none is empty.
  assert.deepEqual(readConference({ ...rawConference(), participants: [null, { name: 'x' }, 'p-1'] }).participants, []);
  assert.deepEqual(readConference({ ...rawConference(), participants: 'all' }).participants, []);
});

test('a call keeps its conference until it ends or the call is out of it', () => {
  const read = (change, fields) => readConferenceEvent(notify(change, fields));
  assert.equal(conferenceOfCall(read('joined'), 'p-3').id, 'conf-1');
  assert.equal(conferenceOfCall(read('ended'), 'p-3'), null);
  assert.equal(conferenceOfCall(read('updated', { state: 'ended' }), 'p-3'), null);
  // Bob left: his call is out of it, though the event tells him of it.
  assert.equal(conferenceOfCall(read('left'), 'p-9'), null);
  assert.equal(conferenceOfCall(read('held', { state: 'held' }), 'p-4').state, 'held');
});

test('the participant list has the user first as You; the host may mute and remove the others', () => {
  const conference = readConference(rawConference({
    participants: [
      ...rawConference().participants.slice(0, 2),
      { ...rawConference().participants[2], muted: true, mutedByHost: true, status: 'Hold' },
      { partyId: 'p-7', telephonySessionId: 's-7', name: '', number: '+15550100', host: false, status: 'Answered', muted: true },
    ],
  }));
  assert.deepEqual(participantRows(conference, 'p-3', 'US'), [
    { partyId: 'p-3', name: 'You', detail: 'Host', state: 'connected', muted: '', self: true, host: true, mute: null, remove: false },
    { partyId: 'p-4', name: 'Carol Clark', detail: '(650) 555-0103', state: 'connected', muted: '', self: false, host: false, mute: { muted: true, label: 'Mute' }, remove: true },
    { partyId: 'p-2', name: 'Bob Brown', detail: '(650) 555-0102 · On hold', state: 'onHold', muted: 'Muted by host', self: false, host: false, mute: { muted: false, label: 'Unmute' }, remove: true },
    // A test number goes by what it does.
    { partyId: 'p-7', name: 'Tone line', detail: '+1 555 0100', state: 'connected', muted: 'Muted', self: false, host: false, mute: { muted: true, label: 'Mute' }, remove: true },
  ]);
  // As bob, a participant, sees it: himself first, the host marked, no buttons.
  const asBob = participantRows({ ...conference, host: false }, 'p-2', 'US');
  assert.deepEqual(asBob.map((r) => [r.name, r.detail, r.mute, r.remove]), [
    ['You', 'On hold', null, false],
    ['Alice Adams', '(650) 555-0101 · Host', null, false],
    ['Carol Clark', '(650) 555-0103', null, false],
    ['Tone line', '+1 555 0100', null, false],
  ]);
  assert.equal(conferenceTitle(conference), 'Participants · 4');
  assert.deepEqual(describeConference(conference, 'p-3', 'US').name, 'Conference');
  assert.match(describeConference(conference, 'p-3', 'US').number, /^Carol Clark, Bob Brown, /);
});

test('a merge joins the other call into the one shown, or into the conference the user hosts', () => {
  const a = call('a');
  const b = call('b', { callStatus: STATUS.onHold, isOnHold: true });
  assert.deepEqual(mergePair([a, b], a), { into: a, from: b });
  assert.deepEqual(mergePair([a, b], b), { into: b, from: a });
  assert.deepEqual(mergePair([a, b], a, 'b'), { into: a, from: b });
  // The conference the user hosts stays; the other call joins it.
  const hosted = call('h', {}, { conference: readConference(rawConference({ telephonySessionId: 'h' })) });
  assert.deepEqual(mergePair([a, hosted], a), { into: hosted, from: a });
  assert.deepEqual(mergePair([a, hosted], hosted, 'a'), { into: hosted, from: a });

  const ringing = call('r', { direction: 'Inbound', callStatus: STATUS.connecting });
  const placing = call('', { callStatus: STATUS.setup }, { id: '' });
  const joined = call('j', {}, { conference: readConference(rawConference({ telephonySessionId: 'j', host: false })) });
  const refused = [
    [[a], a, undefined, 'noSuchCall'],
    [[a, ringing, placing], a, undefined, 'noSuchCall'],
    [[a, b, call('c')], a, undefined, 'invalidState'],
    [[a, b], a, 'nope', 'noSuchCall'],
    [[a, b], a, 'a', 'noSuchCall'],
    [[a, ringing], a, 'r', 'invalidState'],
    [[a, joined], a, undefined, 'invalidState'],
    [[joined, a], joined, undefined, 'invalidState'],
    [[hosted, { ...hosted, id: 'h2', call: { ...hosted.call, id: 'h2' } }], hosted, 'h2', 'invalidState'],
  ];
  for (const [list, entry, other, code] of refused) {
    assert.throws(() => mergePair(list, entry, other), { code }, `${entry.id} ${other}`);
  }
  assert.equal(canMerge([a, b], a, b), true);
  assert.equal(canMerge([a, b], a, a), false);
  assert.equal(canMerge([a, { ...b, busy: 'hold' }], a, { ...b, busy: 'hold' }), false);
  assert.equal(canMerge([a, joined], a, joined), false);
});

test('a participant added joins once answered; the host alone removes or mutes, and only those in it', () => {
  const adding = call('n', { callStatus: STATUS.connecting }, { conferenceOf: 'h' });
  const answered = { ...adding, call: { ...adding.call, callStatus: STATUS.connected } };
  assert.equal(addingTo([call('h'), adding]), adding);
  assert.equal(addingTo([call('h')]), null);
  assert.equal(addingTo([call('h'), { ...answered, done: true }]), null);

  const hosted = call('h', {}, { conference: readConference(rawConference({ telephonySessionId: 'h' })) });
  assert.equal(participantProblem(hosted, 'p-2'), null);
  assert.equal(participantProblem(hosted, 'p-9').code, 'noSuchCall');
  assert.equal(participantProblem(call('x'), 'p-2').code, 'invalidState');
  assert.equal(participantProblem({ ...hosted, conference: { ...hosted.conference, host: false } }, 'p-2').code, 'invalidState');
  assert.equal(conferenceUrl('conf 1'), '/widget/conferences/conf%201');
  assert.equal(conferenceUrl('conf-1', 'p/2'), '/widget/conferences/conf-1/participants/p%2F2');
  assert.equal(readParticipantNumber(' (650) 555-0103 '), '6505550103');
  assert.throws(() => readParticipantNumber(''), { code: 'invalidNumber', message: 'Enter the number of the person to add.' });
  assert.throws(() => readParticipantNumber('1'.repeat(65)), { code: 'invalidNumber' });
});

// phone builds the conference control over fakes, as callcontrol.test.js
// does. answers maps "METHOD url" to the server's answer (or a function of
// the body).
function phone(t, answers = {}) {
  t.mock.method(console, 'warn', () => {});
  const log = [];
  const state = { dialerProblem: '', session: { loggedIn: true } };
  const registry = createCallRegistry();
  const media = {
    prepare: () => {},
    dropPrepared: () => {},
    watchStats: () => {},
    applyMute: () => {},
    muteNow: () => {},
    offer: async (entry) => { entry.pc = 'pc'; return 'offer'; },
    dialOffer: async (entry) => { entry.pc = 'pc'; return { sdp: 'offer', microphone: null }; },
    accept: async (entry, sdp) => log.push(['accept', entry.id, sdp]),
    close: (entry) => { entry.pc = null; },
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
  const signalling = createSignalling({ device, store: { get: () => state }, request, registry, media, ringer: { update: () => {} }, view });
  const notices = [];
  const control = createConferenceControl({
    device, request, registry, signalling, view, notify: (n) => notices.push(n), describe: (entry) => ({ name: entry.call.to ?? '' }),
  });
  const event = (type, c) => {
    control.handleEvent({ type, call: c });
    signalling.handleEvent({ type, call: c });
  };
  const conferenceEvent = (change, fields) => {
    control.handleEvent(notify(change, fields));
  };
  return { control, signalling, registry, requests, notices, event, conferenceEvent, log };
}

const connected = (id, fields = {}) => ({ id, partyId: `p-${id}`, direction: 'Outbound', callStatus: STATUS.connected, to: '+15550100', ...fields });
const settled = () => new Promise((resolve) => setImmediate(resolve));

test('merge asks the server to join the other call into the one shown; the other ends here', async (t) => {
  const p = phone(t, { [`POST ${callUrl('s-2', 'merge')}`]: { conference: rawConference() } });
  p.event('rc-call-start-notify', connected('s-1', { partyId: 'p-1', callStatus: STATUS.onHold, isOnHold: true }));
  p.event('rc-call-start-notify', connected('s-2', { partyId: 'p-3' }));
  const shown = p.registry.get('s-2');
  const other = p.registry.get('s-1');
  await p.control.actions.merge(shown, {});
  assert.deepEqual(p.requests, [['POST', callUrl('s-2', 'merge'), { deviceId: 'dev1', otherCallId: 's-1' }]]);
  assert.equal(other.done, true);
  assert.equal(other.call.result, 'Call connected');
  assert.deepEqual(p.log.filter((l) => l[0] === 'showEnded'), [], 'the call merged in ends without a word');
  assert.equal(shown.conference.id, 'conf-1');
  assert.equal(other.busy, '');
  assert.equal(p.registry.current(), shown);
  // The stream's word comes after, and counts.
  p.conferenceEvent('updated', { participants: rawConference().participants.slice(0, 2) });
  assert.equal(shown.conference.participants.length, 2);
  p.conferenceEvent('ended', { state: 'ended' });
  assert.equal(shown.conference, null);
});

test('a merge the switch refuses for the calls\' state says so in the user\'s terms; both calls stay', async (t) => {
  const p = phone(t, {
    [`POST ${callUrl('s-2', 'merge')}`]: Object.assign(new Error('the call\'s state does not allow this'), { code: 'InvalidState' }),
  });
  p.event('rc-call-start-notify', connected('s-1', { callStatus: STATUS.onHold, isOnHold: true }));
  p.event('rc-call-start-notify', connected('s-2'));
  await assert.rejects(p.control.actions.merge(p.registry.get('s-2'), {}), {
    code: 'invalidState',
    message: 'These calls cannot be merged: a call with a test line, a recorded call or one being transferred cannot join a conference.',
  });
  assert.equal(NOT_MERGEABLE, 'conference.notMergeable');
  assert.equal(p.registry.get('s-1').done, false);
  assert.equal(p.registry.get('s-1').busy, '');
  assert.equal(p.registry.get('s-2').conference, null);
});

test('a participant added is called for the conference while it waits, and the server joins them once answered', async (t) => {
  const added = { id: 's-9', partyId: 'p-9', direction: 'Outbound', callStatus: STATUS.connecting, to: '103' };
  const p = phone(t, { [`POST ${CALLS_URL}`]: { call: added, sdp: 'answer' } });
  p.event('rc-call-start-notify', connected('s-2', { partyId: 'p-3' }));
  p.conferenceEvent('created');
  const host = p.registry.get('s-2');
  await assert.rejects(p.control.actions.addParticipant(host, { number: '' }), { code: 'invalidNumber' });
  await p.control.actions.addParticipant(host, { number: '103' });
  assert.deepEqual(p.requests[0], ['POST', CALLS_URL, { deviceId: 'dev1', to: '103', sdp: 'offer', conferenceId: 's-2' }]);
  const entry = p.registry.get('s-9');
  assert.equal(entry.conferenceOf, 's-2');
  await assert.rejects(p.control.actions.addParticipant(host, { number: '104' }), { code: 'invalidState' });
  p.conferenceEvent('invited', { invitations: [{ telephonySessionId: 's-9', number: '103' }] });
  assert.deepEqual(host.conference.invitations, [{ callId: 's-9', name: '', number: '103' }]);
  // Answered: the server merges it; its call ends here, and nothing is asked of the server.
  p.event('rc-call-start-notify', { ...added, callStatus: STATUS.connected });
  p.conferenceEvent('joined');
  p.event('rc-call-end-notify', { ...added, callStatus: STATUS.finished, result: 'Call connected' });
  assert.equal(entry.done, true);
  assert.equal(entry.conferenceOf, '');
  assert.equal(p.requests.length, 1);
  assert.deepEqual(p.notices, []);
  assert.equal(p.registry.current(), host);
});

test('a participant who answers but cannot join stays a call of its own, and the user is told', async (t) => {
  const added = { id: 's-9', partyId: 'p-9', direction: 'Outbound', callStatus: STATUS.connecting, to: '103' };
  const p = phone(t, { [`POST ${CALLS_URL}`]: { call: added, sdp: 'answer' } });
  p.event('rc-call-start-notify', connected('s-2', { partyId: 'p-3' }));
  p.conferenceEvent('created');
  await p.control.actions.addParticipant(p.registry.get('s-2'), { number: '103' });
  p.event('rc-call-start-notify', { ...added, callStatus: STATUS.connected });
  // Another invitation's end says nothing of this one.
  p.conferenceEvent('rejected', { invitations: [{ telephonySessionId: 's-9', number: '103' }] });
  assert.equal(p.notices.length, 0);
  p.conferenceEvent('rejected');
  const entry = p.registry.get('s-9');
  assert.equal(entry.done, false);
  assert.equal(entry.conferenceOf, '');
  assert.equal(p.notices.length, 1);
  assert.match(p.notices[0].message, /^103 answered, but could not join\. The calls stay apart\.$/);
});

test('the host removes and mutes participants and ends the conference; a participant leaves it', async (t) => {
  const remove = `DELETE ${conferenceUrl('conf-1', 'p-2')}?deviceId=dev1`;
  const end = `DELETE ${conferenceUrl('conf-1')}?deviceId=dev1`;
  const p = phone(t, {
    [remove]: {},
    [`PATCH ${conferenceUrl('conf-1', 'p-4')}`]: {},
    [end]: {},
    [`POST ${callUrl('s-1', 'hangup')}`]: { call: connected('s-1', { partyId: 'p-2' }) },
  });
  p.event('rc-call-start-notify', connected('s-2', { partyId: 'p-3' }));
  p.conferenceEvent('created');
  const host = p.registry.get('s-2');
  await assert.rejects(p.control.actions.removeParticipant(host, { partyId: 'p-9' }), { code: 'noSuchCall' });
  await p.control.actions.removeParticipant(host, { partyId: 'p-2' });
  await p.control.actions.muteParticipant(host, { partyId: 'p-4', muted: true });
  await p.control.actions.muteParticipant(host, { partyId: 'p-4', muted: false });
  await p.control.actions.endConference(host);
  assert.deepEqual(p.requests, [
    ['DELETE', `${conferenceUrl('conf-1', 'p-2')}?deviceId=dev1`, undefined],
    ['PATCH', conferenceUrl('conf-1', 'p-4'), { deviceId: 'dev1', muted: true }],
    ['PATCH', conferenceUrl('conf-1', 'p-4'), { deviceId: 'dev1', muted: false }],
    ['DELETE', `${conferenceUrl('conf-1')}?deviceId=dev1`, undefined],
  ]);

  // Bob, a participant, may not remove anyone; ending it, he leaves.
  const q = phone(t, { [`POST ${callUrl('s-1', 'hangup')}`]: { call: connected('s-1', { partyId: 'p-2' }) } });
  q.event('rc-call-start-notify', connected('s-1', { partyId: 'p-2' }));
  q.conferenceEvent('created', { telephonySessionId: 's-1', host: false });
  const bob = q.registry.get('s-1');
  assert.equal(bob.conference.host, false);
  await assert.rejects(q.control.actions.removeParticipant(bob, { partyId: 'p-4' }), { code: 'invalidState' });
  await q.control.actions.endConference(bob);
  assert.deepEqual(q.requests, [['POST', callUrl('s-1', 'hangup'), { deviceId: 'dev1' }]]);
  assert.equal(bob.done, true);
  // A call in no conference has none to end.
  q.event('rc-call-start-notify', connected('s-5'));
  await assert.rejects(q.control.actions.endConference(q.registry.get('s-5')), { code: 'invalidState' });
});

test('rc-conference-notify reaches only the call of this tab it names', (t) => {
  const p = phone(t);
  p.event('rc-call-start-notify', connected('s-2', { partyId: 'p-3' }));
  p.conferenceEvent('created', { telephonySessionId: 's-other' });
  assert.equal(p.registry.get('s-2').conference, null);
  p.conferenceEvent('created');
  assert.equal(p.registry.get('s-2').conference.id, 'conf-1');
  // Removed: the party is no longer listed.
  p.conferenceEvent('removed', { participants: rawConference().participants.filter((x) => x.partyId !== 'p-3') });
  assert.equal(p.registry.get('s-2').conference, null);
});

test('a conference request the server refuses says why in the user\'s words, and keeps the server\'s code', async (t) => {
  const remove = `DELETE ${conferenceUrl('conf-1', 'p-2')}?deviceId=dev1`;
  const p = phone(t, {
    [remove]: Object.assign(new Error('only the conference\'s host may remove or mute a participant or end it for all'), { code: 'InsufficientPermissions' }),
    [`PATCH ${conferenceUrl('conf-1', 'p-4')}`]: Object.assign(new Error('The widget could not reach its server.'), { code: 'network' }),
    [`POST ${callUrl('s-2', 'merge')}`]: Object.assign(new Error('internal server error'), { code: 'InternalError' }),
  });
  p.event('rc-call-start-notify', connected('s-1', { callStatus: STATUS.onHold, isOnHold: true }));
  p.event('rc-call-start-notify', connected('s-2', { partyId: 'p-3' }));
  p.conferenceEvent('created');
  const host = p.registry.get('s-2');
  await assert.rejects(p.control.actions.removeParticipant(host, { partyId: 'p-2' }),
    { code: 'InsufficientPermissions', message: 'Only the conference\'s host can do that.' });
  await assert.rejects(p.control.actions.muteParticipant(host, { partyId: 'p-4', muted: true }),
    { code: 'network', message: 'The conference could not be changed. Try again.' });
  // The conference ended meanwhile: the server knows it no more.
  await assert.rejects(p.control.actions.endConference(host), { code: 'NotFound', message: 'The conference has ended, or the participant has left.' });
  const q = phone(t, { [`POST ${callUrl('s-2', 'merge')}`]: Object.assign(new Error('internal server error'), { code: 'InternalError' }) });
  q.event('rc-call-start-notify', connected('s-1', { callStatus: STATUS.onHold, isOnHold: true }));
  q.event('rc-call-start-notify', connected('s-2'));
  await assert.rejects(q.control.actions.merge(q.registry.get('s-2'), {}), { code: 'InternalError', message: 'The calls could not be merged. Try again.' });
});

test('the participant list and the conference\'s errors speak the widget\'s language', (t) => {
  t.after(() => setCatalogue('en-US', catalogue('en')));
  setCatalogue('fr-FR', catalogue('fr'));
  const conference = readConference(rawConference({
    participants: [
      rawConference().participants[0],
      { ...rawConference().participants[2], muted: true, mutedByHost: true, status: 'Hold' },
    ],
  }));
  assert.deepEqual(participantRows(conference, 'p-3', 'US').map((r) => [r.name, r.detail, r.muted, r.mute?.label ?? null]), [
    ['Vous', 'Hôte', '', null],
    ['Bob Brown', '(650) 555-0102 · En attente', 'Coupé par l\'hôte', 'Réactiver le micro'],
  ]);
  assert.equal(conferenceTitle(conference), 'Participants · 2');
  assert.equal(describeConference(conference, 'p-3', 'US').name, 'Conférence');
  assert.throws(() => readParticipantNumber(''), { code: 'invalidNumber', message: 'Saisissez le numéro de la personne à ajouter.' });
  assert.equal(participantProblem(call('x'), 'p-2').message, 'L\'appel n\'est pas en conférence.');
});
