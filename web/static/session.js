// The session as the widget knows it: the server's session object read into
// one with every field present, the host events it drives, and what the
// page shows of the signed-in user. Pure functions only.

import { t } from './i18n.js';
import { asString, isPlainObject } from './fields.js';

export function readPresence(raw) {
  if (!isPlainObject(raw)) return null;
  return {
    telephonyStatus: asString(raw.telephonyStatus),
    userStatus: asString(raw.userStatus),
    dndStatus: asString(raw.dndStatus),
    presenceStatus: asString(raw.presenceStatus),
  };
}

export const withPresence = (session, presence) => Object.freeze({ ...session, presence });

// readSession turns the server's session object into the widget's, with
// every field present. allowed holds the features this frame may offer: the
// page's flags (disableCall, disableMessages) can only turn features off.
export function readSession(raw, allowed) {
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
export function bootSession(config) {
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
export const SESSION_EVENTS = [
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

export function sessionEvents(previous, next) {
  return SESSION_EVENTS.flatMap((build) => {
    const event = build(next);
    if (!event) return [];
    const before = previous && build(previous);
    return before && JSON.stringify(before) === JSON.stringify(event) ? [] : [event];
  });
}

export const sameUser = (a, b) => a.loggedIn === b.loggedIn && a.loginNumber === b.loginNumber;

export function initials(name) {
  const letters = name.split(/\s+/).filter(Boolean).map((word) => [...word][0].toUpperCase());
  return letters.slice(0, 2).join('') || '?';
}

// What the page shows of the signed-in user, by element id.
export const SESSION_TEXT = {
  'cb-user-name': (s) => s.extension?.name || s.loginNumber,
  'cb-user-ext': (s) => (s.extension?.number ? t('shell.extShort', { number: s.extension.number }) : ''),
  'cb-account-initials': (s) => initials(s.extension?.name ?? ''),
  'cb-account-name': (s) => s.extension?.name || s.loginNumber,
  'cb-account-extension': (s) => (s.extension?.number ? t('shell.extension', { number: s.extension.number }) : ''),
  'cb-account-company': (s) => s.account?.company || '—',
  'cb-account-login-number': (s) => s.loginNumber || '—',
  'cb-account-email': (s) => s.extension?.email || '—',
  'cb-account-role': (s) => t(s.admin ? 'shell.roleAdmin' : 'shell.roleUser'),
};

// How an event from the server changes the widget's state.
export const STATE_FROM_EVENT = {
  'rc-adapter-syncPresence': (event, state) =>
    (state.session.loggedIn ? { session: withPresence(state.session, readPresence(event)) } : {}),
};
