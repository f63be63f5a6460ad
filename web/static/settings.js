// The settings page's own controls and what they drive: the user's status
// (presence), and the calling settings — how calls are made (callWith:
// browser or ringout), the phone a RingOut rings first (myLocation) and the
// caller id (fromNumber). The calling settings are kept in this browser's
// storage for the user who chose them. In the RingOut mode the phone asks
// this module to place its calls: it posts the RingOut and follows it in the
// RingOut bar through rc-ringout-call-notify.

import { asString, isPlainObject, ownValue } from './fields.js';
import { cleanNumber, formatNumber, isLocation, regionOf } from './numbers.js';

const LOG_PREFIX = '[callbridge]';
const warn = (...args) => console.warn(LOG_PREFIX, ...args);

const STORAGE_KEY = 'cb-calling-settings';
const NUMBERS_URL = '/widget/phone-numbers';
const PRESENCE_URL = '/widget/presence';
const RINGOUT_URL = '/widget/ringout';
const ringOutUrl = (id) => `${RINGOUT_URL}/${encodeURIComponent(id)}`;
const OK = Object.freeze({ data: 'ok' });

export const CALL_WITH = Object.freeze(['browser', 'ringout']);
// callingMode of rc-calling-settings-notify for each callWith.
const CALLING_MODES = Object.freeze({ browser: 'webphone', ringout: 'ringout' });
// How long the RingOut bar says how a RingOut ended.
const ENDED_DISPLAY_MS = 4_000;

// The choices of the status selector, as presence (docs/events.md
// rc-adapter-syncPresence).
export const PRESENCE_CHOICES = Object.freeze({
  Available: Object.freeze({ userStatus: 'Available', dndStatus: 'TakeAllCalls' }),
  Busy: Object.freeze({ userStatus: 'Busy', dndStatus: 'TakeAllCalls' }),
  DoNotDisturb: Object.freeze({ userStatus: 'Busy', dndStatus: 'DoNotAcceptAnyCalls' }),
  Offline: Object.freeze({ userStatus: 'Offline', dndStatus: 'TakeAllCalls' }),
});
const PRESENCE_LABELS = { Available: 'Available', Busy: 'Busy', DoNotDisturb: 'Do not disturb', Offline: 'Offline' };

// presenceChoice is the status selector's choice for a presence: do not
// disturb whenever calls do not ring, else the user status.
export function presenceChoice(presence) {
  if (!isPlainObject(presence)) return 'Available';
  if (presence.dndStatus === 'DoNotAcceptAnyCalls' || presence.dndStatus === 'TakeDepartmentCallsOnly') return 'DoNotDisturb';
  return Object.hasOwn(PRESENCE_CHOICES, presence.userStatus) ? presence.userStatus : 'Available';
}

// How a RingOut that ended before it connected ended, by the failing
// party's status (seeds/001 RingOut statuses).
const CALLER_FAILURES = {
  NoAnswer: 'Your phone did not answer',
  Busy: 'Your phone is busy',
  Rejected: 'You declined the RingOut',
  CannotReach: 'Your phone cannot be reached',
};
const CALLEE_FAILURES = {
  NoAnswer: 'No answer',
  Busy: 'Busy',
  Rejected: 'Declined',
  CannotReach: 'Number cannot be reached',
};

// forUser returns the choices that hold for user: another user's choice of
// numbers does not; choices made before anyone signed in do.
function forUser(chosen, user) {
  if (chosen.user === user) return chosen;
  if (chosen.user === '') return { ...chosen, user };
  return { callWith: chosen.callWith, myLocation: '', fromNumber: '', user };
}

const settingsError = (code, message) => Object.assign(new Error(message), { code });
const byId = (id) => document.getElementById(id);

function loadStored() {
  try {
    const stored = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? 'null');
    return isPlainObject(stored) ? stored : {};
  } catch {
    return {};
  }
}

function keep(value) {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(value));
  } catch (err) {
    warn(`could not keep the calling settings: ${err.message}`);
  }
}

