// The settings page's own controls and what they drive: the user's status
// (presence), and the calling settings — how calls are made (callWith:
// browser or ringout), the phone a RingOut rings first (myLocation) and the
// caller id (fromNumber). The calling settings are kept in this browser's
// storage for the user who chose them. In the RingOut mode the phone asks
// this module to place its calls, which ringout.js places and follows.

import { asString, isPlainObject } from './fields.js';
import { t } from './i18n.js';
import { cleanNumber, formatNumber, isLocation, regionOf } from './numbers.js';
import { createRingOut } from './ringout.js';

const LOG_PREFIX = '[callbridge]';
const warn = (...args) => console.warn(LOG_PREFIX, ...args);

const STORAGE_KEY = 'cb-calling-settings';
const NUMBERS_URL = '/widget/phone-numbers';
const PRESENCE_URL = '/widget/presence';
const OK = Object.freeze({ data: 'ok' });

export const CALL_WITH = Object.freeze(['browser', 'ringout']);
// callingMode of rc-calling-settings-notify for each callWith.
const CALLING_MODES = Object.freeze({ browser: 'webphone', ringout: 'ringout' });

// The choices of the status selector, as presence (docs/events.md
// rc-adapter-syncPresence).
export const PRESENCE_CHOICES = Object.freeze({
  Available: Object.freeze({ userStatus: 'Available', dndStatus: 'TakeAllCalls' }),
  Busy: Object.freeze({ userStatus: 'Busy', dndStatus: 'TakeAllCalls' }),
  DoNotDisturb: Object.freeze({ userStatus: 'Busy', dndStatus: 'DoNotAcceptAnyCalls' }),
  Offline: Object.freeze({ userStatus: 'Offline', dndStatus: 'TakeAllCalls' }),
});
// The message keys of the choices' labels (the status selector's options
// use the same).
const PRESENCE_LABELS = Object.freeze({
  Available: 'settings.presenceAvailable',
  Busy: 'settings.presenceBusy',
  DoNotDisturb: 'settings.presenceDoNotDisturb',
  Offline: 'settings.presenceOffline',
});
// What a failed status change says, by the error's code; any other code
// says settings.presenceFailed.
const PRESENCE_ERRORS = Object.freeze({
  network: 'settings.presenceFailedOffline',
  NotImplemented: 'settings.presenceNotSupported',
});

// presenceChoice is the status selector's choice for a presence: do not
// disturb whenever calls do not ring, else the user status.
export function presenceChoice(presence) {
  if (!isPlainObject(presence)) return 'Available';
  if (presence.dndStatus === 'DoNotAcceptAnyCalls' || presence.dndStatus === 'TakeDepartmentCallsOnly') return 'DoNotDisturb';
  return Object.hasOwn(PRESENCE_CHOICES, presence.userStatus) ? presence.userStatus : 'Available';
}

// forUser returns the choices that hold for user: another user's choice of
// numbers does not; choices made before anyone signed in do.
export function forUser(chosen, user) {
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

  const region = () => regionOf(widgetStore.get().session);
  const shown = (number) => (number ? formatNumber(number, region()) : '');
  const ownNumber = () => numbers.find((n) => n.usageType === 'DirectNumber')?.phoneNumber ?? '';

  // The settings in effect: the user's choices, else the defaults.
  const callWith = () => chosen.callWith || defaultCallWith;
  const myLocation = () => chosen.myLocation || ownNumber() || asString(widgetStore.get().session.extension?.number);
  const fromNumber = () => chosen.fromNumber || numbers[0]?.phoneNumber || '';
  const ringout = createRingOut({ request, showAlert, myLocation, shown, changed: () => render() });

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
    if (!user) ringout.clear();
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
    if (answer.error) {
      warn(`could not change the status: ${answer.message}`);
      const key = Object.hasOwn(PRESENCE_ERRORS, answer.error) ? PRESENCE_ERRORS[answer.error] : 'settings.presenceFailed';
      showAlert({ message: t(key), level: 'danger' });
    }
    render();
  }

  // -------------------------------------------------------------------------
  // Rendering

  function findElements() {
    const ids = {
      presence: 'cb-presence', presenceBox: 'cb-presence-box', accountPresence: 'cb-account-presence',
      callWithHint: 'cb-call-with-hint', locationRow: 'cb-my-location-row', location: 'cb-my-location',
      locationHint: 'cb-my-location-hint', myNumbers: 'cb-my-numbers', fromNumber: 'cb-from-number',
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
    ui.callWithHint.textContent = t(callWith() === 'ringout' ? 'settings.ringOutHint' : 'settings.browserHint');
    ui.locationRow.hidden = callWith() !== 'ringout';
    if (document.activeElement !== ui.location) ui.location.value = chosen.myLocation ? shown(chosen.myLocation) : '';
    ui.location.placeholder = shown(myLocation()) || t('settings.myLocationPlaceholder');
    ui.location.setAttribute('aria-invalid', String(locationError !== ''));
    ui.locationHint.textContent = locationError || t('settings.myLocationHint');
    ui.locationHint.dataset.error = String(locationError !== '');
    const suggestions = [...numbers.filter((n) => n.usageType === 'DirectNumber').map((n) => n.phoneNumber),
      asString(widgetStore.get().session.extension?.number)].filter(Boolean);
    ui.myNumbers.replaceChildren(...suggestions.map((n) => option(n, shown(n))));
    const from = fromNumber();
    const labels = numbers.map((n) => option(n.phoneNumber,
      n.usageType === 'MainCompanyNumber' ? t('settings.companyNumber', { number: shown(n.phoneNumber) }) : shown(n.phoneNumber)));
    if (labels.length === 0) labels.push(option('', t(numbersLoaded ? 'settings.noNumber' : 'settings.loadingNumbers')));
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
    const label = t(PRESENCE_LABELS[choice]);
    ui.accountPresence.setAttribute('aria-label', label);
    ui.accountPresence.title = label;
  }

  function render() {
    renderCalling();
    renderPresence();
    ringout.render();
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
        locationError = t('settings.myLocationInvalid');
        render();
      }
    });
    ui.location.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') ui.location.blur();
    });
    ui.fromNumber.addEventListener('change', () => update({ fromNumber: ui.fromNumber.value }));
    ui.presence.addEventListener('change', () => choosePresence(ui.presence.value));
  }

  // handleEvent hands the events of the stream to the RingOut while signed in.
  function handleEvent(event) {
    if (widgetStore.get().session.loggedIn) ringout.handleEvent(event);
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

  return { handleEvent, update, setPresence, ringOut: ringout.ringOut };
}
