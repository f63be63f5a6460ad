// The widget shell: boot configuration, the session and sign-in, routing,
// the server's event stream and the host bridge. The web phone (phone.js),
// the history (history.js), the messages (messages.js) and the status and
// calling settings (settings.js) run inside it.

import { createBridge } from './bridge.js';
import { asString, isPlainObject, isUri } from './fields.js';
import { createHistory } from './history.js';
import { createMessages } from './messages.js';
import { createPhone } from './phone.js';
import { createSettings } from './settings.js';

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

// The widget's own endpoints. Every request carries X-Callbridge: a page on
// another site cannot add a custom header without a preflight, which the
// server refuses, so the header proves the request comes from the widget.
const ENDPOINTS = {
  devices: '/widget/devices',
  login: '/widget/login',
  completeLogin: '/widget/login/complete',
  logout: '/widget/logout',
  state: '/widget/state',
};
// X-Callbridge-Client names the page's app: the server refuses a request of
// a page whose app is not the session's.
const requestHeaders = { 'Content-Type': 'application/json', 'X-Callbridge': '1', 'X-Callbridge-Client': '' };
const REQUEST_TIMEOUT_MS = 15_000;
// Until the stream's first heartbeat says otherwise: twice the server's
// default heartbeat interval (15 s) and a second.
const DEFAULT_STREAM_SILENCE_MS = 31_000;

// The sign-in window. It is opened empty inside the click that asks for it
// (browsers allow a popup only during a user gesture) and sent to the
// authorization server once the server has started the login.
const LOGIN_WINDOW_NAME = 'cb-login';
const LOGIN_WINDOW_FEATURES = 'popup,width=480,height=640';
const LOGIN_WINDOW_POLL_MS = 500;
// A result the window posted just before closing may arrive after the poll
// sees it closed; it gets this long before the sign-in counts as cancelled.
const LOGIN_WINDOW_GRACE_MS = 1_000;

const TEXT = {
  popupBlocked: 'The browser blocked the sign-in window.',
  cancelled: 'Sign-in was cancelled.',
  popupWaiting: 'Finish signing in in the window that opened.',
  hostWaiting: 'Continue signing in in the window your app opened.',
  completing: 'Signing you in…',
  signedOut: 'You were signed out. Sign in again to continue.',
  offline: 'The widget could not reach its server. Check your connection and try again.',
  noPendingLogin: 'No sign-in is waiting for an authorization code: start one with rc-adapter-login first.',
};

// Login phases: what the sign-in page shows and whether it takes a new attempt.
const LOGIN_IDLE = Object.freeze({ phase: 'idle', note: '', error: '' });
const BUSY_PHASES = ['starting', 'popup', 'completing'];

// How an event from the server changes the widget's state.
const STATE_FROM_EVENT = {
  'rc-adapter-syncPresence': (event, state) =>
    (state.session.loggedIn ? { session: withPresence(state.session, readPresence(event)) } : {}),
};

const byId = (id) => document.getElementById(id);

function readConfig() {
  return JSON.parse(byId('cb-config').textContent);
}

// newTabId names this tab among the widget's tabs of this browser. Pages
// served without TLS (other than localhost) lack crypto.randomUUID; the
// fallback makes the same random version-4 UUID.
function newTabId() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// With disableInactiveTabCallEvent these go to the host only from the most
// recently active tab of the browser, so a host page open in several tabs
// logs each call once.
const TAB_SCOPED_EVENTS = ['rc-active-call-notify', 'rc-telephony-session-notify'];
const ACTIVE_TAB_KEY = 'cb-active-tab';

// trackActiveTab remembers, in this origin's storage (shared by the tabs of
// the same host site), which tab was shown or used last. Without the flag
// every tab counts as active.
function trackActiveTab(enabled, tabId) {
  if (!enabled) return { isActive: () => true };
  const claim = () => {
    if (document.visibilityState !== 'visible') return;
    try {
      localStorage.setItem(ACTIVE_TAB_KEY, tabId);
    } catch {
      // storage refused: every tab relays, as without the flag
    }
  };
  claim();
  document.addEventListener('visibilitychange', claim);
  window.addEventListener('focus', claim);
  window.addEventListener('pointerdown', claim, true);
  return {
    isActive() {
      try {
        const active = localStorage.getItem(ACTIVE_TAB_KEY);
        return active === null || active === tabId;
      } catch {
        return true;
      }
    },
  };
}

