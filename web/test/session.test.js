// Tests of the widget shell's pure parts under `node --test`: the session
// (session.js), the state store (store.js) and the tab's id (tabs.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import './english.js';

import {
  bootSession, initials, readSession, sameUser, SESSION_TEXT, sessionEvents, STATE_FROM_EVENT,
} from '../static/session.js';
import { createStore } from '../static/store.js';
import { newTabId } from '../static/tabs.js';

const SIGNED_IN = {
  loggedIn: true,
  loginNumber: '+16505550100',
  admin: true,
  features: { call: true, sms: true, meeting: false },
  region: { countryCode: 'US', areaCode: '650' },
  extension: { id: 7, number: '101', name: 'Alice Smith', email: 'alice@example.com' },
  account: { company: 'Example Inc.', mainNumber: '+16505550000' },
  presence: { telephonyStatus: 'NoCall', userStatus: 'Available', dndStatus: 'TakeAllCalls', presenceStatus: 'Available' },
};

test('a session is read with every field present, whatever the server sent', () => {
  for (const raw of [undefined, null, 'x', [], { loggedIn: 'yes' }]) {
    const s = readSession(raw);
    assert.equal(s.loggedIn, false, JSON.stringify(raw));
    assert.equal(s.loginNumber, '');
    assert.deepEqual(s.features, { call: false, sms: false, meeting: false });
    assert.deepEqual(s.region, { countryCode: '', areaCode: '' });
    assert.equal(s.extension, null);
    assert.equal(s.account, null);
    assert.equal(s.presence, null);
    assert.ok(Object.isFrozen(s));
  }
  const s = readSession(SIGNED_IN);
  assert.equal(s.loginNumber, '+16505550100');
  assert.equal(s.contractedCountryCode, 'US', 'the region\'s country when none is contracted');
  assert.deepEqual(s.extension, { id: 7, number: '101', name: 'Alice Smith', email: 'alice@example.com' });
  assert.deepEqual(s.account, { company: 'Example Inc.', mainNumber: '+16505550000' });
  assert.equal(s.presence.userStatus, 'Available');
});

test('a signed-out session keeps no user\'s details', () => {
  const s = readSession({ ...SIGNED_IN, loggedIn: false });
  assert.equal(s.loginNumber, '');
  assert.equal(s.admin, false);
  assert.equal(s.extension, null);
  assert.equal(s.account, null);
  assert.equal(s.presence, null);
  assert.equal(s.contractedCountryCode, 'US', 'the region shows signed out too');
});

test('the page\'s flags can only turn features off', () => {
  const s = readSession(SIGNED_IN, { call: false, sms: true, meeting: true });
  assert.deepEqual(s.features, { call: false, sms: true, meeting: false });
});

test('the boot session falls back to the page\'s loggedIn, region and features', () => {
  const config = { loggedIn: true, region: { countryCode: 'GB', areaCode: '' }, features: { call: true } };
  const s = bootSession(config);
  assert.equal(s.loggedIn, true);
  assert.equal(s.contractedCountryCode, 'GB');
  assert.equal(s.features.call, true);
  assert.equal(bootSession({ ...config, session: SIGNED_IN }).loginNumber, '+16505550100');
});

test('at start the host hears every session event; later only those that changed', () => {
  const s = readSession(SIGNED_IN);
  const first = sessionEvents(null, s);
  assert.deepEqual(first.map((e) => e.type), ['rc-login-status-notify', 'rc-region-settings-notify', 'rc-adapter-syncPresence']);
  assert.deepEqual(first[0], {
    type: 'rc-login-status-notify', loggedIn: true, loginNumber: '+16505550100', contractedCountryCode: 'US',
    admin: true, features: { call: true, sms: true, meeting: false },
  });
  assert.deepEqual(first[1], { type: 'rc-region-settings-notify', countryCode: 'US', areaCode: '650' });
  assert.deepEqual(sessionEvents(s, s), []);
  const busy = readSession({ ...SIGNED_IN, presence: { ...SIGNED_IN.presence, userStatus: 'Busy' } });
  assert.deepEqual(sessionEvents(s, busy).map((e) => [e.type, e.userStatus]), [['rc-adapter-syncPresence', 'Busy']]);
  const out = readSession({ loggedIn: false, region: SIGNED_IN.region });
  assert.deepEqual(sessionEvents(s, out).map((e) => e.type), ['rc-login-status-notify'], 'no presence signed out');
});

