// Tests of the page's boot script (early.js) under `node --test`: what it
// tells the host before the widget's script runs, and the host's messages it
// keeps for the bridge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import './english.js';

import { resolveHostOrigin, startEarly } from '../static/early.js';
import { bootSession, sessionEvents } from '../static/session.js';
import { createBridge } from '../static/bridge.js';

const HOST = 'https://crm.example.com';
const CONFIG = {
  hostOrigin: HOST,
  allowedOrigins: [HOST],
  features: { call: true, sms: true },
  session: {
    loggedIn: true,
    loginNumber: '+16505550100*101',
    features: { call: true, sms: true, meeting: false },
    region: { countryCode: 'US', areaCode: '650' },
    presence: { telephonyStatus: 'NoCall', userStatus: 'Available', dndStatus: 'TakeAllCalls', presenceStatus: 'Available' },
  },
};

// frameWindow is a window inside a host page: what it posts, and its
// message listeners.
function frameWindow({ ancestor = HOST } = {}) {
  const posted = [];
  const parent = { postMessage: (message, origin) => posted.push({ message: structuredClone(message), origin }) };
  const listeners = new Set();
  const win = {
    parent,
    location: { ancestorOrigins: ancestor ? [ancestor] : [] },
    document: { referrer: '' },
    addEventListener: (type, fn) => type === 'message' && listeners.add(fn),
    removeEventListener: (type, fn) => type === 'message' && listeners.delete(fn),
  };
  const send = (data) => [...listeners].forEach((fn) => fn({ source: parent, origin: HOST, data }));
  return { win, parent, posted, listeners, send };
}

test('the boot script tells the allowed host the session it was served with, as the widget would', () => {
  const f = frameWindow();
  const early = startEarly(f.win, CONFIG);
  assert.equal(early.postedTo, HOST);
  const expected = sessionEvents(null, bootSession(CONFIG));
  assert.deepEqual(f.posted.map((p) => p.message), expected);
  assert.ok(f.posted.every((p) => p.origin === HOST));
  assert.deepEqual(expected.map((e) => e.type), ['rc-login-status-notify', 'rc-region-settings-notify', 'rc-adapter-syncPresence']);
});

test('the boot script says nothing to a host whose origin is not allowed, nor outside a frame', () => {
  const f = frameWindow();
  const early = startEarly(f.win, { ...CONFIG, hostOrigin: 'https://evil.example', allowedOrigins: [HOST] });
  assert.equal(early.postedTo, '');
  assert.deepEqual(f.posted, []);

  const alone = frameWindow();
  alone.win.parent = alone.win;
  assert.equal(startEarly(alone.win, CONFIG).postedTo, '');
  assert.deepEqual(alone.posted, []);
});

test('the host origin is the server\'s, else the first ancestor\'s, else the referrer\'s, if allowed', () => {
  const allowed = { allowedOrigins: [HOST] };
  assert.deepEqual(resolveHostOrigin({ ...allowed, hostOrigin: HOST }, {}), { candidate: HOST, origin: HOST });
  assert.deepEqual(resolveHostOrigin(allowed, { ancestorOrigins: [HOST] }), { candidate: HOST, origin: HOST });
  assert.deepEqual(resolveHostOrigin(allowed, { referrer: `${HOST}/deals/7` }), { candidate: HOST, origin: HOST });
  assert.deepEqual(resolveHostOrigin(allowed, { referrer: 'not a url' }), { candidate: '', origin: '' });
  assert.equal(resolveHostOrigin(allowed, { ancestorOrigins: ['https://other.example'] }).origin, '');
});

test('commands the host sends while the page loads reach the bridge once, in order, when it listens', async () => {
  const f = frameWindow();
  const early = startEarly(f.win, CONFIG);
  f.send({ type: 'rc-adapter-navigate-to', path: '/history', requestId: 'a' });
  f.send({ type: 'rc-adapter-navigate-to', path: '/messages', requestId: 'b' });
  const visited = [];
  const bridge = createBridge({
    config: CONFIG,
    getState: () => ({ loggedIn: true, dialerReady: true }),
    actions: { navigate: (path) => (visited.push(path), true) },
    early,
    win: f.win,
  });
  assert.deepEqual(visited, [], 'no command runs before the widget listens');
  bridge.listen();
  f.send({ type: 'rc-adapter-navigate-to', path: '/settings', requestId: 'c' });
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(visited, ['/history', '/messages', '/settings']);
  assert.equal(f.listeners.size, 1, 'only the bridge listens once it took over');
  const answers = f.posted.map((p) => p.message).filter((m) => m.type === 'rc-adapter-message-response');
  assert.deepEqual(answers.map((m) => m.responseId), ['a', 'b', 'c']);
});
