// Tests of history.js's pure functions under `node --test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { describeRecord } from '../static/history.js';

test('a call-log result named after an Object built-in is shown as it is written', () => {
  for (const name of Object.getOwnPropertyNames(Object.prototype)) {
    const record = { direction: 'Outbound', result: name, to: { extensionNumber: '102' } };
    assert.equal(describeRecord(record, 'US').detail, `Outgoing · ${name}`, name);
  }
  const rejected = { direction: 'Outbound', result: 'Rejected', to: { extensionNumber: '102' } };
  assert.equal(describeRecord(rejected, 'US').detail, 'Outgoing · Declined');
});
