// RingOut: in the RingOut calling mode the phone places its calls here. A
// RingOut rings the user's own phone (myLocation) first, then the number
// dialled; the RingOut bar follows it through rc-ringout-call-notify and the
// RingOut's telephony session, and can cancel it.

import { errorText } from './calls.js';
import { asString, isPlainObject, ownValue } from './fields.js';
import { t } from './i18n.js';

const RINGOUT_URL = '/widget/ringout';
const ringOutUrl = (id) => `${RINGOUT_URL}/${encodeURIComponent(id)}`;
// How long the RingOut bar says how a RingOut ended.
const ENDED_DISPLAY_MS = 4_000;

// How a RingOut that ended before it connected ended, by the failing
// party's status (seeds/001 RingOut statuses): message keys.
const CALLER_FAILURES = {
  NoAnswer: 'phone.ringOutYouNoAnswer',
  Busy: 'phone.ringOutYouBusy',
  Rejected: 'phone.ringOutYouDeclined',
  CannotReach: 'phone.ringOutYouUnreachable',
};
const CALLEE_FAILURES = {
  NoAnswer: 'call.noAnswer',
  Busy: 'call.busy',
  Rejected: 'call.declined',
  CannotReach: 'phone.ringOutUnreachable',
};

// The elements of the RingOut bar, by their ids in the widget's page.
const ELEMENT_IDS = Object.freeze({ bar: 'cb-ringout', barText: 'cb-ringout-text', barCancel: 'cb-ringout-cancel' });

// ringOutError is a RingOut that cannot be placed: message for the host
// page (English), text for the user.
const ringOutError = (code, message, text) => Object.assign(new Error(message), { code, text });

// statusPhase reads a RingOut's status (seeds/001): both parties InProgress
// while the caller's phone rings, then the callee's; Success once
// connected; anything else ends it. It returns {phase} (caller, callee or
// connected), or {ended: text} saying how it ended, or null for no status.
export function statusPhase(status) {
  if (!isPlainObject(status)) return null;
  const { callStatus, callerStatus, calleeStatus } = status;
  if (callStatus === 'Success' || (callerStatus === 'Success' && calleeStatus === 'Success')) {
    return { phase: 'connected' };
  }
  if (callStatus === 'InProgress' || callStatus === undefined) {
    return { phase: callerStatus === 'Success' ? 'callee' : 'caller' };
  }
  return { ended: t(ownValue(CALLER_FAILURES, callerStatus) ?? ownValue(CALLEE_FAILURES, calleeStatus) ?? 'phone.ringOutFailed') };
}

// The RingOut's call (activeCall shape, the user's own leg) tells how it
// goes on: Ringing while the user's phone rings, CallConnected once it
// answered (the other number may still ring), OnHold, NoCall at the end.
const CALL_PHASES = {
  Ringing: (phase) => phase,
  CallConnected: (phase) => (phase === 'caller' ? 'callee' : phase),
  OnHold: () => 'connected',
};

// callPhase is the phase a RingOut in phase moves to on its call's
// telephonyStatus, or '' when that status is not one of a RingOut going on.
export function callPhase(phase, telephonyStatus) {
  const next = ownValue(CALL_PHASES, telephonyStatus);
  return next ? next(phase) : '';
}

// endedText says how a RingOut whose call ended (NoCall) ended.
export function endedText(current) {
  if (current.cancelling) return t('phone.ringOutCancelled');
  return t(current.phase === 'connected' ? 'phone.ringOutEnded' : 'phone.ringOutEndedEarly');
}

// isConnected is whether a telephony session says every party answered: the
// number dialled has answered the RingOut.
export function isConnected(session) {
  const parties = Array.isArray(session.parties) ? session.parties : [];
  const answered = (p) => ['Answered', 'Hold'].includes(p?.status?.code);
  return parties.length >= 2 && parties.every(answered);
}

// barText is what the RingOut bar says of a RingOut; shown(number) formats
// a number ('' for none).
export function barText(current, shown) {
  if (current.ended) return current.text;
  const to = shown(current.to) || t('phone.ringOutTheNumber');
  if (!current.id && current.from) return t('phone.ringOutPlacing', { to });
  if (current.phase === 'connected') return t('phone.ringOutConnected', { to });
  if (current.phase === 'callee') return t('phone.ringOutCalling', { to });
  return t('phone.ringOutRingingYou', { from: shown(current.from) });
}

