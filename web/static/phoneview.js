// The phone's part of the page: the dialer and its keypad, the panel of the
// ringing call, the panel of the call in progress (folded into the call bar
// while another page shows), the in-call keypad and the call's audio
// element. Its parts have modules of their own: the lists of calls
// (callcards.js), the call-waiting panel (callwaiting.js), the transfer
// panel (transferview.js) and the conference's participants
// (conferenceview.js).
//
// It shows the calls of the registry and turns clicks and keys into the
// phone's actions; what the calls are is the registry's, what the panels
// say of them is calls.js's.

import { createCallCards, panelCards } from './callcards.js';
import {
  RECORD, STATUS, callState, canAct, dialerProblemText, endText, isLive, isOnHold, isRinging, recordStatus, recordText, statusText,
} from './calls.js';
import { createCallWaiting } from './callwaiting.js';
import { createConferenceView } from './conferenceview.js';
import { t } from './i18n.js';
import { qualityText } from './media.js';
import { caretAfter, cleanNumber, countSignificant, formatTyped, MAX_NUMBER_LENGTH, stripFormatting } from './numbers.js';
import { createTransferView } from './transferview.js';

const LOG_PREFIX = '[callbridge]';
const warn = (...args) => console.warn(LOG_PREFIX, ...args);

const CLOCK_INTERVAL_MS = 1_000;
// How long the call panel says how a call ended.
const ENDED_DISPLAY_MS = 2_500;
// Holding the 0 key this long types a +.
export const PLUS_HOLD_MS = 500;

// The elements of the phone, by their ids in the widget's page.
const ELEMENT_IDS = Object.freeze({
  number: 'cb-dial-number', backspace: 'cb-dial-backspace', dialKeypad: 'cb-dial-keypad', call: 'cb-dial-call',
  reason: 'cb-dial-reason', retry: 'cb-dial-retry', dialNote: 'cb-dial-note',
  incoming: 'cb-incoming', incomingName: 'cb-incoming-name', incomingNumber: 'cb-incoming-number',
  answer: 'cb-answer', decline: 'cb-decline', toVoicemail: 'cb-to-voicemail',
  recordBar: 'cb-record-bar', record: 'cb-record', recordLabel: 'cb-record-label', recordStatus: 'cb-record-status',
  panel: 'cb-active-call', minimize: 'cb-call-minimize', name: 'cb-call-name', callNumber: 'cb-call-number',
  status: 'cb-call-status', pad: 'cb-call-pad', tones: 'cb-call-tones', callKeypad: 'cb-call-keypad',
  mute: 'cb-mute', hold: 'cb-hold', keypadToggle: 'cb-keypad-toggle', hangup: 'cb-hangup',
  transfer: 'cb-transfer-open', addCall: 'cb-add-call', move: 'cb-move',
  bar: 'cb-call-bar', barText: 'cb-call-bar-text', announce: 'cb-call-announce',
  crm: 'cb-call-crm', crmContact: 'cb-call-contact', crmLog: 'cb-call-log', crmLogged: 'cb-call-logged',
  audio: 'cb-remote-audio', signIn: 'cb-sign-in', tabs: 'cb-tabs',
  quality: 'cb-call-quality', qualityLabel: 'cb-call-quality-label',
});

// callAnnouncement is what the call's live region says as the call shown
// reaches state (calls.js callState, or 'ended' with how it ended): each
// change once, never the running clock. direction is the call's.
export function callAnnouncement(state, name, direction, endedText = '') {
  switch (state) {
    case 'ended':
      return t('phone.saysEnded', { text: endedText || t('call.ended'), name });
    case 'onHold':
      return t('phone.saysOnHold', { name });
    case STATUS.connected:
      return t('phone.saysConnected', { name });
    case STATUS.setup:
    case STATUS.connecting:
      return t(direction === 'Inbound' ? 'phone.saysConnecting' : 'phone.saysCalling', { name });
    default:
      return '';
  }
}

