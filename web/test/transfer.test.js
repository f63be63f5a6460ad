// Tests of transfer.js, what the phone knows of transfers, under `node --test`.
import { catalogue } from './english.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { setCatalogue } from '../static/i18n.js';

import { STATUS, newEntry } from '../static/calls.js';
import {
  EXTENSIONS_URL, MAX_EXTENSIONS_SHOWN, canComplete, consultPair, extensionsUrl, filterExtensions, findConsultPair,
  readExtensions, targetName, transferNotice, transferTarget,
} from '../static/transfer.js';

const BUILTIN_NAMES = Object.getOwnPropertyNames(Object.prototype);

function entry(id, fields = {}, call = {}) {
  return Object.assign(newEntry({ id, direction: 'Outbound', callStatus: STATUS.connected, ...call }), fields);
}

test('a consult call and the call it consults for make a warm transfer, from either side', () => {
  const original = entry('a', {}, { callStatus: STATUS.onHold, isOnHold: true });
  const consult = entry('b', { consultOf: 'a' });
  const other = entry('c');
  const list = [original, consult, other];
  assert.deepEqual(consultPair(list, consult), { original, consult });
  assert.deepEqual(consultPair(list, original), { original, consult });
  assert.equal(consultPair(list, other), null);
  assert.equal(consultPair(list, null), null);
  // A consult call being placed has no id yet, and already knows its first call.
  const placing = entry('', { consultOf: 'a' });
  assert.deepEqual(consultPair([original, placing], original), { original, consult: placing });
  // Once either call ends the transfer is over.
  assert.equal(consultPair([original, { ...consult, done: true }], original), null);
  assert.equal(consultPair([consult], consult), null, 'the first call ended');
  assert.equal(consultPair(list, { ...original, done: true }), null);
});

test('findConsultPair is the transfer of the call named, else the first one', () => {
  const original = entry('a');
  const consult = entry('b', { consultOf: 'a' });
  const other = entry('c');
  assert.deepEqual(findConsultPair([other, original, consult]), { original, consult });
  assert.equal(findConsultPair([other, original, consult], other), null);
  assert.deepEqual(findConsultPair([original, consult], original), { original, consult });
  assert.equal(findConsultPair([other]), null);
});

test('a warm transfer completes once the consulted party answered', () => {
  const original = entry('a', {}, { callStatus: STATUS.onHold, isOnHold: true });
  const consult = (callStatus, id = 'b') => entry(id, { consultOf: 'a' }, { callStatus });
  assert.equal(canComplete({ original, consult: consult(STATUS.setup) }), false);
  assert.equal(canComplete({ original, consult: consult(STATUS.connecting) }), false);
  assert.equal(canComplete({ original, consult: consult(STATUS.connected) }), true);
  assert.equal(canComplete({ original, consult: consult(STATUS.onHold) }), true);
  assert.equal(canComplete({ original, consult: consult(STATUS.connected, '') }), false, 'not named yet');
  assert.equal(canComplete(null), false);
});

test('readExtensions keeps extensions with a number, without the user, in the order of their numbers', () => {
  const response = {
    records: [
      { id: 3, extensionNumber: '103', name: 'Carol Clark', presence: { telephonyStatus: 'CallConnected' } },
      { id: '10', extensionNumber: '1000', name: '', presence: 'x' },
      { id: 2, extensionNumber: '102', name: 'Bob Brown', presence: { telephonyStatus: 'NoCall', userStatus: 'Available' } },
      { id: 1, extensionNumber: '101', name: 'Alice Adams' },
      { extensionNumber: '200', name: 'Support', presence: { telephonyStatus: 'toString' } },
      { id: 9, name: 'No number' },
      'x', null, [1],
    ],
  };
  assert.deepEqual(readExtensions(response, '101'), [
    { id: '2', number: '102', name: 'Bob Brown', status: 'Available', busy: false },
    { id: '3', number: '103', name: 'Carol Clark', status: 'On a call', busy: true },
    { id: '200', number: '200', name: 'Support', status: '', busy: false },
    { id: '10', number: '1000', name: 'Extension 1000', status: '', busy: false },
  ]);
  for (const bad of [null, {}, { records: 'x' }, { records: {} }, { extensions: response.records }]) {
    assert.deepEqual(readExtensions(bad), []);
  }
});

