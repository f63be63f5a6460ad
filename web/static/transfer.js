// Transfers, as the phone sees them: which two calls of this tab make a
// warm transfer, the account's extensions the transfer panel offers, what
// the panel transfers to, and what rc-call-transfer-notify tells the user.
//
// A warm (attended) transfer is a consult call placed while the first call
// waits on hold; the consult call's entry names the first in consultOf.
// Completing it bridges the two remote parties and this tab leaves both
// calls; cancelling hangs the consult call up and the first resumes. A
// blind transfer needs no state here: this tab's call ends at once.
// Everything here is a pure function, tested under `node --test`
// (web/test/transfer.test.js).

import { asString, isPlainObject, ownValue } from './fields.js';
import { STATUS } from './calls.js';
import { cleanNumber, showParty } from './numbers.js';
import { t } from './i18n.js';

// The account's extensions, for the transfer panel (?q= filters them).
export const EXTENSIONS_URL = '/widget/extensions';
export const extensionsUrl = (query) => `${EXTENSIONS_URL}?q=${encodeURIComponent(query.trim())}`;

// The panel lists at most this many extensions at once; the filter finds the rest.
export const MAX_EXTENSIONS_SHOWN = 50;

// What an extension's telephonyStatus says to someone picking a target
// (text is the message's key).
const EXTENSION_STATUS = Object.freeze({
  NoCall: { text: 'transfer.statusAvailable', busy: false },
  Ringing: { text: 'transfer.statusRinging', busy: true },
  CallConnected: { text: 'transfer.statusOnCall', busy: true },
  OnHold: { text: 'transfer.statusOnCall', busy: true },
});

const live = (entry) => entry && !entry.done;

// consultPair is the warm transfer entry takes part in, {original, consult},
// or null: entry is the consult call, or the call a live consult is for.
export function consultPair(list, entry) {
  if (!live(entry)) return null;
  if (entry.consultOf) {
    const original = list.find((e) => e.id === entry.consultOf && live(e));
    return original ? { original, consult: entry } : null;
  }
  if (!entry.id) return null;
  const consult = list.find((e) => e.consultOf === entry.id && live(e));
  return consult ? { original: entry, consult } : null;
}

// findConsultPair is the warm transfer a host command means: the one of
// entry (when given), else the first of list.
export function findConsultPair(list, entry) {
  if (entry) return consultPair(list, entry);
  for (const e of list) {
    const pair = e.consultOf ? consultPair(list, e) : null;
    if (pair) return pair;
  }
  return null;
}

// canComplete says whether a warm transfer can be completed now: the
// consulted party answered (the buttons also wait while a call is busy).
export function canComplete(pair) {
  if (!pair || !pair.original.id || !pair.consult.id) return false;
  return pair.consult.call.callStatus === STATUS.connected || pair.consult.call.callStatus === STATUS.onHold;
}

// readExtensions reads the server's list of extensions (GET
// /widget/extensions: records, each with its presence when the server keeps
// it): each with an extension number, without ownNumber (the signed-in
// user's), ordered by number.
export function readExtensions(response, ownNumber = '') {
  const list = Array.isArray(response?.records) ? response.records : [];
  return list
    .filter((x) => isPlainObject(x) && asString(x.extensionNumber) !== '' && x.extensionNumber !== ownNumber)
    .map((x) => {
      const status = isPlainObject(x.presence) ? ownValue(EXTENSION_STATUS, x.presence.telephonyStatus) : undefined;
      return {
        id: String(x.id ?? x.extensionNumber),
        number: x.extensionNumber,
        name: asString(x.name) || t('transfer.extensionName', { number: x.extensionNumber }),
        status: status ? t(status.text) : '',
        busy: status?.busy ?? false,
      };
    })
    .sort((a, b) => a.number.localeCompare(b.number, 'en', { numeric: true }));
}

// filterExtensions keeps the extensions query names: a word of the name
// that starts with it, or a number that contains its digits.
export function filterExtensions(list, query) {
  const q = query.trim().toLowerCase();
  if (!q) return list;
  const digits = cleanNumber(q);
  return list.filter((x) => x.name.toLowerCase().split(/\s+/).some((word) => word.startsWith(q)) ||
    x.name.toLowerCase().startsWith(q) ||
    (/^\d+$/.test(digits) && x.number.includes(digits)));
}

// transferTarget is what the panel transfers to: the picked extension's
// number, else the number typed ('' when neither).
export function transferTarget(typed, picked) {
  if (picked) return picked.number;
  const number = cleanNumber(typed);
  return /^[+*#\d]+$/.test(number) ? number : '';
}

// targetName names a transfer's target for the user: the extension's name
// when it is one of the list, else the number shown for the region.
export function targetName(target, extensions, region) {
  const extension = extensions.find((x) => x.number === target);
  if (extension) return extension.name;
  const party = showParty({ phoneNumber: target }, region);
  return party.name || party.number;
}

// What the user is told of each state of a transfer: the message's key
// with the target named, and without.
const TRANSFER_NOTICES = Object.freeze({
  started: { named: 'transfer.transferring', unnamed: 'transfer.transferringUnnamed', level: 'info' },
  completed: { named: 'transfer.transferred', unnamed: 'transfer.transferredUnnamed', level: 'info' },
  failed: { named: 'transfer.transferFailed', unnamed: 'transfer.transferFailedUnnamed', level: 'warning' },
});

// transferNotice is what the user is told of rc-call-transfer-notify:
// {message, level}, or null for an event that says nothing readable.
export function transferNotice(event) {
  const target = asString(event.target);
  const notice = ownValue(TRANSFER_NOTICES, event.state);
  if (!notice) return null;
  return { message: target ? t(notice.named, { target }) : t(notice.unnamed), level: notice.level };
}
