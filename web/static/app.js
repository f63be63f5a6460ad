// The widget shell: boot configuration, routing, the server's event stream
// and the host bridge.

import { createBridge } from './bridge.js';

const ROUTES = Object.freeze(['/login', '/dialer', '/calls', '/history', '/messages', '/settings']);

const LOG_PREFIX = '[callbridge]';
const THEMES = ['light', 'dark', 'auto'];
const DEFAULT_ALERT_TTL_MS = 5_000;
const MAX_VISIBLE_ALERTS = 3;
const CONNECTION_LABELS = {
  connecting: 'Connecting…',
  connected: 'Connected',
  offline: 'Offline',
};

// How an event from the server changes the widget's state.
const STATE_FROM_EVENT = {
  'rc-login-status-notify': (event) => ({ loggedIn: event.loggedIn === true }),
  'rc-dialer-status-notify': (event) => ({ dialerReady: event.ready === true }),
};

const byId = (id) => document.getElementById(id);

function readConfig() {
  return JSON.parse(byId('cb-config').textContent);
}

// createStore keeps the widget's state as an immutable object and tells
// subscribers after each change.
function createStore(initial) {
  let state = Object.freeze({ ...initial });
  const listeners = [];
  return {
    get: () => state,
    subscribe: (listener) => listeners.push(listener),
    update(patch) {
      const changed = Object.keys(patch).some((key) => !Object.is(state[key], patch[key]));
      if (!changed) return;
      state = Object.freeze({ ...state, ...patch });
      listeners.forEach((listener) => listener(state));
    },
  };
}

// ---------------------------------------------------------------------------
// Appearance

function applyTheme(theme) {
  if (THEMES.includes(theme)) document.documentElement.dataset.theme = theme;
}

function addStylesheet(href) {
  if (!href) return;
  const link = document.createElement('link');
  link.rel = 'stylesheet';
  link.href = href;
  document.head.append(link);
}

function renderRoute(route) {
  for (const section of document.querySelectorAll('[data-route]')) {
    section.hidden = section.dataset.route !== route;
  }
  for (const tab of document.querySelectorAll('#cb-tabs [data-nav]')) {
    if (tab.dataset.nav === route) tab.setAttribute('aria-current', 'page');
    else tab.removeAttribute('aria-current');
  }
}

function renderConnection(status) {
  const indicator = byId('cb-status');
  indicator.dataset.status = status;
  indicator.title = CONNECTION_LABELS[status];
  indicator.querySelector('.status__label').textContent = CONNECTION_LABELS[status];
}

function render(state) {
  renderRoute(state.route);
  renderConnection(state.connection);
}

// showAlert adds a dismissable banner that removes itself after ttl ms.
function showAlert({ message, level = 'info', ttl }) {
  const container = byId('cb-alerts');
  const alert = byId('cb-alert-template').content.firstElementChild.cloneNode(true);
  alert.dataset.level = level;
  alert.setAttribute('role', level === 'danger' ? 'alert' : 'status');
  alert.querySelector('.alert__text').textContent = message;
  alert.querySelector('.alert__close').addEventListener('click', () => alert.remove());
  container.append(alert);
  while (container.childElementCount > MAX_VISIBLE_ALERTS) container.firstElementChild.remove();
  setTimeout(() => alert.remove(), ttl > 0 ? ttl : DEFAULT_ALERT_TTL_MS);
}

// ---------------------------------------------------------------------------
// Server events

function parseServerEvent(data) {
  try {
    const event = JSON.parse(data);
    if (event !== null && typeof event === 'object' && typeof event.type === 'string') return event;
  } catch {
    // reported below
  }
  console.warn(LOG_PREFIX, 'ignored a server event that is not a JSON object with a type');
  return null;
}

// connectEvents opens the server's event stream; EventSource reconnects on
// its own, and onStatus follows it: connecting, connected or offline.
function connectEvents(url, { onStatus, onEvent }) {
  if (!url) {
    onStatus('offline');
    return;
  }
  const source = new EventSource(url);
  source.addEventListener('open', () => onStatus('connected'));
  source.addEventListener('error', () => {
    onStatus(source.readyState === EventSource.CLOSED ? 'offline' : 'connecting');
  });
  source.addEventListener('message', (message) => {
    const event = parseServerEvent(message.data);
    if (event) onEvent(event);
  });
}

// ---------------------------------------------------------------------------
// Start

function announceStart(config, state, post) {
  const region = config.region ?? { countryCode: '', areaCode: '' };
  post({
    type: 'rc-login-status-notify',
    loggedIn: state.loggedIn,
    loginNumber: '',
    contractedCountryCode: region.countryCode,
    admin: false,
    features: config.features,
  });
  post({ type: 'rc-region-settings-notify', countryCode: region.countryCode, areaCode: region.areaCode });
  post({ type: 'rc-dialer-status-notify', ready: state.dialerReady });
}

function bindControls(config, navigate) {
  document.addEventListener('click', (event) => {
    const target = event.target.closest('[data-nav]');
    if (target) navigate(target.dataset.nav);
  });
  byId('cb-sign-in').addEventListener('click', () => {
    byId('cb-sign-in-note').textContent = 'Sign-in is not enabled on this server yet.';
  });
  byId('cb-login-popup-note').hidden = !config.flags?.disableLoginPopup;
}

function start() {
  const config = readConfig();
  (config.warnings ?? []).forEach((warning) => console.warn(LOG_PREFIX, warning));
  applyTheme(config.flags?.theme);
  addStylesheet(config.flags?.stylesUri);

  const store = createStore({
    route: null,
    loggedIn: config.loggedIn === true,
    dialerReady: false,
    connection: 'connecting',
  });

  function navigate(path) {
    if (!ROUTES.includes(path)) return false;
    if (path !== store.get().route) {
      store.update({ route: path });
      bridge.post({ type: 'rc-route-changed-notify', path });
    }
    return true;
  }

  const bridge = createBridge({ config, getState: store.get, actions: { navigate, showAlert } });
  store.subscribe(render);
  store.subscribe(bridge.stateChanged);

  announceStart(config, store.get(), bridge.post);
  navigate(store.get().loggedIn ? '/dialer' : '/login');
  bindControls(config, navigate);

  connectEvents(config.eventsUrl, {
    onStatus: (connection) => store.update({ connection }),
    onEvent: (event) => {
      const patch = STATE_FROM_EVENT[event.type];
      if (patch) store.update(patch(event));
      bridge.relay(event);
    },
  });
}

start();
