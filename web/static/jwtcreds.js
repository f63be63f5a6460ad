// The settings page's Server access: the user's JWT credentials, with which
// the company's server apps sign in as the user (the jwt-bearer grant,
// docs/api.md). The list shows each credential's state with Revoke (asked
// twice); the form creates one and shows its JWT once, to copy. An
// administrator picks whose credentials the section manages.
//
// readCredentials, credentialDetail and nameProblem are pure and tested
// under `node --test` (web/test/jwtcreds.test.js).

import { asString, isPlainObject } from './fields.js';
import { formatDate, t } from './i18n.js';

const LOG_PREFIX = '[callbridge]';
const CREDENTIALS_URL = '/widget/jwt-credentials';
const EXTENSIONS_URL = '/widget/extensions';
export const MAX_NAME_LENGTH = 64;

const STATUS_TEXT = Object.freeze({
  Active: 'settings.jwtStatusActive',
  Expired: 'settings.jwtStatusExpired',
  Revoked: 'settings.jwtStatusRevoked',
});

const time = (raw) => {
  const ms = Date.parse(asString(raw));
  return Number.isFinite(ms) ? ms : 0;
};

// readCredentials reads GET /widget/jwt-credentials: the credentials with
// an id, newest first as the server sends them.
export function readCredentials(response) {
  const list = Array.isArray(response?.records) ? response.records : [];
  return list.filter((c) => isPlainObject(c) && asString(c.id) !== '').map((c) => ({
    id: c.id,
    name: asString(c.name) || c.id,
    status: Object.hasOwn(STATUS_TEXT, c.status) ? c.status : 'Active',
    expires: time(c.expirationTime),
    lastUsed: time(c.lastUsedTime),
  }));
}

const day = (ms) => formatDate(ms, { dateStyle: 'medium' });

// credentialDetail is the line under a credential's name: its state, when
// it expires and when it was last used.
export function credentialDetail(c) {
  const parts = [t(STATUS_TEXT[c.status])];
  if (c.status === 'Active') parts.push(c.expires ? t('settings.jwtExpiresOn', { date: day(c.expires) }) : t('settings.jwtNoExpiry'));
  parts.push(c.lastUsed ? t('settings.jwtLastUsed', { date: day(c.lastUsed) }) : t('settings.jwtNeverUsed'));
  return parts.join(' · ');
}

// nameProblem is what is wrong with a new credential's name, '' for none.
export function nameProblem(name) {
  const n = name.trim();
  if (!n) return t('settings.jwtNameMissing');
  if ([...n].length > MAX_NAME_LENGTH) return t('settings.jwtNameTooLong', { max: MAX_NAME_LENGTH });
  return '';
}

const byId = (id) => document.getElementById(id);

