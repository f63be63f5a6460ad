// The web phone: this tab's calls and their audio, the dialer, the panels of
// the ringing call and of the call in progress, and the phone's own events.
//
// The server's switch owns every call. The phone asks it to dial, answer and
// control calls (JSON requests) and follows the call events of the event
// stream (contract §3, §5 `call`) to show them; those events reach the host
// page through the bridge's relay as they are. Each call of this tab carries
// its audio over one RTCPeerConnection to the server's media gateway, and the
// tab always makes the offer: the answer request of an inbound call carries
// one too. The phone adds the events only the browser can know: dialer
// readiness (through the store), the link's status, DTMF sent, call quality.
//
// This module puts the phone together and carries out what the user and the
// host ask of it; each part has a module of its own:
//   numbers.js     reading and showing phone numbers
//   calls.js       the rules of calls, and the registry of this tab's calls
//   signalling.js  the requests about calls and the call events of the stream
//   callcontrol.js ignore, forward, switch, transfers, moves between devices
//   transfer.js    what a warm transfer is, the extensions to transfer to
//   conferencecontrol.js merging calls, adding, removing and muting participants
//   conference.js  what a conference is to this tab, its participant list
//   remotecalls.js the user's calls on their other devices
//   media.js       each call's RTCPeerConnection, ICE and statistics
//   microphone.js  whether the microphone may be used, and opening it
//   ringer.js      the ringing tone and desktop notifications
//   audio.js       the devices, ringtone and volume the user picked
//   phoneview.js   the dialer, the keypads, the call panels and the /calls page

import { asString, isPlainObject, ownValue } from './fields.js';
import { createCallControl } from './callcontrol.js';
import { describeConference } from './conference.js';
import { createConferenceControl } from './conferencecontrol.js';
import {
  ACTION_RULES, controlError, createCallRegistry, describeCall, dialerStatus, errorText, isRinging, phoneError, refusal,
} from './calls.js';
import { t } from './i18n.js';
import { createMedia } from './media.js';
import { createMicrophone } from './microphone.js';
import { MAX_NUMBER_LENGTH, readDialled, regionOf } from './numbers.js';
import { createPhoneView } from './phoneview.js';
import { createRemoteCalls, describeRemote } from './remotecalls.js';
import { createRinger, createTone, WAITING_TONE } from './ringer.js';
import { createSignalling, dialledProblem } from './signalling.js';
import { transferNotice } from './transfer.js';

const LOG_PREFIX = '[callbridge]';
const warn = (...args) => console.warn(LOG_PREFIX, ...args);

// A new call from the host is answered once placed or after this long,
// within the host's 5 s limit for an answer; later failures come as events.
const NEW_CALL_ANSWER_MS = 3_000;

const OK = Object.freeze({ data: 'ok' });

// ---------------------------------------------------------------------------
// The phone's own events (docs/events.md)

// linkStatusEvent says how this device's link to the server stands.
export const linkStatusEvent = (connectionStatus, deviceId) =>
  ({ type: 'rc-webphone-connection-status-notify', connectionStatus, deviceId });

// dtmfSentEvent says that a tone of a call was played.
export const dtmfSentEvent = (call, tone) => ({ type: 'rc-dtmf-sent-notify', call, tone });

// callStatsEvent carries a call's audio statistics.
export const callStatsEvent = (call, stats) => ({ type: 'rc-call-stats-notify', call, stats });

// linkStatus is the link's status the host hears of: the stream's while a
// user is signed in, else disconnected; '' while the stream's is not known.
export function linkStatus(link, signedIn) {
  if (!link) return '';
  return signedIn ? link : 'disconnected';
}

// controlFailure is rc-adapter-control-call's answer when it fails. Its
// message, like every answer's, is for the host page: English whatever
// the widget's language (the user reads errorText's words instead).
export const controlFailure = (error, message, callId) => ({ error, message, callId: callId ?? null });

// ---------------------------------------------------------------------------
// The phone

