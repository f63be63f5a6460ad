// The phone's business call handling: ignoring and forwarding a ringing
// call or sending it to voicemail, switching between calls, blind and warm
// transfers, recording a call, and moving a call between the user's devices
// (offering it to the others, or taking one here). Each is a request to the server's switch about a call of this tab;
// the call events of the stream then say what became of the calls.

import { STATUS, newEntry, phoneError, readCall } from './calls.js';
import { t } from './i18n.js';
import { readDialled } from './numbers.js';
import { callUrl, dialledProblem } from './signalling.js';
import { canComplete, consultPair, findConsultPair } from './transfer.js';

// readTarget reads the number a call goes to (a transfer's or a forward's).
export function readTarget(value) {
  const { number, problem } = readDialled(value);
  if (problem === 'empty') throw phoneError('invalidNumber', 'Enter a number or pick an extension.', t('call.enterTarget'));
  const invalid = dialledProblem(problem);
  if (invalid) throw invalid;
  return number;
}

// entryForRemote is the entry of a call another device of the user carries
// (remotecalls.js), as this tab takes it: the web-phone call it will become.
export function entryForRemote(remote) {
  const inbound = remote.direction === 'Inbound';
  const party = inbound ? remote.from : remote.to;
  const number = party.phoneNumber ?? party.extensionNumber ?? '';
  const entry = newEntry({
    id: remote.id,
    telephonySessionId: remote.id,
    partyId: remote.partyId,
    direction: remote.direction,
    callStatus: STATUS.setup,
    isOnHold: false,
    isOnMute: false,
    ...(inbound ? { from: number, fromUserName: party.name ?? '' } : { to: number, toUserName: party.name ?? '' }),
  });
  entry.answering = true;
  return entry;
}

// Errors of the server that say a call is not there to take.
const GONE = /nosuch|notfound|notyour/i;

