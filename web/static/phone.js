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

import { asString, isPlainObject, ownValue } from './bridge.js';

const LOG_PREFIX = '[callbridge]';
const warn = (...args) => console.warn(LOG_PREFIX, ...args);

const CALLS_URL = '/widget/calls';
const callUrl = (id, action) => `${CALLS_URL}/${encodeURIComponent(id)}/${action}`;

// The offer goes out with its candidates in it (no trickle): gathering gets
// this long, then the offer goes with what was found.
const ICE_GATHERING_TIMEOUT_MS = 2_000;
const STATS_INTERVAL_MS = 10_000;
const CLOCK_INTERVAL_MS = 1_000;
// How long the call panel says how a call ended.
const ENDED_DISPLAY_MS = 2_500;
const DTMF_DURATION_MS = 100;
const DTMF_GAP_MS = 70;
const MAX_NUMBER_LENGTH = 64;
// The in-call keypad shows this many of the last tones sent.
const MAX_TONES_SHOWN = 24;
// A new call from the host is answered once placed or after this long,
// within the host's 5 s limit for an answer; later failures come as events.
const NEW_CALL_ANSWER_MS = 3_000;
// Holding the 0 key this long types a +.
const PLUS_HOLD_MS = 600;
// Finished calls are remembered so that late answers and events for them
// bring nothing back.
const MAX_FINISHED = 64;
// The ringing tone: 440 + 480 Hz together, two seconds on, four off.
const RINGTONE = Object.freeze({ frequencies: [440, 480], onS: 2, offS: 4, level: 0.12, rampS: 0.02 });
// Regions of the North American numbering plan: numbers show as (650) 555-0100.
const NANP_REGIONS = ['US', 'CA', 'PR', 'VI', 'GU', 'AS', 'MP'];
// Characters a number is written with that are not dialled.
const FORMATTING = /[\s().-]/g;
const isFormatting = (ch) => /[\s().-]/.test(ch);
const stripFormatting = (value) => value.replace(FORMATTING, '');
const countSignificant = (text) => stripFormatting(text).length;

const AUDIO_CONSTRAINTS = { audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true }, video: false };

const OK = Object.freeze({ data: 'ok' });

// callStatus values of a call (contract §5).
const STATUS = Object.freeze({
  setup: 'webphone-session-setup',
  connecting: 'connecting',
  connected: 'connected',
  onHold: 'onHold',
  finished: 'finished',
});

// Why the dialer cannot call, by the code the store keeps as dialerProblem.
const DIALER_PROBLEMS = Object.freeze({
  callingOff: 'Calling is off for this app',
  microphoneBlocked: 'Microphone blocked — allow it in the browser',
  microphoneAbsent: 'No microphone found',
  microphoneUnsupported: 'This browser cannot use a microphone on this page',
});
const MICROPHONE_PROBLEMS = { blocked: 'microphoneBlocked', absent: 'microphoneAbsent', unsupported: 'microphoneUnsupported' };

// How a failed call ends, by its code (rc-call-failed-notify), and how any
// call ends, by its call-log result (rc-call-end-notify).
const FAILURE_TEXT = {
  402: 'Calling is not allowed on this account',
  404: 'Number not found',
  408: 'No answer',
  480: 'Unavailable',
  486: 'Busy',
  487: 'Call cancelled',
  503: 'Call failed',
  603: 'Declined',
};
const RESULT_TEXT = {
  Busy: 'Busy',
  Rejected: 'Declined',
  'No Answer': 'No answer',
  Canceled: 'Call cancelled',
  Missed: 'Missed call',
  Failed: 'Call failed',
};

const byId = (id) => document.getElementById(id);

// phoneError is a failure the phone reports: code is what a command answers
// with (microphone, callingOff, invalidNumber, busy, cancelled, or the
// server's code) and message says it in words a user can read.
function phoneError(code, message) {
  return Object.assign(new Error(message), { code });
}

// readCall keeps a call object of the server when it is one.
function readCall(raw) {
  return isPlainObject(raw) && typeof raw.id === 'string' && raw.id !== '' ? raw : null;
}

const isLive = (call) => call.callStatus === STATUS.connected || call.callStatus === STATUS.onHold;
const isOnHold = (call) => call.isOnHold === true || call.callStatus === STATUS.onHold;

// ---------------------------------------------------------------------------
// Numbers

const isNanp = (region) => NANP_REGIONS.includes(region);

// formatTyped formats a number as it is typed: (650) 555-0100 in the North
// American plan when it is all digits, else as typed.
export function formatTyped(value, region) {
  const digits = stripFormatting(value);
  if (!isNanp(region) || !/^\d+$/.test(digits)) return value;
  const n = digits.length;
  if (n === 7) return `${digits.slice(0, 3)}-${digits.slice(3)}`;
  if (n >= 8 && n <= 10) return `(${digits.slice(0, 3)}) ${digits.slice(3, 6)}-${digits.slice(6)}`;
  if (n === 11 && digits[0] === '1') return `1 (${digits.slice(1, 4)}) ${digits.slice(4, 7)}-${digits.slice(7)}`;
  return digits;
}

// formatNumber shows a number of a call: +16505550100 as (650) 555-0100 in
// the North American plan and +1 (650) 555-0100 elsewhere; other numbers as
// they would be typed.
export function formatNumber(number, region) {
  const m = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(number);
  if (!m) return formatTyped(number, region);
  return `${isNanp(region) ? '' : '+1 '}(${m[1]}) ${m[2]}-${m[3]}`;
}

// caretAfter is the position in text just after its n-th significant character.
function caretAfter(text, n) {
  let seen = 0;
  for (let i = 0; i < text.length; i += 1) {
    if (seen === n) return i;
    if (!isFormatting(text[i])) seen += 1;
  }
  return text.length;
}

