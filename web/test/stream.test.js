// Tests of the event stream (stream.js) and the widget's requests
// (server.js) under `node --test`: a fake EventSource and a fake fetch stand
// in for the browser's, and the timers are mocked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { catalogue } from './english.js';
import { setCatalogue } from '../static/i18n.js';

import { request, RequestError, server, setClient } from '../static/server.js';
import { connectEvents, eventsUrlFor, parseServerEvent } from '../static/stream.js';

// quiet silences console.warn for one test, and returns what it was told.
function quiet(t) {
  const told = [];
  t.mock.method(console, 'warn', (...args) => told.push(args.join(' ')));
  return told;
}

test('a server event is a JSON object with a string type; anything else is dropped with a warning', (t) => {
  const told = quiet(t);
  assert.deepEqual(parseServerEvent('{"type":"rc-call-ring-notify","call":{}}'), { type: 'rc-call-ring-notify', call: {} });
  for (const data of ['', 'nope', 'null', '[]', '{"type":1}', '"rc-x"', '{}']) {
    assert.equal(parseServerEvent(data), null, data);
  }
  assert.equal(told.length, 7);
});

test('the stream\'s address names the app and, when there is one, the device', () => {
  const base = 'https://widget.example/app?clientId=demo';
  assert.equal(eventsUrlFor('', 'demo', 'd1', base), '');
  assert.equal(eventsUrlFor('/widget/events', 'demo', '', base), 'https://widget.example/widget/events?clientId=demo');
  assert.equal(eventsUrlFor('/widget/events?x=1', 'a&b', 'd 1', base),
    'https://widget.example/widget/events?x=1&clientId=a%26b&deviceId=d+1');
});

// FakeEventSource records the streams opened; a test drives them.
class FakeEventSource {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSED = 2;
  static opened = [];
  constructor(url) {
    this.url = url;
    this.readyState = FakeEventSource.CONNECTING;
    this.listeners = {};
    FakeEventSource.opened.push(this);
  }
  addEventListener(type, listener) {
    (this.listeners[type] ??= []).push(listener);
  }
  close() {
    this.readyState = FakeEventSource.CLOSED;
  }
  emit(type, message = {}) {
    (this.listeners[type] ?? []).forEach((listener) => listener(message));
  }
}

function connect(t, url = () => '/widget/events?clientId=demo') {
  FakeEventSource.opened = [];
  const before = globalThis.EventSource;
  globalThis.EventSource = FakeEventSource;
  t.after(() => {
    globalThis.EventSource = before;
  });
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const heard = { status: [], link: [], events: [], closed: 0 };
  const stream = connectEvents(url, {
    onStatus: (s) => heard.status.push(s),
    onLink: (s) => heard.link.push(s),
    onEvent: (e) => heard.events.push(e),
    onClosed: () => { heard.closed += 1; },
  });
  return { stream, heard, opened: FakeEventSource.opened };
}

test('the stream\'s status and the link follow the EventSource', (t) => {
  const { heard, opened } = connect(t);
  assert.equal(opened.length, 1);
  assert.equal(opened[0].url, '/widget/events?clientId=demo');
  opened[0].emit('open');
  opened[0].emit('message', { data: '{"type":"rc-call-ring-notify"}', lastEventId: '5' });
  opened[0].emit('message', { data: 'garbage' });
  opened[0].emit('error');
  opened[0].readyState = FakeEventSource.CLOSED;
  opened[0].emit('error');
  assert.deepEqual(heard.status, ['connecting', 'connected', 'connecting', 'offline']);
  assert.deepEqual(heard.link, ['connecting', 'connected', 'disconnected', 'disconnected']);
  assert.deepEqual(heard.events, [{ type: 'rc-call-ring-notify' }]);
  assert.equal(heard.closed, 1, 'a stream closed for good is told once');
});

test('a silent stream is reopened with the last event\'s id; a heartbeat sets how long is silent', (t) => {
  quiet(t);
  const { heard, opened } = connect(t);
  opened[0].emit('open');
  opened[0].emit('message', { data: '{"type":"a"}', lastEventId: 'e 7' });
  t.mock.timers.tick(30_999);
  assert.equal(opened.length, 1, 'not silent yet: 2 × 15 s + 1 s by default');
  t.mock.timers.tick(1);
  assert.equal(opened.length, 2);
  assert.equal(opened[0].readyState, FakeEventSource.CLOSED);
  assert.equal(opened[1].url, '/widget/events?clientId=demo&lastEventId=e%207');
  assert.equal(heard.link.at(-2), 'disconnected');
  // The server beats every 2 s: 5 s of silence reopens the stream.
  opened[1].emit('open');
  opened[1].emit('heartbeat', { data: '{"type":"heartbeat","intervalMs":2000}' });
  t.mock.timers.tick(4_999);
  assert.equal(opened.length, 2);
  opened[1].emit('heartbeat', { data: '{"type":"heartbeat","intervalMs":2000}' });
  t.mock.timers.tick(4_999);
  assert.equal(opened.length, 2, 'each heartbeat restarts the watch');
  t.mock.timers.tick(1);
  assert.equal(opened.length, 3);
  assert.match(opened[2].url, /lastEventId=e%207$/);
  // Events of a stream replaced are not heard.
  opened[0].emit('message', { data: '{"type":"old"}' });
  assert.deepEqual(heard.events, [{ type: 'a' }]);
});

