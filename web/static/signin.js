// Sign-in from the widget's side (contract §7): the sign-in window, or the
// host's when the login popup is off, and the server's exchange of the code.

import { language, t } from './i18n.js';
import { isPlainObject, isUri } from './fields.js';
import { RequestError, server } from './server.js';

const LOG_PREFIX = '[callbridge]';

// The sign-in window. It is opened empty inside the click that asks for it
// (browsers allow a popup only during a user gesture) and sent to the
// authorization server once the server has started the login.
const LOGIN_WINDOW_NAME = 'cb-login';
const LOGIN_WINDOW_FEATURES = 'popup,width=480,height=640';
const LOGIN_WINDOW_POLL_MS = 500;
// A result the window posted just before closing may arrive after the poll
// sees it closed; it gets this long before the sign-in counts as cancelled.
const LOGIN_WINDOW_GRACE_MS = 1_000;

// The sign-in page's notes, by key; noPendingLogin answers the host page's
// developer, in English as every console message.
const TEXT = {
  cancelled: 'shell.signInCancelled',
  popupWaiting: 'shell.signInPopupWaiting',
  hostWaiting: 'shell.signInHostWaiting',
  completing: 'shell.signingYouIn',
};
const NO_PENDING_LOGIN = 'No sign-in is waiting for an authorization code: start one with rc-adapter-login first.';

// themedUri is the sign-in URL uri asking the sign-in page to be theme
// (light or dark) as the widget is, and to speak its language (lang, as
// OpenID Connect's ui_locales); with theme auto (or none) the page follows
// the system, as the widget does.
export function themedUri(uri, theme, lang = '') {
  const themed = theme === 'light' || theme === 'dark';
  if (!themed && !lang) return uri;
  try {
    const url = new URL(uri);
    if (themed) url.searchParams.set('theme', theme);
    if (lang) url.searchParams.set('ui_locales', lang);
    return url.href;
  } catch {
    return uri;
  }
}

// Login phases: what the sign-in page shows and whether it takes a new attempt.
export const LOGIN_IDLE = Object.freeze({ phase: 'idle', note: '', error: '' });
const BUSY_PHASES = ['starting', 'popup', 'completing'];

// isBusy is whether a sign-in is under way in login's phase.
export const isBusy = (login) => BUSY_PHASES.includes(login.phase);

// createSignIn runs the authorization code flow from the widget's side
// (contract §7). With the login popup on, the widget opens the sign-in window
// itself and its redirect page posts {callbackUri} back; with it off, the
// host is told the URL (rc-login-popup-notify) and hands the callback back
// (rc-adapter-authorization-code). Either way the server exchanges the code.
//   popupOff:  flags.disableLoginPopup
//   setLogin:  shows the sign-in page's state ({phase, note, error})
//   signedIn:  applies the session the server answered a completed login with
//   post:      sends a message to the host
//   theme:     the widget's theme (flags.theme), which the sign-in page follows
export function createSignIn({ popupOff, setLogin, signedIn, post, theme = '' }) {
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
        setLogin({ note: t(TEXT.cancelled) });
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
    if (!isUri(oAuthUri)) fail(current, new RequestError('badResponse', t('errors.noSignInAddress')));
    return themedUri(oAuthUri, theme, language());
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
      throw new RequestError('popupBlocked', t('shell.popupBlocked'));
    }
    const current = { mode: 'popup', popup };
    const oAuthUri = await begin(current, 'popup');
    if (!oAuthUri) return;
    popup.location.href = oAuthUri;
    setLogin({ phase: 'popup', note: t(TEXT.popupWaiting) });
    watch(current);
  }

  async function startInHost() {
    const oAuthUri = await begin({ mode: 'host' }, 'host');
    if (!oAuthUri) return;
    post({ type: 'rc-login-popup-notify', oAuthUri });
    setLogin({ phase: 'host', note: t(TEXT.hostWaiting) });
  }

  async function complete(current, callbackUri) {
    stop(current, { closeWindow: true });
    setLogin({ phase: 'completing', note: t(TEXT.completing) });
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
      if (attempt?.mode !== 'host') return Promise.reject(new RequestError('noPendingLogin', NO_PENDING_LOGIN));
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
