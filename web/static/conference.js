// Conferences, as the phone sees them: what rc-conference-notify says of a
// conference this tab's call is in, which two calls a merge joins, what
// the host may ask of a participant, and what the participant list says.
//
// A conference is the server's: the host merged calls of theirs, and the
// gateway mixes everyone's audio. A call of this tab in one keeps the
// latest word of it in entry.conference (readConference, or null); a call
// dialled to add a participant names the call it joins in conferenceOf, and
// joins it once answered. Everything here is a pure function, tested under
// `node --test` (web/test/conference.test.js).

import { asString, isPlainObject } from './fields.js';
import { established, isLive, phoneError } from './calls.js';
import { showParty } from './numbers.js';
import { t } from './i18n.js';

// The host's endpoints: /widget/conferences/{id}[/participants/{partyId}].
export const CONFERENCES_URL = '/widget/conferences';
export function conferenceUrl(id, partyId) {
  const base = `${CONFERENCES_URL}/${encodeURIComponent(id)}`;
  return partyId === undefined ? base : `${base}/participants/${encodeURIComponent(partyId)}`;
}

// The longest partyId a host command may name.
export const MAX_PARTY_ID = 64;

// The changes of rc-conference-notify (docs/events.md).
export const CHANGES = Object.freeze(['created', 'invited', 'joined', 'rejected', 'left', 'removed', 'held', 'resumed', 'updated', 'ended']);


// readParticipant keeps a participant of rc-conference-notify when it is one.
function readParticipant(raw) {
  if (!isPlainObject(raw) || asString(raw.partyId) === '') return null;
  return {
    partyId: raw.partyId,
    callId: asString(raw.telephonySessionId),
    name: asString(raw.name),
    number: asString(raw.number),
    extensionNumber: asString(raw.extensionNumber),
    host: raw.host === true,
    status: asString(raw.status),
    muted: raw.muted === true,
    mutedByHost: raw.mutedByHost === true,
  };
}

// readConference reads the conference of rc-conference-notify (or of a
// merge's answer): {id, callId (the user's own call in it), hostCallId,
// host (the user hosts it), hostPresent, state, participants}; null when
// it is not one.
export function readConference(raw) {
  if (!isPlainObject(raw) || asString(raw.id) === '' || asString(raw.telephonySessionId) === '') return null;
  const participants = Array.isArray(raw.participants) ? raw.participants.map(readParticipant).filter(Boolean) : [];
  return {
    id: raw.id,
    callId: raw.telephonySessionId,
    hostCallId: asString(raw.hostSessionId),
    host: raw.host === true,
    hostPresent: raw.hostPresent !== false,
    state: asString(raw.state),
    participants,
    invitations: Array.isArray(raw.invitations) ? raw.invitations.map(readInvitation).filter(Boolean) : [],
  };
}

// readInvitation reads one of a conference's invitations: the call placed
// to add someone, still ringing.
function readInvitation(raw) {
  if (!isPlainObject(raw) || asString(raw.telephonySessionId) === '') return null;
  return { callId: raw.telephonySessionId, name: asString(raw.name), number: asString(raw.number) };
}

// readConferenceEvent reads rc-conference-notify: {change, conference}, or
// null for another event or one the phone cannot read.
export function readConferenceEvent(event) {
  if (event?.type !== 'rc-conference-notify' || !CHANGES.includes(event.change)) return null;
  const conference = readConference(event.conference);
  return conference ? { change: event.change, conference } : null;
}

// conferenceOfCall is what a call whose own party is partyId keeps of a
// conference change: the conference while the call is in it, null once it
// ended or the party is out of it (left, removed).
export function conferenceOfCall({ change, conference }, partyId) {
  if (change === 'ended' || conference.state === 'ended') return null;
  if (partyId && !conference.participants.some((p) => p.partyId === partyId)) return null;
  return conference;
}

// hosts says whether the user hosts the conference of entry's call.
export const hosts = (entry) => entry?.conference?.host === true;

// others are the participants but the user's own party (partyId).
export const othersOf = (conference, partyId) => conference.participants.filter((p) => p.partyId !== partyId);

// describeConference is who is on the other end of a call in a conference:
// "Conference", and the others' names.
export function describeConference(conference, partyId, region) {
  const shown = (p) => showParty({ name: p.name, phoneNumber: p.number }, region);
  const names = othersOf(conference, partyId).map((p) => shown(p).name || shown(p).number || t('conference.unknown'));
  return { name: t('conference.conference'), number: names.join(', ') };
}

