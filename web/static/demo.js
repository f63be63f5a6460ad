/*
 * Demo host page ("CRM") script.
 *
 * It shows the two directions of the embedding contract:
 *   - widget → host: a `message` listener that accepts only messages of the
 *     widget's own frame (event.source) at the widget's exact origin
 *     (event.origin), and logs every event (newest first); the raw records
 *     are kept in window.cbDemo.messages as {time, origin, data};
 *   - host → widget: buttons that call window.RCAdapter (created by adapter.js),
 *     and, for commands the adapter has no method for, a postMessage straight
 *     into the widget frame at the widget's exact origin (never '*');
 *   - sign-in through the host (disableLoginPopup=1): on rc-login-popup-notify
 *     the page opens the sign-in window itself, once it has checked that
 *     oAuthUri is a web URL on the widget's origin; its redirect page on this
 *     origin posts {callbackUri} back, and the page hands it to the widget as
 *     rc-adapter-authorization-code.
 * When a command returns a Promise, its outcome is shown in the status line.
 *
 * This module wires the page; each part has a module of its own:
 *   demowidget.js  which messages come from the widget, and the commands
 *   demolog.js     the log of what the widget said, and outcome texts
 *   demosignin.js  sign-in through this page
 *   democrm.js     this page as the widget's CRM: contacts, caller names,
 *                  the calls the widget logs
 * ES modules, no dependencies: copy what you need. The page loads this one
 * before adapter.js (both deferred), so it hears the widget from the start.
 */

import { createLog, describe, errorText } from './demolog.js';
import { createHostSignIn, showLoginMode } from './demosignin.js';
import { createWidgetLink } from './demowidget.js';
import { createDemoCrm } from './democrm.js';

/** The one origin we accept messages from and post commands to. */
const widgetOrigin = document.body.dataset.widgetOrigin || '';

/**
 * Origins besides the widget's that may serve the sign-in page, https only.
 * When the widget server signs users in through an external provider
 * (--oidc-issuer), add the origin of its authorization endpoint here.
 */
const SIGN_IN_ORIGINS = [];

const demo = { widgetOrigin, messages: [] };
window.cbDemo = demo;

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------------------
// Widget → host: receive, record, render.

const widget = createWidgetLink(widgetOrigin);
const log = createLog(demo.messages);
// This page is also the widget's CRM (democrm.js).
const crm = createDemoCrm({
  widgetOrigin,
  frame: () => window.RCAdapter?.frame?.contentWindow ?? null,
  ui: {
    list: $('crm-call-log'), empty: $('crm-call-log-empty'), count: $('crm-log-count'),
    answering: $('crm-answer'), opened: $('crm-opened'),
  },
});
demo.crm = crm;
const hostSignIn = createHostSignIn({
  widgetOrigin,
  signInOrigins: SIGN_IN_ORIGINS,
  authorize: (callbackUri) => run('rc-adapter-authorization-code', () =>
    widget.sendCommand({ type: 'rc-adapter-authorization-code', callbackUri })),
});

window.addEventListener('message', (event) => {
  if (hostSignIn.isFromWindow(event)) {
    hostSignIn.receive(event.data); // The sign-in window's own message: not the widget's.
    return;
  }
  if (!widget.isFromWidget(event)) {
    return; // Not from the widget: not ours to read.
  }
  const entry = { time: Date.now(), origin: event.origin, data: event.data };
  demo.messages.push(entry);
  markWidget('connected', 'Widget connected');
  hostSignIn.follow(event.data);
  widget.heard(event.data);
  crm.heard(event.data);
  log.add(entry);
});

// Which way sign-in goes on this page, and a link to try the other.
showLoginMode();

// ---------------------------------------------------------------------------
// Status line.

const status = $('status');
let lastRun = 0;

function setStatus(kind, text) {
  status.dataset.kind = kind;
  status.textContent = text;
}

/**
 * Runs one command and shows its outcome. A Promise is awaited; anything
 * else means the command was posted and expects no answer.
 */