// createPhoneView binds the phone's elements.
//   registry: the calls (calls.js createCallRegistry)
//   store:    the widget's store (dialerReady, dialerProblem)
//   request:  request(method, url, body) → Promise of the server's JSON
//             answer (the transfer panel's list of extensions)
//   region:   region() is the region numbers are shown for
//   describe: describe(entry) is who is on the other end: {name, number}
//   speakerId: speakerId() is the output the call plays on ('' the default)
//   remote:   remote.list() lists the user's calls on other devices that
//             this tab does not carry; remote.has(id) says whether one is;
//             remote.describe(call) is who is on their other end
//   actions:  what the controls do: act(entry, action, options),
//             placeCall(number), retryMicrophone(),
//             moveHere(id), addCall(), navigate(path)
//   crm:      the host's CRM: has(key), labels(), isLogged(call),
//             viewContact(contact), offerLog(call, name); or null
// It returns what the phone drives it with.
export function createPhoneView({ registry, store, request, region, describe, speakerId = () => '', remote, actions, crm = null }) {
  const ui = Object.fromEntries(Object.entries(ELEMENT_IDS).map(([key, id]) => [key, document.getElementById(id)]));
  ui.incomingLabel = ui.incoming.querySelector('.incoming__label');
  // Whether the call panel is folded away into the call bar, and whether
  // its keypad is open.
  let collapsed = false;
  let padOpen = false;
  // What the panel says for a moment after its call ended: {id, name, number, text}.
  let ended = null;
  let endedTimer = 0;
  let clockTimer = 0;
  let lastDialled = '';
  // What the call's live region said last.
  let announced = '';
  let typed = '';
  const show = (entry) => {
    focus(entry);
    render();
  };
  const cards = createCallCards({
    describe, describeRemote: remote.describe, actions: { act: actions.act, show, moveHere: actions.moveHere, navigate: actions.navigate },
  });
  const waiting = createCallWaiting({ describe, act: actions.act });
  const transfer = createTransferView({ request, store, region, describe, act: actions.act });
  const conference = createConferenceView({ region, describe, act: actions.act });

  // -------------------------------------------------------------------------
  // Dialer input

  // caret is the field's selection when it last had the focus or a value.
  let caret = null;

  // setNumber shows value formatted, with the caret after its n-th
  // significant character (the end by default).
  function setNumber(value, n = Infinity) {
    const formatted = formatTyped(value.slice(0, MAX_NUMBER_LENGTH), region());
    ui.number.value = formatted;
    typed = formatted;
    const at = Number.isFinite(n) ? caretAfter(formatted, n) : formatted.length;
    caret = { start: at, end: at };
    if (document.activeElement === ui.number) ui.number.setSelectionRange(at, at);
    renderDialer(store.get());
  }

  // The keypad types where the caret was when the field last had the focus
  // (a click on a key takes it), else after the last digit. Browsers differ
  // in what an unfocused field's selection says, so the widget keeps it.
  function selection() {
    const input = ui.number;
    if (document.activeElement === input) {
      return { start: input.selectionStart ?? input.value.length, end: input.selectionEnd ?? input.value.length };
    }
    const end = input.value.length;
    return caret && caret.end <= end ? caret : { start: end, end };
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
    const { start, end } = selection();
    setNumber(input.value.slice(0, start) + key + input.value.slice(end), countSignificant(input.value.slice(0, start)) + 1);
  }

  function deleteKey() {
    const input = ui.number;
    const { start, end } = selection();
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
    actions.placeCall(number);
  }

  // dialled keeps number for a redial and clears the dialer if it shows it.
  function dialled(number) {
    lastDialled = number;
    if (cleanNumber(ui.number.value) === cleanNumber(number)) setNumber('');
  }

  // -------------------------------------------------------------------------
  // The call panel

  // focus shows entry in the call panel, unfolded, its keypad closed.
  function focus(entry) {
    registry.focus(entry);
    collapsed = false;
    padOpen = false;
  }

  // foldCall folds the call panel into the call bar so that the page shows.
  function foldCall() {
    if (!registry.current()) return;
    collapsed = true;
    render();
  }

  // shows says whether the call panel shows entry now.
  const shows = (entry) => !collapsed && registry.current() === entry;

  // showEnded has the panel say for a moment how entry ended.
  function showEnded(entry) {
    clearTimeout(endedTimer);
    // A call handed on (transferred, forwarded, moved) did not fail.
    const calm = entry.call.reason === 'moved' || ['Transferred', 'Forwarded'].includes(entry.call.result);
    ended = { ...describe(entry), id: entry.id, text: endText(entry), calm, call: entry.call };
    endedTimer = setTimeout(() => {
      ended = null;
      render();
    }, ENDED_DISPLAY_MS);
  }

  // endedWith has the panel say text of the ended call id, if it still shows it.
  function endedWith(id, text) {
    if (ended?.id === id) ended.text = text;
  }

  function clearEnded() {
    clearTimeout(endedTimer);
    ended = null;
  }

  // -------------------------------------------------------------------------
  // Rendering

  // Toggles keep their one label; aria-pressed says whether they are on.
  function setPressed(button, pressed) {
    button.setAttribute('aria-pressed', String(pressed));
  }

  // setDisabled disables a control of the call, but one that holds the
  // focus (say, Hold while the hold is under way) keeps it and only says it
  // is disabled: a disabled button would drop the focus to the page.
  function setDisabled(button, disabled) {
    const keep = disabled && document.activeElement === button;
    button.disabled = disabled && !keep;
    if (keep) button.setAttribute('aria-disabled', 'true');
    else button.removeAttribute('aria-disabled');
  }

  function renderDialer(state) {
    const empty = ui.number.value === '';
    ui.backspace.hidden = empty;
    ui.call.disabled = !state.dialerReady || registry.dialing !== null;
    ui.reason.textContent = dialerProblemText(state.dialerProblem);
    // A call made now holds the one in progress (the server holds it).
    const live = state.callWith !== 'ringout' && registry.known().find((e) => isLive(e.call) && !isOnHold(e.call) && !isRinging(e));
    ui.dialNote.hidden = !live;
    ui.dialNote.textContent = live ? t('phone.holdWhileCalling', { name: describe(live).name }) : '';
    ui.retry.hidden = state.dialerProblem !== 'microphoneBlocked' && state.dialerProblem !== 'microphoneAbsent';
  }

  function renderIncoming(entry) {
    ui.incoming.hidden = !entry;
    if (!entry) return;
    // A call moving here from another device of the user rings as one.
    ui.incomingLabel.textContent = t(remote.has(entry.id) ? 'phone.callFromOtherDevice' : 'phone.incomingCall');
    const { name, number, source } = describe(entry);
    ui.incomingName.textContent = name;
    // A caller the host's CRM knows: its number, and where the name is from.
    ui.incomingNumber.textContent = [number, source].filter(Boolean).join(' · ');
    ui.answer.disabled = Boolean(entry.busy);
    ui.decline.disabled = Boolean(entry.busy);
    ui.toVoicemail.disabled = Boolean(entry.busy);
  }

  // announce has the live region say text, once: the clock's ticks never
  // reach it.
  function announce(text) {
    if (text === announced) return;
    announced = text;
    if (text) ui.announce.textContent = text;
  }

  // renderRecord shows the call's recording: the toggle starts it or stops
  // it (paused too) and says how long it has recorded; the status tells
  // screen readers when it starts, pauses or stops.
  function renderRecord(entry) {
    const status = entry ? recordStatus(entry.call) : RECORD.idle;
    const on = status !== RECORD.idle;
    const text = entry ? recordText(entry.record, Date.now()) : '';
    ui.recordBar.hidden = !entry || !isLive(entry.call);
    ui.recordBar.dataset.record = status;
    ui.record.setAttribute('aria-pressed', String(on));
    ui.recordLabel.textContent = on ? text : t('call.record');
    const paused = status === RECORD.paused;
    setDisabled(ui.record, !canAct(entry, on ? 'stopRecord' : 'startRecord'));
    const was = ui.recordStatus.textContent;
    const said = on ? t(paused ? 'call.recordingPaused' : 'call.recording') : (entry && was ? t('call.recordingStopped') : '');
    if (said !== was) ui.recordStatus.textContent = said;
  }

  // renderCrm shows, for the call shown, its contact in the host's CRM (a
  // button that opens it there) and Log call, or that it was logged.
  function renderCrm(view, call) {
    const contact = crm && view.contact;
    const labels = crm?.labels();
    ui.crmContact.hidden = !contact;
    if (contact) {
      ui.crmContact.textContent = t('phone.crmContact', { service: view.source });
      ui.crmContact.disabled = !crm.has('viewMatchedContactPath');
      ui.crmContact.setAttribute('aria-label', t('phone.openInCrm', { name: view.name, service: view.source }));
    }
    const loggable = Boolean(crm && call && crm.has('callLoggerPath'));
    const logged = loggable && crm.isLogged(call);
    ui.crmLog.hidden = !loggable || logged;
    if (loggable) ui.crmLog.textContent = labels.logCall;
    ui.crmLogged.hidden = !logged;
    ui.crm.hidden = ui.crmContact.hidden && ui.crmLog.hidden && ui.crmLogged.hidden;
  }

  function renderCall(entry) {
    const view = entry ? { ...describe(entry), text: statusText(entry, Date.now()) } : ended;
    ui.panel.hidden = !view || collapsed;
    ui.bar.hidden = !entry || !collapsed;
    if (!view) {
      announce('');
      return;
    }
    ui.panel.dataset.state = entry ? callState(entry) : 'ended';
    ui.panel.dataset.calm = String(!entry && view.calm === true);
    ui.name.textContent = view.name;
    ui.callNumber.textContent = view.number;
    ui.status.textContent = view.text;
    ui.barText.textContent = `${view.name} · ${view.text}`;
    renderCrm(view, entry?.call ?? view.call ?? null);
    announce(entry ? callAnnouncement(callState(entry), view.name, entry.call.direction) : callAnnouncement('ended', view.name, '', view.text));

    const can = (action) => canAct(entry, action);
    const muted = entry?.call.isOnMute === true;
    const held = Boolean(entry) && isOnHold(entry.call);
    setPressed(ui.mute, muted);
    setPressed(ui.hold, held);
    setDisabled(ui.mute, !can(muted ? 'unmute' : 'mute'));
    setDisabled(ui.hold, !can(held ? 'unhold' : 'hold'));
    const tones = can('dtmf');
    if (!tones) padOpen = false;
    setDisabled(ui.keypadToggle, !tones);
    setPressed(ui.keypadToggle, padOpen);
    ui.pad.hidden = !padOpen;
    ui.panel.dataset.pad = String(padOpen);
    ui.tones.textContent = entry?.tones ?? '';
    setDisabled(ui.hangup, !entry || Boolean(entry.busy));
    setDisabled(ui.addCall, !entry || !isLive(entry.call) || registry.dialing !== null);
    setDisabled(ui.move, !can('move'));
    renderRecord(entry);
    renderQuality(entry);
  }

  // renderQuality shows the call's quality as its statistics grade it:
  // bars and a word, with the measures in its name; nothing until the
  // first reading, nor while the call is not live.
  function renderQuality(entry) {
    const quality = entry && isLive(entry.call) && !isOnHold(entry.call) ? entry.quality : null;
    ui.quality.hidden = !quality;
    if (!quality) return;
    ui.quality.dataset.level = quality.level;
    ui.qualityLabel.textContent = quality.label;
    const text = qualityText(quality);
    ui.quality.setAttribute('aria-label', text);
    ui.quality.title = text;
  }

  // The call's audio plays on the speaker picked, where the browser lets
  // the page pick one.
  let sink = '';
  function renderSink() {
    const id = speakerId();
    if (id === sink || typeof ui.audio.setSinkId !== 'function') return;
    sink = id;
    ui.audio.setSinkId(id).catch((err) => warn(`cannot play the call on the chosen speaker: ${err.message}`));
  }

  function renderAudio(entry) {
    renderSink();
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
    const list = registry.entries();
    const current = registry.current(list);
    if (!current) collapsed = false;
    renderDialer(store.get());
    const waits = waiting.render(list);
    renderIncoming(waits ? null : list.find(isRinging) ?? null);
    renderCall(current);
    // The panel lists calls as cards while it shows one (not how one ended).
    const elsewhere = remote.list();
    const listed = current ? panelCards(list, elsewhere) : { mine: [], elsewhere: [] };
    ui.panel.dataset.multi = String(listed.mine.length > 0);
    transfer.render(list, current);
    conference.render(list, current);
    cards.render({ list, current, listed, elsewhere, now: Date.now() });
    renderAudio(current);
    renderClock(list);
  }

  // -------------------------------------------------------------------------
  // Controls

  function bindDialer() {
    ui.number.addEventListener('input', onNumberInput);
    // Typing a number, or going for the call button, readies the dial.
    ui.number.addEventListener('focus', actions.readyDial);
    ui.number.addEventListener('input', actions.readyDial);
    ui.call.addEventListener('pointerenter', actions.readyDial);
    ui.call.addEventListener('focus', actions.readyDial);
    ui.dialKeypad.addEventListener('pointerdown', actions.readyDial);
    ui.number.addEventListener('blur', () => {
      caret = { start: ui.number.selectionStart ?? ui.number.value.length, end: ui.number.selectionEnd ?? ui.number.value.length };
    });
    ui.number.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') onCallClick();
    });
    ui.backspace.addEventListener('click', deleteKey);
    ui.call.addEventListener('click', onCallClick);
    ui.retry.addEventListener('click', actions.retryMicrophone);

    // A held 0 types a + instead of a 0; from the keyboard, + on the keypad
    // does (the field takes a typed + as it is).
    let plusTimer = 0;
    let plusTyped = false;
    const zero = ui.dialKeypad.querySelector('[data-key="0"]');
    zero.setAttribute('aria-label', t('phone.zeroForPlus'));
    zero.setAttribute('aria-keyshortcuts', '+');
    ui.dialKeypad.addEventListener('keydown', (event) => {
      if (event.key !== '+') return;
      event.preventDefault();
      typeKey('+');
    });
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
    const { act } = actions;
    // A control that kept the focus while disabled (setDisabled) does nothing.
    ui.panel.addEventListener('click', (event) => {
      if (event.target.closest('[aria-disabled="true"]')) event.stopImmediatePropagation();
    }, true);
    const ringing = () => registry.entries().find(isRinging);
    ui.answer.addEventListener('click', () => act(ringing(), 'answer'));
    ui.decline.addEventListener('click', () => act(ringing(), 'reject'));
    ui.toVoicemail.addEventListener('click', () => act(ringing(), 'toVoicemail'));
    ui.record.addEventListener('click', () => {
      const entry = registry.current();
      act(entry, entry && recordStatus(entry.call) !== RECORD.idle ? 'stopRecord' : 'startRecord');
    });
    ui.hangup.addEventListener('click', () => act(registry.current(), 'hangup'));
    ui.mute.addEventListener('click', () => {
      const entry = registry.current();
      act(entry, entry?.call.isOnMute ? 'unmute' : 'mute');
    });
    ui.hold.addEventListener('click', () => {
      const entry = registry.current();
      act(entry, entry && isOnHold(entry.call) ? 'unhold' : 'hold');
    });
    ui.keypadToggle.addEventListener('click', () => {
      padOpen = !padOpen;
      render();
    });
    ui.callKeypad.addEventListener('click', (event) => {
      const key = event.target.closest('[data-dtmf]');
      if (key) act(registry.current(), 'dtmf', { dtmf: key.dataset.dtmf });
    });
    ui.minimize.addEventListener('click', foldCall);
    ui.transfer.addEventListener('click', () => transfer.open(registry.current()));
    ui.addCall.addEventListener('click', actions.addCall);
    ui.move.addEventListener('click', () => act(registry.current(), 'move'));
    ui.crmContact.addEventListener('click', () => {
      const entry = registry.current();
      const contact = entry ? describe(entry).contact : ended?.contact;
      if (contact) crm.viewContact(contact);
    });
    ui.crmLog.addEventListener('click', () => {
      const entry = registry.current();
      const call = entry?.call ?? ended?.call;
      if (call) crm.offerLog(call, entry ? describe(entry).name : ended.name);
    });
    ui.bar.addEventListener('click', () => {
      collapsed = false;
      render();
    });
    // Picking a page folds the call away, even the page already shown.
    ui.tabs.addEventListener('click', (event) => {
      if (event.target.closest('[data-nav]')) foldCall();
    });
  }

  bindDialer();
  bindCallControls();

  // focusNumber puts the keyboard in the dialer's number.
  const focusNumber = () => ui.number.focus();

  return { render, setNumber, dialled, focus, foldCall, shows, showEnded, endedWith, clearEnded, focusNumber };
}