// createPhone starts the web phone.
//   config:    the widget's boot configuration (flags, iceServers, region)
//   device:    device() is this tab's device id, issued by the server to the
//              signed-in session ('' while signed out)
//   store:     the widget's store; the phone reads the session from it and
//              keeps dialerReady and dialerProblem in it
//   request:   request(method, url, body) → Promise of the server's JSON answer,
//              rejecting with an Error that carries the server's code
//   navigate:  navigate(path) changes the widget's page
//   showAlert: showAlert({message, level}) shows a banner
//   post:      post(message) sends an event to the host page
//   ringOut:   ringOut(number) → Promise: places the call as a RingOut, which
//              the phone does instead of dialling while the store's callWith
//              is ringout; it rejects with an Error that carries a code
//   notify:    notify({title, body, tag}) shows a desktop notification when
//              the user turned them on and the widget is out of sight
//   audio:     the audio settings (audio.js createAudioSettings): the
//              microphone, speaker and ringer output, the ringtone
//   crm:       the host's CRM on the call view (phoneview.js), or null
// It returns what app.js and the bridge drive it with.
export function createPhone({ config, device, store, request, navigate, showAlert, post, ringOut, notify, audio, crm = null }) {
  const iceServers = Array.isArray(config.iceServers) ? config.iceServers.filter(isPlainObject) : [];
  const region = () => regionOf(store.get().session, asString(config.region?.countryCode));
  // A call in a conference is the conference, with everyone else in it.
  const describe = (entry) => (entry.conference
    ? describeConference(entry.conference, entry.call.partyId, region())
    : describeCall(entry.call, region()));

  // The link to the server as the event stream last said, what the host
  // last heard of it, and the user it was for.
  let link = '';
  let postedLink = '';
  let signedIn = store.get().session.loggedIn;
  let dialerInView = false;

  const registry = createCallRegistry();
  const remote = createRemoteCalls();
  const elsewhere = (id) => Boolean(remote.get(id));
  const microphone = createMicrophone({
    onChange: () => stateChanged(store.get()), deviceId: audio.microphoneId, onGone: audio.microphoneGone,
  });
  const ringer = createRinger({
    show: notify,
    describe,
    ringtone: createTone(audio.ringtone, { sinkId: audio.ringerId }),
    // The call-waiting tone plays where the call does.
    waitingTone: createTone(WAITING_TONE, { sinkId: audio.speakerId }),
  });
  const view = createPhoneView({
    registry, store, request, region, describe, speakerId: audio.speakerId, crm,
    remote: {
      list: () => remote.list((id) => Boolean(registry.get(id))),
      has: elsewhere,
      describe: (call) => describeRemote(call, region()),
    },
    actions: {
      act, placeCall, retryMicrophone, moveHere: moveHereForUser, addCall, navigate,
      // The user is about to dial: the call's connection is readied.
      readyDial: () => media.warmUp(),
    },
  });
  const media = createMedia({
    iceServers,
    microphone,
    canPrepare: () => !store.get().dialerProblem,
    onChange: () => view.render(),
    onFailed: () => {
      post(linkStatusEvent('connectFailed', device()));
      showAlert({ message: t('phone.audioLost'), level: 'danger' });
    },
    onTone: (entry, tone) => post(dtmfSentEvent(entry.call, tone)),
    onStats: (entry, stats) => post(callStatsEvent(entry.call, stats)),
  });
  const signalling = createSignalling({ device, store, request, registry, media, ringer, view, elsewhere });
  const { endCall, change } = signalling;
  const control = createCallControl({ device, request, registry, media, signalling, remote, view, notify: showAlert });
  const conference = createConferenceControl({ device, request, registry, signalling, view, notify: showAlert, describe });

  // -------------------------------------------------------------------------
  // Call actions

  // How each call action runs (calls.js ACTION_RULES says when it may).
  const ACTIONS = {
    answer: signalling.answer,
    reject: (entry) => endCall(entry, 'reject'),
    ...control.actions,
    ...conference.actions,
    hangup: (entry) => endCall(entry, isRinging(entry) ? 'reject' : 'hangup'),
    hold: (entry) => change(entry, 'hold'),
    unhold: (entry) => change(entry, 'unhold'),
    mute: (entry) => change(entry, 'mute'),
    unmute: (entry) => change(entry, 'unmute'),
    dtmf: (entry, options) => media.sendTones(entry, asString(options?.dtmf)),
  };

  // perform runs a call action; it rejects with a phoneError. A hang-up
  // asked for while another request of the call is under way (its answer,
  // a hold) follows that request rather than being refused: ending a call
  // is never "not now".
  async function perform(entry, action, options) {
    if (action === 'hangup' && entry.busy && entry.busy !== 'hangup') {
      await entry.settled;
      if (!registry.entries().includes(entry)) return;
    }
    const refused = refusal(entry, action);
    if (refused) throw phoneError('invalidState', refused, t('call.notNow'));
    if (!ACTION_RULES[action].busy) {
      ACTIONS[action](entry, options);
      view.render();
      return;
    }
    entry.busy = action;
    const run = (async () => {
      try {
        await ACTIONS[action](entry, options);
      } finally {
        entry.busy = '';
        view.render();
      }
    })();
    entry.settled = run.then(() => {}, () => {});
    view.render();
    await run;
  }

  // act runs a call action the user asked for; failures show as an alert.
  function act(entry, action, options) {
    if (!entry) return;
    perform(entry, action, options).catch((err) => {
      if (err.code !== 'cancelled') showAlert({ message: errorText(err), level: 'danger' });
    });
  }

  // placeCall dials for the user or the host (or, in the RingOut calling
  // mode, places a RingOut); failures show as an alert.
  async function placeCall(number) {
    if (store.get().callWith === 'ringout') return placeRingOut(number);
    try {
      await signalling.dial(number);
      view.dialled(number);
      return OK;
    } catch (err) {
      // The dialer itself says why the microphone cannot be used.
      const shown = err.code === 'cancelled' || (err.code === 'microphone' && store.get().dialerProblem);
      if (!shown) showAlert({ message: errorText(err), level: 'danger' });
      return { error: err.code || 'failed', message: err.message };
    }
  }

  async function placeRingOut(number) {
    const { number: to, problem } = readDialled(number);
    try {
      if (problem) throw dialledProblem(problem);
      await ringOut(to);
      view.dialled(number);
      return OK;
    } catch (err) {
      showAlert({ message: errorText(err), level: 'danger' });
      return { error: err.code || 'failed', message: err.message };
    }
  }

  // moveHereForUser takes a call of another device here; failures show as an alert.
  function moveHereForUser(id) {
    control.moveHere(id).catch((err) => {
      if (err.code !== 'cancelled') showAlert({ message: errorText(err), level: 'danger' });
    });
  }

  // addCall opens the dialer for a second call; the server holds the first
  // when it is placed.
  function addCall() {
    navigate('/dialer');
    view.foldCall();
    view.focusNumber();
  }

  // retryMicrophone asks for the microphone again, from the user's click.
  function retryMicrophone() {
    microphone.open().then(
      (stream) => stream.getTracks().forEach((track) => track.stop()),
      (err) => showAlert({ message: errorText(err), level: 'warning' }),
    );
  }

  // -------------------------------------------------------------------------
  // Dialer readiness and the link's status

  // stateChanged follows the widget's state: it keeps the dialer's
  // readiness in the store and ends the calls of a user who signed out.
  function stateChanged(state) {
    const { ready, problem } = dialerStatus(state, microphone.state(), config.flags?.disableCall === true);
    if (state.dialerReady !== ready || state.dialerProblem !== problem) {
      store.update({ dialerReady: ready, dialerProblem: problem });
      return; // the store calls back with the new state
    }
    // The dialer in view readies a dial (media.warmUp), one with a problem
    // drops it.
    const dialing = ready && state.route === '/dialer';
    if (dialing && !dialerInView) media.warmUp();
    else if (!ready) media.coolDown();
    dialerInView = dialing;
    if (state.session.loggedIn !== signedIn) {
      signedIn = state.session.loggedIn;
      // The stream reopens for the user who signed in; until then the
      // link's state is not known.
      if (signedIn) link = '';
    }
    if (!signedIn && registry.entries().length > 0) {
      signalling.finishAll();
      signalling.ringingChanged();
    }
    if (!signedIn) remote.clear();
    postLink();
    view.render();
  }

  // linkChanged hears the event stream's status (rc-webphone-connection-status-notify).
  function linkChanged(status) {
    link = status;
    postLink();
  }

  function postLink() {
    const status = linkStatus(link, signedIn);
    if (!status || status === postedLink) return;
    postedLink = status;
    post(linkStatusEvent(status, device()));
  }

  // -------------------------------------------------------------------------
  // Commands of the host (through the bridge)

  async function newCall(phoneNumber, toCall) {
    const number = phoneNumber.trim();
    if (number.length > MAX_NUMBER_LENGTH) {
      return { error: 'invalidNumber', message: `phoneNumber has at most ${MAX_NUMBER_LENGTH} characters` };
    }
    navigate('/dialer');
    view.foldCall();
    view.setNumber(number);
    media.warmUp();
    if (!toCall) return OK;
    // The host hears back within its 5 s request limit even when the first
    // call waits on the microphone; later failures come as call events.
    const placed = placeCall(number);
    const pending = new Promise((resolve) => setTimeout(resolve, NEW_CALL_ANSWER_MS, OK));
    return Promise.race([placed, pending]);
  }

  // moveHere carries out moveHere for the host: the call callId of
  // another device of the user, or the only one when callId is not given.
  async function moveHere(callId) {
    const calls = remote.list((id) => Boolean(registry.get(id)));
    const found = callId ? calls.find((call) => [call.id, call.partyId].includes(callId)) : calls.length === 1 && calls[0];
    if (!found) {
      const message = callId ? `Call ${callId} is not on another of your devices.` : 'Name the call to move here: callId.';
      return controlFailure(calls.length > 1 && !callId ? 'invalidState' : 'noSuchCall', message, callId);
    }
    try {
      await control.moveHere(found.id);
      return OK;
    } catch (err) {
      return controlFailure(controlError(err), err.message, found.id);
    }
  }

  // controlCall carries out rc-adapter-control-call for the actions the
  // phone supports; it resolves to OK or {error, message, callId}.
  async function controlCall({ callAction, callId, options }) {
    if (callAction === 'moveHere') return moveHere(callId);
    if (!ownValue(ACTIONS, callAction)) {
      return controlFailure('unsupported', `${callAction} is not supported`, callId);
    }
    // Without a callId, completing or cancelling a transfer means the one in progress.
    const consult = !callId && callAction.endsWith('Transfer') && registry.entries().find((e) => e.consultOf && !e.done);
    const entry = consult || registry.find(callId, callAction);
    if (!entry) {
      const what = callId ? `call ${callId}` : (['answer', 'reject', 'ignore', 'forward'].includes(callAction) ? 'ringing call' : 'call in progress');
      return controlFailure('noSuchCall', `There is no ${what} in this widget.`, callId);
    }
    try {
      await perform(entry, callAction, options);
      return OK;
    } catch (err) {
      return controlFailure(controlError(err), err.message, entry.id || null);
    }
  }

  // -------------------------------------------------------------------------
  // Start

  navigator.mediaDevices?.addEventListener?.('devicechange', microphone.check);
  // A microphone picked during a call takes over at once; a speaker picked
  // plays the call.
  audio.onChange((setting) => {
    if (setting === 'microphone') media.useMicrophone(registry.entries()).finally(() => view.render());
    if (setting === 'speaker') view.render();
  });
  microphone.check();
  store.subscribe(stateChanged);
  stateChanged(store.get());

  // The hooks tests read, on a development server only: the device, its
  // calls, their connections and the conferences they are in.
  if (config.testHooks === true) {
    window.cbPhone = Object.freeze({
      get deviceId() {
        return device();
      },
      calls: () => registry.entries().filter((entry) => entry.id).map((entry) => entry.call),
      pcs: () => registry.entries().map((entry) => entry.pc).filter(Boolean),
      conferences: () => registry.entries().map((entry) => entry.conference).filter(Boolean),
    });
  }

  // handleEvent follows an event of the stream: the user's calls on other
  // devices, the transfers and conferences of this device's calls, and the
  // call events. A participant added who answered joins the conference.
  function handleEvent(event) {
    if (!store.get().session.loggedIn) return;
    const moved = remote.handleEvent(event);
    if (event.type === 'rc-call-transfer-notify') {
      const notice = transferNotice(event);
      if (notice) showAlert(notice);
    }
    conference.handleEvent(event);
    signalling.handleEvent(event);
    if (moved || event.type === 'rc-conference-notify') view.render();
    // A call ended with the dialer in view: the next dial is readied.
    if (event.type === 'rc-call-end-notify' && dialerInView) media.warmUp();
  }

  return {
    handleEvent,
    linkChanged,
    foldCall: view.foldCall,
    resync: () => signalling.resync().catch((err) => warn(`could not refresh the calls: ${err.message}`)),
    // rejoin connects a call's audio again where the server moved it.
    rejoin: (id) => control.rejoin(id).catch((err) => {
      warn(`could not connect the call's audio again: ${err.message}`);
      showAlert({ message: t('phone.audioLost'), level: 'danger' });
    }),
    newCall,
    controlCall,
    sessions: signalling.sessions,
  };
}