// createRingOut places and follows the RingOut of this widget.
//   request:    request(method, url, body) → Promise of the server's JSON
//               answer, rejecting with an Error that carries the server's code
//   showAlert:  showAlert({message, level}) shows a banner
//   myLocation: myLocation() is the phone a RingOut rings first
//   shown:      shown(number) formats a number for the page
//   changed:    changed() shows the settings again, the bar with them
// It returns { ringOut(number), handleEvent(event), clear(), render() }.
export function createRingOut({ request, showAlert, myLocation, shown, changed }) {
  const ui = Object.fromEntries(Object.entries(ELEMENT_IDS).map(([key, id]) => [key, document.getElementById(id)]));
  // The RingOut this widget follows: {id, session, from, to, phase, text,
  // ended, cancelling}; id is the RingOut's, session its telephony
  // session's; phase is caller, callee or connected.
  let ringout = null;
  let ringoutTimer = 0;

  // ringOut places a RingOut from myLocation to number. It resolves once
  // the server has it, and rejects with an Error that carries a code.
  async function ringOut(number) {
    if (ringout && !ringout.ended) {
      throw ringOutError('busy', 'A RingOut is under way: cancel it or wait until it ends.', t('phone.ringOutBusy'));
    }
    const from = myLocation();
    if (!from) {
      throw ringOutError('noLocation', 'Set My location in Settings: the phone a RingOut rings first.', t('phone.ringOutNoLocation'));
    }
    clearTimeout(ringoutTimer);
    const current = { id: '', session: '', from, to: number, phase: 'caller', text: '', ended: false, cancelling: false };
    ringout = current;
    changed();
    let answer;
    try {
      answer = await request('POST', RINGOUT_URL, { from, to: number });
    } catch (err) {
      if (ringout === current) ringout = null;
      changed();
      throw err;
    }
    if (ringout !== current) return;
    current.id = asString(answer.id) || (Number.isFinite(answer.id) ? String(answer.id) : '');
    current.session = asString(answer.telephonySessionId);
    applyStatus(current, answer.status);
  }

  // applyStatus follows a RingOut's status.
  function applyStatus(current, status) {
    const next = statusPhase(status);
    if (next?.ended !== undefined) {
      end(current, { text: next.ended });
      return;
    }
    if (next) current.phase = next.phase;
    changed();
  }

  function onRingOutCall(event) {
    const call = isPlainObject(event.call) ? event.call : null;
    if (!call) return;
    const status = asString(call.telephonyStatus);
    if (!ringout || ringout.ended) {
      if (status === 'NoCall' || !ownValue(CALL_PHASES, status)) return;
      // A RingOut placed elsewhere (by the user's CRM, say): followed, not cancelled here.
      const other = isPlainObject(call.to) ? call.to : {};
      clearTimeout(ringoutTimer);
      const from = isPlainObject(call.from) ? call.from : {};
      ringout = {
        id: '', session: '', from: asString(from.phoneNumber) || asString(from.extensionNumber),
        to: asString(other.phoneNumber) || asString(other.extensionNumber),
        phase: 'caller', text: '', ended: false, cancelling: false,
      };
    }
    ringout.session ||= asString(call.telephonySessionId);
    const next = callPhase(ringout.phase, status);
    if (next) {
      ringout.phase = next;
      changed();
    } else if (status === 'NoCall') {
      end(ringout, { text: endedText(ringout) });
    }
  }

  // onTelephonySession learns from the RingOut's session when the number
  // dialled answered: then every party is answered.
  function onTelephonySession(event) {
    const session = isPlainObject(event.telephonySession) ? event.telephonySession : null;
    if (!ringout || ringout.ended || !session || !ringout.session || session.id !== ringout.session) return;
    if (isConnected(session) && ringout.phase !== 'connected') {
      ringout.phase = 'connected';
      changed();
    }
  }

  async function cancel() {
    const current = ringout;
    if (!current || current.ended || !current.id || current.cancelling) return;
    current.cancelling = true;
    changed();
    try {
      await request('DELETE', ringOutUrl(current.id));
      end(current, { text: t('phone.ringOutCancelled') });
    } catch (err) {
      showAlert({ message: t('phone.ringOutCancelFailed', { reason: errorText(err) }), level: 'danger' });
    } finally {
      current.cancelling = false;
      changed();
    }
  }

  // end shows how a RingOut ended for a moment.
  function end(current, { text }) {
    if (!current || current !== ringout || current.ended) return;
    current.ended = true;
    current.text = text;
    clearTimeout(ringoutTimer);
    ringoutTimer = setTimeout(() => {
      if (ringout === current) ringout = null;
      changed();
    }, ENDED_DISPLAY_MS);
    changed();
  }

  // clear forgets the RingOut without a word (the user signed out).
  function clear() {
    ringout = null;
    clearTimeout(ringoutTimer);
    changed();
  }

  function render() {
    ui.bar.hidden = !ringout;
    if (!ringout) return;
    ui.bar.dataset.state = ringout.ended ? 'ended' : ringout.phase;
    ui.barText.textContent = barText(ringout, shown);
    ui.barCancel.hidden = ringout.ended || !ringout.id || ringout.phase === 'connected';
    ui.barCancel.disabled = ringout.cancelling;
  }

  const EVENTS = {
    'rc-ringout-call-notify': onRingOutCall,
    'rc-telephony-session-notify': onTelephonySession,
  };

  // handleEvent follows the RingOut through the events of the stream.
  function handleEvent(event) {
    ownValue(EVENTS, event.type)?.(event);
  }

  ui.barCancel.addEventListener('click', cancel);

  return { ringOut, handleEvent, clear, render };
}