// conferenceTitle heads the participant list: how many are in it.
export function conferenceTitle(conference) {
  return t('conference.participantsCount', { count: conference.participants.length });
}

// participantRows is what the list shows of each participant, the user's
// own party (partyId) first as "You": {partyId, name, detail (number and
// status), state (connected, onHold), muted (its badge, '' for none), self,
// host, mute (the host's button: {muted (what a click asks), label}, null
// for none), remove (whether the host may remove them)}.
export function participantRows(conference, partyId, region) {
  const own = conference.participants.filter((p) => p.partyId === partyId);
  const rows = [...own, ...othersOf(conference, partyId)];
  return rows.map((p) => {
    const self = p.partyId === partyId;
    const held = p.status === 'Hold';
    const party = showParty({ name: p.name, phoneNumber: p.number }, region);
    const { number } = party;
    const name = self ? t('conference.you') : (party.name || number || t('conference.unknown'));
    // The dot says a participant is connected; the words say who hosts and who holds.
    const detail = [self || name === number ? '' : number, p.host ? t('conference.host') : '', held ? t('conference.onHold') : ''];
    let muted = '';
    if (p.mutedByHost) muted = t('conference.mutedByHost');
    else if (p.muted) muted = t('conference.muted');
    const manage = conference.host && !self && !p.host;
    return {
      partyId: p.partyId,
      name,
      detail: detail.filter(Boolean).join(' · '),
      state: held ? 'onHold' : 'connected',
      muted,
      self,
      host: p.host,
      mute: manage ? { muted: !p.mutedByHost, label: t(p.mutedByHost ? 'conference.unmute' : 'conference.mute') } : null,
      remove: manage,
    };
  });
}

// mergeable says whether a call can be merged: the server named it, it is
// answered (or held) and this tab is not answering it.
export const mergeable = (entry) => Boolean(entry) && !entry.done && established(entry) && isLive(entry.call);

const ids = (entry) => [entry.id, entry.call.telephonySessionId, entry.call.sessionId, entry.call.callId];

// mergePair is which two calls merging entry joins, {into, from}: from is
// merged into into, whose party (the host's) stays. The other call is
// otherCallId, else the only other call of the tab that can be merged. A
// conference the user hosts is always the one merged into; any other call
// in a conference cannot be merged. It throws a phoneError (noSuchCall,
// invalidState) when there is no such pair.
export function mergePair(list, entry, otherCallId) {
  let other;
  if (otherCallId !== undefined && otherCallId !== null && otherCallId !== '') {
    other = list.find((e) => e !== entry && e.id !== '' && ids(e).includes(otherCallId));
    if (!other) throw phoneError('noSuchCall', t('conference.noSuchCallToMerge', { callId: String(otherCallId) }));
  } else {
    const others = list.filter((e) => e !== entry && mergeable(e));
    if (others.length === 0) throw phoneError('noSuchCall', t('conference.noOtherCall'));
    if (others.length > 1) throw phoneError('invalidState', t('conference.severalOtherCalls'));
    [other] = others;
  }
  if (!mergeable(entry) || !mergeable(other)) throw phoneError('invalidState', t('conference.bothAnswered'));
  let into = entry;
  let from = other;
  if (hosts(from) && !hosts(into)) [into, from] = [from, into];
  if (from.conference) throw phoneError('invalidState', t('conference.alreadyInConference'));
  if (into.conference && !hosts(into)) throw phoneError('invalidState', t('conference.hostOnlyMerge'));
  return { into, from };
}

// canMerge says whether the user may merge entry with other now.
export function canMerge(list, entry, other) {
  if (!entry || !other || entry === other || entry.busy || other.busy) return false;
  try {
    mergePair(list, entry, other.id);
    return true;
  } catch {
    return false;
  }
}

// addingTo is the call a participant is being added to (its conferenceOf
// call), or null.
export function addingTo(list) {
  return list.find((e) => e.conferenceOf && !e.done) ?? null;
}

// participantProblem is the phoneError of a host's request about the
// participant partyId of entry's conference, or null when there is none.
export function participantProblem(entry, partyId) {
  const conference = entry.conference;
  if (!conference) return phoneError('invalidState', t('conference.notInConference'));
  if (!conference.host) return phoneError('invalidState', t('conference.hostOnly'));
  if (!conference.participants.some((p) => p.partyId === partyId)) {
    return phoneError('noSuchCall', t('conference.noSuchParticipant', { partyId: String(partyId) }));
  }
  return null;
}
