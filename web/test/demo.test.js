// Tests of the demo host page's pure parts (demolog.js, demowidget.js)
// under `node --test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { clock, describe, errorText, kindOf, preview, stringify } from '../static/demolog.js';
import { isAnswerTo, isFromWidget, newRequestId, signInUrl, unwrap } from '../static/demowidget.js';

const WIDGET = 'https://widget.example';

function quiet(t) {
  const told = [];
  t.mock.method(console, 'warn', (...args) => told.push(args.join(' ')));
  return told;
}

test('the log colours messages by kind', () => {
  const cases = [
    ['rc-control-call-error', {}, 'error'],
    ['rc-call-failed-notify', {}, 'error'],
    ['rc-adapter-message-response', { response: { error: 'x' } }, 'error'],
    ['rc-adapter-message-response', { response: { data: 'ok' } }, 'response'],
    ['rc-adapter-message-response', {}, 'response'],
    ['rc-call-ring-notify', {}, 'call'],
    ['rc-ringout-call-notify', {}, 'call'],
    ['rc-active-call-notify', {}, 'call'],
    ['rc-telephony-session-notify', {}, 'call'],
    ['rc-webphone-connection-status-notify', {}, 'call'],
    ['rc-dtmf-sent-notify', {}, 'call'],
    ['rc-login-status-notify', {}, 'auth'],
    ['rc-adapter-syncPresence', {}, 'auth'],
    ['rc-message-updated-notify', {}, 'message'],
    ['rc-inbound-message-notify', {}, 'message'],
    ['rc-route-changed-notify', {}, 'info'],
    ['(no type)', 'text', 'info'],
  ];
  for (const [type, data, want] of cases) assert.equal(kindOf(type, data), want, type);
});

test('a message\'s preview leaves out its type and stops at 140 characters', () => {
  assert.equal(preview({ type: 'rc-x', path: '/dialer' }), '{"path":"/dialer"}');
  assert.equal(preview('just text'), '"just text"');
  assert.equal(preview([1, 2]), '[1,2]');
  const long = preview({ type: 'x', text: 'a'.repeat(200) });
  assert.equal(long.length, 140);
  assert.ok(long.endsWith('…'));
});

test('stringify never throws', () => {
  const cyclic = {};
  cyclic.self = cyclic;
  assert.match(stringify(cyclic, 0), /^\[unserialisable: /);
  assert.equal(stringify(undefined, 0), 'undefined');
  assert.equal(stringify({ a: 1 }, 2), '{\n  "a": 1\n}');
  assert.equal(stringify(10n, 0).startsWith('[unserialisable: '), true);
});

test('the clock shows local time to the millisecond', () => {
  assert.equal(clock(new Date(2024, 0, 2, 3, 4, 5, 6).getTime()), '03:04:05.006');
  assert.equal(clock(new Date(2024, 0, 2, 23, 59, 59, 999).getTime()), '23:59:59.999');
});

test('the status line says what a command came to', () => {
  assert.equal(describe(undefined), 'done');
  assert.equal(describe('sent'), 'sent');
  assert.equal(describe({ data: 'ok' }), '{"data":"ok"}');
  assert.equal(describe('x'.repeat(300)).length, 200);
  assert.equal(errorText(new Error('boom')), 'boom');
  assert.equal(errorText(Object.assign(new Error('no such call'), { code: 'noSuchCall' })), 'noSuchCall: no such call');
  assert.equal(errorText(Object.assign(new Error('same'), { code: 'same' })), 'same');
  assert.equal(errorText({ error: 'invalidField', message: 'bad' }), 'invalidField: bad');
  assert.equal(errorText({ error: 'timeout' }), 'timeout');
  assert.equal(errorText('odd'), 'odd');
});

test('a sign-in URL opens only as http(s) on the widget\'s origin, or https on a listed one', (t) => {
  const told = quiet(t);
  assert.equal(signInUrl(`${WIDGET}/oauth/authorize?x=1`, WIDGET), `${WIDGET}/oauth/authorize?x=1`);
  assert.equal(signInUrl('https://id.example/authorize', WIDGET, ['https://id.example']), 'https://id.example/authorize');
  const bad = [
    'javascript:alert(1)', ' javascript:alert(1)', 'data:text/html,x', `blob:${WIDGET}/abc`, '/oauth/authorize',
    '//evil.example/authorize', 'https://evil.example/authorize', `https://widget.example@evil.example/`, '',
    'http://id.example/authorize', undefined,
  ];
  for (const value of bad) assert.equal(signInUrl(value, WIDGET, ['http://id.example', 'https://id.example']), '', String(value));
  assert.equal(told.length, bad.length);
});

test('only the widget\'s own frame at the widget\'s origin is heard', (t) => {
  const told = quiet(t);
  const frame = {};
  assert.ok(isFromWidget({ origin: WIDGET, source: frame }, WIDGET, frame));
  assert.ok(!isFromWidget({ origin: 'https://evil.example', source: frame }, WIDGET, frame));
  assert.ok(!isFromWidget({ origin: WIDGET, source: {} }, WIDGET, frame));
  assert.ok(!isFromWidget({ origin: WIDGET, source: frame }, WIDGET, null), 'not before the frame exists');
  assert.ok(!isFromWidget({ origin: '', source: frame }, '', frame), 'not without a widget origin');
  assert.equal(told.length, 2, 'a window of the widget origin that is not the frame is warned of');
});

test('a widget answer is matched by its responseId and unwrapped', () => {
  assert.ok(isAnswerTo({ type: 'rc-adapter-message-response', responseId: 'r1', response: {} }, 'r1'));
  assert.ok(!isAnswerTo({ type: 'rc-adapter-message-response', responseId: 'r2' }, 'r1'));
  assert.ok(!isAnswerTo({ type: 'rc-route-changed-notify', responseId: 'r1' }, 'r1'));
  assert.ok(!isAnswerTo(null, 'r1'));
  assert.deepEqual(unwrap({ response: { data: 'ok' } }), { data: 'ok' });
  assert.deepEqual(unwrap({}), {});
  assert.throws(() => unwrap({ response: { error: 'invalidField', message: 'bad' } }), { message: 'invalidField: bad' });
  assert.throws(() => unwrap({ response: { error: 'timeout' } }), { message: 'timeout' });
});

test('request ids are unique, with or without randomUUID', () => {
  assert.match(newRequestId(crypto), /^[0-9a-f-]{36}$/);
  const ids = new Set(Array.from({ length: 50 }, () => newRequestId(null)));
  assert.equal(ids.size, 50);
});