export function createJWTCredentials({ store, request }) {
  const ui = {
    section: byId('cb-jwt'), forRow: byId('cb-jwt-for-row'), forSelect: byId('cb-jwt-for'), list: byId('cb-jwt-list'),
    empty: byId('cb-jwt-empty'), form: byId('cb-jwt-form'), name: byId('cb-jwt-name'), nameError: byId('cb-jwt-name-error'),
    expires: byId('cb-jwt-expires'), create: byId('cb-jwt-create'), fresh: byId('cb-jwt-new'), token: byId('cb-jwt-token'),
    copy: byId('cb-jwt-copy'), status: byId('cb-jwt-status'),
  };
  let user = '';
  let loads = 0;
  let busy = false;
  // The credential whose Revoke was pressed once, awaiting the second press.
  let confirming = '';

  const target = () => ui.forSelect.value || '~';

  function say(text, error = false) {
    ui.status.dataset.error = String(error);
    ui.status.textContent = text;
  }

  function render(credentials) {
    ui.list.replaceChildren(...credentials.map((c) => {
      const item = document.createElement('li');
      item.className = 'jwt__item';
      item.dataset.status = c.status;
      const text = document.createElement('div');
      text.className = 'jwt__text';
      const name = document.createElement('span');
      name.className = 'jwt__name';
      name.textContent = c.name;
      const detail = document.createElement('span');
      detail.className = 'jwt__detail';
      detail.textContent = credentialDetail(c);
      text.append(name, detail);
      item.append(text);
      if (c.status === 'Active') {
        const revoke = document.createElement('button');
        revoke.type = 'button';
        revoke.className = 'button button--secondary jwt__revoke';
        revoke.dataset.id = c.id;
        const asking = confirming === c.id;
        revoke.dataset.confirm = String(asking);
        revoke.textContent = t(asking ? 'settings.jwtConfirmRevoke' : 'settings.jwtRevoke');
        revoke.setAttribute('aria-label', t(asking ? 'settings.jwtConfirmRevokeLabel' : 'settings.jwtRevokeLabel', { name: c.name }));
        revoke.addEventListener('click', () => revokePressed(c));
        item.append(revoke);
      }
      return item;
    }));
    ui.empty.hidden = credentials.length > 0;
  }

  async function load() {
    const load = ++loads;
    try {
      const credentials = readCredentials(await request('GET', `${CREDENTIALS_URL}?extensionId=${encodeURIComponent(target())}`));
      if (load !== loads) return;
      render(credentials);
      ui.section.hidden = false;
    } catch (err) {
      if (load !== loads) return;
      // A server that issues no credentials has no Server access part.
      if (err.code === 'FeatureNotAvailable') {
        ui.section.hidden = true;
        return;
      }
      console.warn(LOG_PREFIX, `could not load the JWT credentials: ${err.message}`);
      render([]);
      say(t('settings.jwtLoadFailed'), true);
    }
  }

  // An administrator manages the credentials of the account's users too.
  async function loadPeople(admin, self) {
    ui.forSelect.replaceChildren(new Option(t('settings.jwtForMe', { name: self }), '~'));
    ui.forRow.hidden = !admin;
    if (!admin) return;
    try {
      const response = await request('GET', EXTENSIONS_URL);
      const users = (Array.isArray(response?.records) ? response.records : [])
        .filter((x) => isPlainObject(x) && x.type === 'User' && asString(x.id) !== '');
      for (const x of users) ui.forSelect.append(new Option(`${asString(x.name)} (${asString(x.extensionNumber)})`, x.id));
    } catch (err) {
      console.warn(LOG_PREFIX, `could not list the account's users: ${err.message}`);
    }
  }

  async function create(event) {
    event.preventDefault();
    const problem = nameProblem(ui.name.value);
    ui.nameError.textContent = problem;
    ui.name.setAttribute('aria-invalid', String(Boolean(problem)));
    if (problem) {
      ui.name.focus();
      return;
    }
    if (busy) return;
    busy = true;
    ui.create.disabled = true;
    try {
      const created = await request('POST', CREDENTIALS_URL, {
        name: ui.name.value.trim(), expiresInDays: Number(ui.expires.value) || 0, extensionId: target(),
      });
      ui.name.value = '';
      ui.token.value = asString(created.jwt);
      ui.fresh.hidden = false;
      say(t('settings.jwtCreated', { name: asString(created.name) }));
      ui.token.focus();
      ui.token.select();
      await load();
    } catch (err) {
      console.warn(LOG_PREFIX, `the JWT credential was not created: ${err.message}`);
      if (err.param === 'name') {
        ui.nameError.textContent = err.message;
        ui.name.setAttribute('aria-invalid', 'true');
        ui.name.focus();
      } else {
        say(err.code === 'CredentialLimitExceeded' ? t('settings.jwtLimit') : err.message, true);
      }
    } finally {
      busy = false;
      ui.create.disabled = false;
    }
  }

  async function revokePressed(c) {
    if (confirming !== c.id) {
      confirming = c.id;
      await load();
      ui.list.querySelector(`[data-id="${CSS.escape(c.id)}"]`)?.focus();
      return;
    }
    confirming = '';
    try {
      await request('DELETE', `${CREDENTIALS_URL}/${encodeURIComponent(c.id)}`);
      say(t('settings.jwtRevoked', { name: c.name }));
    } catch (err) {
      console.warn(LOG_PREFIX, `the JWT credential was not revoked: ${err.message}`);
      say(err.message, true);
    }
    await load();
    ui.name.focus();
  }

  async function copy() {
    try {
      await navigator.clipboard.writeText(ui.token.value);
      say(t('settings.jwtCopied'));
    } catch {
      ui.token.focus();
      ui.token.select();
      say(t('settings.jwtCopyFailed'), true);
    }
  }

  function forget() {
    ui.token.value = '';
    ui.fresh.hidden = true;
    confirming = '';
    say('');
  }

  ui.form.addEventListener('submit', create);
  ui.copy.addEventListener('click', copy);
  ui.forSelect.addEventListener('change', () => {
    forget();
    load();
  });
  ui.name.addEventListener('input', () => {
    ui.nameError.textContent = '';
    ui.name.removeAttribute('aria-invalid');
  });

  // A user who signs in gets their list; signing out, or leaving the page,
  // forgets a JWT shown once.
  let route = '';
  function stateChanged(state) {
    const next = state.session.loggedIn ? asString(state.session.loginNumber) : '';
    const left = route === '/settings' && state.route !== '/settings';
    route = state.route;
    if (left) forget();
    if (next === user) return;
    user = next;
    loads += 1;
    ui.section.hidden = true;
    forget();
    if (!user) return;
    loadPeople(state.session.admin === true, asString(state.session.extension?.name) || user).then(load);
  }

  store.subscribe(stateChanged);
  stateChanged(store.get());
}