test('filterExtensions finds a colleague by the start of a name or by digits of the number', () => {
  const list = readExtensions({
    records: [
      { id: 2, extensionNumber: '102', name: 'Bob Brown' },
      { id: 3, extensionNumber: '103', name: 'Carol Clark' },
      { id: 4, extensionNumber: '200', name: 'Support line' },
    ],
  });
  const names = (query) => filterExtensions(list, query).map((x) => x.name);
  assert.deepEqual(names(''), ['Bob Brown', 'Carol Clark', 'Support line']);
  assert.deepEqual(names('  '), ['Bob Brown', 'Carol Clark', 'Support line']);
  assert.deepEqual(names('car'), ['Carol Clark']);
  assert.deepEqual(names('CL'), ['Carol Clark']);
  assert.deepEqual(names('line'), ['Support line']);
  assert.deepEqual(names('carol c'), ['Carol Clark']);
  assert.deepEqual(names('10'), ['Bob Brown', 'Carol Clark']);
  assert.deepEqual(names('(103)'), ['Carol Clark']);
  assert.deepEqual(names('rol'), [], 'only the start of a word');
  assert.deepEqual(names('toString'), []);
});

test('transferTarget is the picked extension, else a number typed, else nothing', () => {
  const carol = { number: '103', name: 'Carol Clark' };
  assert.equal(transferTarget('Carol Clark (103)', carol), '103');
  assert.equal(transferTarget(' (650) 555-0100 ', null), '6505550100');
  assert.equal(transferTarget('+1 555 0100', null), '+15550100');
  assert.equal(transferTarget('*103', null), '*103');
  assert.equal(transferTarget('car', null), '');
  assert.equal(transferTarget('', null), '');
});

test('targetName names an extension by its name, a number as shown for the region', () => {
  const list = [{ number: '103', name: 'Carol Clark' }];
  assert.equal(targetName('103', list, 'US'), 'Carol Clark');
  assert.equal(targetName('+16505550100', list, 'US'), '(650) 555-0100');
  assert.equal(targetName('104', list, 'US'), 'Ext. 104');
  assert.equal(targetName('+15550101', list, 'US'), 'Echo line');
});

test('transferNotice tells of each state of rc-call-transfer-notify', () => {
  assert.deepEqual(transferNotice({ state: 'started', target: '103' }), { message: 'Transferring the call to 103…', level: 'info' });
  assert.deepEqual(transferNotice({ state: 'completed', target: '103' }), { message: 'The call was transferred to 103.', level: 'info' });
  assert.equal(transferNotice({ state: 'failed', target: '103' }).level, 'warning');
  assert.match(transferNotice({ state: 'failed' }).message, /^The target did not take the transfer/);
  for (const name of [...BUILTIN_NAMES, undefined, 'done']) assert.equal(transferNotice({ state: name }), null, String(name));
});

test('the extensions are asked for with the query in the URL', () => {
  assert.equal(EXTENSIONS_URL, '/widget/extensions');
  assert.equal(extensionsUrl(' carol c '), '/widget/extensions?q=carol%20c');
  assert.equal(extensionsUrl('a&b=c'), '/widget/extensions?q=a%26b%3Dc');
  assert.ok(MAX_EXTENSIONS_SHOWN >= 20);
});

test('the transfer\'s words are the widget\'s language; the names and numbers stay as given', (t) => {
  t.after(() => setCatalogue('en-US', catalogue('en')));
  setCatalogue('de', catalogue('de'));
  const list = readExtensions({
    records: [
      { id: 3, extensionNumber: '103', name: 'Carol Clark', presence: { telephonyStatus: 'CallConnected' } },
      { id: 10, extensionNumber: '1000' },
    ],
  });
  assert.deepEqual(list.map((x) => [x.name, x.status]), [['Carol Clark', 'Im Gespräch'], ['Durchwahl 1000', '']]);
  assert.deepEqual(transferNotice({ state: 'started', target: '103' }), { message: 'Der Anruf wird an 103 übergeben…', level: 'info' });
  assert.equal(transferNotice({ state: 'failed' }).message, 'Das Ziel hat die Übergabe nicht angenommen: Der Anruf kommt zu Ihnen zurück.');
  assert.equal(transferNotice({ state: 'toString' }), null);
});