// eventsUrlFor is the event stream of this tab, for the page's app: the
// server registers the device (when signed in) with its phone system while
// the stream is open.
function eventsUrlFor(eventsUrl, clientId, deviceId) {
  if (!eventsUrl) return '';
  const url = new URL(eventsUrl, window.location.href);
  url.searchParams.set('clientId', clientId);
  if (deviceId) url.searchParams.set('deviceId', deviceId);
  return url.href;
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
// Server requests

// RequestError is a failed request: code is the server's errorCode (or
// network, badResponse) and message says what went wrong in words a user
// can read.
class RequestError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'RequestError';
    this.code = code;
  }
}

async function request(method, url, body) {
  let response;
  try {
    response = await fetch(url, {
      method,
      credentials: 'same-origin',
      headers: requestHeaders,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch {
    throw new RequestError('network', TEXT.offline);
  }
  // Done, with nothing to say (a cancelled RingOut).
  if (response.status === 204) return {};
  const payload = await response.json().catch(() => null);
  if (!response.ok) {
    throw new RequestError(
      asString(payload?.errorCode) || `http${response.status}`,
      asString(payload?.message) || `The server answered ${response.status} ${response.statusText}.`,
    );
  }
  if (!isPlainObject(payload)) {
    throw new RequestError('badResponse', 'The server sent an answer the widget cannot read.');
  }
  return payload;
}

// Signing in or out gives the session cookie a new id. A state read that
// overlaps one may have left with the old cookie, so its answer is stale:
// state() answers null then, and the sign-in or sign-out's own answer counts.
let sessionChanges = 0;
let sessionChangesDone = 0;

function changingSession(promise) {
  sessionChanges += 1;
  return promise.finally(() => {
    sessionChangesDone += 1;
  });
}

const server = {
  newDevice: () => request('POST', ENDPOINTS.devices, {}),
  startLogin: (mode) => request('POST', ENDPOINTS.login, { mode }),
  completeLogin: (callbackUri) => changingSession(request('POST', ENDPOINTS.completeLogin, { callbackUri })),
  logout: () => changingSession(request('POST', ENDPOINTS.logout, {})),
  async state() {
    const before = sessionChanges;
    if (before !== sessionChangesDone) return null;
    const session = await request('GET', ENDPOINTS.state);
    return sessionChanges === before && sessionChangesDone === before ? session : null;
  },
};

// ---------------------------------------------------------------------------
// Session state

function readPresence(raw) {
  if (!isPlainObject(raw)) return null;
  return {
    telephonyStatus: asString(raw.telephonyStatus),
    userStatus: asString(raw.userStatus),
    dndStatus: asString(raw.dndStatus),
    presenceStatus: asString(raw.presenceStatus),
  };
}

const withPresence = (session, presence) => Object.freeze({ ...session, presence });

// readSession turns the server's session object into the widget's, with
// every field present. allowed holds the features this frame may offer: the
// page's flags (disableCall, disableMessages) can only turn features off.
function readSession(raw, allowed) {
  const s = isPlainObject(raw) ? raw : {};
  const loggedIn = s.loggedIn === true;
  const region = isPlainObject(s.region) ? s.region : {};
  const features = isPlainObject(s.features) ? s.features : {};
  const extension = loggedIn && isPlainObject(s.extension) ? s.extension : null;
  const account = loggedIn && isPlainObject(s.account) ? s.account : null;
  return Object.freeze({
    loggedIn,
    loginNumber: loggedIn ? asString(s.loginNumber) : '',
    contractedCountryCode: asString(s.contractedCountryCode) || asString(region.countryCode),
    admin: loggedIn && s.admin === true,
    features: Object.fromEntries(['call', 'sms', 'meeting'].map((name) =>
      [name, features[name] === true && allowed?.[name] !== false])),
    region: { countryCode: asString(region.countryCode), areaCode: asString(region.areaCode) },
    extension: extension && {
      id: extension.id ?? null,
      number: asString(extension.number),
      name: asString(extension.name),
      email: asString(extension.email),
    },
    account: account && { company: asString(account.company), mainNumber: asString(account.mainNumber) },
    presence: loggedIn ? readPresence(s.presence) : null,
  });
}

// bootSession is the session embedded in the page; a server that predates
// config.session still says whether someone is signed in.
function bootSession(config) {
  const fallback = {
    loggedIn: config.loggedIn === true,
    contractedCountryCode: config.region?.countryCode,
    features: config.features,
    region: config.region,
  };
  return readSession(config.session ?? fallback, config.features);
}

// The host events the session drives, each built from a session (null when
// the session has nothing to say). At start all are sent; later, only those
// whose payload changed.
const SESSION_EVENTS = [
  (s) => ({
    type: 'rc-login-status-notify',
    loggedIn: s.loggedIn,
    loginNumber: s.loginNumber,
    contractedCountryCode: s.contractedCountryCode,
    admin: s.admin,
    features: { ...s.features },
  }),
  (s) => ({ type: 'rc-region-settings-notify', countryCode: s.region.countryCode, areaCode: s.region.areaCode }),
  (s) => (s.presence ? { type: 'rc-adapter-syncPresence', ...s.presence } : null),
];

function sessionEvents(previous, next) {
  return SESSION_EVENTS.flatMap((build) => {
    const event = build(next);
    if (!event) return [];
    const before = previous && build(previous);
    return before && JSON.stringify(before) === JSON.stringify(event) ? [] : [event];
  });
}

const sameUser = (a, b) => a.loggedIn === b.loggedIn && a.loginNumber === b.loginNumber;

function initials(name) {
  const letters = name.split(/\s+/).filter(Boolean).map((word) => [...word][0].toUpperCase());
  return letters.slice(0, 2).join('') || '?';
}

// What the page shows of the signed-in user, by element id.
const SESSION_TEXT = {
  'cb-user-name': (s) => s.extension?.name || s.loginNumber,
  'cb-user-ext': (s) => (s.extension?.number ? `Ext. ${s.extension.number}` : ''),
  'cb-account-initials': (s) => initials(s.extension?.name ?? ''),
  'cb-account-name': (s) => s.extension?.name || s.loginNumber,
  'cb-account-extension': (s) => (s.extension?.number ? `Extension ${s.extension.number}` : ''),
  'cb-account-company': (s) => s.account?.company || '—',
  'cb-account-login-number': (s) => s.loginNumber || '—',
  'cb-account-email': (s) => s.extension?.email || '—',
  'cb-account-role': (s) => (s.admin ? 'Administrator' : 'User'),
};

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

function renderSession(session) {
  for (const element of document.querySelectorAll('[data-signed-in]')) element.hidden = !session.loggedIn;
  for (const element of document.querySelectorAll('[data-signed-out]')) element.hidden = session.loggedIn;
  if (!session.loggedIn) return;
  for (const [id, value] of Object.entries(SESSION_TEXT)) byId(id).textContent = value(session);
}

function renderBusy(button, busy, label) {
  button.disabled = busy;
  button.setAttribute('aria-busy', String(busy));
  button.querySelector('.button__label').textContent = label;
}

function renderLogin(login) {
  const busy = BUSY_PHASES.includes(login.phase);
  renderBusy(byId('cb-sign-in'), busy, busy ? 'Signing in…' : 'Sign in');
  byId('cb-login-error').textContent = login.error;
  byId('cb-login-note').textContent = login.note;
  byId('cb-popup-blocked').hidden = login.phase !== 'blocked';
}

function render(state) {
  renderRoute(state.route);
  renderConnection(state.connection);
  renderSession(state.session);
  renderLogin(state.login);
  renderBusy(byId('cb-sign-out'), state.signingOut, state.signingOut ? 'Signing out…' : 'Sign out');
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
// Sign-in

// createSignIn runs the authorization code flow from the widget's side
// (contract §7). With the login popup on, the widget opens the sign-in window
// itself and its redirect page posts {callbackUri} back; with it off, the
// host is told the URL (rc-login-popup-notify) and hands the callback back
// (rc-adapter-authorization-code). Either way the server exchanges the code.
//   popupOff:  flags.disableLoginPopup
//   setLogin:  shows the sign-in page's state ({phase, note, error})
//   signedIn:  applies the session the server answered a completed login with
//   post:      sends a message to the host
function createSignIn({ popupOff, setLogin, signedIn, post }) {
  // The attempt under way: {mode: 'popup', popup, poll, grace} or {mode: 'host'}.
  let attempt = null;

  function stop(current, { closeWindow = false } = {}) {
    if (!current) return;
    clearInterval(current.poll);
    clearTimeout(current.grace);
    if (closeWindow && current.popup && !current.popup.closed) current.popup.close();
    if (attempt === current) attempt = null;
  }

  function fail(current, err) {
    if (attempt === current) {
      stop(current, { closeWindow: true });
      setLogin({ error: err.message });
    }
    throw err;
  }

  // watch reports the sign-in as cancelled once its window is closed with
  // no result.
  function watch(current) {
    current.poll = setInterval(() => {
      if (!current.popup.closed) return;
      clearInterval(current.poll);
      current.grace = setTimeout(() => {
        if (attempt !== current) return;
        stop(current);
        setLogin({ note: TEXT.cancelled });
      }, LOGIN_WINDOW_GRACE_MS);
    }, LOGIN_WINDOW_POLL_MS);
  }

  // begin makes current the attempt under way and asks the server to start a
  // login in mode. It returns where to sign in, or '' when another attempt
  // replaced this one meanwhile.
  async function begin(current, mode) {
    stop(attempt);
    attempt = current;
    setLogin({ phase: 'starting' });
    let oAuthUri;
    try {
      ({ oAuthUri } = await server.startLogin(mode));
    } catch (err) {
      fail(current, err);
    }
    if (attempt !== current) return '';
    if (!isUri(oAuthUri)) fail(current, new RequestError('badResponse', 'The server did not say where to sign in.'));
    return oAuthUri;
  }

  // startInPopup must open the window before anything else: only the click
  // that called it lets the browser open a popup.
  async function startInPopup() {
    if (attempt?.mode === 'popup' && !attempt.popup.closed) {
      attempt.popup.focus();
      return;
    }
    const popup = window.open('', LOGIN_WINDOW_NAME, LOGIN_WINDOW_FEATURES);
    if (!popup) {
      stop(attempt);
      setLogin({ phase: 'blocked' });
      throw new RequestError('popupBlocked', `${TEXT.popupBlocked} Use "Try again" in the widget, or allow pop-ups for this page.`);
    }
    const current = { mode: 'popup', popup };
    const oAuthUri = await begin(current, 'popup');
    if (!oAuthUri) return;
    popup.location.href = oAuthUri;
    setLogin({ phase: 'popup', note: TEXT.popupWaiting });
    watch(current);
  }

  async function startInHost() {
    const oAuthUri = await begin({ mode: 'host' }, 'host');
    if (!oAuthUri) return;
    post({ type: 'rc-login-popup-notify', oAuthUri });
    setLogin({ phase: 'host', note: TEXT.hostWaiting });
  }

  async function complete(current, callbackUri) {
    stop(current, { closeWindow: true });
    setLogin({ phase: 'completing', note: TEXT.completing });
    let session;
    try {
      session = await server.completeLogin(callbackUri);
    } catch (err) {
      setLogin({ error: err.message });
      throw err;
    }
    setLogin({});
    signedIn(session);
  }

  // onWindowMessage takes the sign-in window's {callbackUri}.
  function onWindowMessage(event) {
    const current = attempt;
    if (!isFromLoginWindow(event)) return;
    if (!isPlainObject(event.data) || !isUri(event.data.callbackUri)) {
      console.warn(LOG_PREFIX, 'ignored a message from the sign-in window without a valid callbackUri');
      return;
    }
    complete(current, event.data.callbackUri).catch((err) => console.warn(LOG_PREFIX, `sign-in failed: ${err.message}`));
  }

  function isFromLoginWindow(event) {
    return attempt?.mode === 'popup' && event.source === attempt.popup && event.origin === window.location.origin;
  }

  window.addEventListener('message', onWindowMessage);

  return {
    // start begins a sign-in; it resolves once the user has somewhere to
    // sign in, and rejects (code, message) when that failed.
    start: () => (popupOff ? startInHost() : startInPopup()),
    // authorize completes a sign-in started with the login popup off.
    authorize(callbackUri) {
      if (attempt?.mode !== 'host') return Promise.reject(new RequestError('noPendingLogin', TEXT.noPendingLogin));
      return complete(attempt, callbackUri);
    },
    // cancel drops the attempt under way, closing its window.
    cancel() {
      stop(attempt, { closeWindow: true });
      setLogin({});
    },
    isFromLoginWindow,
  };
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
// onLink follows the phone's signalling link the same way, in the words of
// rc-webphone-connection-status-notify: an error counts as disconnected
// until the stream is open again.
// A stream can also stall with no error at all (a proxy or a network that
// drops what it carries without closing anything). The server sends a
// heartbeat event every intervalMs (it says how often); a stream silent for
// twice that and a second is closed and opened anew, with the id of the last
// event received, so the server replays what the silence lost.
// reconnect() opens a fresh stream, which the session cookie of the moment
// selects (the server moves a session to a new id at sign-in and sign-out),
// at urlFor()'s address of the moment. A stream the server refused (it
// names a device of an ended session, or a cap is reached) is closed for
// good: onClosed is told, and decides when to reconnect.
function connectEvents(urlFor, { onStatus, onLink, onEvent, onClosed }) {
  let source = null;
  let lastEventId = '';
  let silenceMs = DEFAULT_STREAM_SILENCE_MS;
  let watchdog = 0;

  function watch(current) {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => {
      if (current !== source) return;
      console.warn(LOG_PREFIX, `the event stream was silent for ${silenceMs} ms; reopening it`);
      onLink('disconnected');
      open({ resume: true });
    }, silenceMs);
  }

  function open({ resume = false } = {}) {
    source?.close();
    clearTimeout(watchdog);
    if (!resume) lastEventId = ''; // another session's stream: its ids mean nothing here
    const url = urlFor();
    if (!url) {
      onStatus('offline');
      onLink('disconnected');
      return;
    }
    const target = resume && lastEventId
      ? `${url}${url.includes('?') ? '&' : '?'}lastEventId=${encodeURIComponent(lastEventId)}`
      : url;
    const current = new EventSource(target);
    source = current;
    onStatus('connecting');
    onLink('connecting');
    watch(current);
    current.addEventListener('open', () => {
      if (current !== source) return;
      watch(current);
      onStatus('connected');
      onLink('connected');
    });
    current.addEventListener('error', () => {
      if (current !== source) return;
      const closed = current.readyState === EventSource.CLOSED;
      onStatus(closed ? 'offline' : 'connecting');
      onLink('disconnected');
      if (closed) onClosed();
    });
    current.addEventListener('heartbeat', (message) => {
      if (current !== source) return;
      const beat = parseServerEvent(message.data);
      const interval = Number(beat?.intervalMs);
      if (Number.isFinite(interval) && interval >= 1000) silenceMs = 2 * interval + 1000;
      watch(current);
    });
    current.addEventListener('message', (message) => {
      if (current !== source) return;
      watch(current);
      if (message.lastEventId) lastEventId = message.lastEventId;
      const event = parseServerEvent(message.data);
      if (event) onEvent(event);
    });
  }

  open();
  return { reconnect: () => open() };
}

// ---------------------------------------------------------------------------
// Start

function bindControls(config, { navigate, signIn, signOut }) {
  document.addEventListener('click', (event) => {
    const target = event.target.closest('[data-nav]');
    if (target) navigate(target.dataset.nav);
  });
  // Failures show on the sign-in page; nothing more to do with them here.
  const onSignIn = () => signIn.start().catch(() => {});
  byId('cb-sign-in').addEventListener('click', onSignIn);
  byId('cb-popup-retry').addEventListener('click', onSignIn);
  byId('cb-sign-out').addEventListener('click', () => {
    signOut().catch((err) => showAlert({ message: `Could not sign out: ${err.message}`, level: 'danger' }));
  });
  byId('cb-login-popup-note').hidden = !config.flags?.disableLoginPopup;
}

function start() {
  const config = readConfig();
  (config.warnings ?? []).forEach((warning) => console.warn(LOG_PREFIX, warning));
  applyTheme(config.flags?.theme);
  addStylesheet(config.flags?.stylesUri);

  requestHeaders['X-Callbridge-Client'] = asString(config.clientId);
  // This tab's phone: an id the server issues to the signed-in session,
  // renewed whenever the session changes ('' while signed out).
  let deviceId = asString(config.session?.deviceId);
  const activeTab = trackActiveTab(config.flags?.disableInactiveTabCallEvent === true, newTabId());
  const firstSession = bootSession(config);
  // loggedIn repeats session.loggedIn for the bridge: commands wait on it,
  // and a new call on dialerReady, or on dialerProblem saying why the phone
  // cannot call (the phone keeps both). callWith is the calling mode, which
  // the settings keep.
  const store = createStore({
    route: null,
    session: firstSession,
    loggedIn: firstSession.loggedIn,
    login: LOGIN_IDLE,
    signingOut: false,
    dialerReady: false,
    dialerProblem: '',
    connection: 'connecting',
    callWith: 'browser',
  });

  function navigate(path) {
    if (!ROUTES.includes(path)) return false;
    if (path !== store.get().route) {
      store.update({ route: path });
      bridge.post({ type: 'rc-route-changed-notify', path });
    }
    return true;
  }

  // showPage is navigate for the host page: the page it asks for shows,
  // over a call in progress too.
  function showPage(path) {
    if (!navigate(path)) return false;
    phone.foldCall();
    return true;
  }

  const setLogin = (login) => store.update({ login: Object.freeze({ ...LOGIN_IDLE, ...login }) });

  // applySession takes a session from the server: it tells the host what
  // changed (all of it about a user who just signed in), then updates the
  // widget (which lets waiting commands run), then moves to the page the
  // change calls for. byUser is set when this widget signed in or out
  // itself; a session that ends otherwise says so on the sign-in page. The
  // event stream follows a change of user.
  function applySession(raw, { byUser = false } = {}) {
    const previous = store.get().session;
    const session = readSession(raw, config.features);
    const known = session.loggedIn && !sameUser(previous, session) ? null : previous;
    sessionEvents(known, session).forEach(bridge.post);
    store.update({ session, loggedIn: session.loggedIn });
    if (session.loggedIn && !previous.loggedIn) {
      signIn.cancel();
      navigate('/dialer');
    } else if (!session.loggedIn && previous.loggedIn) {
      setLogin({ note: byUser ? '' : TEXT.signedOut });
      navigate('/login');
    }
    if (byUser || !sameUser(previous, session)) {
      // The server's answer brings this tab's device for the new session;
      // a session pushed without one has the tab ask for it.
      deviceId = session.loggedIn ? asString(raw?.deviceId) : '';
      if (session.loggedIn && !deviceId) renewStream();
      else events.reconnect();
    }
  }

  // renewStream takes a device id for the session of the moment, then opens
  // the event stream anew with it.
  let renewing = null;
  function renewStream() {
    renewing ??= (async () => {
      try {
        deviceId = store.get().session.loggedIn ? asString((await server.newDevice()).deviceId) : '';
      } catch (err) {
        deviceId = '';
        if (err.code === 'NotSignedIn') refreshSession();
        else console.warn(LOG_PREFIX, `could not register this tab's phone: ${err.message}`);
      } finally {
        renewing = null;
      }
      events.reconnect();
    })();
    return renewing;
  }

  // A stream the server refused is tried again after a pause that grows
  // to half a minute, with a new device id when signed in.
  let retryMs = 1000;
  let retryTimer = 0;
  function streamClosed() {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => renewStream(), retryMs);
    retryMs = Math.min(retryMs * 2, 30_000);
  }

  function refreshSession() {
    server.state()
      .then((session) => session && applySession(session))
      .catch((err) => console.warn(LOG_PREFIX, `could not refresh the session: ${err.message}`));
  }

  // startSignIn answers the host's rc-adapter-login: nothing to do when
  // signed in already, else the sign-in page shows how it goes.
  function startSignIn() {
    if (store.get().session.loggedIn) return Promise.resolve();
    navigate('/login');
    return signIn.start();
  }

  async function signOut() {
    signIn.cancel();
    store.update({ signingOut: true });
    try {
      applySession(await server.logout(), { byUser: true });
    } finally {
      store.update({ signingOut: false });
    }
  }

  // Widget-internal events of the stream; the host never sees them.
  const INTERNAL_EVENTS = {
    'cb-session': (event) => applySession(event.session),
    'cb-resync': () => {
      refreshSession();
      phone.resync();
      history.reload();
      messages.reload();
    },
  };

  const signIn = createSignIn({
    popupOff: config.flags?.disableLoginPopup === true,
    setLogin,
    signedIn: (session) => applySession(session, { byUser: true }),
    post: (message) => bridge.post(message),
  });

  const bridge = createBridge({
    config,
    getState: store.get,
    actions: {
      navigate: showPage,
      showAlert,
      login: startSignIn,
      logout: signOut,
      authorize: (callbackUri) => signIn.authorize(callbackUri),
      newCall: (phoneNumber, toCall) => phone.newCall(phoneNumber, toCall),
      controlCall: (command) => phone.controlCall(command),
      webphoneSessions: () => phone.sessions(),
      newSms: (sms) => messages.newSms(sms),
      setPresence: (presence) => settings.setPresence(presence),
      callingSettings: (update) => settings.update(update),
      callLog: (options) => history.callLog(options),
    },
    isOwnMessage: signIn.isFromLoginWindow,
  });
  store.subscribe(render);
  store.subscribe(bridge.stateChanged);
  // The host hears of the dialer's readiness at start and on every change.
  let dialerReady = store.get().dialerReady;
  store.subscribe((state) => {
    if (state.dialerReady === dialerReady) return;
    dialerReady = state.dialerReady;
    bridge.post({ type: 'rc-dialer-status-notify', ready: dialerReady });
  });

  sessionEvents(null, firstSession).forEach(bridge.post);
  bridge.post({ type: 'rc-dialer-status-notify', ready: dialerReady });
  navigate(firstSession.loggedIn ? '/dialer' : '/login');
  bindControls(config, { navigate, signIn, signOut });

  // After bindControls: a click on Sign in opens the sign-in window before
  // the phone asks for permission to notify.
  const phone = createPhone({
    config,
    device: () => deviceId,
    store,
    request,
    navigate,
    showAlert,
    post: (message) => bridge.post(message),
    ringOut: (number) => settings.ringOut(number),
  });

  // The host hears the calling settings at start and on every change.
  const settings = createSettings({
    config,
    store,
    request,
    showAlert,
    onChange: (current) => bridge.post({ type: 'rc-calling-settings-notify', ...current }),
  });
  const history = createHistory({
    store,
    request,
    callBack: (number) => phone.newCall(number, true),
  });
  const messages = createMessages({ store, request, showPage, showAlert });

  const events = connectEvents(() => eventsUrlFor(config.eventsUrl, asString(config.clientId), deviceId), {
    onStatus: (connection) => {
      if (connection === 'connected') retryMs = 1000;
      store.update({ connection });
    },
    onLink: phone.linkChanged,
    onEvent: receive,
    onClosed: streamClosed,
  });

  // receive takes one event of the server's stream.
  function receive(event) {
    // Events for one device name it in _to; other tabs' are not ours.
    if (Object.hasOwn(event, '_to')) {
      if (event._to !== deviceId) return;
      delete event._to;
    }
    const internal = Object.hasOwn(INTERNAL_EVENTS, event.type) && INTERNAL_EVENTS[event.type];
    if (internal) {
      internal(event);
      return;
    }
    const patch = Object.hasOwn(STATE_FROM_EVENT, event.type) && STATE_FROM_EVENT[event.type];
    if (patch) store.update(patch(event, store.get()));
    if (!TAB_SCOPED_EVENTS.includes(event.type) || activeTab.isActive()) bridge.relay(event);
    phone.handleEvent(event);
    history.handleEvent(event);
    messages.handleEvent(event);
    settings.handleEvent(event);
  }

  // The hook tests use to hand the widget an event of the stream again, as
  // a replay after a reconnect may: receive(data) takes the event's data.
  // Only a development server turns it on.
  if (config.testHooks === true) {
    window.cbEvents = Object.freeze({
      receive: (data) => {
        const event = parseServerEvent(data);
        if (event) receive(event);
      },
    });
  }
}

start();
