// Sign-in through the demo host page (the widget's login popup off,
// disableLoginPopup=1): on rc-login-popup-notify the page opens the sign-in
// window itself, once it has checked that oAuthUri is a web URL on the
// widget's origin; its redirect page on this origin posts {callbackUri}
// back, and the page hands it to the widget as rc-adapter-authorization-code.
// No dependencies: copy what you need.

import { signInUrl } from './demowidget.js';

const WINDOW_NAME = 'cb-host-login';
const WINDOW_FEATURES = 'popup,width=480,height=640';

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * createHostSignIn follows the widget's sign-in requests.
 *   widgetOrigin:  the widget's origin
 *   signInOrigins: other origins that may serve the sign-in page, https only
 *   authorize:     authorize(callbackUri) hands the callback to the widget
 * It returns { follow(data), isFromWindow(event), receive(data) }.
 */
export function createHostSignIn({ widgetOrigin, signInOrigins, authorize }) {
  const banner = document.getElementById('login-banner');
  const detail = document.getElementById('login-banner-detail');
  /** The sign-in URL the widget asked for, and the window it is open in. */
  let oAuthUri = '';
  let popup = null;

  /** Opens (or reuses) the sign-in window; the browser may refuse without a click. */
  function open() {
    if (!oAuthUri) return;
    const opened = window.open(oAuthUri, WINDOW_NAME, WINDOW_FEATURES);
    if (opened) {
      popup = opened;
      detail.textContent = 'Finish signing in in the window that opened.';
    } else {
      detail.textContent = 'The browser blocked the sign-in window: open it with the button.';
    }
  }

  /** Follows the widget's messages: a sign-in request, and its end. */
  function follow(data) {
    if (!isObject(data)) return;
    if (data.type === 'rc-login-popup-notify' && typeof data.oAuthUri === 'string') {
      const url = signInUrl(data.oAuthUri, widgetOrigin, signInOrigins);
      if (!url) return;
      oAuthUri = url;
      banner.hidden = false;
      open(); // Works while this page still has the user's click (or allows popups).
    } else if (data.type === 'rc-login-status-notify' && data.loggedIn === true) {
      oAuthUri = '';
      banner.hidden = true;
    }
  }

  function isFromWindow(event) {
    return popup !== null && event.source === popup && event.origin === location.origin;
  }

  /** Hands the sign-in window's callbackUri to the widget. */
  function receive(data) {
    if (!isObject(data) || typeof data.callbackUri !== 'string') return;
    popup = null;
    oAuthUri = '';
    banner.hidden = true;
    authorize(data.callbackUri);
  }

  document.getElementById('btn-open-signin').addEventListener('click', open);
  return { follow, isFromWindow, receive };
}

/** Says which way sign-in goes on this page, and links to the other way. */
export function showLoginMode() {
  const params = new URLSearchParams(location.search);
  const viaHost = /^(1|true)$/.test(params.get('disableLoginPopup') || '');
  params.delete('disableLoginPopup');
  if (!viaHost) params.set('disableLoginPopup', '1');
  const query = params.toString();
  document.getElementById('login-mode').textContent = viaHost
    ? 'Sign-in opens in a window of this page (disableLoginPopup=1).'
    : "Sign-in opens in the widget's own window.";
  const link = document.getElementById('login-mode-link');
  link.textContent = viaHost ? "Use the widget's window instead" : 'Sign in through this page instead';
  link.href = query ? `?${query}` : location.pathname;
}
