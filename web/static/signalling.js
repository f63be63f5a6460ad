// The phone's signalling: what it asks the server's switch about calls
// (JSON requests to dial, answer and control them, and the list of this
// device's calls) and how it follows the call events of the event stream
// (contract §3, §5 `call`). The server's word on a call goes into the
// registry here, and a call that ends here ends here only.

import {
  STATUS, dialerError, isLive, isRinging, newEntry, nextRecord, phoneError, readCall, readCallEvent, recordStatus, sessionCall,
} from './calls.js';
import { t } from './i18n.js';
import { MAX_NUMBER_LENGTH, readDialled } from './numbers.js';

const LOG_PREFIX = '[callbridge]';
const warn = (...args) => console.warn(LOG_PREFIX, ...args);

export const CALLS_URL = '/widget/calls';
export const callUrl = (id, action) => `${CALLS_URL}/${encodeURIComponent(id)}/${action}`;

// dialledProblem is the phoneError for a number that cannot be called
// (numbers.js readDialled), or null.
export function dialledProblem(problem) {
  if (problem === 'empty') return phoneError('invalidNumber', 'Enter a number to call.', t('phone.enterNumberToCall'));
  if (problem === 'tooLong') {
    return phoneError('invalidNumber', `A number has at most ${MAX_NUMBER_LENGTH} characters.`,
      t('phone.numberTooLong', { max: MAX_NUMBER_LENGTH }));
  }
  return null;
}

