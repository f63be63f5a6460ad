// The audio settings: the microphone, the speaker and the ringer's output
// the user picked, the ringtone and its volume. They are kept in this
// browser's storage for each user who chose them (as the calling settings
// are, settings.js), shown on the settings page and applied by the phone:
// the microphone to new calls and to the call in progress, the speaker to
// the call's audio, the output, ringtone and volume to ringing. A device
// that goes away gives way to the default, with a notice. Each device is
// kept with its label too: a browser may give the same device a new id
// (from one page load to the next while the microphone's permission is not
// kept), and the label finds it again.

import { isPlainObject } from './fields.js';
import { t } from './i18n.js';
import { createTone, DEFAULT_RING_VOLUME, DEFAULT_RINGTONE, ringtoneAt, RINGTONES } from './ringer.js';

const LOG_PREFIX = '[callbridge]';
const warn = (...args) => console.warn(LOG_PREFIX, ...args);

const STORAGE_KEY = 'cb-audio-settings';
// This browser keeps the settings of this many users, the latest first.
export const MAX_USERS = 20;
const MAX_ID_LENGTH = 256;

export const AUDIO_DEFAULTS = Object.freeze({
  microphone: '', microphoneLabel: '', speaker: '', speakerLabel: '', ringer: '', ringerLabel: '',
  ringtone: DEFAULT_RINGTONE, volume: DEFAULT_RING_VOLUME,
});

// The kinds of device the settings pick, by setting.
export const DEVICE_KINDS = Object.freeze({ microphone: 'audioinput', speaker: 'audiooutput', ringer: 'audiooutput' });
// What the notice says when the device picked for a setting is gone.
const DEVICE_GONE = Object.freeze({ microphone: 'audio.microphoneGone', speaker: 'audio.speakerGone', ringer: 'audio.ringerGone' });

// readAudioSettings reads settings as stored: each field checked, the
// default for one missing or wrong.
export function readAudioSettings(value) {
  const v = isPlainObject(value) ? value : {};
  const id = (x) => (typeof x === 'string' && x.length <= MAX_ID_LENGTH ? x : '');
  return {
    microphone: id(v.microphone),
    microphoneLabel: id(v.microphoneLabel),
    speaker: id(v.speaker),
    speakerLabel: id(v.speakerLabel),
    ringer: id(v.ringer),
    ringerLabel: id(v.ringerLabel),
    ringtone: typeof v.ringtone === 'string' && Object.hasOwn(RINGTONES, v.ringtone) ? v.ringtone : DEFAULT_RINGTONE,
    volume: Number.isFinite(v.volume) ? Math.round(Math.min(100, Math.max(0, v.volume))) : DEFAULT_RING_VOLUME,
  };
}

// storedUsers reads the storage's value: [{user, settings}], the latest first.
export function storedUsers(stored) {
  const users = isPlainObject(stored) && Array.isArray(stored.users) ? stored.users : [];
  return users
    .filter((u) => isPlainObject(u) && typeof u.user === 'string' && u.user !== '')
    .slice(0, MAX_USERS)
    .map((u) => ({ user: u.user, settings: readAudioSettings(u.settings) }));
}

// settingsOf is user's settings in the storage's value, else the defaults.
export function settingsOf(stored, user) {
  const found = user ? storedUsers(stored).find((u) => u.user === user) : null;
  return found ? found.settings : { ...AUDIO_DEFAULTS };
}

// withSettings is the storage's value with user's settings, first.
export function withSettings(stored, user, settings) {
  const others = storedUsers(stored).filter((u) => u.user !== user);
  return { users: [{ user, settings: readAudioSettings(settings) }, ...others].slice(0, MAX_USERS) };
}

// The ids browsers give the default device of a kind.
const DEFAULT_IDS = ['', 'default'];

// deviceChoices lists the devices of kind ('audioinput', 'audiooutput') of
// enumerateDevices as a select shows them: the default first ('' as its
// id), then each device by its label, or by its kind and number while the
// browser keeps labels back.
export function deviceChoices(devices, kind) {
  const numbered = kind === 'audioinput' ? 'audio.microphoneNumbered' : 'audio.speakerNumbered';
  const own = devices.filter((d) => d.kind === kind && !DEFAULT_IDS.includes(d.deviceId) && d.deviceId !== 'communications');
  return [
    { id: '', label: t('audio.systemDefault') },
    ...own.map((d, i) => ({ id: d.deviceId, label: d.label || t(numbered, { number: i + 1 }) })),
  ];
}

