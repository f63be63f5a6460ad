// Tests of crm.js, the widget's use of the host's CRM, under `node --test`:
// a fake service answers as a host page would.
import { catalogue } from './english.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { setCatalogue } from '../static/i18n.js';

import { callLogKey, createCrm, matchKey, readContact, readMatches } from '../static/crm.js';
import { createStore } from '../static/store.js';

const ADA = { id: 7, name: 'Ada Lovelace', type: 'Demo CRM', phoneNumbers: [{ phoneNumber: '+16505550199', phoneType: 'mobile' }] };

test('readContact keeps a named contact and its numbers, and refuses the rest', () => {
  const contact = readContact(ADA);
  assert.equal(contact.id, '7');
  assert.equal(contact.name, 'Ada Lovelace');
  assert.deepEqual(contact.phoneNumbers, [{ phoneNumber: '+16505550199', phoneType: 'mobile' }]);
  assert.equal(readContact({ id: '1' }), null);
  assert.equal(readContact('Ada'), null);
  assert.equal(readContact({ name: 'Bo' }, 'CRM').type, 'CRM');
});

test('readMatches finds each number asked, as asked or by its digits', () => {
  const asked = ['+16505550199', '+16505550100', '+15550123'];
  const matches = readMatches({ '+16505550199': [ADA], 15550123: [{ name: 'Test desk' }], junk: 'x' }, asked, 'Demo CRM');
  assert.equal(matches.get('+16505550199').name, 'Ada Lovelace');
  assert.equal(matches.get('+16505550100'), null);
  assert.equal(matches.get('+15550123').name, 'Test desk');
  assert.equal(matchKey('(650) 555-0199'), '6505550199');
});

test('callLogKey names a call the same in the call view and the history', () => {
  assert.equal(callLogKey({ id: 'a', telephonySessionId: 's-1' }), callLogKey({ id: 'record-9', telephonySessionId: 's-1', sessionId: '2' }));
});

// crm builds a CRM over a fake host that answers match requests from
// answers (number → contacts), counting the requests.
function crm(t, { answer } = {}) {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const requests = [];
  const alerts = [];
  const store = createStore({
    session: { loggedIn: true, loginNumber: '+16505550100*101' },
    hostService: { name: 'Demo CRM', contactMatchPath: '/match', callLoggerPath: '/log' },
    crmNames: 0,
  });
  const host = {
    has: (key) => Boolean(store.get().hostService?.[key]),
    get service() {
      return store.get().hostService;
    },
    request: async (key, body) => {
      requests.push({ key, body });
      return answer ? answer(key, body) : { data: {} };
    },
  };
  const storage = new Map();
  const crmObject = createCrm({
    host, store, showAlert: (a) => alerts.push(a),
    storage: { getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => storage.set(k, v) },
  });
  return { crm: crmObject, store, requests, alerts, storage };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

test('numbers shown are asked in one batch, once, and named once answered', async (t) => {
  const f = crm(t, { answer: (_key, { phoneNumbers }) => ({ data: Object.fromEntries(phoneNumbers.map((n) => [n, n === '+16505550199' ? [ADA] : []])) }) });
  assert.equal(f.crm.lookup('+1 (650) 555-0199'), null);
  assert.equal(f.crm.lookup('+16505550123'), null);
  assert.equal(f.crm.lookup('+16505550199'), null);
  t.mock.timers.tick(50);
  await flush();
  assert.equal(f.requests.length, 1);
  assert.deepEqual(f.requests[0].body.phoneNumbers, ['+16505550199', '+16505550123']);
  const match = f.crm.lookup('+16505550199');
  assert.equal(match.name, 'Ada Lovelace');
  assert.equal(match.source, 'Demo CRM');
  assert.equal(f.crm.lookup('+16505550123'), null);
  t.mock.timers.tick(50);
  await flush();
  assert.equal(f.requests.length, 1, 'known numbers are not asked again');
  assert.ok(f.store.get().crmNames > 0);
});

test('a host that fails is reported once, not asked again and again', async (t) => {
  const f = crm(t, { answer: () => { throw new Error('Demo CRM did not answer within 10 s.'); } });
  f.crm.lookup('+16505550199');
  t.mock.timers.tick(50);
  await flush();
  f.crm.lookup('+16505550199');
  t.mock.timers.tick(50);
  await flush();
  assert.equal(f.requests.length, 1);
  assert.equal(f.alerts.length, 1);
  assert.match(f.alerts[0].message, /did not answer/);
});

test('a logged call is marked for the user, and auto-log logs an ended call once', async (t) => {
  const f = crm(t, { answer: () => ({ data: 'ok' }) });
  const call = { id: 'c1', telephonySessionId: 's-1', direction: 'Inbound' };
  assert.equal(await f.crm.logCall(call, { note: 'Asked for a quote', disposition: 'Follow up' }), true);
  assert.deepEqual(f.requests[0].body, { call, note: 'Asked for a quote', disposition: 'Follow up', triggerType: 'manual' });
  assert.equal(f.crm.isLogged(callLogKey(call)), true);
  assert.deepEqual(JSON.parse(f.storage.get('cb-crm-logged:+16505550100*101')), [callLogKey(call)]);
  f.crm.setAutoLog(true);
  f.crm.callEnded(call);
  const other = { id: 'c2', telephonySessionId: 's-2' };
  f.crm.callEnded(other);
  await flush();
  assert.equal(f.requests.length, 2, 'the call logged already is not logged again');
  assert.equal(f.requests[1].body.triggerType, 'auto');
});

test('the CRM\'s words are the widget\'s language; the service\'s own labels and words stay as it gave them', async (t) => {
  t.after(() => setCatalogue('en-US', catalogue('en')));
  setCatalogue('es-ES', catalogue('es'));
  const f = crm(t, { answer: () => { throw new Error('Contacto bloqueado'); } });
  assert.deepEqual(f.crm.labels(), { name: 'Demo CRM', logCall: 'Registrar llamada', logMessages: 'Registrar', autoLog: 'Registrar llamadas automáticamente' });
  assert.equal(await f.crm.logCall({ id: 'c1' }), false);
  assert.equal(f.alerts[0].message, 'No se pudo registrar la llamada en Demo CRM: Contacto bloqueado');
  f.store.update({ hostService: { ...f.store.get().hostService, callLoggerTitle: 'Log to Demo CRM' } });
  assert.equal(f.crm.labels().logCall, 'Log to Demo CRM');
});