// createSettings starts the status and calling settings.
//   config:    the widget's boot configuration (flags.defaultCallWith)
//   store:     the widget's store; callWith is kept in it for the phone
//   request:   request(method, url, body) → Promise of the server's JSON
//              answer, rejecting with an Error that carries the server's code
//   showAlert: showAlert({message, level}) shows a banner
//   onChange:  onChange(settings) is told the calling settings at start and
//              after each change, in the fields of rc-calling-settings-notify
// It returns { handleEvent(event), update(settings), setPresence(presence),
// ringOut(number) }.
export function createSettings({ config, store: widgetStore, request, showAlert, onChange }) {
  const ui = findElements();
  const defaultCallWith = CALL_WITH.includes(config.flags?.defaultCallWith) ? config.flags.defaultCallWith : 'browser';
  const stored = loadStored();
  // What the user (or the host) chose: '' means the default. user is the
  // loginNumber the numbers were chosen by.
  let chosen = {
    callWith: CALL_WITH.includes(stored.callWith) ? stored.callWith : '',
    myLocation: asString(stored.myLocation),
    fromNumber: asString(stored.fromNumber),
    user: asString(stored.user),
  };
  // The user's numbers ({phoneNumber, usageType}), once loaded.
  let numbers = [];
  let numbersLoaded = false;
  let loads = 0;
  let user = '';
  let notified = '';
  let locationError = '';
  // A presence choice on its way to the server.
  let pendingPresence = '';
  // The RingOut this widget follows: {id, session, from, to, phase, text,
  // ended, cancelling}; id is the RingOut's, session its telephony
  // session's; phase is caller, callee or connected.
  let ringout = null;
  let ringoutTimer = 0;

  const region = () => regionOf(widgetStore.get().session);
  const shown = (number) => (number ? formatNumber(number, region()) : '');
  const ownNumber = () => numbers.find((n) => n.usageType === 'DirectNumber')?.phoneNumber ?? '';

  // The settings in effect: the user's choices, else the defaults.
  const callWith = () => chosen.callWith || defaultCallWith;
  const myLocation = () => chosen.myLocation || ownNumber() || asString(widgetStore.get().session.extension?.number);
  const fromNumber = () => chosen.fromNumber || numbers[0]?.phoneNumber || '';

  function settings() {
    return {
      callWith: callWith(),
      callingMode: CALLING_MODES[callWith()],
      fromNumbers: numbers.map(({ phoneNumber, usageType }) => ({ phoneNumber, usageType })),
      fromNumber: fromNumber(),
      myLocation: myLocation(),
    };
  }

  // changed keeps, shows and announces the settings.
  function changed() {
    keep(chosen);
    widgetStore.update({ callWith: callWith() });
    render();
    const now = settings();
    const text = JSON.stringify(now);
    if (text === notified) return;
    notified = text;
    onChange(now);
  }

  // -------------------------------------------------------------------------
  // Calling settings

  // checkLocation returns a myLocation without its formatting, or throws.
  function checkLocation(value) {
    const location = cleanNumber(value);
    if (location !== '' && !isLocation(location)) {
      throw settingsError('invalidField', 'myLocation must be a phone number, an extension number, or mainNumber*extension');
    }
    return location;
  }

  function checkFromNumber(value) {
    const number = cleanNumber(value);
    if (number !== '' && numbersLoaded && !numbers.some((n) => n.phoneNumber === number)) {
      const list = numbers.map((n) => n.phoneNumber).join(', ') || 'none';
      throw settingsError('invalidField', `fromNumber must be one of your numbers (${list})`);
    }
    return number;
  }

  // update carries out rc-calling-settings-update: each field given
  // replaces the setting ('' restores its default). Nothing changes unless
  // every field is valid.
  function update({ callWith, myLocation: location, fromNumber: from }) {
    const next = { ...chosen, user };
    try {
      if (callWith !== undefined) next.callWith = callWith;
      if (location !== undefined) next.myLocation = checkLocation(location);
      if (from !== undefined) next.fromNumber = checkFromNumber(from);
    } catch (err) {
      warn(`rc-calling-settings-update: ${err.message}`);
      return { error: err.code, message: err.message };
    }
    chosen = next;
    locationError = '';
    changed();
    return OK;
  }

  async function loadNumbers() {
    const load = ++loads;
    try {
      const answer = await request('GET', NUMBERS_URL);
      if (load !== loads) return;
      numbers = (Array.isArray(answer.records) ? answer.records : [])
        .filter((n) => isPlainObject(n) && typeof n.phoneNumber === 'string' && n.phoneNumber !== '')
        .map((n) => ({ phoneNumber: n.phoneNumber, usageType: asString(n.usageType) }));
      numbersLoaded = true;
      if (chosen.fromNumber && !numbers.some((n) => n.phoneNumber === chosen.fromNumber)) {
        warn(`caller id ${chosen.fromNumber} is not one of your numbers; using ${numbers[0]?.phoneNumber ?? 'none'}`);
        chosen = { ...chosen, fromNumber: '' };
      }
      changed();
    } catch (err) {
      warn(`could not load your numbers: ${err.message}`);
    }
  }

  // userChanged follows sign-in and sign-out: a user's own choices of
  // numbers apply only to that user.
  function userChanged(next) {
    user = next;
    loads += 1;
    numbers = [];
    numbersLoaded = false;
    if (user) chosen = forUser(chosen, user);
    if (!user) endRingOut(null, { quiet: true });
    changed();
    if (user) loadNumbers();
  }

  // -------------------------------------------------------------------------
  // Presence

  // setPresence carries out rc-adapter-set-presence and the status
  // selector: the server stores the status and tells every widget of the
  // user (rc-adapter-syncPresence). It resolves with the new presence.
  async function setPresence(fields) {
    const body = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
    try {
      const presence = await request('PUT', PRESENCE_URL, body);
      return { data: presence };
    } catch (err) {
      return { error: err.code || 'failed', message: err.message };
    }
  }

  async function choosePresence(choice) {
    pendingPresence = choice;
    render();
    const answer = await setPresence(PRESENCE_CHOICES[choice]);
    if (pendingPresence === choice) pendingPresence = '';
    if (answer.error) showAlert({ message: `Could not change your status: ${answer.message}`, level: 'danger' });
    render();
  }

  // -------------------------------------------------------------------------
  // RingOut

  // ringOut places a RingOut from myLocation to number. It resolves once
  // the server has it, and rejects with an Error that carries a code.
  async function ringOut(number) {
    if (ringout && !ringout.ended) {
      throw settingsError('busy', 'A RingOut is under way: cancel it or wait until it ends.');
    }
    const from = myLocation();
    if (!from) throw settingsError('noLocation', 'Set My location in Settings: the phone a RingOut rings first.');
    clearTimeout(ringoutTimer);
    const current = { id: '', session: '', from, to: number, phase: 'caller', text: '', ended: false, cancelling: false };
    ringout = current;
    render();
    let answer;
    try {
      answer = await request('POST', RINGOUT_URL, { from, to: number });
    } catch (err) {
      if (ringout === current) ringout = null;
      render();
      throw err;
    }
    if (ringout !== current) return;
    current.id = asString(answer.id) || (Number.isFinite(answer.id) ? String(answer.id) : '');
    current.session = asString(answer.telephonySessionId);
    applyStatus(current, answer.status);
  }

  // applyStatus follows a RingOut's status (seeds/001): both parties
  // InProgress while the caller's phone rings, then the callee's; Success
  // once connected; anything else ends it.
  function applyStatus(current, status) {
    if (!isPlainObject(status)) {
      render();
      return;
    }
    const { callStatus, callerStatus, calleeStatus } = status;
    if (callStatus === 'Success' || (callerStatus === 'Success' && calleeStatus === 'Success')) {
      current.phase = 'connected';
    } else if (callStatus === 'InProgress' || callStatus === undefined) {
      current.phase = callerStatus === 'Success' ? 'callee' : 'caller';
    } else {
      const text = ownValue(CALLER_FAILURES, callerStatus) || ownValue(CALLEE_FAILURES, calleeStatus) || 'RingOut failed';
      endRingOut(current, { text });
      return;
    }
    render();
  }

  // The RingOut's call (activeCall shape, the user's own leg) tells how it
  // goes on: Ringing while the user's phone rings, CallConnected once it
  // answered (the other number may still ring), OnHold, NoCall at the end.
  const RINGOUT_STATUS = {
    Ringing: (current) => current.phase,
    CallConnected: (current) => (current.phase === 'caller' ? 'callee' : current.phase),
    OnHold: () => 'connected',
  };

  function onRingOutCall(event) {
    const call = isPlainObject(event.call) ? event.call : null;
    if (!call) return;
    const status = asString(call.telephonyStatus);
    if (!ringout || ringout.ended) {
      if (status === 'NoCall' || !ownValue(RINGOUT_STATUS, status)) return;
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
    const next = ownValue(RINGOUT_STATUS, status);
    if (next) {
      ringout.phase = next(ringout);
      render();
    } else if (status === 'NoCall') {
      const text = ringout.cancelling ? 'RingOut cancelled'
        : ringout.phase === 'connected' ? 'RingOut ended' : 'RingOut ended before it connected';
      endRingOut(ringout, { text });
    }
  }

  // onTelephonySession learns from the RingOut's session when the number
  // dialled answered: then every party is answered.
  function onTelephonySession(event) {
    const session = isPlainObject(event.telephonySession) ? event.telephonySession : null;
    if (!ringout || ringout.ended || !session || !ringout.session || session.id !== ringout.session) return;
    const parties = Array.isArray(session.parties) ? session.parties : [];
    const answered = (p) => ['Answered', 'Hold'].includes(p?.status?.code);
    if (parties.length >= 2 && parties.every(answered) && ringout.phase !== 'connected') {
      ringout.phase = 'connected';
      render();
    }
  }

  async function cancelRingOut() {
    const current = ringout;
    if (!current || current.ended || !current.id || current.cancelling) return;
    current.cancelling = true;
    render();
    try {
      await request('DELETE', ringOutUrl(current.id));
      endRingOut(current, { text: 'RingOut cancelled' });
    } catch (err) {
      showAlert({ message: `Could not cancel the RingOut: ${err.message}`, level: 'danger' });
    } finally {
      current.cancelling = false;
      render();
    }
  }

  // endRingOut shows how a RingOut ended for a moment (none when quiet).
  function endRingOut(current, { text = '', quiet = false } = {}) {
    if (quiet) {
      ringout = null;
      clearTimeout(ringoutTimer);
      render();
      return;
    }
    if (!current || current !== ringout || current.ended) return;
    current.ended = true;
    current.text = text;
    clearTimeout(ringoutTimer);
    ringoutTimer = setTimeout(() => {
      if (ringout === current) ringout = null;
      render();
    }, ENDED_DISPLAY_MS);
    render();
  }

  function ringoutText(current) {
    if (current.ended) return current.text;
    const to = shown(current.to) || 'the number';
    if (!current.id && current.from) return `RingOut to ${to}…`;
    if (current.phase === 'connected') return `RingOut connected to ${to}`;
    if (current.phase === 'callee') return `RingOut: calling ${to}…`;
    return `RingOut: ringing your phone ${shown(current.from)}…`;
  }

  // -------------------------------------------------------------------------
  // Rendering

  function findElements() {
    const ids = {
      presence: 'cb-presence', presenceBox: 'cb-presence-box', accountPresence: 'cb-account-presence',
      callWithHint: 'cb-call-with-hint', locationRow: 'cb-my-location-row', location: 'cb-my-location',
      locationHint: 'cb-my-location-hint', myNumbers: 'cb-my-numbers', fromNumber: 'cb-from-number',
      bar: 'cb-ringout', barText: 'cb-ringout-text', barCancel: 'cb-ringout-cancel',
    };
    const found = Object.fromEntries(Object.entries(ids).map(([key, id]) => [key, byId(id)]));
    found.callWith = [...document.querySelectorAll('input[name="cb-call-with"]')];
    return found;
  }

  function option(value, label) {
    const element = document.createElement('option');
    element.value = value;
    element.textContent = label;
    return element;
  }

  function renderCalling() {
    for (const radio of ui.callWith) radio.checked = radio.value === callWith();
    ui.callWithHint.textContent = callWith() === 'ringout'
      ? 'Your phone rings first; answer it and the call goes on to the number you dialled.'
      : 'Calls use this browser\'s microphone and speaker.';
    ui.locationRow.hidden = callWith() !== 'ringout';
    if (document.activeElement !== ui.location) ui.location.value = chosen.myLocation ? shown(chosen.myLocation) : '';
    ui.location.placeholder = shown(myLocation()) || 'Your phone number';
    ui.location.setAttribute('aria-invalid', String(locationError !== ''));
    ui.locationHint.textContent = locationError || 'The phone RingOut rings first; once you answer, it calls the number you dialled.';
    ui.locationHint.dataset.error = String(locationError !== '');
    const suggestions = [...numbers.filter((n) => n.usageType === 'DirectNumber').map((n) => n.phoneNumber),
      asString(widgetStore.get().session.extension?.number)].filter(Boolean);
    ui.myNumbers.replaceChildren(...suggestions.map((n) => option(n, shown(n))));
    const from = fromNumber();
    const labels = numbers.map((n) => option(n.phoneNumber,
      n.usageType === 'MainCompanyNumber' ? `${shown(n.phoneNumber)} (company)` : shown(n.phoneNumber)));
    if (labels.length === 0) labels.push(option('', numbersLoaded ? 'No number' : 'Loading…'));
    ui.fromNumber.replaceChildren(...labels);
    ui.fromNumber.value = from;
    ui.fromNumber.disabled = numbers.length < 2;
  }

  function renderPresence() {
    const choice = pendingPresence || presenceChoice(widgetStore.get().session.presence);
    ui.presence.value = choice;
    ui.presence.disabled = !widgetStore.get().session.loggedIn;
    ui.presenceBox.dataset.presence = choice;
    ui.accountPresence.dataset.presence = choice;
    ui.accountPresence.setAttribute('aria-label', PRESENCE_LABELS[choice]);
    ui.accountPresence.title = PRESENCE_LABELS[choice];
  }

  function renderRingOut() {
    ui.bar.hidden = !ringout;
    if (!ringout) return;
    ui.bar.dataset.state = ringout.ended ? 'ended' : ringout.phase;
    ui.barText.textContent = ringoutText(ringout);
    ui.barCancel.hidden = ringout.ended || !ringout.id || ringout.phase === 'connected';
    ui.barCancel.disabled = ringout.cancelling;
  }

  function render() {
    renderCalling();
    renderPresence();
    renderRingOut();
  }

  // -------------------------------------------------------------------------
  // Controls and events

  function bindControls() {
    for (const radio of ui.callWith) {
      radio.addEventListener('change', () => {
        if (radio.checked) update({ callWith: radio.value });
      });
    }
    ui.location.addEventListener('change', () => {
      try {
        const location = checkLocation(ui.location.value);
        locationError = '';
        update({ myLocation: location });
      } catch {
        locationError = 'Enter a phone number, an extension number, or the company number*extension.';
        render();
      }
    });
    ui.location.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') ui.location.blur();
    });
    ui.fromNumber.addEventListener('change', () => update({ fromNumber: ui.fromNumber.value }));
    ui.presence.addEventListener('change', () => choosePresence(ui.presence.value));
    ui.barCancel.addEventListener('click', cancelRingOut);
  }

  const EVENTS = {
    'rc-ringout-call-notify': onRingOutCall,
    'rc-telephony-session-notify': onTelephonySession,
  };

  function handleEvent(event) {
    const handler = ownValue(EVENTS, event.type);
    if (handler && widgetStore.get().session.loggedIn) handler(event);
  }

  function stateChanged(state) {
    const next = state.session.loggedIn ? state.session.loginNumber : '';
    if (next !== user) {
      userChanged(next);
      return;
    }
    renderPresence();
  }

  bindControls();
  user = widgetStore.get().session.loggedIn ? widgetStore.get().session.loginNumber : '';
  if (user) chosen = forUser(chosen, user);
  changed();
  if (user) loadNumbers();
  widgetStore.subscribe(stateChanged);

  return { handleEvent, update, setPresence, ringOut };
}