// createSignalling talks with the server about this tab's calls.
//   device:   device() is this tab's device id
//   store:    the widget's store (the session, dialerProblem)
//   request:  request(method, url, body) → Promise of the server's JSON answer
//   registry: the calls (calls.js)
//   media:    the calls' audio (media.js)
//   ringer:   the ringing tone and notifications (ringer.js)
//   view:     the phone's view (phoneview.js)
//   elsewhere: elsewhere(id) says whether another device of the user
//             carries call id (remotecalls.js): a call that ended here
//             rings here again when it moves back
export function createSignalling({ device, store, request, registry, media, ringer, view, elsewhere = () => false }) {
  const sendAction = (id, action, fields = {}) => request('POST', callUrl(id, action), { deviceId: device(), ...fields });

  // ringingChanged rings for the calls that ring, and shows them all.
  function ringingChanged() {
    ringer.update(registry.known());
    view.render();
  }

  // applyCall takes the server's word on a call (revive: it rings here anew).
  function applyCall(call, { revive = false } = {}) {
    const entry = registry.entryFor(call, { create: true, revive });
    if (!entry) return;
    if (call.callStatus === STATUS.finished) {
      finish(entry, call);
      return;
    }
    entry.call = call;
    entry.record = nextRecord(entry.record, recordStatus(call), Date.now());
    if (isRinging(entry)) media.prepare(entry);
    else if (entry.prepared && !entry.answering) media.dropPrepared(entry);
    if (isLive(call) && !entry.connectedAt) entry.connectedAt = Date.now();
    media.watchStats(entry);
    media.applyMute(entry);
  }

  // finish ends a call here: its statistics go out a last time, its media
  // closes, and the panel says how it ended (unless quiet).
  function finish(entry, call = entry.call, { quiet = false } = {}) {
    if (entry.done) return;
    const shown = !quiet && view.shows(entry);
    entry.done = true;
    entry.call = call;
    // A call the server named is no longer being dialled once it ended,
    // even if the answer to its dial request is still on its way.
    if (entry.id) registry.dialled(entry);
    registry.forget(entry);
    media.end(entry);
    if (shown) view.showEnded(entry);
    ringingChanged();
  }

  // finishAll ends every call here, without a word on the panel.
  function finishAll() {
    registry.entries().forEach((entry) => finish(entry, entry.call, { quiet: true }));
    registry.stopDialing();
    view.clearEnded();
  }

  // -------------------------------------------------------------------------
  // Requests

  // dial places a call to number; it resolves to its entry once the server
  // has it. A call the device carries live is held by the server first, and
  // resumes when this one fails or ends. consultOf names the call this one
  // consults for (a warm transfer), conferenceOf the call it is to join
  // once answered (a participant added to a conference).
  async function dial(number, { consultOf = '', conferenceOf = '' } = {}) {
    const { number: to, problem } = readDialled(number);
    if (problem) throw dialledProblem(problem);
    const { dialerProblem } = store.get();
    if (dialerProblem) throw dialerError(dialerProblem);
    if (registry.dialing) {
      throw phoneError('busy', 'Another call is being placed; try again once it rings.', t('phone.alreadyDialling'));
    }
    const entry = newEntry({
      id: '', direction: 'Outbound', callStatus: STATUS.setup, to, toUserName: '', from: '', isOnHold: false, isOnMute: false,
    });
    entry.consultOf = consultOf;
    entry.conferenceOf = conferenceOf;
    registry.dial(entry);
    view.focus(entry);
    view.render();
    try {
      // The request goes as soon as the offer is ready; the microphone
      // joins the call as it opens.
      const { sdp, microphone } = await media.dialOffer(entry);
      if (entry.done) throw phoneError('cancelled', 'The call was cancelled.');
      // A participant added is called for the conference: the server joins
      // the call to it once answered.
      const body = conferenceOf ? { deviceId: device(), to, sdp, conferenceId: conferenceOf } : { deviceId: device(), to, sdp };
      const answer = await request('POST', CALLS_URL, body);
      const call = readCall(answer.call);
      if (!call) throw phoneError('badResponse', 'The server did not say which call it placed.', t('call.placedUnknown'));
      if (entry.done && !entry.id) {
        // Hung up before the server named the call: end it there too.
        sendAction(call.id, 'hangup').catch((err) => warn(`could not cancel call ${call.id}: ${err.message}`));
        throw phoneError('cancelled', 'The call was cancelled.');
      }
      // Ended already: its events said how.
      if (entry.done) return entry;
      // Events may have named the call already, with news newer than this answer.
      if (!entry.id) applyCall(call);
      if (entry.done) return entry;
      if (!answer.sdp) {
        // The call failed at once; its events say how.
        media.close(entry);
        return entry;
      }
      await media.accept(entry, answer.sdp);
      await microphone;
      return entry;
    } catch (err) {
      if (!entry.done) {
        if (entry.id) sendAction(entry.id, 'hangup').catch(() => {});
        finish(entry, entry.call, { quiet: true });
      }
      throw err;
    } finally {
      registry.dialled(entry);
      view.render();
    }
  }

  // answer picks up a ringing call. The call the device carries live is
  // held by the server first (options.action 'hold', the default) or ended
  // ('end'); a held one resumes if this answer fails.
  async function answer(entry, options) {
    entry.answering = true;
    view.focus(entry);
    ringingChanged();
    let answered = false;
    // Holding is what the server does by default: only ending is asked for.
    const action = options?.action === 'end' ? { action: 'end' } : {};
    try {
      const { sdp, microphone } = await media.answerOffer(entry);
      if (entry.done) throw phoneError('cancelled', 'The call ended before it was answered.');
      const response = await request('POST', callUrl(entry.id, 'answer'), { deviceId: device(), sdp, ...action });
      answered = true;
      const call = readCall(response.call);
      if (call) applyCall(call);
      if (entry.done) return;
      if (!response.sdp) {
        throw phoneError('badResponse', 'The server answered the call without its audio.', t('call.answeredNoAudio'));
      }
      await media.accept(entry, response.sdp);
      await microphone;
    } catch (err) {
      if (!entry.done) {
        if (answered) {
          sendAction(entry.id, 'hangup').catch(() => {});
          finish(entry, entry.call, { quiet: true });
        } else {
          media.close(entry);
        }
      }
      throw err;
    } finally {
      entry.answering = false;
      ringingChanged();
    }
  }

  // endCall rejects or hangs up; a call the server has not named yet is
  // cancelled here, and dial() ends it there once it knows its id.
  async function endCall(entry, action) {
    if (!entry.id) {
      entry.failure = t('call.cancelled');
      finish(entry);
      return;
    }
    const response = await sendAction(entry.id, action);
    finish(entry, readCall(response.call) ?? entry.call, { quiet: action === 'reject' });
  }

  // change holds, resumes, mutes or unmutes a call. Muting turns the
  // microphone off at once, before the server confirms.
  async function change(entry, action) {
    if (action === 'mute') media.muteNow(entry);
    try {
      const call = readCall((await sendAction(entry.id, action)).call);
      if (call) applyCall(call);
    } finally {
      media.applyMute(entry);
    }
  }

  // sessions lists the calls of this device as the server knows them.
  async function sessions() {
    if (!store.get().session.loggedIn) return [];
    const response = await request('GET', `${CALLS_URL}?deviceId=${encodeURIComponent(device())}`);
    return Array.isArray(response.calls) ? response.calls.filter((call) => readCall(call)) : [];
  }

  // resync catches up with the server after the event stream lost events.
  async function resync() {
    const list = await sessions();
    const known = new Set(list.map((call) => call.id));
    list.forEach((call) => applyCall(call));
    for (const entry of registry.known()) {
      if (!known.has(entry.id) && !entry.busy && !entry.answering) {
        finish(entry, { ...entry.call, callStatus: STATUS.finished }, { quiet: true });
      }
    }
    ringingChanged();
  }

  // -------------------------------------------------------------------------
  // Server events

  // STEPS carries out what a call event asks of the phone (calls.js readCallEvent).
  const STEPS = {
    none: () => {},
    update: ({ call }, event) => applyCall(call, { revive: event.type === 'rc-call-ring-notify' && elsewhere(call.id) }),
    end: ({ call }) => {
      const entry = registry.entryFor(call, { create: false });
      if (entry) finish(entry, call);
    },
    fail: ({ call, text }) => {
      const entry = registry.entryFor(call, { create: false });
      if (entry) {
        entry.failure = text;
        applyCall(call);
      } else {
        view.endedWith(call.id, text);
      }
    },
    session: ({ session }) => {
      const entry = session && registry.get(session.id);
      if (!entry || entry.done) return;
      const call = sessionCall(entry.call, session);
      if (call) applyCall(call);
    },
  };

  // handleEvent follows a call event of the stream while a user is signed in.
  function handleEvent(event) {
    const step = readCallEvent(event);
    if (!step || !store.get().session.loggedIn) return;
    STEPS[step.op](step, event);
    ringingChanged();
  }

  return {
    applyCall, finish, finishAll, dial, answer, endCall, change, sendAction, sessions, resync, handleEvent, ringingChanged,
  };
}