// createCallControl carries out the business call actions.
//   device:     device() is this tab's device id
//   request:    request(method, url, body) → Promise of the server's JSON answer
//   registry:   the calls (calls.js)
//   media:      the calls' audio (media.js)
//   signalling: the phone's signalling (signalling.js)
//   remote:     the user's calls on other devices (remotecalls.js)
//   view:       the phone's view (phoneview.js)
//   notify:     notify({message, level}) tells the user something
// It returns the call actions, by name (each (entry, options) → Promise),
// moveHere(id) and rejoin(id).
export function createCallControl({ device, request, registry, media, signalling, remote, view, notify }) {
  const { applyCall, finish, sendAction } = signalling;

  // leave ends a call here that goes on without this device.
  function leave(entry, response, result) {
    const call = readCall(response?.call) ?? entry.call;
    finish(entry, { ...call, callStatus: STATUS.finished, result: call.result || result });
  }

  async function ignore(entry) {
    const response = await sendAction(entry.id, 'ignore');
    finish(entry, { ...(readCall(response.call) ?? entry.call), callStatus: STATUS.finished }, { quiet: true });
  }

  async function forward(entry, options) {
    const to = readTarget(options?.forwardNumber);
    leave(entry, await sendAction(entry.id, 'forward', { to }), 'Forwarded');
  }

  // toVoicemail sends the ringing call to the user's voicemail: the caller
  // leaves a message, and the call ends here.
  async function toVoicemail(entry) {
    leave(entry, await sendAction(entry.id, 'toVoicemail'), 'Voicemail');
  }

  // record starts, stops, pauses or resumes the call's recording; the
  // call's recordStatus says how it stands.
  async function record(entry, action) {
    const call = readCall((await sendAction(entry.id, action)).call);
    if (call) applyCall(call);
  }

  // switchTo makes a held call live; the server holds the one that was.
  async function switchTo(entry) {
    view.focus(entry);
    const call = readCall((await sendAction(entry.id, 'switch')).call);
    if (call) applyCall(call);
  }

  // transfer passes a call on: blind (this tab leaves it at once), or warm
  // (options.warm: a consult call to the target first, the call on hold).
  async function transfer(entry, options) {
    const to = readTarget(options?.transferNumber);
    if (consultPair(registry.entries(), entry)) {
      throw phoneError('invalidState', 'Complete or cancel the transfer in progress first.', t('call.finishTransferFirst'));
    }
    if (options?.warm === true) {
      await signalling.dial(to, { consultOf: entry.id });
      return;
    }
    leave(entry, await sendAction(entry.id, 'transfer', { to }), 'Transferred');
  }

  // pairOf is the warm transfer entry takes part in, or an invalidState error.
  function pairOf(entry) {
    const pair = findConsultPair(registry.entries(), entry);
    if (!pair) throw phoneError('invalidState', 'There is no transfer in progress.', t('call.noTransfer'));
    return pair;
  }

  // completeTransfer connects the two remote parties of a warm transfer;
  // both calls end here.
  async function completeTransfer(entry) {
    const pair = pairOf(entry);
    if (!canComplete(pair)) {
      throw phoneError('invalidState', 'The transfer can be completed once the other side answers.', t('call.transferNotAnswered'));
    }
    const other = pair.original === entry ? pair.consult : pair.original;
    other.busy = 'completeTransfer';
    try {
      const response = await sendAction(pair.original.id, 'bridge', { with: pair.consult.id });
      leave(pair.consult, null, 'Transferred');
      leave(pair.original, response, 'Transferred');
    } finally {
      other.busy = '';
    }
  }

  // cancelTransfer hangs the consult call up; the first call resumes.
  async function cancelTransfer(entry) {
    const { consult } = pairOf(entry);
    await signalling.endCall(consult, 'hangup');
  }

  // move rings the user's other devices with the call; answering there takes it.
  async function move(entry) {
    await sendAction(entry.id, 'move');
    notify({ message: t('call.otherDevicesRinging'), level: 'info' });
  }

  // moveHere takes, at once, a call that another device of the user carries.
  async function moveHere(id) {
    const found = remote.get(id);
    if (!found || registry.get(id)) {
      throw phoneError('noSuchCall', 'That call is not on another of your devices.', t('call.notElsewhere'));
    }
    const entry = entryForRemote(found);
    registry.adopt(entry);
    view.focus(entry);
    view.render();
    try {
      const sdp = await media.offer(entry);
      if (entry.done) throw phoneError('cancelled', 'The call ended.');
      const response = await request('POST', callUrl(id, 'pickup'), { deviceId: device(), sdp });
      entry.answering = false;
      const call = readCall(response.call);
      if (call) applyCall(call);
      if (entry.done) return;
      if (!response.sdp) throw phoneError('badResponse', 'The server moved the call without its audio.', t('call.movedNoAudio'));
      await media.accept(entry, response.sdp);
    } catch (err) {
      entry.answering = false;
      if (GONE.test(String(err.code ?? ''))) remote.forget(id);
      if (!entry.done) finish(entry, entry.call, { quiet: true });
      throw err;
    } finally {
      view.render();
    }
  }

  // rejoin connects a call's audio again: the server moved the call to
  // another of its nodes (cb-call-rejoin). A call this tab no longer has,
  // or that left it meanwhile, needs nothing.
  async function rejoin(id) {
    const entry = registry.get(id);
    if (!entry || entry.done || !entry.pc) return;
    try {
      const sdp = await media.reoffer(entry);
      if (entry.done) return;
      const response = await request('POST', callUrl(id, 'rejoin'), { deviceId: device(), sdp });
      if (entry.done) return;
      const call = readCall(response.call);
      if (call) applyCall(call);
      await media.accept(entry, response.sdp);
    } catch (err) {
      if (entry.done || GONE.test(String(err.code ?? ''))) return;
      throw err;
    }
  }

  const actions = {
    ignore, forward, switch: switchTo, transfer, completeTransfer, cancelTransfer, move, toVoicemail,
    startRecord: (entry) => record(entry, 'startRecord'),
    stopRecord: (entry) => record(entry, 'stopRecord'),
    pauseRecord: (entry) => record(entry, 'pauseRecord'),
    resumeRecord: (entry) => record(entry, 'resumeRecord'),
  };
  return { actions, moveHere, rejoin };
}
