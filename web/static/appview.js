// The widget shell's part of the page: the theme and the app's stylesheet,
// the page shown and the tabs, the connection indicator, the signed-in
// user, the sign-in page, the alerts, and the shell's own controls.

import { t } from './i18n.js';
import { bindLayers, focusView, mayMoveFocus } from './layers.js';
import { isBusy } from './signin.js';
import { SESSION_TEXT } from './session.js';

const THEMES = ['light', 'dark', 'auto'];
const DEFAULT_ALERT_TTL_MS = 5_000;
const MAX_VISIBLE_ALERTS = 3;
const CONNECTION_LABELS = {
  connecting: 'shell.connecting',
  connected: 'shell.connected',
  offline: 'shell.offline',
};
const byId = (id) => document.getElementById(id);

// ---------------------------------------------------------------------------
// Appearance

export function applyTheme(theme) {
  if (THEMES.includes(theme)) document.documentElement.dataset.theme = theme;
}

export function addStylesheet(href) {
  if (!href) return;
  const link = document.createElement('link');
  link.rel = 'stylesheet';
  link.href = href;
  document.head.append(link);
}

// The page shown.
let shownRoute = null;

const routeView = (route) => document.querySelector(`.pages [data-route="${route}"]`);

function renderRoute(route) {
  for (const section of document.querySelectorAll('[data-route]')) {
    section.hidden = section.dataset.route !== route;
    section.inert = section.hidden;
  }
  for (const tab of document.querySelectorAll('#cb-tabs [data-nav]')) {
    if (tab.dataset.nav === route) tab.setAttribute('aria-current', 'page');
    else tab.removeAttribute('aria-current');
  }
}

function renderConnection(status) {
  const indicator = byId('cb-status');
  indicator.dataset.status = status;
  indicator.title = t(CONNECTION_LABELS[status]);
  indicator.querySelector('.status__label').textContent = t(CONNECTION_LABELS[status]);
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
  const busy = isBusy(login);
  renderBusy(byId('cb-sign-in'), busy, t(busy ? 'shell.signingIn' : 'shell.signIn'));
  byId('cb-login-error').textContent = login.error;
  byId('cb-login-note').textContent = login.note;
  byId('cb-popup-blocked').hidden = login.phase !== 'blocked';
}

// focusRoute gives the focus to the page just shown (its heading or its
// first control), once it shows what it will: not on the first page, and
// not under a call panel or from the host page (layers.js).
function focusRoute(route) {
  const previousRoute = shownRoute;
  shownRoute = route;
  if (previousRoute === null || previousRoute === route || !mayMoveFocus()) return;
  const view = routeView(route);
  if (view && !view.closest('[inert]')) focusView(view);
}

export function render(state) {
  renderRoute(state.route);
  renderConnection(state.connection);
  renderSession(state.session);
  renderLogin(state.login);
  renderBusy(byId('cb-sign-out'), state.signingOut, t(state.signingOut ? 'shell.signingOut' : 'shell.signOut'));
  if (state.route !== shownRoute) focusRoute(state.route);
}

// showAlert adds a dismissable banner that removes itself after ttl ms,
// unless the view says the same already in place (the dialer's reason, a
// call's state): then a banner would only repeat it.
export function showAlert({ message, level = 'info', ttl }) {
  const container = byId('cb-alerts');
  const text = String(message).trim();
  const inPlace = [...document.querySelectorAll('[role="status"], [role="alert"]')].some(
    (el) => !container.contains(el) && el.textContent.trim() === text && el.getClientRects().length > 0,
  );
  if (inPlace) return;
  const alert = byId('cb-alert-template').content.firstElementChild.cloneNode(true);
  alert.dataset.level = level;
  alert.setAttribute('role', level === 'danger' ? 'alert' : 'status');
  alert.querySelector('.alert__text').textContent = message;
  alert.querySelector('.alert__close').addEventListener('click', () => alert.remove());
  container.append(alert);
  while (container.childElementCount > MAX_VISIBLE_ALERTS) container.firstElementChild.remove();
  setTimeout(() => alert.remove(), ttl > 0 ? ttl : DEFAULT_ALERT_TTL_MS);
}

export function bindControls(config, { navigate, signIn, signOut }) {
  document.addEventListener('click', (event) => {
    const target = event.target.closest('[data-nav]');
    if (target) navigate(target.dataset.nav);
  });
  // Failures show on the sign-in page; nothing more to do with them here.
  const onSignIn = () => signIn.start().catch(() => {});
  byId('cb-sign-in').addEventListener('click', onSignIn);
  byId('cb-popup-retry').addEventListener('click', onSignIn);
  byId('cb-sign-out').addEventListener('click', () => {
    signOut().catch((err) => showAlert({ message: t('shell.signOutFailed', { reason: err.message }), level: 'danger' }));
  });
  byId('cb-login-popup-note').hidden = !config.flags?.disableLoginPopup;
  bindLayers({ currentView: () => routeView(shownRoute) });
}