test('reconnect opens a fresh stream without the last event\'s id; no address means offline', (t) => {
  let url = '/widget/events?clientId=demo&deviceId=d1';
  const { stream, heard, opened } = connect(t, () => url);
  opened[0].emit('message', { data: '{"type":"a"}', lastEventId: '9' });
  url = '/widget/events?clientId=demo&deviceId=d2';
  stream.reconnect();
  assert.equal(opened.length, 2);
  assert.equal(opened[0].readyState, FakeEventSource.CLOSED);
  assert.equal(opened[1].url, url);
  url = '';
  stream.reconnect();
  assert.equal(opened.length, 2);
  assert.deepEqual(heard.status.slice(-1), ['offline']);
  assert.deepEqual(heard.link.slice(-1), ['disconnected']);
});

// fakeFetch answers every request with answer(url, init), and records them.
function fakeFetch(t, answer) {
  const asked = [];
  t.mock.method(globalThis, 'fetch', async (url, init) => {
    asked.push({ url, ...init });
    return answer(url, init);
  });
  return asked;
}

const json = (status, body, statusText = '') => new Response(body === undefined ? null : JSON.stringify(body), { status, statusText });

test('a request carries the widget\'s headers and the JSON body', async (t) => {
  const asked = fakeFetch(t, () => json(200, { ok: true }));
  setClient('demo');
  assert.deepEqual(await request('POST', '/widget/x', { a: 1 }), { ok: true });
  assert.equal(asked[0].method, 'POST');
  assert.equal(asked[0].credentials, 'same-origin');
  assert.equal(asked[0].body, '{"a":1}');
  assert.deepEqual(asked[0].headers, { 'Content-Type': 'application/json', 'X-Callbridge': '1', 'X-Callbridge-Client': 'demo' });
  assert.ok(asked[0].signal instanceof AbortSignal);
  await request('GET', '/widget/y');
  assert.equal(asked[1].body, undefined);
});

test('a failed request is a RequestError with the server\'s code, or one of its own', async (t) => {
  const answers = [
    [() => json(404, { errorCode: 'NotFound', message: 'No such call' }), 'NotFound', 'No such call'],
    [() => json(502, undefined, 'Bad Gateway'), 'http502', 'The server refused the request.'],
    [() => json(200, ['not', 'an', 'object']), 'badResponse', 'The server sent an answer the widget cannot read.'],
    [() => { throw new TypeError('Failed to fetch'); }, 'network',
      'The widget could not reach its server. Check your connection and try again.'],
  ];
  for (const [answer, code, message] of answers) {
    fakeFetch(t, answer);
    await assert.rejects(request('GET', '/widget/x'), (err) => {
      assert.ok(err instanceof RequestError);
      assert.equal(err.code, code);
      assert.equal(err.message, message);
      return true;
    });
    t.mock.restoreAll();
  }
  fakeFetch(t, () => new Response(null, { status: 204 }));
  assert.deepEqual(await request('DELETE', '/widget/ringout/1'), {});
});

test('in another language a failed request says so in that language, by the server\'s code', async (t) => {
  t.after(() => setCatalogue('en-US', catalogue('en')));
  setCatalogue('fr-FR', catalogue('fr'));
  const fr = catalogue('fr');
  const answers = [
    [() => json(404, { errorCode: 'NotFound', message: 'No such call' }), fr['errors.notFound']],
    [() => json(409, { errorCode: 'SomethingNew', message: 'Something new' }), fr['errors.refused']],
    [() => { throw new TypeError('Failed to fetch'); }, fr['errors.network']],
  ];
  for (const [answer, message] of answers) {
    fakeFetch(t, answer);
    await assert.rejects(request('GET', '/widget/x'), { message });
    t.mock.restoreAll();
  }
});

test('a state read that overlaps a sign-in or sign-out answers null', async (t) => {
  let finishLogout;
  fakeFetch(t, (url) => (url === '/widget/logout'
    ? new Promise((resolve) => { finishLogout = () => resolve(json(200, { loggedIn: false })); })
    : json(200, { loggedIn: true })));
  assert.deepEqual(await server.state(), { loggedIn: true });
  const state = server.state();
  const logout = server.logout();
  assert.equal(await server.state(), null, 'asked while the sign-out is under way');
  finishLogout();
  assert.deepEqual(await logout, { loggedIn: false });
  assert.equal(await state, null, 'left before the sign-out');
  assert.deepEqual(await server.state(), { loggedIn: true });
});
