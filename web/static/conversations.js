// The rules of messages and conversations: reading a message from the
// server, how a message to a number goes, which conversation a message
// belongs to, and what a conversation's row and bubbles say. Pure functions
// only; messages.js keeps the messages, messagelist.js and messagethread.js
// show them.

import { asString, isPlainObject, ownValue } from './fields.js';
import { formatDate, t } from './i18n.js';
import { cleanNumber, hostName, isExtensionNumber, testLineName } from './numbers.js';

// The most a badge counts before it says 99+.
export const MAX_BADGE = 99;

const DAY_MS = 86_400_000;

// How an outbound message went, by its messageStatus, as message keys.
const STATUS_TEXT = Object.freeze({
  Queued: 'messages.statusSending',
  Sent: 'messages.statusSent',
  Delivered: 'messages.statusDelivered',
  DeliveryFailed: 'messages.statusNotDelivered',
});

// What the page says went wrong with a request, by the error's code (the
// server's errorCode, or network, badResponse); any other is ERROR_OTHER.
const ERROR_TEXT = Object.freeze({
  network: 'messages.errorNetwork',
  NotSignedIn: 'messages.errorSignedOut',
  Unauthorized: 'messages.errorSignedOut',
  TooManyRequests: 'messages.errorBusy',
  ServiceUnavailable: 'messages.errorUnavailable',
  StorageUnavailable: 'messages.errorUnavailable',
  ShuttingDown: 'messages.errorUnavailable',
  MessagingOff: 'messages.errorOff',
  NotFound: 'messages.errorNotFound',
  Forbidden: 'messages.errorForbidden',
  InsufficientPermissions: 'messages.errorForbidden',
  badResponse: 'messages.errorBadAnswer',
});
// And what it says of a voicemail's recording that cannot be played.
const RECORDING_ERROR_TEXT = Object.freeze({ ...ERROR_TEXT, NotFound: 'messages.recordingGone' });
const ERROR_OTHER = 'messages.errorOther';

// errorText says in the user's words what went wrong with a request (an
// Error with the server's code and the parameter at fault). to is the
// number a message was sent to, for a refused recipient.
export function errorText(err, to = '') {
  const code = asString(err?.code);
  if (code === 'InvalidParameter') {
    if (err.param === 'text') return t('messages.errorBadText');
    if (err.param === 'to' && to) {
      return messageType(to) === 'Pager' ? t('messages.errorBadExtension', { number: to }) : t('messages.errorBadNumber');
    }
  }
  return t(ownValue(ERROR_TEXT, code) ?? ERROR_OTHER);
}

// recordingErrorText says why a voicemail's recording cannot be played.
export const recordingErrorText = (err) => t(ownValue(RECORDING_ERROR_TEXT, asString(err?.code)) ?? ERROR_OTHER);

// readMessage reads a message of the server: it has an id (a number becomes
// a string) and a creation time, else it is null.
export function readMessage(raw) {
  if (!isPlainObject(raw)) return null;
  const id = typeof raw.id === 'number' ? String(raw.id) : raw.id;
  if (typeof id !== 'string' || id === '') return null;
  if (!Number.isFinite(Date.parse(asString(raw.creationTime)))) return null;
  return { ...raw, id };
}

// The types of conversation rows: a voicemail is a row of its own.
const CONVERSATION_TYPES = Object.freeze(['SMS', 'Pager', 'VoiceMail']);

export const isVoicemail = (m) => m.type === 'VoiceMail';

// voicemailAudio is a voicemail's recording: its first attachment with an
// id, as {id, contentType, duration (whole seconds, 0 when not known)}, or
// null.
export function voicemailAudio(message) {
  const list = Array.isArray(message.attachments) ? message.attachments : [];
  const found = list.find((a) => isPlainObject(a) && (typeof a.id === 'string' || Number.isFinite(a.id)) && String(a.id) !== '');
  if (!found) return null;
  const duration = Number.isFinite(found.vmDuration) && found.vmDuration > 0 ? Math.round(found.vmDuration) : 0;
  return { id: String(found.id), contentType: asString(found.contentType), duration };
}

// contentUrl is where the widget plays a message's attachment from.
export const contentUrl = (messageId, attachmentId) =>
  `/widget/messages/${encodeURIComponent(messageId)}/content/${encodeURIComponent(attachmentId)}`;

