// The phone's conferences: merging two calls of this tab, adding a
// participant by number, and what the host does to a conference (remove or
// mute a participant, end it for all) or a participant (leave it). Each is
// a request to the server's switch; rc-conference-notify then says what
// the conference is, and each call of this tab in one keeps it
// (entry.conference). What a conference is, is conference.js's.

import { STATUS, established, phoneError, readCall } from './calls.js';
import { ownValue } from './fields.js';
import { readDialled } from './numbers.js';
import {
  addingTo, conferenceOfCall, conferenceUrl, hosts, mergePair, participantProblem, readConference, readConferenceEvent,
} from './conference.js';
import { dialledProblem } from './signalling.js';
import { t } from './i18n.js';

const LOG_PREFIX = '[callbridge]';
const warn = (...args) => console.warn(LOG_PREFIX, ...args);

// Why the switch refuses to merge two answered calls: one of them is with
// a test line, recorded, being transferred, or in a conference of another
// host (the message's key).
export const NOT_MERGEABLE = 'conference.notMergeable';

// What the user is told when the server refuses a request about a
// conference (remove, mute, end), by its errorCode; any other failure says
// fallback's message.
const REFUSALS = Object.freeze({
  InsufficientPermissions: 'conference.hostOnly',
  NotFound: 'conference.gone',
});

// refused is the failure of a request to the server as the user is told
// it: the message of the key known[err.code], else of fallback. The code
// stays the server's, for the host; the server's own words go to the console.
function refused(err, fallback, known = REFUSALS) {
  const code = String(err?.code ?? '');
  warn(`a conference request failed: ${err?.message ?? err}`);
  return phoneError(code || 'failed', t(ownValue(known, code) ?? fallback));
}

// readParticipantNumber reads the number a participant is added by.
export function readParticipantNumber(value) {
  const { number, problem } = readDialled(value);
  const invalid = dialledProblem(problem);
  if (invalid) throw phoneError('invalidNumber', problem === 'empty' ? t('conference.enterNumber') : invalid.message);
  return number;
}

// createConferenceControl carries out the conference actions.
//   device:     device() is this tab's device id
//   request:    request(method, url, body) → Promise of the server's JSON answer
//   registry:   the calls (calls.js)
//   signalling: the phone's signalling (signalling.js)
//   view:       the phone's view (phoneview.js)
//   notify:     notify({message, level}) tells the user something
//   describe:   describe(entry) is who is on the other end: {name, number}
// It returns the call actions, by name (each (entry, options) → Promise),
// and handleEvent(event) for rc-conference-notify.
export function createConferenceControl({ device, request, registry, signalling, view, notify, describe }) {
  const { finish, sendAction } = signalling;
  const withDevice = (url) => `${url}?deviceId=${encodeURIComponent(device())}`;

  // join merges from into into; from ends here (its party left it) and the
  // panel shows the conference. The switch's refusal of a call that cannot
  // be in a conference says why in words about calls in general: the user
  // is told what it means here.
  async function join(into, from) {
    let response;
    try {
      response = await sendAction(into.id, 'merge', { otherCallId: from.id });
    } catch (err) {
      if (/state/i.test(String(err.code ?? ''))) {
        warn(`merge of ${from.id} into ${into.id}: ${err.message}`);
        throw phoneError('invalidState', t(NOT_MERGEABLE));
      }
      throw refused(err, 'conference.mergeFailed', {});
    }
    // The stream may have told of the conference first, and of later changes.
    const conference = readConference(response.conference);
    if (conference && !into.conference && !into.done) into.conference = conference;
    if (!from.done) {
      const call = readCall(response.call) ?? from.call;
      finish(from, { ...call, callStatus: STATUS.finished, result: call.result || 'Call connected' }, { quiet: true });
    }
    if (!into.done) view.focus(into);
  }

  // merge joins entry and the tab's other call (options.otherCallId, or the
  // only other one) in one conference, which the user hosts.
  async function merge(entry, options) {
    const { into, from } = mergePair(registry.entries(), entry, options?.otherCallId);
    const other = into === entry ? from : into;
    other.busy = 'merge';
    try {
      await join(into, from);
    } finally {
      other.busy = '';
    }
  }

  // addParticipant calls options.number while entry waits on hold (the
  // others in its conference talk on); the server joins the call to entry's
  // conference once answered (entry becomes one if it is not yet). If it
  // fails, entry resumes: the server holds a call for a second one only
  // until that one fails or ends.
  async function addParticipant(entry, options) {
    const number = readParticipantNumber(options?.number);
    if (addingTo(registry.entries())) throw phoneError('invalidState', t('conference.addingWait'));
    await signalling.dial(number, { conferenceOf: entry.id });
  }

  // removeParticipant takes options.partyId out of the conference the user
  // hosts: their call ends.
  async function removeParticipant(entry, options) {
    const partyId = options?.partyId;
    const problem = participantProblem(entry, partyId);
    if (problem) throw problem;
    await request('DELETE', withDevice(conferenceUrl(entry.conference.id, partyId))).catch((err) => {
      throw refused(err, 'conference.changeFailed');
    });
  }

  // muteParticipant mutes options.partyId for everyone, or unmutes them
  // (options.muted false).
  async function muteParticipant(entry, options) {
    const partyId = options?.partyId;
    const problem = participantProblem(entry, partyId);
    if (problem) throw problem;
    await request('PATCH', conferenceUrl(entry.conference.id, partyId), { deviceId: device(), muted: options.muted !== false })
      .catch((err) => {
        throw refused(err, 'conference.changeFailed');
      });
  }

  // endConference ends the conference for all when the user hosts it; a
  // participant leaves it (hangs up their own call).
  async function endConference(entry) {
    if (!entry.conference) throw phoneError('invalidState', t('conference.notInConference'));
    if (!hosts(entry)) {
      await signalling.endCall(entry, 'hangup');
      return;
    }
    await request('DELETE', withDevice(conferenceUrl(entry.conference.id))).catch((err) => {
      throw refused(err, 'conference.changeFailed');
    });
  }

  // handleEvent keeps rc-conference-notify's word on the conference of the
  // call of this tab it concerns (other tabs of the user hear of it too).
  function handleEvent(event) {
    const read = readConferenceEvent(event);
    if (!read) return;
    if (read.change === 'rejected' || read.change === 'joined') addedOver(read);
    const entry = registry.get(read.conference.callId);
    if (!entry || entry.done) return;
    entry.conference = conferenceOfCall(read, entry.call.partyId);
  }

  // addedOver ends the adding of a participant to the conference read is
  // about: once they joined, their call ends here (its events say so); a
  // call that was answered but cannot join stays a call of its own, and the
  // user is told.
  function addedOver(read) {
    const adding = addingTo(registry.entries());
    if (!adding || adding.conferenceOf !== read.conference.callId) return;
    const invited = read.conference.invitations.some((i) => i.callId === adding.id);
    if (invited) return; // another invitation than this tab's
    adding.conferenceOf = '';
    if (read.change === 'rejected' && !adding.done && established(adding)) {
      notify({ message: t('conference.couldNotJoin', { name: describe(adding).name }), level: 'warning' });
    }
  }

  return {
    actions: { merge, addParticipant, removeParticipant, muteParticipant, endConference },
    handleEvent,
  };
}
