// The calls of this tab: what a call is to the phone, the rules of its
// states and actions, how the server's call events read, how a call is
// described, and the registry that holds every call of the tab in one place.
//
// The server's switch owns every call; a call here is an entry: the server's
// last word on it (entry.call, contract §5 `call`) and what only this tab
// knows of it (its media, whether an action is under way, how it failed).
// Everything in this module but the registry is a pure function, tested
// under `node --test` (web/test/calls.test.js); the registry holds state
// but touches neither the DOM nor the network.

import { asString, isPlainObject, ownValue } from './fields.js';
import { t } from './i18n.js';
import { showParty } from './numbers.js';

// Finished calls are remembered so that late answers and events for them
// bring nothing back.
export const MAX_FINISHED = 64;

// callStatus values of a call (contract §5).
export const STATUS = Object.freeze({
  setup: 'webphone-session-setup',
  connecting: 'connecting',
  connected: 'connected',
  onHold: 'onHold',
  finished: 'finished',
});

// Why the dialer cannot call, by the code the store keeps as dialerProblem:
// the key of what the dialer says, and what a command of the host hears
// (contract data: English).
const DIALER_PROBLEMS = Object.freeze({
  callingOff: Object.freeze({ key: 'phone.callingOff', message: 'Calling is off for this app' }),
  microphoneBlocked: Object.freeze({ key: 'phone.microphoneBlocked', message: 'Microphone blocked — allow it in the browser' }),
  microphoneAbsent: Object.freeze({ key: 'phone.microphoneAbsent', message: 'No microphone found' }),
  microphoneUnsupported: Object.freeze({
    key: 'phone.microphoneUnsupported', message: 'This browser cannot use a microphone on this page',
  }),
});
// The dialer's problem for each state of the microphone that keeps it from calling.
const MICROPHONE_PROBLEMS = Object.freeze({ blocked: 'microphoneBlocked', absent: 'microphoneAbsent', unsupported: 'microphoneUnsupported' });

// How a failed call ends, by its code (rc-call-failed-notify), and how any
// call ends, by its call-log result (rc-call-end-notify): message keys.
const FAILURE_KEYS = Object.freeze({
  402: 'call.notAllowed',
  404: 'call.numberNotFound',
  408: 'call.noAnswer',
  480: 'call.unavailable',
  486: 'call.busy',
  487: 'call.cancelled',
  503: 'call.failed',
  603: 'call.declined',
});
const RESULT_KEYS = Object.freeze({
  Busy: 'call.busy',
  Rejected: 'call.declined',
  'No Answer': 'call.noAnswer',
  Canceled: 'call.cancelled',
  Missed: 'call.missed',
  Failed: 'call.failed',
  Transferred: 'call.transferred',
  Forwarded: 'call.forwarded',
  Voicemail: 'call.sentToVoicemail',
});

// phoneError is a failure the phone reports: code is what a command answers
// with (microphone, callingOff, invalidNumber, busy, cancelled, or the
// server's code), message says it to the host page (contract data: English)
// and text to the user, in the widget's language (the message when none is
// given: a failure the user never sees, such as a cancelled call).
export function phoneError(code, message, text = message) {
  return Object.assign(new Error(message), { code, text });
}

// dialerError is the phoneError of a dialer's problem (DIALER_PROBLEMS).
export function dialerError(problem) {
  const { key, message } = DIALER_PROBLEMS[problem];
  return phoneError(problem === 'callingOff' ? 'callingOff' : 'microphone', message, t(key));
}

// dialerProblemText is what the dialer says of its problem ('' for none).
export function dialerProblemText(problem) {
  const known = ownValue(DIALER_PROBLEMS, problem);
  return known ? t(known.key) : '';
}

// What the user reads of a failed request, by the server's errorCode (or
// network, when the server could not be reached).
const SERVER_ERRORS = Object.freeze({
  network: 'call.offline',
  NotFound: 'call.gone',
  InvalidState: 'call.notNow',
  TargetUnreachable: 'call.targetUnreachable',
  NoDevice: 'call.noDevice',
  DeviceNotYours: 'call.noDevice',
  TooManyCalls: 'call.tooManyCalls',
  InvalidNumber: 'call.invalidNumber',
  FeatureNotAvailable: 'call.notAvailable',
  AudioStorageFull: 'call.storageFull',
  StorageUnavailable: 'call.serverBusy',
  ShuttingDown: 'call.serverBusy',
  RingOutNotInProgress: 'phone.ringOutOver',
  NotSignedIn: 'call.signedOut',
});