async function run(label, action) {
  const id = ++lastRun;
  const show = (kind, text) => {
    if (id === lastRun) setStatus(kind, `${label} → ${text}`);
  };
  show('pending', 'waiting…');
  try {
    const result = action();
    if (result && typeof result.then === 'function') {
      show('ok', describe(await result));
    } else {
      show('ok', 'sent');
    }
  } catch (err) {
    show('error', errorText(err));
  }
}

// ---------------------------------------------------------------------------
// Wiring.

const { callAdapter, sendCommand, messageRequest, syncSessions } = widget;
const value = (id) => $(id).value.trim();

/** Reads a required number field, or throws so run() shows the problem. */
function requireNumber(id) {
  const number = value(id);
  if (number === '') {
    $(id).focus();
    throw new Error('type a phone number first');
  }
  return number;
}


$('call-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const toCall = $('call-tocall').checked;
  run(`clickToCall(${value('call-number') || '…'}, ${toCall})`, () =>
    callAdapter('clickToCall', requireNumber('call-number'), toCall));
});

$('sms-form').addEventListener('submit', (event) => {
  event.preventDefault();
  run(`clickToSMS(${value('sms-number') || '…'})`, () =>
    callAdapter('clickToSMS', requireNumber('sms-number'), $('sms-text').value));
});

for (const button of document.querySelectorAll('button[data-path]')) {
  const path = button.dataset.path;
  button.addEventListener('click', () => run(`navigateTo(${path})`, () => callAdapter('navigateTo', path)));
}

// The adapter has no login method: post the command to the frame.
$('btn-login').addEventListener('click', () =>
  run('rc-adapter-login', () => sendCommand({ type: 'rc-adapter-login' })));
$('btn-logout').addEventListener('click', () => run('logoutUser()', () => callAdapter('logoutUser')));
$('btn-minimize').addEventListener('click', () => run('setMinimized(true)', () => callAdapter('setMinimized', true)));
// Restore brings the frame back whether it was minimised or closed with ×.
$('btn-restore').addEventListener('click', () => run('setClosed(false), setMinimized(false)', () => {
  callAdapter('setClosed', false);
  callAdapter('setMinimized', false);
}));

for (const button of document.querySelectorAll('button[data-action]')) {
  const action = button.dataset.action;
  button.addEventListener('click', () => {
    const callId = value('control-call-id') || undefined;
    run(`controlCall(${action}${callId ? `, ${callId}` : ''})`, () =>
      callAdapter('controlCall', action, callId));
  });
}

$('btn-sessions-sync').addEventListener('click', () =>
  run('rc-adapter-webphone-sessions-sync', async () => {
    const { calls } = await syncSessions();
    return `${calls.length} call${calls.length === 1 ? '' : 's'} on this device`;
  }));

$('alert-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const body = {
    alertMessage: $('alert-text').value,
    alertLevel: $('alert-level').value,
    ttl: Number($('alert-ttl').value) || 0,
  };
  run('/custom-alert-message', () => messageRequest('/custom-alert-message', body));
});

// "Use" next to a contact copies its number into the call and SMS fields.
$('contacts').addEventListener('click', (event) => {
  const button = event.target.closest('button.use-number');
  if (!button) return;
  $('call-number').value = button.dataset.phone;
  $('sms-number').value = button.dataset.phone;
  $('call-number').focus();
});

// ---------------------------------------------------------------------------
// Widget load state. The adapter script runs after this one, so watch its
// load and error events from the window (capture phase: they don't bubble).

const widgetState = $('widget-state');
const dock = $('widget-dock');

function markWidget(state, text) {
  if (widgetState.dataset.state === 'connected' && state !== 'failed') return;
  widgetState.dataset.state = state;
  widgetState.textContent = text;
}

window.addEventListener('load', (event) => {
  if (event.target instanceof HTMLScriptElement && event.target.id === 'widget-adapter') {
    dock.hidden = true;
    markWidget('loaded', 'Widget loaded');
  }
}, true);

window.addEventListener('error', (event) => {
  if (event.target instanceof HTMLScriptElement && event.target.id === 'widget-adapter') {
    markWidget('failed', 'Widget failed to load');
    dock.dataset.state = 'failed';
    $('widget-dock-title').textContent = 'The widget did not load';
    $('widget-dock-detail').textContent = `Could not fetch ${event.target.src}`;
  }
}, true);
