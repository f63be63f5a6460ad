// Tests of jwtcreds.js, the settings page's JWT credentials, under `node --test`.
import './english.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { credentialDetail, MAX_NAME_LENGTH, nameProblem, readCredentials } from '../static/jwtcreds.js';

test('the server\'s list reads as the page shows it; what is not a credential is left out', () => {
  const list = readCredentials({
    records: [
      { id: 'a1', name: 'CRM sync', status: 'Active', creationTime: '2026-12-01T10:00:00Z', expirationTime: '2027-03-01T10:00:00Z' },
      { id: 'b2', name: '', status: 'Revoked', lastUsedTime: '2026-12-02T08:00:00Z' },
      { id: 'c3', name: 'Odd', status: 'toString' },
      { name: 'no id' }, null, 'x',
    ],
  });
  assert.deepEqual(list, [
    { id: 'a1', name: 'CRM sync', status: 'Active', expires: Date.parse('2027-03-01T10:00:00Z'), lastUsed: 0 },
    { id: 'b2', name: 'b2', status: 'Revoked', expires: 0, lastUsed: Date.parse('2026-12-02T08:00:00Z') },
    { id: 'c3', name: 'Odd', status: 'Active', expires: 0, lastUsed: 0 },
  ]);
  for (const raw of [null, undefined, {}, { records: 'x' }]) assert.deepEqual(readCredentials(raw), [], JSON.stringify(raw));
});

test('a credential says its state, its expiry while active, and its last use', () => {
  assert.equal(credentialDetail({ status: 'Active', expires: 0, lastUsed: 0 }), 'Active · no expiry · never used');
  assert.equal(credentialDetail({ status: 'Active', expires: Date.UTC(2027, 2, 1, 12), lastUsed: Date.UTC(2026, 11, 2, 12) }),
    'Active · expires Mar 1, 2027 · last used Dec 2, 2026');
  assert.equal(credentialDetail({ status: 'Revoked', expires: Date.UTC(2027, 2, 1, 12), lastUsed: 0 }), 'Revoked · never used');
  assert.equal(credentialDetail({ status: 'Expired', expires: 0, lastUsed: 0 }), 'Expired · never used');
});

test('a new credential needs a name of at most 64 characters', () => {
  assert.equal(nameProblem('CRM sync'), '');
  assert.equal(nameProblem('  '), 'Give the credential a name.');
  assert.equal(nameProblem('é'.repeat(MAX_NAME_LENGTH)), '');
  assert.equal(nameProblem('n'.repeat(MAX_NAME_LENGTH + 1)), 'At most 64 characters.');
});