// errorText is what the user reads of a failure: a phoneError's text, else
// the words for the server's errorCode, else that something went wrong (the
// server's own message is English, for developers).
export function errorText(err) {
  if (typeof err?.text === 'string' && err.text) return err.text;
  return t(ownValue(SERVER_ERRORS, String(err?.code ?? '')) ?? 'call.somethingWrong');
}

// readCall keeps a call object of the server when it is one.
export function readCall(raw) {
  return isPlainObject(raw) && typeof raw.id === 'string' && raw.id !== '' ? raw : null;
}

export const isLive = (call) => call.callStatus === STATUS.connected || call.callStatus === STATUS.onHold;
export const isOnHold = (call) => call.isOnHold === true || call.callStatus === STATUS.onHold;

// newEntry is a call of this tab as it starts: the server's call and nothing
// of this tab's yet.
export function newEntry(call) {
  return {
    id: call.id,
    call,
    pc: null,
    stream: null,
    remote: null,
    answering: false,
    prepared: null,
    connectedAt: 0,
    statsTimer: 0,
    busy: '',
    failure: '',
    tones: '',
    done: false,
    // The recording as this tab follows it (nextRecord).
    record: NO_RECORD,
    // The id of the call this one consults for a warm transfer ('' for none).
    consultOf: '',
    // The conference the call is in, as rc-conference-notify last said
    // (conference.js readConference), or null.
    conference: null,
    // The id of the call this one is to join as a participant once
    // answered ('' for none), and whether it is being merged now.
    conferenceOf: '',
  };
}

// A call rings here until this tab answers it.
export const isRinging = (entry) => entry.call.direction === 'Inbound' && !entry.pc && !entry.answering &&
  (entry.call.callStatus === STATUS.setup || entry.call.callStatus === STATUS.connecting);

// An established call is one the server has named that neither rings nor is
// being answered: it can be held, muted and sent tones.
export const established = (entry) => Boolean(entry.id) && !isRinging(entry) && !entry.answering;

const isConnected = (e) => established(e) && e.call.callStatus === STATUS.connected && !isOnHold(e.call);
const isHeld = (e) => established(e) && isOnHold(e.call);
// A call in a conference cannot be transferred, moved or recorded (the
// switch refuses).
const recordable = (e) => established(e) && isLive(e.call) && !e.conference;
const inConference = (e) => established(e) && Boolean(e.conference);

// ACTION_RULES says, for each call action, which calls it applies to and
// whether it keeps the call busy (no other busy action until it is done).
// completeTransfer and cancelTransfer apply to either call of a warm
// transfer (transfer.js says which those are); merge to either of the two
// calls it joins (conference.js mergePair). Only the host adds a
// participant to a conference.
export const ACTION_RULES = Object.freeze({
  answer: { allowed: isRinging, busy: true },
  reject: { allowed: isRinging, busy: true },
  ignore: { allowed: isRinging, busy: true },
  forward: { allowed: isRinging, busy: true },
  hangup: { allowed: () => true, busy: true },
  hold: { allowed: (e) => established(e) && isLive(e.call) && !isOnHold(e.call), busy: true },
  unhold: { allowed: (e) => established(e) && isOnHold(e.call), busy: true },
  mute: { allowed: (e) => established(e) && e.call.isOnMute !== true, busy: true },
  unmute: { allowed: (e) => established(e) && e.call.isOnMute === true, busy: true },
  dtmf: { allowed: (e) => established(e) && e.call.callStatus === STATUS.connected && Boolean(e.pc), busy: false },
  switch: { allowed: isHeld, busy: true },
  transfer: { allowed: (e) => established(e) && isLive(e.call) && !e.conference, busy: true },
  move: { allowed: (e) => isConnected(e) && !e.conference, busy: true },
  completeTransfer: { allowed: established, busy: true },
  cancelTransfer: { allowed: established, busy: true },
  toVoicemail: { allowed: isRinging, busy: true },
  startRecord: { allowed: (e) => recordable(e) && recordStatus(e.call) === RECORD.idle, busy: true },
  stopRecord: { allowed: (e) => recordable(e) && recordStatus(e.call) !== RECORD.idle, busy: true },
  pauseRecord: { allowed: (e) => recordable(e) && recordStatus(e.call) === RECORD.recording, busy: true },
  resumeRecord: { allowed: (e) => recordable(e) && recordStatus(e.call) === RECORD.paused, busy: true },
  merge: { allowed: (e) => established(e) && isLive(e.call), busy: true },
  addParticipant: { allowed: (e) => established(e) && isLive(e.call) && (!e.conference || e.conference.host), busy: true },
  removeParticipant: { allowed: inConference, busy: true },
  muteParticipant: { allowed: inConference, busy: true },
  endConference: { allowed: inConference, busy: true },
});