test('the same user is the same sign-in state and login number', () => {
  const a = readSession(SIGNED_IN);
  assert.ok(sameUser(a, readSession({ ...SIGNED_IN, admin: false })));
  assert.ok(!sameUser(a, readSession({ ...SIGNED_IN, loginNumber: '+16505550199' })));
  assert.ok(!sameUser(a, readSession(null)));
  assert.ok(sameUser(readSession(null), readSession({ loggedIn: false })));
});

test('the page shows the signed-in user by element id', () => {
  const s = readSession(SIGNED_IN);
  const shown = Object.fromEntries(Object.entries(SESSION_TEXT).map(([id, text]) => [id, text(s)]));
  assert.deepEqual(shown, {
    'cb-user-name': 'Alice Smith',
    'cb-user-ext': 'Ext. 101',
    'cb-account-initials': 'AS',
    'cb-account-name': 'Alice Smith',
    'cb-account-extension': 'Extension 101',
    'cb-account-company': 'Example Inc.',
    'cb-account-login-number': '+16505550100',
    'cb-account-email': 'alice@example.com',
    'cb-account-role': 'Administrator',
  });
  const bare = readSession({ loggedIn: true, loginNumber: '+16505550100' });
  assert.equal(SESSION_TEXT['cb-user-name'](bare), '+16505550100');
  assert.equal(SESSION_TEXT['cb-user-ext'](bare), '');
  assert.equal(SESSION_TEXT['cb-account-company'](bare), '—');
  assert.equal(SESSION_TEXT['cb-account-role'](bare), 'User');
});

test('initials are the first letters of up to two words, or ?', () => {
  assert.equal(initials('alice smith jones'), 'AS');
  assert.equal(initials('  Émile  '), 'É');
  assert.equal(initials(''), '?');
});

test('rc-adapter-syncPresence updates the signed-in session\'s presence only', () => {
  const patch = STATE_FROM_EVENT['rc-adapter-syncPresence'];
  const state = { session: readSession(SIGNED_IN) };
  const event = { type: 'rc-adapter-syncPresence', telephonyStatus: 'Ringing', userStatus: 'Busy', dndStatus: 'TakeAllCalls', presenceStatus: 'Busy' };
  const { session } = patch(event, state);
  assert.equal(session.presence.userStatus, 'Busy');
  assert.equal(session.presence.telephonyStatus, 'Ringing');
  assert.equal(session.loginNumber, '+16505550100');
  assert.ok(Object.isFrozen(session));
  assert.deepEqual(patch(event, { session: readSession(null) }), {});
});

test('the store tells its subscribers of a change, and only of a change', () => {
  const store = createStore({ route: '/login', count: 0 });
  const heard = [];
  store.subscribe((state) => heard.push(state));
  store.update({ route: '/login' });
  assert.equal(heard.length, 0);
  const before = store.get();
  store.update({ route: '/dialer' });
  assert.equal(heard.length, 1);
  assert.deepEqual(heard[0], { route: '/dialer', count: 0 });
  assert.ok(Object.isFrozen(store.get()));
  assert.equal(before.route, '/login', 'a state once read does not change');
});

test('a tab\'s id is a version-4 UUID, with or without randomUUID', () => {
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  assert.match(newTabId(), uuid);
  const noUUID = { getRandomValues: (bytes) => crypto.getRandomValues(bytes) };
  const ids = new Set(Array.from({ length: 20 }, () => newTabId(noUUID)));
  assert.equal(ids.size, 20);
  for (const id of ids) assert.match(id, uuid);
  const zeros = { getRandomValues: (bytes) => bytes.fill(0) };
  assert.equal(newTabId(zeros), '00000000-0000-4000-8000-000000000000');
});

test('the sign-in window is asked to speak the widget\'s language', async () => {
  const { themedUri } = await import('../static/signin.js');
  const uri = 'https://phone.example/oauth/authorize?client_id=demo';
  assert.equal(themedUri(uri, 'auto', 'fr-FR'), `${uri}&ui_locales=fr-FR`);
  assert.equal(themedUri(uri, 'dark', 'de'), `${uri}&theme=dark&ui_locales=de`);
  assert.equal(themedUri(uri, 'auto', ''), uri);
});