// findDevice finds the device of kind picked as id with label in devices:
// {id, label} of the device listed by that id, else of the one listed with
// that label (the browser gave it a new id); null when it is gone. The
// default, and any device while the browser lists none of the kind by id,
// is taken as it is.
export function findDevice(devices, kind, id, label) {
  if (DEFAULT_IDS.includes(id)) return { id: '', label: '' };
  const listed = devices.filter((d) => d.kind === kind && d.deviceId !== '');
  if (listed.length === 0) return { id, label };
  const same = listed.find((d) => d.deviceId === id) ?? (label ? listed.find((d) => d.label === label) : undefined);
  return same ? { id: same.deviceId, label: same.label || label } : null;
}

// hasLabels says whether the browser named the devices (it does once the
// page may use the microphone).
export const hasLabels = (devices) => devices.some((d) => d.kind === 'audioinput' && d.label !== '');

function loadStored() {
  try {
    return JSON.parse(localStorage.getItem(STORAGE_KEY) ?? 'null');
  } catch {
    return null;
  }
}

function keepStored(value) {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(value));
  } catch (err) {
    warn(`could not keep the audio settings: ${err.message}`);
  }
}

// outputsSupported says whether this browser lets a page pick where audio
// plays.
export const outputsSupported = () => typeof HTMLMediaElement === 'function' && 'setSinkId' in HTMLMediaElement.prototype;