// Actions that mean the ringing call when the host names no call.
const RINGING_ACTIONS = Object.freeze(['answer', 'reject', 'ignore', 'forward', 'toVoicemail']);
// Actions that mean the call in a conference when the host names no call.
const CONFERENCE_ACTIONS = Object.freeze(['removeParticipant', 'endConference']);

// canAct says whether the user may run action on entry now.
export const canAct = (entry, action) => Boolean(entry) && !entry.busy && ACTION_RULES[action].allowed(entry);

// describeState says what a call is, in words for the error message a
// command of the host hears (English).
export function describeState(entry) {
  if (isRinging(entry)) return 'ringing';
  if (!entry.id) return 'being placed';
  if (isOnHold(entry.call)) return 'on hold';
  return entry.call.callStatus === STATUS.connected ? 'connected' : 'not connected yet';
}

// refusal says why action cannot run on entry now, or '' when it can: the
// message a command of the host hears (English; the user reads
// call.notNow).
export function refusal(entry, action) {
  const rule = ACTION_RULES[action];
  if (rule.allowed(entry) && !(rule.busy && entry.busy)) return '';
  return `Cannot ${action} a call that is ${entry.busy ? 'busy' : describeState(entry)}.`;
}

// currentEntry is the call the panel shows: the one the user picked
// (focused), else one that is not on hold, else the latest.
export function currentEntry(list, focused) {
  const candidates = list.filter((entry) => !isRinging(entry));
  return candidates.find((entry) => entry === focused) ??
    candidates.find((entry) => !isOnHold(entry.call)) ??
    candidates.at(-1) ?? null;
}

// findCall is the call a host command means: the one with callId (by any of
// its ids), else for answer, reject, ignore and forward the ringing call,
// for switch a held call other than the current one, for removeParticipant
// and endConference the current one if it is in a conference, else one
// that is, else the current one.
export function findCall(list, focused, callId, action) {
  if (callId !== undefined && callId !== null) {
    return list.find((entry) => entry.id !== '' &&
      [entry.id, entry.call.telephonySessionId, entry.call.sessionId, entry.call.callId].includes(callId)) ?? null;
  }
  if (RINGING_ACTIONS.includes(action)) return list.find(isRinging) ?? null;
  const current = currentEntry(list, focused);
  // Switching goes to a held call other than the one shown.
  if (action === 'switch') return list.find((entry) => entry !== current && isHeld(entry)) ?? current;
  if (CONFERENCE_ACTIONS.includes(action) && !current?.conference) return list.find((entry) => entry.conference) ?? current;
  return current;
}

// controlError names a failed control request the way rc-control-call-error does.
export function controlError(err) {
  const code = String(err?.code ?? '').toLowerCase();
  if (code.includes('state')) return 'invalidState';
  if (code.includes('nosuch') || code.includes('notfound')) return 'noSuchCall';
  // The server has no voicemail and recording, or cannot mix a conference.
  if (code === 'unsupported' || code === 'featurenotavailable') return 'unsupported';
  return 'failed';
}

// ---------------------------------------------------------------------------
// Recording

// A call's recordStatus (contract §5, rc-call-record-notify).
export const RECORD = Object.freeze({ idle: 'idle', recording: 'recording', paused: 'paused' });

// recordStatus reads a call's recordStatus: idle, recording or paused (in
// any case; anything else is idle).
export function recordStatus(call) {
  const status = asString(call?.recordStatus).toLowerCase();
  return status === RECORD.recording || status === RECORD.paused ? status : RECORD.idle;
}

// The recording of a call that is not recorded.
export const NO_RECORD = Object.freeze({ status: RECORD.idle, since: 0, before: 0 });

// nextRecord follows a call's recording as its status changes at now:
// {status, since (when it last started or resumed), before (ms recorded
// until then)}. A recording that stops and starts again counts from 0.
export function nextRecord(record, status, now) {
  if (record.status === status) return record;
  if (status === RECORD.idle) return NO_RECORD;
  if (status === RECORD.recording) {
    const before = record.status === RECORD.paused ? record.before : 0;
    return { status, since: now, before };
  }
  // Paused: what was recorded so far stays.
  const before = record.status === RECORD.recording ? record.before + Math.max(0, now - record.since) : record.before;
  return { status, since: 0, before };
}

