// The user's calls on their other devices (another tab, another browser):
// what rc-active-call-notify says of the extension's calls, less RingOuts
// (they ring a phone, not a device of the widget). The phone offers each
// connected or held one that this tab does not carry with "Move here".
//
// The reading is pure and tested under `node --test`
// (web/test/remotecalls.test.js); createRemoteCalls keeps the calls.

import { asString, isPlainObject } from './fields.js';
import { t } from './i18n.js';
import { showParty } from './numbers.js';

// The telephonyStatus of a call another device carries and may hand over.
const TAKEABLE = Object.freeze(['CallConnected', 'OnHold']);
// Sequences are remembered for this many sessions, RingOuts for as many.
export const MAX_REMEMBERED = 256;

// readActiveCall reads the activeCall of rc-active-call-notify: the fields
// the phone needs, by telephonySessionId; null when it is not one.
export function readActiveCall(raw) {
  if (!isPlainObject(raw)) return null;
  const id = asString(raw.telephonySessionId);
  if (!id) return null;
  return {
    id,
    partyId: asString(raw.partyId),
    direction: raw.direction === 'Inbound' ? 'Inbound' : 'Outbound',
    from: isPlainObject(raw.from) ? raw.from : {},
    to: isPlainObject(raw.to) ? raw.to : {},
    status: asString(raw.telephonyStatus),
    onHold: raw.telephonyStatus === 'OnHold',
    sequence: Number.isFinite(raw.sequence) ? raw.sequence : 0,
  };
}

export const isTakeable = (call) => TAKEABLE.includes(call.status);

// describeRemote is who is on the other end of a call on another device:
// {name, number} as describeCall (calls.js) says it of this tab's calls.
export function describeRemote(call, region) {
  const { name, number } = showParty(call.direction === 'Inbound' ? call.from : call.to, region);
  if (name) return { name, number };
  return { name: number || t('call.unknownNumber'), number: '' };
}

// remember adds key → value to map, forgetting the oldest past MAX_REMEMBERED.
function remember(map, key, value) {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_REMEMBERED) map.delete(map.keys().next().value);
}

// createRemoteCalls follows the extension's calls. handleEvent(event) says
// whether the calls it keeps changed; list(here) lists the takeable ones
// for which here(id) is false (this tab does not carry them).
export function createRemoteCalls() {
  const calls = new Map();
  const sequences = new Map();
  const ringOuts = new Map();

  function apply(call) {
    const last = sequences.get(call.id) ?? 0;
    if (call.sequence && call.sequence < last) return false;
    if (call.sequence) remember(sequences, call.id, call.sequence);
    if (isTakeable(call) && !ringOuts.has(call.id)) {
      calls.set(call.id, call);
      return true;
    }
    return calls.delete(call.id);
  }

  function handleEvent(event) {
    if (event.type === 'rc-ringout-call-notify') {
      const call = readActiveCall(event.call);
      if (!call) return false;
      remember(ringOuts, call.id, true);
      return calls.delete(call.id);
    }
    if (event.type !== 'rc-active-call-notify') return false;
    const call = readActiveCall(event.call);
    return call ? apply(call) : false;
  }

  return {
    handleEvent,
    list: (here) => [...calls.values()].filter((call) => !here(call.id)),
    get: (id) => calls.get(id),
    // forget drops a call the server says is not there to take.
    forget: (id) => calls.delete(id),
    clear: () => calls.clear(),
  };
}