// createAudioSettings starts the audio settings and their part of the
// settings page.
//   store:     the widget's store (the session's user, the route)
//   showAlert: showAlert({message, level}) shows a banner
// It returns:
//   microphoneId()      → Promise of the microphone picked, once the
//                       devices are listed ('' the default)
//   speakerId(), ringerId()  the outputs picked ('' the default)
//   ringtone()          the ringtone at its volume (ringer.js ringtoneAt)
//   onChange(fn)        fn(setting) hears that a setting changed
//   microphoneGone(id)  the microphone id could not be opened and the
//                       default was: it is looked for by its label, else
//                       the default stays, with a notice
export function createAudioSettings({ store, showAlert }) {
  const byId = (id) => document.getElementById(id);
  const ui = {
    microphone: byId('cb-audio-microphone'),
    speaker: byId('cb-audio-speaker'),
    speakerRow: byId('cb-audio-speaker-row'),
    ringer: byId('cb-audio-ringer'),
    ringerRow: byId('cb-audio-ringer-row'),
    ringtone: byId('cb-audio-ringtone'),
    preview: byId('cb-audio-preview'),
    volume: byId('cb-audio-volume'),
    volumeValue: byId('cb-audio-volume-value'),
    note: byId('cb-audio-note'),
    hints: byId('cb-audio-hints'),
    allow: byId('cb-audio-allow'),
  };
  const listeners = [];
  let user = '';
  let settings = { ...AUDIO_DEFAULTS };
  let devices = [];
  let note = '';
  let listing = 0;
  // The listing under way, or the last one.
  let listed = Promise.resolve();

  const signedInUser = (state) => (state.session.loggedIn ? state.session.loginNumber : '');
  const tone = () => ringtoneAt(settings.ringtone, settings.volume);
  const preview = createTone(tone, { sinkId: () => settings.ringer });

  function changed(setting) {
    for (const fn of listeners) fn(setting);
  }

  // set changes settings (fields) for the user signed in and keeps them.
  function set(fields) {
    const next = readAudioSettings({ ...settings, ...fields });
    const which = Object.keys(fields).filter((key) => next[key] !== settings[key]);
    if (which.length === 0) return;
    settings = next;
    if (user) keepStored(withSettings(loadStored(), user, settings));
    render();
    for (const setting of which) changed(setting);
  }

  // pickDevice picks the device id for setting, with its label.
  function pickDevice(setting, id) {
    const device = devices.find((d) => d.kind === DEVICE_KINDS[setting] && d.deviceId === id);
    set({ [setting]: id, [`${setting}Label`]: id ? device?.label ?? settings[`${setting}Label`] : '' });
  }

  // fallBack returns the setting to the default device: the one picked is gone.
  function fallBack(setting) {
    note = t(DEVICE_GONE[setting]);
    showAlert({ message: note, level: 'warning' });
    set({ [setting]: '', [`${setting}Label`]: '' });
  }

  // find looks for each device picked in the list: found under a new id, it
  // is kept with that one; gone, the default takes its place.
  function find() {
    for (const setting of Object.keys(DEVICE_KINDS)) {
      if (!settings[setting]) continue;
      const found = findDevice(devices, DEVICE_KINDS[setting], settings[setting], settings[`${setting}Label`]);
      if (!found) fallBack(setting);
      else set({ [setting]: found.id, [`${setting}Label`]: found.label });
    }
  }

  // refresh lists the devices again and looks for the ones picked.
  function refresh() {
    const media = navigator.mediaDevices;
    if (!media?.enumerateDevices) return listed;
    const mine = ++listing;
    listed = media.enumerateDevices().then((found) => {
      if (mine !== listing) return;
      devices = found;
      find();
      render();
    }, (err) => warn(`cannot list the audio devices: ${err.message}`));
    return listed;
  }

  // askLabels asks for the microphone once, from the user's click, so that
  // the browser names the devices.
  async function askLabels() {
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
      stream.getTracks().forEach((track) => track.stop());
    } catch (err) {
      warn(`the browser did not allow the microphone: ${err.message}`);
      showAlert({ message: t('audio.microphoneRefused'), level: 'warning' });
    }
    refresh();
  }

  function option(value, label) {
    const element = document.createElement('option');
    element.value = value;
    element.textContent = label;
    return element;
  }

  function renderDevices(select, setting) {
    const choices = deviceChoices(devices, DEVICE_KINDS[setting]);
    // A device picked but not listed yet (before the list is read) stays shown.
    if (settings[setting] && !choices.some((c) => c.id === settings[setting])) {
      choices.push({ id: settings[setting], label: t('audio.chosenDevice') });
    }
    select.replaceChildren(...choices.map((c) => option(c.id, c.label)));
    select.value = settings[setting];
    // A long name is cut short in the select: its title says it whole.
    select.title = choices.find((c) => c.id === settings[setting])?.label ?? '';
  }

  function render() {
    if (!ui.microphone) return;
    renderDevices(ui.microphone, 'microphone');
    renderDevices(ui.speaker, 'speaker');
    renderDevices(ui.ringer, 'ringer');
    const outputs = outputsSupported();
    ui.speakerRow.hidden = !outputs;
    ui.ringerRow.hidden = !outputs;
    if (ui.ringtone.options.length === 0) {
      ui.ringtone.replaceChildren(...Object.entries(RINGTONES).map(([name, tone]) => option(name, t(tone.label))));
    }
    ui.ringtone.value = settings.ringtone;
    if (document.activeElement !== ui.volume) ui.volume.value = String(settings.volume);
    const volume = t('audio.volumeValue', { volume: settings.volume });
    ui.volumeValue.textContent = volume;
    ui.volume.setAttribute('aria-valuetext', volume);
    const named = devices.length === 0 || hasLabels(devices);
    ui.allow.hidden = named;
    if (ui.note.textContent !== note) ui.note.textContent = note;
    ui.hints.hidden = named && note === '';
  }

  function bind() {
    if (!ui.microphone) return;
    for (const setting of Object.keys(DEVICE_KINDS)) {
      ui[setting].addEventListener('change', () => {
        note = '';
        pickDevice(setting, ui[setting].value);
      });
    }
    ui.ringtone.addEventListener('change', () => set({ ringtone: ui.ringtone.value }));
    ui.volume.addEventListener('input', () => set({ volume: Number(ui.volume.value) }));
    ui.preview.addEventListener('click', () => preview.preview());
    ui.allow.addEventListener('click', askLabels);
  }

  function stateChanged(state) {
    const next = signedInUser(state);
    if (next !== user) {
      user = next;
      const before = settings;
      settings = settingsOf(loadStored(), user);
      note = '';
      render();
      for (const setting of Object.keys(AUDIO_DEFAULTS)) {
        if (before[setting] !== settings[setting]) changed(setting);
      }
      if (user) refresh();
    }
    if (state.route === '/settings' && shownRoute !== '/settings') refresh();
    shownRoute = state.route;
  }

  let shownRoute = null;
  bind();
  user = signedInUser(store.get());
  settings = settingsOf(loadStored(), user);
  render();
  refresh();
  store.subscribe(stateChanged);
  navigator.mediaDevices?.addEventListener?.('devicechange', refresh);

  return {
    async microphoneId() {
      await listed;
      return settings.microphone;
    },
    speakerId: () => settings.speaker,
    ringerId: () => settings.ringer,
    ringtone: tone,
    onChange: (fn) => listeners.push(fn),
    // Now that the microphone is allowed, the list names the devices.
    microphoneGone(id) {
      refresh().then(() => {
        if (settings.microphone === id) fallBack('microphone');
      });
    },
  };
}
