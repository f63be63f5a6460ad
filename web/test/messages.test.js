// Tests of messages.js's pure functions under `node --test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { messageType } from '../static/messages.js';

test('a message to an extension number is a pager message, any other an SMS', () => {
  const cases = [['101', 'Pager'], [' 1-0-1 ', 'Pager'], ['12345678', 'Pager'], ['1', 'SMS'], ['123456789', 'SMS'],
    ['+16505550100', 'SMS'], ['(650) 555-0100', 'SMS'], ['', 'SMS'], [undefined, 'SMS']];
  for (const [to, want] of cases) assert.equal(messageType(to), want, String(to));
});