// durationText writes whole seconds as m:ss.
export function durationText(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

// time reads one of a message's times as milliseconds (0 when it has none).
export const time = (value) => Date.parse(asString(value)) || 0;
export const isUnread = (m) => m.direction === 'Inbound' && m.readStatus === 'Unread';
const isAlive = (m) => m.availability !== 'Deleted';
const readParty = (raw) => (isPlainObject(raw) ? raw : {});

// messageType is how a message to `to` goes: to an extension number of the
// company as a pager message, else as an SMS.
export function messageType(to) {
  return isExtensionNumber(cleanNumber(to)) ? 'Pager' : 'SMS';
}

// parties are the other end of a message: its sender when inbound, its
// recipients when outbound.
export function parties(message) {
  if (message.direction === 'Inbound') return [readParty(message.from)];
  return (Array.isArray(message.to) ? message.to : []).map(readParty);
}

// replyNumber is what a party is written to: its extension number for
// pager messages, else its phone number.
export function replyNumber(party, type) {
  const phone = asString(party.phoneNumber);
  const extension = asString(party.extensionNumber);
  return type === 'Pager' ? (extension || phone) : (phone || extension);
}

// conversationKey groups messages: by the server's conversationId, else by
// the type and the other party's number.
// A voicemail stands alone: its own row, never part of a conversation.
export function conversationKey(message) {
  if (isVoicemail(message)) return `v:${message.id}`;
  const id = message.conversationId;
  if ((typeof id === 'string' && id !== '') || Number.isFinite(id)) return `c:${id}`;
  return `p:${message.type}:${parties(message).map((p) => replyNumber(p, message.type)).join(',')}`;
}

// groupConversations groups messages that are not deleted into
// conversations, the newest conversation first; each has its messages
// oldest first, its last message, its type, the other parties, how many of
// its messages are unread and the server's conversationId (or null).
export function groupConversations(messages) {
  const groups = new Map();
  for (const message of messages) {
    if (!isAlive(message)) continue;
    const key = conversationKey(message);
    let group = groups.get(key);
    if (!group) {
      group = { key, messages: [] };
      groups.set(key, group);
    }
    group.messages.push(message);
  }
  const list = [...groups.values()].map((group) => {
    group.messages.sort((a, b) => time(a.creationTime) - time(b.creationTime));
    const last = group.messages.at(-1);
    return {
      ...group,
      last,
      type: CONVERSATION_TYPES.includes(last.type) ? last.type : 'SMS',
      others: parties(last),
      unread: group.messages.filter(isUnread).length,
      conversationId: last.conversationId ?? null,
    };
  });
  return list.sort((a, b) => time(b.last.creationTime) - time(a.last.creationTime));
}

// conversationWith finds in list the conversation of a type with one other
// party, who has the number.
export function conversationWith(list, type, number) {
  const wanted = cleanNumber(number);
  return list.find((c) => c.type === type && c.others.length === 1 &&
    [c.others[0].phoneNumber, c.others[0].extensionNumber].some((n) => cleanNumber(n) === wanted)) ?? null;
}

// describeParties names the other parties of a conversation, with the
// number of the one party when a name shows; shown(number) formats a number.
export function describeParties(others, type, shown) {
  // A test number goes by what it does, as everywhere (numbers.js showParty).
  // A number the host's CRM knows goes by its name there.
  const nameOf = (p) => testLineName(asString(p.phoneNumber)) || hostName(p.phoneNumber) || asString(p.name);
  const names = others.map((p) => nameOf(p) || shown(replyNumber(p, type)));
  const name = names.join(', ') || t('messages.unknown');
  const number = others.length === 1 && nameOf(others[0]) ? shown(replyNumber(others[0], type)) : '';
  return { name, number };
}

// CLOCK is how a message's time of day is written.
export const CLOCK = Object.freeze({ hour: 'numeric', minute: '2-digit' });

// shortTime is when a conversation's last message came, as its row says it:
// the time today, Yesterday, the weekday within a week, else the date.
export function shortTime(ms, now = Date.now()) {
  const today = new Date(now).setHours(0, 0, 0, 0);
  if (ms >= today) return formatDate(ms, CLOCK);
  if (ms >= today - DAY_MS) return t('messages.yesterday');
  if (ms >= today - 6 * DAY_MS) return formatDate(ms, { weekday: 'short' });
  return formatDate(ms, { month: 'short', day: 'numeric' });
}

// dayText heads the messages of one day, starting at ms, in a conversation.
export function dayText(ms, now = Date.now()) {
  const today = new Date(now).setHours(0, 0, 0, 0);
  return ms >= today ? t('messages.today') : ms >= today - DAY_MS ? t('messages.yesterday')
    : formatDate(ms, { weekday: 'short', month: 'short', day: 'numeric' });
}

// initials are the first letters of up to two words of a name that start
// with a letter ('' when none does).
export function initials(name) {
  const letters = name.split(/\s+/).filter((word) => /^\p{L}/u.test(word)).map((word) => [...word][0].toUpperCase());
  return letters.slice(0, 2).join('');
}

// preview is a message's text on one line; a voicemail's says it is one,
// and how long.
export function preview(message) {
  if (isVoicemail(message)) {
    const duration = voicemailAudio(message)?.duration ?? 0;
    return duration > 0 ? t('messages.voicemailDuration', { duration: durationText(duration) }) : t('messages.voicemail');
  }
  return asString(message.subject).replace(/\s+/g, ' ').trim();
}

// callBackNumber is the number a voicemail's caller is called back on: its
// phone number, else its extension number ('' when unknown).
export function callBackNumber(message) {
  const from = readParty(message.from);
  return asString(from.phoneNumber) || asString(from.extensionNumber);
}

// deliveryText says how an outbound message went: shown for the last one
// sent (showStatus), and for any that failed.
export function deliveryText(message, showStatus) {
  const failed = message.messageStatus === 'DeliveryFailed';
  if (message.direction !== 'Outbound' || !(showStatus || failed)) return '';
  const key = ownValue(STATUS_TEXT, message.messageStatus);
  return key ? t(key) : '';
}

// listStatus is what the list says above its rows: loading, or why it
// failed (error, in the user's words: errorText).
export function listStatus({ off, phase, count, error }) {
  if (off) return '';
  if (phase === 'loading' && count === 0) return t('messages.loading');
  return phase === 'failed' ? t('messages.loadFailed', { reason: error }) : '';
}

// badgeText is an unread count as a badge says it.
export const badgeText = (unread) => (unread > MAX_BADGE ? `${MAX_BADGE}+` : String(unread));

// composeHint says how a new message to `to` goes; format(number) formats
// a phone number.
export function composeHint(to, format) {
  if (!to) return t('messages.composeHint');
  return messageType(to) === 'Pager' ? t('messages.composePager', { number: to }) : t('messages.composeSms', { number: format(to) });
}
