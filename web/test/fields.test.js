// Tests of fields.js, reading values from outside the widget, and of the
// command table of commands.js, under `node --test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { COMMANDS, COMMON_FIELDS } from '../static/commands.js';
import {
  asString, describeProblems, isPlainObject, isUri, MAX_URI_LENGTH, optional, ownValue, required, validateFields,
} from '../static/fields.js';

const BUILTIN_NAMES = Object.getOwnPropertyNames(Object.prototype);

test('only an object\'s own keys are found', () => {
  const table = { a: 1 };
  assert.equal(ownValue(table, 'a'), 1);
  for (const name of BUILTIN_NAMES) assert.equal(ownValue(table, name), undefined, name);
  assert.equal(ownValue(Object.create(table), 'a'), undefined, 'not an inherited one');
});

test('plain objects are literals and null-prototype objects only', () => {
  assert.ok(isPlainObject({}));
  assert.ok(isPlainObject(Object.create(null)));
  for (const v of [null, undefined, [], 'x', 1, new Date(), new Map(), () => {}]) assert.ok(!isPlainObject(v), String(v));
});

test('strings and URIs', () => {
  assert.equal(asString('a'), 'a');
  assert.equal(asString(1), '');
  assert.equal(asString(null), '');
  assert.ok(isUri('https://x.example/cb?code=1'));
  assert.ok(isUri('x'.repeat(MAX_URI_LENGTH)));
  assert.ok(!isUri('x'.repeat(MAX_URI_LENGTH + 1)));
  assert.ok(!isUri(''));
  assert.ok(!isUri(1));
});

test('a payload is checked against its fields, one problem per field', () => {
  const fields = {
    name: required('string'),
    level: optional('string', ['info', 'danger']),
    ttl: optional('number'),
    on: optional('boolean'),
    body: optional('object'),
    id: optional('id'),
    uri: optional('uri'),
  };
  assert.deepEqual(validateFields(fields, { name: 'x' }), []);
  assert.deepEqual(validateFields(fields, { name: 'x', level: null, ttl: undefined }), [], 'null counts as absent');
  const problems = validateFields(fields, {
    level: 'loud', ttl: Infinity, on: 'yes', body: [], id: '', uri: 'x'.repeat(MAX_URI_LENGTH + 1),
  });
  assert.deepEqual(problems, [
    { field: 'name', reason: 'is required (a string)' },
    { field: 'level', reason: 'must be one of info, danger' },
    { field: 'ttl', reason: 'must be a number' },
    { field: 'on', reason: 'must be a boolean' },
    { field: 'body', reason: 'must be an object' },
    { field: 'id', reason: 'must be a non-empty string or a number' },
    { field: 'uri', reason: `must be a URL of at most ${MAX_URI_LENGTH} characters` },
  ]);
  assert.equal(describeProblems(problems.slice(0, 2)), 'name is required (a string); level must be one of info, danger');
  assert.deepEqual(validateFields({ toString: required('string') }, {}), [{ field: 'toString', reason: 'is required (a string)' }],
    'an inherited name is no value');
});

test('every command has fields and a handler; any may carry a requestId', () => {
  for (const [type, command] of Object.entries(COMMANDS)) {
    assert.match(type, /^rc-[a-z]+-[A-Za-z-]+$/);
    assert.equal(typeof command.run, 'function', type);
    assert.ok(isPlainObject(command.fields), type);
  }
  assert.deepEqual(Object.keys(COMMON_FIELDS), ['requestId']);
  assert.ok(Object.isFrozen(COMMANDS));
});