// recordElapsed is how long the recording has recorded at now, in ms.
export function recordElapsed(record, now) {
  return record.before + (record.status === RECORD.recording ? Math.max(0, now - record.since) : 0);
}

// recordText is what the call panel's record button says of the recording
// at now: the time recorded, 'Paused' before it when paused; '' when the
// call is not recorded.
export function recordText(record, now) {
  if (record.status === RECORD.idle) return '';
  const elapsed = clock(recordElapsed(record, now));
  return record.status === RECORD.paused ? t('call.recordPaused', { time: elapsed }) : elapsed;
}

// ---------------------------------------------------------------------------
// Words

// clock writes a duration in ms as mm:ss, or h:mm:ss from an hour on.
export function clock(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const pad = (v) => String(v).padStart(2, '0');
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${pad(m)}:${pad(s)}`;
}

// describeCall is who is on the other end of a call: a name and a number,
// as showParty (numbers.js) shows a party everywhere.
export function describeCall(call, region) {
  const inbound = call.direction === 'Inbound';
  const rawNumber = inbound ? (call.from ?? call.fromNumber) : (call.to ?? call.toNumber);
  const { name, number, source, contact } = showParty({
    name: inbound ? call.fromUserName : call.toUserName,
    phoneNumber: typeof rawNumber === 'string' ? rawNumber : rawNumber?.phoneNumber,
    extensionNumber: rawNumber?.extensionNumber,
  }, region);
  // A contact of the host's CRM comes with its source.
  if (contact) return { name, number, source, contact };
  if (name) return { name, number };
  return { name: number || t(inbound ? 'call.unknownCaller' : 'call.unknownNumber'), number: '' };
}

// statusText is what the panel says of a call's state at now.
export function statusText(entry, now) {
  const { call } = entry;
  if (isOnHold(call)) return t('call.onHold');
  if (call.callStatus === STATUS.connected) return clock(now - entry.connectedAt);
  if (entry.answering || call.direction === 'Inbound') return t('call.connecting');
  return t(call.callStatus === STATUS.connecting ? 'call.ringing' : 'call.calling');
}

// callState is a call's state as the panel's data-state says it.
export const callState = (entry) => (isOnHold(entry.call) ? 'onHold' : entry.call.callStatus);

// rowState is a call's state as its row of the /calls page says it.
export const rowState = (entry) => (isRinging(entry) ? 'ringing' : callState(entry));

// endText says how a call ended: its failure, else its call-log result (a
// call that moved to another device of the user: that it moved).
export function endText(entry) {
  if (entry.failure) return entry.failure;
  if (entry.call.reason === 'moved') return t('call.movedAway');
  return t(ownValue(RESULT_KEYS, entry.call.result) ?? 'call.ended');
}

// failureText says how a call failed (rc-call-failed-notify); a code
// without words of its own is a failure (its reason is the server's,
// English).
export function failureText(event) {
  return t(ownValue(FAILURE_KEYS, event.code) ?? 'call.failed');
}

// ---------------------------------------------------------------------------
// Events

// The call events of the stream the phone follows, by what they do.
const CALL_EVENTS = Object.freeze({
  'rc-telephony-session-notify': 'session',
  'rc-call-init-notify': 'update',
  'rc-call-ring-notify': 'update',
  'rc-call-start-notify': 'update',
  'rc-call-hold-notify': 'update',
  'rc-call-resume-notify': 'update',
  'rc-call-mute-notify': 'update',
  'rc-call-record-notify': 'update',
  'rc-call-end-notify': 'end',
  'rc-call-failed-notify': 'fail',
});

// readCallEvent reads an event of the stream as what it asks of the phone:
//   {op: 'update', call}        the server's word on a call
//   {op: 'end', call}           the call ended: its status is finished
//   {op: 'fail', call, text}    the call failed, and how that reads
//   {op: 'session', session}    a telephony session changed
//   {op: 'none'}                a call event without a call the phone can read
// and null for an event that is not about calls.
export function readCallEvent(event) {
  const op = ownValue(CALL_EVENTS, event.type);
  if (!op) return null;
  if (op === 'session') return { op, session: event.telephonySession };
  const call = readCall(event.call);
  if (!call) return { op: 'none' };
  if (op === 'end') return { op, call: { ...call, callStatus: STATUS.finished } };
  if (op === 'fail') return { op, call, text: failureText(event) };
  return { op, call };
}

// PARTY_STATUS maps a telephony-session party status to this device's call
// status. The caller of another widget user learns of the answer only this
// way: its call started when the callee's phone began ringing.
const PARTY_STATUS = Object.freeze({ Answered: STATUS.connected, Hold: STATUS.onHold });

// sessionCall is call as a telephony session of it says it now is: answered
// or held once another party has answered; null when the session changes
// nothing of call.
export function sessionCall(call, session) {
  if (!Array.isArray(session.parties)) return null;
  const party = session.parties.find((p) => p.id === call.partyId);
  const status = party && ownValue(PARTY_STATUS, party.status?.code);
  const others = session.parties.filter((p) => p !== party);
  if (!status || !others.some((p) => p.status?.code === 'Answered' || p.status?.code === 'Hold')) return null;
  if (call.callStatus === status) return null;
  return { ...call, callStatus: status, isOnHold: status === STATUS.onHold };
}

// ---------------------------------------------------------------------------
// Dialer readiness

// dialerStatus is whether the dialer can call, and the problem
// (DIALER_PROBLEMS) that keeps it from calling:
//   state:        the widget's state (session, callWith)
//   microphone:   the microphone's state (checking, available, blocked,
//                 absent or unsupported)
//   callingOff:   the app's flags turn calling off
export function dialerStatus(state, microphone, callingOff) {
  if (!state.session.loggedIn) return { ready: false, problem: '' };
  if (!state.session.features.call || callingOff) return { ready: false, problem: 'callingOff' };
  // A RingOut rings a phone: it needs no microphone here.
  if (state.callWith === 'ringout') return { ready: true, problem: '' };
  if (microphone === 'checking') return { ready: false, problem: '' };
  const problem = ownValue(MICROPHONE_PROBLEMS, microphone) ?? '';
  return { ready: problem === '', problem };
}

// ---------------------------------------------------------------------------
// The registry

// createCallRegistry holds the calls of this tab by id (telephonySessionId).
// A call being dialled has no id until the server names it; it waits as the
// registry's dialing call meanwhile. The call the user last picked
// (dialled, answered or opened) is its focused call.
export function createCallRegistry({ maxFinished = MAX_FINISHED } = {}) {
  const calls = new Map();
  // The party of each finished call, by the call's id.
  const finished = new Map();
  let dialing = null;
  let focused = null;

  // entries lists the calls, the one being dialled last.
  function entries() {
    const list = [...calls.values()];
    if (dialing && !dialing.id && !dialing.done) list.push(dialing);
    return list;
  }

  // endedHere: call finished here. A new party of it (a transfer's recall)
  // did not, nor did one revived (it moves here from another device).
  function endedHere(call, revive) {
    if (!finished.has(call.id) || revive) return false;
    const party = finished.get(call.id);
    return !party || !call.partyId || party === call.partyId;
  }

  // entryFor finds the call's entry, or (with create) makes one. An outbound
  // call the registry does not know yet is the one being dialled: its
  // events may come before the answer to the dial request. A finished call
  // stays finished (endedHere).
  function entryFor(call, { create, revive = false }) {
    const known = calls.get(call.id);
    if (known) return known;
    if (endedHere(call, revive)) return null;
    if (call.direction === 'Outbound' && dialing && !dialing.id && !dialing.done) {
      dialing.id = call.id;
      calls.set(call.id, dialing);
      return dialing;
    }
    if (!create) return null;
    finished.delete(call.id);
    const entry = newEntry(call);
    calls.set(call.id, entry);
    return entry;
  }

  // forget takes a call that ended out of the registry, for good.
  function forget(entry) {
    if (entry.id) {
      calls.delete(entry.id);
      finished.delete(entry.id);
      finished.set(entry.id, asString(entry.call.partyId));
      if (finished.size > maxFinished) finished.delete(finished.keys().next().value);
    }
    if (focused === entry) focused = null;
  }

  return {
    entries,
    entryFor,
    forget,
    // adopt holds entry, a call this tab takes from another device.
    adopt(entry) {
      finished.delete(entry.id);
      calls.set(entry.id, entry);
    },
    // known lists the calls the server has named.
    known: () => [...calls.values()],
    get: (id) => calls.get(id),
    get dialing() {
      return dialing;
    },
    // dial makes entry the call being dialled.
    dial(entry) {
      dialing = entry;
    },
    // dialled ends the dialling of entry, if it is still the call being dialled.
    dialled(entry) {
      if (dialing === entry) dialing = null;
    },
    stopDialing() {
      dialing = null;
    },
    focus(entry) {
      focused = entry;
    },
    // current is the call the panel shows (currentEntry).
    current: (list = entries()) => currentEntry(list, focused),
    find: (callId, action) => findCall(entries(), focused, callId, action),
  };
}