function clock(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const pad = (v) => String(v).padStart(2, '0');
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${pad(m)}:${pad(s)}`;
}

// ---------------------------------------------------------------------------
// Media

// iceGathered resolves once pc has gathered its candidates, or after timeoutMs.
function iceGathered(pc, timeoutMs) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === 'complete') done();
    };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

async function makeOffer(pc) {
  await pc.setLocalDescription(await pc.createOffer());
  await iceGathered(pc, ICE_GATHERING_TIMEOUT_MS);
  return pc.localDescription.sdp;
}

// estimateMos rates a call's audio from 1 (bad) to 4.5 (excellent) with the
// simplified E-model commonly used for VoIP monitoring (after ITU-T G.107):
//   effective latency  Le = rtt/2 + 2·jitter + 10 ms (codec)
//   R = 93.2 − Le/40               when Le < 160 ms
//   R = 93.2 − (Le − 120)/10       otherwise
//   R = R − 2.5·lossPct            (lossPct: packets lost, in percent)
//   MOS = 1 + 0.035·R + 7·10⁻⁶·R·(R − 60)·(100 − R) with R held to 0–100,
//   clamped to 1–4.5
export function estimateMos({ rttMs, jitterMs, packetsLost, packetsReceived }) {
  const latency = rttMs / 2 + 2 * jitterMs + 10;
  const expected = packetsLost + packetsReceived;
  const lossPct = expected > 0 ? (100 * Math.max(0, packetsLost)) / expected : 0;
  const delayed = latency < 160 ? 93.2 - latency / 40 : 93.2 - (latency - 120) / 10;
  const r = Math.min(100, Math.max(0, delayed - 2.5 * lossPct));
  const mos = 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r);
  return Math.round(Math.min(4.5, Math.max(1, mos)) * 100) / 100;
}

// readStats sums up a call's audio statistics (rc-call-stats-notify).
async function readStats(pc) {
  const stats = { rttMs: 0, jitterMs: 0, packetsLost: 0, packetsReceived: 0, bytesSent: 0, bytesReceived: 0, mos: 1 };
  const report = await pc.getStats();
  report.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'audio') {
      stats.packetsLost += s.packetsLost ?? 0;
      stats.packetsReceived += s.packetsReceived ?? 0;
      stats.bytesReceived += s.bytesReceived ?? 0;
      stats.jitterMs = Math.max(stats.jitterMs, (s.jitter ?? 0) * 1000);
    } else if (s.type === 'outbound-rtp' && s.kind === 'audio') {
      stats.bytesSent += s.bytesSent ?? 0;
    } else if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded' && Number.isFinite(s.currentRoundTripTime)) {
      stats.rttMs = s.currentRoundTripTime * 1000;
    }
  });
  stats.rttMs = Math.round(stats.rttMs);
  stats.jitterMs = Math.round(stats.jitterMs);
  stats.mos = estimateMos(stats);
  return stats;
}

// createRingtone plays the ringing tone with WebAudio. A browser may keep it
// silent until the page has had a user gesture.
function createRingtone() {
  let context = null;
  let output = null;
  let oscillators = [];
  let timer = null;

  function burst() {
    const t = context.currentTime;
    const { level, onS, rampS } = RINGTONE;
    output.gain.cancelScheduledValues(t);
    output.gain.setValueAtTime(0, t);
    output.gain.linearRampToValueAtTime(level, t + rampS);
    output.gain.setValueAtTime(level, t + onS - rampS);
    output.gain.linearRampToValueAtTime(0, t + onS);
  }

  function start() {
    if (timer) return;
    try {
      context ??= new AudioContext();
    } catch (err) {
      warn(`cannot play the ringing tone: ${err.message}`);
      return;
    }
    context.resume().catch(() => {});
    output = context.createGain();
    output.gain.value = 0;
    output.connect(context.destination);
    oscillators = RINGTONE.frequencies.map((frequency) => {
      const oscillator = context.createOscillator();
      oscillator.frequency.value = frequency;
      oscillator.connect(output);
      oscillator.start();
      return oscillator;
    });
    burst();
    timer = setInterval(burst, (RINGTONE.onS + RINGTONE.offS) * 1000);
  }

  function stop() {
    if (!timer) return;
    clearInterval(timer);
    timer = null;
    oscillators.forEach((oscillator) => oscillator.stop());
    oscillators = [];
    output.disconnect();
    output = null;
  }

  return { start, stop };
}

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
// It returns what app.js and the bridge drive it with.
export function createPhone({ config, device, store, request, navigate, showAlert, post, ringOut }) {
  const iceServers = Array.isArray(config.iceServers) ? config.iceServers.filter(isPlainObject) : [];
  const notificationsOn = config.flags?.notification === true;
  const ringtone = createRingtone();
  const ui = findElements();

  // The calls of this tab by id (telephonySessionId). A call being dialled
  // has no id until the server names it; it waits in dialing meanwhile.
  const calls = new Map();
  const finished = new Set();
  let dialing = null;
  // The call the user last picked (dialled, answered or opened), and whether
  // the call panel is folded away into the call bar.
  let focused = null;
  let collapsed = false;
  let padOpen = false;
  // What the panel says for a moment after its call ended: {id, name, number, text}.
  let ended = null;
  let endedTimer = 0;
  let clockTimer = 0;
  let microphone = 'checking';
  let watchedPermission = null;
  let link = '';
  let postedLink = '';
  let signedIn = store.get().session.loggedIn;
  let lastDialled = '';
  let typed = '';
  // The rows of the /calls page, by call entry.
  const rows = new Map();

  const region = () => {
    const { session } = store.get();
    return session.region.countryCode || session.contractedCountryCode || asString(config.region?.countryCode);
  };

  // -------------------------------------------------------------------------
  // Calls

  function newEntry(call) {
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
      notification: null,
      tones: '',
      done: false,
    };
  }

  function entries() {
    const list = [...calls.values()];
    if (dialing && !dialing.id && !dialing.done) list.push(dialing);
    return list;
  }

  // A call rings here until this tab answers it.
  const isRinging = (entry) => entry.call.direction === 'Inbound' && !entry.pc && !entry.answering &&
    (entry.call.callStatus === STATUS.setup || entry.call.callStatus === STATUS.connecting);

  // currentEntry is the call the panel shows: the one the user picked, else
  // one that is not on hold, else the latest.
  function currentEntry(list = entries()) {
    const candidates = list.filter((entry) => !isRinging(entry));
    return candidates.find((entry) => entry === focused) ??
      candidates.find((entry) => !isOnHold(entry.call)) ??
      candidates.at(-1) ?? null;
  }

  function focus(entry) {
    focused = entry;
    collapsed = false;
    padOpen = false;
  }

  // entryFor finds the call's entry. An outbound call the phone does not
  // know yet is the one being dialled: its events may come before the
  // answer to the dial request.
  function entryFor(call, { create }) {
    const known = calls.get(call.id);
    if (known) return known;
    if (finished.has(call.id)) return null;
    if (call.direction === 'Outbound' && dialing && !dialing.id && !dialing.done) {
      dialing.id = call.id;
      calls.set(call.id, dialing);
      return dialing;
    }
    if (!create) return null;
    const entry = newEntry(call);
    calls.set(call.id, entry);
    return entry;
  }

  // applyCall takes the server's word on a call.
  function applyCall(call) {
    const entry = entryFor(call, { create: true });
    if (!entry) return;
    if (call.callStatus === STATUS.finished) {
      finish(entry, call);
      return;
    }
    entry.call = call;
    if (isRinging(entry)) prepare(entry);
    else if (entry.prepared && !entry.answering) dropPrepared(entry);
    if (isLive(call) && !entry.connectedAt) entry.connectedAt = Date.now();
    if (entry.connectedAt && entry.pc && !entry.statsTimer) {
      entry.statsTimer = setInterval(() => {
        if (entry.pc) reportStats(entry, entry.pc);
      }, STATS_INTERVAL_MS);
    }
    applyMute(entry);
  }

  // finish ends a call here: its statistics go out a last time, its media
  // closes, and the panel says how it ended (unless quiet).
  function finish(entry, call = entry.call, { quiet = false } = {}) {
    if (entry.done) return;
    const shown = !quiet && !collapsed && currentEntry() === entry;
    entry.done = true;
    entry.call = call;
    if (entry.id) {
      calls.delete(entry.id);
      finished.add(entry.id);
      if (finished.size > MAX_FINISHED) finished.delete(finished.values().next().value);
    }
    if (focused === entry) focused = null;
    clearInterval(entry.statsTimer);
    const { pc } = entry;
    if (pc && entry.connectedAt) reportStats(entry, pc).finally(() => closeMedia(entry));
    else closeMedia(entry);
    if (shown) showEnded(entry);
    ringingChanged();
  }

  function endText(entry) {
    return entry.failure || ownValue(RESULT_TEXT, entry.call.result) || 'Call ended';
  }

  function showEnded(entry) {
    clearTimeout(endedTimer);
    ended = { ...describe(entry), id: entry.id, text: endText(entry) };
    endedTimer = setTimeout(() => {
      ended = null;
      render();
    }, ENDED_DISPLAY_MS);
  }

  function finishAll() {
    entries().forEach((entry) => finish(entry, entry.call, { quiet: true }));
    dialing = null;
    clearTimeout(endedTimer);
    ended = null;
  }

  // -------------------------------------------------------------------------
  // Media of a call

  function microphoneError(err) {
    switch (err?.name) {
      case 'NotAllowedError':
      case 'SecurityError':
        setMicrophone('blocked');
        return phoneError('microphone', DIALER_PROBLEMS.microphoneBlocked);
      case 'NotFoundError':
      case 'OverconstrainedError':
        setMicrophone('absent');
        return phoneError('microphone', DIALER_PROBLEMS.microphoneAbsent);
      default:
        return phoneError('microphone', 'The microphone could not be started: another app may be using it.');
    }
  }

  async function getMicrophone() {
    if (!navigator.mediaDevices?.getUserMedia) {
      setMicrophone('unsupported');
      throw phoneError('microphone', DIALER_PROBLEMS.microphoneUnsupported);
    }
    try {
      const stream = await navigator.mediaDevices.getUserMedia(AUDIO_CONSTRAINTS);
      setMicrophone('available');
      return stream;
    } catch (err) {
      throw microphoneError(err);
    }
  }

  // openMedia gives a call its microphone and its RTCPeerConnection.
  async function openMedia(entry) {
    const stream = await getMicrophone();
    if (entry.done) {
      stream.getTracks().forEach((track) => track.stop());
      throw phoneError('cancelled', 'The call ended.');
    }
    const pc = new RTCPeerConnection({ iceServers });
    stream.getAudioTracks().forEach((track) => pc.addTrack(track, stream));
    useConnection(entry, pc);
    entry.stream = stream;
    applyMute(entry);
  }

  // useConnection makes pc the call's connection and listens to it.
  function useConnection(entry, pc) {
    entry.pc = pc;
    pc.addEventListener('track', (event) => {
      entry.remote = event.streams[0] ?? new MediaStream([event.track]);
      render();
    });
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState !== 'failed' || entry.pc !== pc) return;
      post({ type: 'rc-webphone-connection-status-notify', connectionStatus: 'connectFailed', deviceId: device() });
      showAlert({ message: 'The call lost its audio connection.', level: 'danger' });
    });
    pc.getSenders()[0]?.dtmf?.addEventListener('tonechange', (event) => {
      if (event.tone) post({ type: 'rc-dtmf-sent-notify', call: entry.call, tone: event.tone });
    });
  }

  // prepare readies the answer of a call while it rings: its connection and
  // its offer, with candidates gathered, so that answering only sends it.
  // The microphone stays closed until the user answers (nothing is captured
  // for a call that only rings); its track then joins the prepared
  // connection without a new offer.
  function prepare(entry) {
    if (entry.prepared || store.get().dialerProblem || typeof RTCPeerConnection !== 'function') return;
    try {
      const pc = new RTCPeerConnection({ iceServers });
      const { sender } = pc.addTransceiver('audio', { direction: 'sendrecv' });
      const sdp = makeOffer(pc);
      sdp.catch(() => {}); // answering falls back to a fresh offer
      entry.prepared = { pc, sender, sdp };
    } catch (err) {
      warn(`could not prepare the call's audio: ${err.message}`);
    }
  }

  function dropPrepared(entry) {
    entry.prepared?.pc.close();
    entry.prepared = null;
  }

  // answerOffer gives an answering call its connection and offer: the
  // prepared ones, with the microphone joining when it opens (the returned
  // microphone promise; at once where the permission is not granted yet),
  // or new ones made now.
  async function answerOffer(entry) {
    const { prepared } = entry;
    entry.prepared = null;
    let sdp = null;
    if (prepared && !store.get().dialerProblem) {
      sdp = await prepared.sdp.catch((err) => {
        warn(`the prepared offer failed, making a new one: ${err.message}`);
        return null;
      });
    }
    if (!sdp) {
      prepared?.pc.close();
      await openMedia(entry);
      return { sdp: await makeOffer(entry.pc), microphone: null };
    }
    useConnection(entry, prepared.pc);
    const microphone = getMicrophone().then(async (stream) => {
      if (entry.pc !== prepared.pc) {
        stream.getTracks().forEach((track) => track.stop());
        return;
      }
      entry.stream = stream;
      applyMute(entry);
      await prepared.sender.replaceTrack(stream.getAudioTracks()[0] ?? null);
    });
    if (watchedPermission?.state !== 'granted') {
      // The user may be asked for the microphone now: answer once they have
      // allowed it, so that a refusal leaves the call ringing.
      await microphone;
      return { sdp, microphone: null };
    }
    microphone.catch(() => {}); // awaited once the call is answered
    return { sdp, microphone };
  }


  function closeMedia(entry) {
    dropPrepared(entry);
    entry.pc?.close();
    entry.stream?.getTracks().forEach((track) => track.stop());
    entry.pc = null;
    entry.stream = null;
    entry.remote = null;
    render();
  }

  function applyMute(entry) {
    entry.stream?.getAudioTracks().forEach((track) => {
      track.enabled = entry.call.isOnMute !== true;
    });
  }

  async function reportStats(entry, pc) {
    try {
      post({ type: 'rc-call-stats-notify', call: entry.call, stats: await readStats(pc) });
    } catch (err) {
      warn(`could not read the call's statistics: ${err.message}`);
    }
  }

  // -------------------------------------------------------------------------
  // Call actions

  const sendAction = (id, action) => request('POST', callUrl(id, action), { deviceId: device() });

  // dial places a call to number; it resolves once the server has it.
  async function dial(number) {
    const to = stripFormatting(number.trim());
    if (!to) throw phoneError('invalidNumber', 'Enter a number to call.');
    if (to.length > MAX_NUMBER_LENGTH) throw phoneError('invalidNumber', `A number has at most ${MAX_NUMBER_LENGTH} characters.`);
    const { dialerProblem } = store.get();
    if (dialerProblem) {
      throw phoneError(dialerProblem === 'callingOff' ? 'callingOff' : 'microphone', DIALER_PROBLEMS[dialerProblem]);
    }
    if (dialing) throw phoneError('busy', 'Another call is being placed; try again once it rings.');
    const entry = newEntry({
      id: '', direction: 'Outbound', callStatus: STATUS.setup, to, toUserName: '', from: '', isOnHold: false, isOnMute: false,
    });
    dialing = entry;
    focus(entry);
    render();
    try {
      await holdOthers(entry);
      await openMedia(entry);
      const sdp = await makeOffer(entry.pc);
      if (entry.done) throw phoneError('cancelled', 'The call was cancelled.');
      const answer = await request('POST', CALLS_URL, { deviceId: device(), to, sdp });
      const call = readCall(answer.call);
      if (!call) throw phoneError('badResponse', 'The server did not say which call it placed.');
      if (entry.done && !entry.id) {
        // Hung up before the server named the call: end it there too.
        sendAction(call.id, 'hangup').catch((err) => warn(`could not cancel call ${call.id}: ${err.message}`));
        throw phoneError('cancelled', 'The call was cancelled.');
      }
      // Ended already: its events said how.
      if (entry.done) return;
      // Events may have named the call already, with news newer than this answer.
      if (!entry.id) applyCall(call);
      if (entry.done) return;
      if (!answer.sdp) {
        // The call failed at once; its events say how.
        closeMedia(entry);
        return;
      }
      await entry.pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
    } catch (err) {
      if (!entry.done) {
        if (entry.id) sendAction(entry.id, 'hangup').catch(() => {});
        finish(entry, entry.call, { quiet: true });
      }
      throw err;
    } finally {
      if (dialing === entry) dialing = null;
      render();
    }
  }

  async function answer(entry) {
    entry.answering = true;
    focus(entry);
    ringingChanged();
    let answered = false;
    try {
      await holdOthers(entry);
      const { sdp, microphone } = await answerOffer(entry);
      if (entry.done) throw phoneError('cancelled', 'The call ended before it was answered.');
      const response = await request('POST', callUrl(entry.id, 'answer'), { deviceId: device(), sdp });
      answered = true;
      const call = readCall(response.call);
      if (call) applyCall(call);
      if (entry.done) return;
      if (!response.sdp) throw phoneError('badResponse', 'The server answered the call without its audio.');
      await entry.pc.setRemoteDescription({ type: 'answer', sdp: response.sdp });
      await microphone;
    } catch (err) {
      if (!entry.done) {
        if (answered) {
          sendAction(entry.id, 'hangup').catch(() => {});
          finish(entry, entry.call, { quiet: true });
        } else {
          closeMedia(entry);
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
      entry.failure = 'Call cancelled';
      finish(entry);
      return;
    }
    const response = await sendAction(entry.id, action);
    finish(entry, readCall(response.call) ?? entry.call, { quiet: action === 'reject' });
  }

  // change holds, resumes, mutes or unmutes a call. Muting turns the
  // microphone off at once, before the server confirms.
  async function change(entry, action) {
    if (action === 'mute') entry.stream?.getAudioTracks().forEach((track) => { track.enabled = false; });
    try {
      const call = readCall((await sendAction(entry.id, action)).call);
      if (call) applyCall(call);
    } finally {
      applyMute(entry);
    }
  }

  // holdOthers puts the other connected calls on hold before entry takes the line.
  async function holdOthers(except) {
    const others = [...calls.values()].filter((entry) =>
      entry !== except && entry.call.callStatus === STATUS.connected && !isOnHold(entry.call));
    await Promise.all(others.map((entry) =>
      change(entry, 'hold').catch((err) => warn(`could not hold call ${entry.id}: ${err.message}`))));
  }

  function sendTones(entry, tones) {
    const dtmf = entry.pc?.getSenders()[0]?.dtmf;
    if (!dtmf?.canInsertDTMF) throw phoneError('invalidState', 'This call cannot send tones right now.');
    dtmf.insertDTMF(dtmf.toneBuffer + tones, DTMF_DURATION_MS, DTMF_GAP_MS);
    entry.tones = (entry.tones + tones).slice(-MAX_TONES_SHOWN);
  }

  const established = (entry) => Boolean(entry.id) && !isRinging(entry) && !entry.answering;

  // What each call action needs of the call, and how it runs.
  const ACTIONS = {
    answer: { allowed: isRinging, run: answer, busy: true },
    reject: { allowed: isRinging, run: (entry) => endCall(entry, 'reject'), busy: true },
    hangup: { allowed: () => true, run: (entry) => endCall(entry, isRinging(entry) ? 'reject' : 'hangup'), busy: true },
    hold: { allowed: (e) => established(e) && isLive(e.call) && !isOnHold(e.call), run: (e) => change(e, 'hold'), busy: true },
    unhold: { allowed: (e) => established(e) && isOnHold(e.call), run: (e) => change(e, 'unhold'), busy: true },
    mute: { allowed: (e) => established(e) && e.call.isOnMute !== true, run: (e) => change(e, 'mute'), busy: true },
    unmute: { allowed: (e) => established(e) && e.call.isOnMute === true, run: (e) => change(e, 'unmute'), busy: true },
    dtmf: {
      allowed: (e) => established(e) && e.call.callStatus === STATUS.connected && Boolean(e.pc),
      run: (e, options) => sendTones(e, asString(options?.dtmf)),
      busy: false,
    },
  };

  function describeState(entry) {
    if (isRinging(entry)) return 'ringing';
    if (!entry.id) return 'being placed';
    if (isOnHold(entry.call)) return 'on hold';
    return entry.call.callStatus === STATUS.connected ? 'connected' : 'not connected yet';
  }

  // perform runs a call action; it rejects with a phoneError.
  async function perform(entry, action, options) {
    const spec = ACTIONS[action];
    if (!spec.allowed(entry) || (spec.busy && entry.busy)) {
      throw phoneError('invalidState', `Cannot ${action} a call that is ${entry.busy ? 'busy' : describeState(entry)}.`);
    }
    if (!spec.busy) {
      spec.run(entry, options);
      render();
      return;
    }
    entry.busy = action;
    render();
    try {
      await spec.run(entry, options);
    } finally {
      entry.busy = '';
      render();
    }
  }

  // act runs a call action the user asked for; failures show as an alert.
  function act(entry, action, options) {
    if (!entry) return;
    perform(entry, action, options).catch((err) => {
      if (err.code !== 'cancelled') showAlert({ message: err.message, level: 'danger' });
    });
  }

  // placeCall dials for the user or the host (or, in the RingOut calling
  // mode, places a RingOut); failures show as an alert.
  async function placeCall(number) {
    if (store.get().callWith === 'ringout') return placeRingOut(number);
    askNotificationPermission();
    try {
      await dial(number);
      lastDialled = number;
      if (stripFormatting(ui.number.value) === stripFormatting(number)) setNumber('');
      return OK;
    } catch (err) {
      // The dialer itself says why the microphone cannot be used.
      const shown = err.code === 'cancelled' || (err.code === 'microphone' && store.get().dialerProblem);
      if (!shown) showAlert({ message: err.message, level: 'danger' });
      return { error: err.code || 'failed', message: err.message };
    }
  }

  async function placeRingOut(number) {
    const to = stripFormatting(number.trim());
    try {
      if (!to) throw phoneError('invalidNumber', 'Enter a number to call.');
      if (to.length > MAX_NUMBER_LENGTH) throw phoneError('invalidNumber', `A number has at most ${MAX_NUMBER_LENGTH} characters.`);
      await ringOut(to);
      lastDialled = number;
      if (stripFormatting(ui.number.value) === to) setNumber('');
      return OK;
    } catch (err) {
      showAlert({ message: err.message, level: 'danger' });
      return { error: err.code || 'failed', message: err.message };
    }
  }

  // -------------------------------------------------------------------------
  // Ringing

  function ringingChanged() {
    const ringing = entries().filter(isRinging);
    if (ringing.length > 0) ringtone.start();
    else ringtone.stop();
    for (const entry of calls.values()) {
      if (isRinging(entry)) {
        entry.notification ??= notify(entry);
      } else if (entry.notification) {
        entry.notification.close();
      }
    }
    render();
  }

  function askNotificationPermission() {
    if (!notificationsOn || typeof Notification !== 'function' || Notification.permission !== 'default') return;
    Notification.requestPermission().catch(() => {});
  }

  // notify shows a desktop notification for a ringing call (flag notification).
  function notify(entry) {
    if (!notificationsOn || typeof Notification !== 'function' || Notification.permission !== 'granted') return null;
    const { name, number } = describe(entry);
    try {
      const notification = new Notification('Incoming call', { body: number ? `${name}\n${number}` : name, tag: `cb-call-${entry.id}` });
      notification.addEventListener('click', () => {
        window.focus();
        notification.close();
      });
      return notification;
    } catch (err) {
      warn(`cannot show a notification: ${err.message}`);
      return null;
    }
  }

  // -------------------------------------------------------------------------
  // Server events

  function onCall(event) {
    const call = readCall(event.call);
    if (call) applyCall(call);
  }

  function onCallEnd(event) {
    const call = readCall(event.call);
    const entry = call && entryFor(call, { create: false });
    if (entry) finish(entry, { ...call, callStatus: STATUS.finished });
  }

  function onCallFailed(event) {
    const call = readCall(event.call);
    if (!call) return;
    const text = ownValue(FAILURE_TEXT, event.code) || asString(event.reason) || 'Call failed';
    const entry = entryFor(call, { create: false });
    if (entry) {
      entry.failure = text;
      applyCall(call);
    } else if (ended?.id === call.id) {
      ended.text = text;
    }
  }

  // PARTY_STATUS maps a telephony-session party status to this device's call
  // status. The caller of another widget user learns of the answer only this
  // way: its call started when the callee's phone began ringing.
  const PARTY_STATUS = { Answered: STATUS.connected, Hold: STATUS.onHold };

  function onTelephonySession(event) {
    const session = event.telephonySession;
    const entry = session && calls.get(session.id);
    if (!entry || entry.done || !Array.isArray(session.parties)) return;
    const party = session.parties.find((p) => p.id === entry.call.partyId);
    const status = party && ownValue(PARTY_STATUS, party.status?.code);
    const others = session.parties.filter((p) => p !== party);
    if (!status || !others.some((p) => p.status?.code === 'Answered' || p.status?.code === 'Hold')) return;
    if (entry.call.callStatus === status) return;
    applyCall({ ...entry.call, callStatus: status, isOnHold: status === STATUS.onHold });
  }

  const EVENTS = {
    'rc-telephony-session-notify': onTelephonySession,
    'rc-call-init-notify': onCall,
    'rc-call-ring-notify': onCall,
    'rc-call-start-notify': onCall,
    'rc-call-hold-notify': onCall,
    'rc-call-resume-notify': onCall,
    'rc-call-mute-notify': onCall,
    'rc-call-end-notify': onCallEnd,
    'rc-call-failed-notify': onCallFailed,
  };

  function handleEvent(event) {
    const handler = ownValue(EVENTS, event.type);
    if (!handler || !store.get().session.loggedIn) return;
    handler(event);
    ringingChanged();
  }

  // -------------------------------------------------------------------------
  // Microphone and dialer readiness

  function setMicrophone(state) {
    if (state === microphone) return;
    microphone = state;
    stateChanged(store.get());
  }

  async function microphonePermission() {
    try {
      return await navigator.permissions.query({ name: 'microphone' });
    } catch {
      return null;
    }
  }

  // probeMicrophone finds out, without asking the user, whether there is a
  // microphone the widget may use; the first call asks for it.
  async function probeMicrophone() {
    const media = navigator.mediaDevices;
    if (!media?.getUserMedia || typeof RTCPeerConnection !== 'function') return 'unsupported';
    const permission = await microphonePermission();
    if (permission && permission !== watchedPermission) {
      watchedPermission = permission;
      permission.addEventListener('change', checkMicrophone);
    }
    if (permission?.state === 'denied') return 'blocked';
    const devices = await media.enumerateDevices().catch(() => null);
    if (!devices) return 'available';
    return devices.some((device) => device.kind === 'audioinput') ? 'available' : 'absent';
  }

  function checkMicrophone() {
    probeMicrophone().then(setMicrophone, (err) => warn(`cannot check the microphone: ${err.message}`));
  }

  // retryMicrophone asks for the microphone again, from the user's click.
  function retryMicrophone() {
    getMicrophone().then(
      (stream) => stream.getTracks().forEach((track) => track.stop()),
      (err) => showAlert({ message: err.message, level: 'warning' }),
    );
  }

  function dialerStatus(state) {
    if (!state.session.loggedIn) return { ready: false, problem: '' };
    if (!state.session.features.call || config.flags?.disableCall === true) return { ready: false, problem: 'callingOff' };
    // A RingOut rings a phone: it needs no microphone here.
    if (state.callWith === 'ringout') return { ready: true, problem: '' };
    if (microphone === 'checking') return { ready: false, problem: '' };
    const problem = MICROPHONE_PROBLEMS[microphone] ?? '';
    return { ready: problem === '', problem };
  }

  // stateChanged follows the widget's state: it keeps the dialer's
  // readiness in the store and ends the calls of a user who signed out.
  function stateChanged(state) {
    const { ready, problem } = dialerStatus(state);
    if (state.dialerReady !== ready || state.dialerProblem !== problem) {
      store.update({ dialerReady: ready, dialerProblem: problem });
      return; // the store calls back with the new state
    }
    if (state.session.loggedIn !== signedIn) {
      signedIn = state.session.loggedIn;
      // The stream reopens for the user who signed in; until then the
      // link's state is not known.
      if (signedIn) link = '';
    }
    if (!signedIn && entries().length > 0) {
      finishAll();
      ringingChanged();
    }
    postLink();
    render();
  }

  // -------------------------------------------------------------------------
  // Link status (rc-webphone-connection-status-notify)

  function linkChanged(status) {
    link = status;
    postLink();
  }

  function postLink() {
    if (!link) return;
    const status = signedIn ? link : 'disconnected';
    if (status === postedLink) return;
    postedLink = status;
    post({ type: 'rc-webphone-connection-status-notify', connectionStatus: status, deviceId: device() });
  }

  // -------------------------------------------------------------------------
  // Commands of the host (through the bridge)

  async function newCall(phoneNumber, toCall) {
    const number = phoneNumber.trim();
    if (number.length > MAX_NUMBER_LENGTH) {
      return { error: 'invalidNumber', message: `phoneNumber has at most ${MAX_NUMBER_LENGTH} characters` };
    }
    navigate('/dialer');
    foldCall();
    setNumber(number);
    if (!toCall) return OK;
    // The host hears back within its 5 s request limit even when the first
    // call waits on the microphone; later failures come as call events.
    const placed = placeCall(number);
    const pending = new Promise((resolve) => setTimeout(resolve, NEW_CALL_ANSWER_MS, OK));
    return Promise.race([placed, pending]);
  }

  function findCall(callId, action) {
    const list = entries();
    if (callId !== undefined && callId !== null) {
      return list.find((entry) => entry.id !== '' &&
        [entry.id, entry.call.telephonySessionId, entry.call.sessionId, entry.call.callId].includes(callId)) ?? null;
    }
    if (action === 'answer' || action === 'reject') return list.find(isRinging) ?? null;
    return currentEntry(list);
  }

  // controlCall carries out rc-adapter-control-call for the actions the
  // phone supports; it resolves to OK or {error, message, callId}.
  async function controlCall({ callAction, callId, options }) {
    if (!ownValue(ACTIONS, callAction)) {
      return { error: 'unsupported', message: `${callAction} is not supported`, callId: callId ?? null };
    }
    const entry = findCall(callId, callAction);
    if (!entry) {
      const what = callId ? `call ${callId}` : (callAction === 'answer' || callAction === 'reject' ? 'ringing call' : 'call in progress');
      return { error: 'noSuchCall', message: `There is no ${what} in this widget.`, callId: callId ?? null };
    }
    try {
      await perform(entry, callAction, options);
      return OK;
    } catch (err) {
      return { error: controlError(err), message: err.message, callId: entry.id || null };
    }
  }

  // sessions lists the calls of this device as the server knows them.
  async function sessions() {
    if (!store.get().session.loggedIn) return [];
    const answer = await request('GET', `${CALLS_URL}?deviceId=${encodeURIComponent(device())}`);
    return Array.isArray(answer.calls) ? answer.calls.filter((call) => readCall(call)) : [];
  }

  // resync catches up with the server after the event stream lost events.
  async function resync() {
    const list = await sessions();
    const known = new Set(list.map((call) => call.id));
    list.forEach(applyCall);
    for (const entry of [...calls.values()]) {
      if (!known.has(entry.id) && !entry.busy && !entry.answering) {
        finish(entry, { ...entry.call, callStatus: STATUS.finished }, { quiet: true });
      }
    }
    ringingChanged();
  }

  // -------------------------------------------------------------------------
  // Dialer input

  // setNumber shows value formatted, with the caret after its n-th
  // significant character (the end by default).
  function setNumber(value, n = Infinity) {
    const formatted = formatTyped(value.slice(0, MAX_NUMBER_LENGTH), region());
    ui.number.value = formatted;
    typed = formatted;
    if (document.activeElement === ui.number) {
      const caret = Number.isFinite(n) ? caretAfter(formatted, n) : formatted.length;
      ui.number.setSelectionRange(caret, caret);
    }
    renderDialer(store.get());
  }

  function onNumberInput(event) {
    const { value } = ui.number;
    let n = countSignificant(value.slice(0, ui.number.selectionStart ?? value.length));
    let raw = value;
    if (event.inputType === 'deleteContentBackward' && n > 0 && stripFormatting(value) === stripFormatting(typed)) {
      // Only formatting went: take the character before it with it.
      raw = stripFormatting(value);
      raw = raw.slice(0, n - 1) + raw.slice(n);
      n -= 1;
    }
    setNumber(raw, n);
  }

  function typeKey(key) {
    const input = ui.number;
    const start = input.selectionStart ?? input.value.length;
    const end = input.selectionEnd ?? start;
    setNumber(input.value.slice(0, start) + key + input.value.slice(end), countSignificant(input.value.slice(0, start)) + 1);
  }

  function deleteKey() {
    const input = ui.number;
    const start = input.selectionStart ?? input.value.length;
    const end = input.selectionEnd ?? start;
    if (start !== end) {
      setNumber(input.value.slice(0, start) + input.value.slice(end), countSignificant(input.value.slice(0, start)));
      return;
    }
    const n = countSignificant(input.value.slice(0, start));
    if (n === 0) return;
    const raw = stripFormatting(input.value);
    setNumber(raw.slice(0, n - 1) + raw.slice(n), n - 1);
  }

  function onCallClick() {
    const number = ui.number.value.trim();
    if (!number) {
      // An empty number redials the last one, shown first.
      if (lastDialled) setNumber(lastDialled);
      ui.number.focus();
      return;
    }
    placeCall(number);
  }

  // foldCall folds the call panel into the call bar so that the page shows.
  function foldCall() {
    if (!currentEntry()) return;
    collapsed = true;
    render();
  }

  // -------------------------------------------------------------------------
  // Rendering

  function findElements() {
    const ids = {
      number: 'cb-dial-number', backspace: 'cb-dial-backspace', dialKeypad: 'cb-dial-keypad', call: 'cb-dial-call',
      reason: 'cb-dial-reason', retry: 'cb-dial-retry',
      incoming: 'cb-incoming', incomingName: 'cb-incoming-name', incomingNumber: 'cb-incoming-number',
      answer: 'cb-answer', decline: 'cb-decline',
      panel: 'cb-active-call', minimize: 'cb-call-minimize', name: 'cb-call-name', callNumber: 'cb-call-number',
      status: 'cb-call-status', pad: 'cb-call-pad', tones: 'cb-call-tones', callKeypad: 'cb-call-keypad',
      mute: 'cb-mute', hold: 'cb-hold', keypadToggle: 'cb-keypad-toggle', hangup: 'cb-hangup',
      bar: 'cb-call-bar', barText: 'cb-call-bar-text',
      list: 'cb-calls-list', listEmpty: 'cb-calls-empty', rowTemplate: 'cb-call-row-template',
      audio: 'cb-remote-audio', signIn: 'cb-sign-in', tabs: 'cb-tabs',
    };
    return Object.fromEntries(Object.entries(ids).map(([key, id]) => [key, byId(id)]));
  }

  // describe is who is on the other end of a call: a name and a number.
  function describe(entry) {
    const { call } = entry;
    const inbound = call.direction === 'Inbound';
    const rawNumber = inbound ? (call.from ?? call.fromNumber) : (call.to ?? call.toNumber);
    const number = formatNumber(typeof rawNumber === 'string' ? rawNumber : asString(rawNumber?.phoneNumber), region());
    const name = asString(inbound ? call.fromUserName : call.toUserName);
    if (name) return { name, number };
    return { name: number || (inbound ? 'Unknown caller' : 'Unknown number'), number: '' };
  }

  function statusText(entry) {
    const { call } = entry;
    if (isOnHold(call)) return 'On hold';
    if (call.callStatus === STATUS.connected) return clock(Date.now() - entry.connectedAt);
    if (entry.answering || call.direction === 'Inbound') return 'Connecting…';
    return call.callStatus === STATUS.connecting ? 'Ringing…' : 'Calling…';
  }

  function setPressed(button, pressed, label) {
    button.setAttribute('aria-pressed', String(pressed));
    button.querySelector('.call-control__label').textContent = label;
  }

  function renderDialer(state) {
    const empty = ui.number.value === '';
    ui.backspace.hidden = empty;
    ui.call.disabled = !state.dialerReady || dialing !== null;
    ui.reason.textContent = DIALER_PROBLEMS[state.dialerProblem] ?? '';
    ui.retry.hidden = state.dialerProblem !== 'microphoneBlocked' && state.dialerProblem !== 'microphoneAbsent';
  }

  function renderIncoming(entry) {
    ui.incoming.hidden = !entry;
    if (!entry) return;
    const { name, number } = describe(entry);
    ui.incomingName.textContent = name;
    ui.incomingNumber.textContent = number;
    ui.answer.disabled = Boolean(entry.busy);
    ui.decline.disabled = Boolean(entry.busy);
  }

  function renderCall(entry) {
    const view = entry ? { ...describe(entry), text: statusText(entry) } : ended;
    ui.panel.hidden = !view || collapsed;
    ui.bar.hidden = !entry || !collapsed;
    if (!view) return;
    ui.panel.dataset.state = entry ? (isOnHold(entry.call) ? 'onHold' : entry.call.callStatus) : 'ended';
    ui.name.textContent = view.name;
    ui.callNumber.textContent = view.number;
    ui.status.textContent = view.text;
    ui.barText.textContent = `${view.name} · ${view.text}`;

    const can = (action) => Boolean(entry) && !entry.busy && ACTIONS[action].allowed(entry);
    const muted = entry?.call.isOnMute === true;
    const held = Boolean(entry) && isOnHold(entry.call);
    setPressed(ui.mute, muted, muted ? 'Unmute' : 'Mute');
    setPressed(ui.hold, held, held ? 'Resume' : 'Hold');
    ui.mute.disabled = !can(muted ? 'unmute' : 'mute');
    ui.hold.disabled = !can(held ? 'unhold' : 'hold');
    const tones = can('dtmf');
    if (!tones) padOpen = false;
    ui.keypadToggle.disabled = !tones;
    ui.keypadToggle.setAttribute('aria-pressed', String(padOpen));
    ui.pad.hidden = !padOpen;
    ui.panel.dataset.pad = String(padOpen);
    ui.tones.textContent = entry?.tones ?? '';
    ui.hangup.disabled = !entry || Boolean(entry.busy);
  }

  function renderCallList(list) {
    for (const [entry, row] of rows) {
      if (!list.includes(entry)) {
        row.remove();
        rows.delete(entry);
      }
    }
    list.forEach((entry, index) => {
      let row = rows.get(entry);
      if (!row) {
        row = ui.rowTemplate.content.firstElementChild.cloneNode(true);
        row.querySelector('.call-row__open').addEventListener('click', () => {
          focus(entry);
          render();
        });
        rows.set(entry, row);
      }
      const { name, number } = describe(entry);
      row.dataset.state = isRinging(entry) ? 'ringing' : (isOnHold(entry.call) ? 'onHold' : entry.call.callStatus);
      row.querySelector('.call-row__name').textContent = name;
      row.querySelector('.call-row__detail').textContent =
        [entry.call.direction === 'Inbound' ? 'Incoming' : 'Outgoing', number].filter(Boolean).join(' · ');
      row.querySelector('.call-row__status').textContent = isRinging(entry) ? 'Ringing' : statusText(entry);
      // Rows move only when the order changes, so a focused row keeps its focus.
      if (ui.list.children[index] !== row) ui.list.insertBefore(row, ui.list.children[index] ?? null);
    });
    ui.listEmpty.hidden = list.length > 0;
  }

  function renderAudio(entry) {
    const stream = entry?.remote ?? null;
    if (ui.audio.srcObject === stream) return;
    ui.audio.srcObject = stream;
    if (stream) ui.audio.play().catch((err) => warn(`cannot play the call's audio: ${err.message}`));
  }

  // The clock ticks while a call is connected.
  function renderClock(list) {
    const ticking = list.some((entry) => entry.connectedAt);
    if (ticking && !clockTimer) clockTimer = setInterval(render, CLOCK_INTERVAL_MS);
    if (!ticking && clockTimer) {
      clearInterval(clockTimer);
      clockTimer = 0;
    }
  }

  function render() {
    const list = entries();
    const current = currentEntry(list);
    if (!current) collapsed = false;
    renderDialer(store.get());
    renderIncoming(list.find(isRinging) ?? null);
    renderCall(current);
    renderCallList(list);
    renderAudio(current);
    renderClock(list);
  }

  // -------------------------------------------------------------------------
  // Controls

  function bindDialer() {
    ui.number.addEventListener('input', onNumberInput);
    ui.number.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') onCallClick();
    });
    ui.backspace.addEventListener('click', deleteKey);
    ui.call.addEventListener('click', onCallClick);
    ui.retry.addEventListener('click', retryMicrophone);

    // A held 0 types a + instead of a 0.
    let plusTimer = 0;
    let plusTyped = false;
    const zero = ui.dialKeypad.querySelector('[data-key="0"]');
    zero.addEventListener('pointerdown', () => {
      plusTyped = false;
      plusTimer = setTimeout(() => {
        plusTyped = true;
        typeKey('+');
      }, PLUS_HOLD_MS);
    });
    for (const type of ['pointerup', 'pointerleave', 'pointercancel']) {
      zero.addEventListener(type, () => clearTimeout(plusTimer));
    }
    ui.dialKeypad.addEventListener('click', (event) => {
      const key = event.target.closest('[data-key]');
      if (!key) return;
      if (key === zero && plusTyped) {
        plusTyped = false;
        return;
      }
      typeKey(key.dataset.key);
    });
  }

  function bindCallControls() {
    const ringing = () => entries().find(isRinging);
    ui.answer.addEventListener('click', () => {
      askNotificationPermission();
      act(ringing(), 'answer');
    });
    ui.decline.addEventListener('click', () => act(ringing(), 'reject'));
    ui.hangup.addEventListener('click', () => act(currentEntry(), 'hangup'));
    ui.mute.addEventListener('click', () => {
      const entry = currentEntry();
      act(entry, entry?.call.isOnMute ? 'unmute' : 'mute');
    });
    ui.hold.addEventListener('click', () => {
      const entry = currentEntry();
      act(entry, entry && isOnHold(entry.call) ? 'unhold' : 'hold');
    });
    ui.keypadToggle.addEventListener('click', () => {
      padOpen = !padOpen;
      render();
    });
    ui.callKeypad.addEventListener('click', (event) => {
      const key = event.target.closest('[data-dtmf]');
      if (key) act(currentEntry(), 'dtmf', { dtmf: key.dataset.dtmf });
    });
    ui.minimize.addEventListener('click', foldCall);
    ui.bar.addEventListener('click', () => {
      collapsed = false;
      render();
    });
    // Picking a page folds the call away, even the page already shown.
    ui.tabs.addEventListener('click', (event) => {
      if (event.target.closest('[data-nav]')) foldCall();
    });
  }

  // -------------------------------------------------------------------------
  // Start

  bindDialer();
  bindCallControls();
  ui.signIn.addEventListener('click', askNotificationPermission, { once: true });
  navigator.mediaDevices?.addEventListener?.('devicechange', checkMicrophone);
  checkMicrophone();
  store.subscribe(stateChanged);
  stateChanged(store.get());

  // The hooks tests read, on a development server only: the device, its
  // calls and their connections.
  if (config.testHooks === true) {
    window.cbPhone = Object.freeze({
      get deviceId() {
        return device();
      },
      calls: () => entries().filter((entry) => entry.id).map((entry) => entry.call),
      pcs: () => entries().map((entry) => entry.pc).filter(Boolean),
    });
  }

  return {
    handleEvent,
    linkChanged,
    foldCall,
    resync: () => resync().catch((err) => warn(`could not refresh the calls: ${err.message}`)),
    newCall,
    controlCall,
    sessions,
  };
}

// controlError names a failed control request the way rc-control-call-error does.
function controlError(err) {
  const code = String(err?.code ?? '').toLowerCase();
  if (code.includes('state')) return 'invalidState';
  if (code.includes('nosuch') || code.includes('notfound')) return 'noSuchCall';
  return 'failed';
}
