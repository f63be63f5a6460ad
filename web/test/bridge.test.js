// Tests of bridge.js, the widget's messaging with its host page, under
// `node --test`: a fake frame window and parent stand in for the browser's,
// and the parent copies every message with structuredClone, as postMessage
// does.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { createBridge, createMessageEventFilter } from '../static/bridge.js';

const HOST = 'https://crm.example';

// The names every plain object inherits: constructor, __proto__, toString,
// hasOwnProperty, valueOf, __defineGetter__ and the rest.
const BUILTIN_NAMES = Object.getOwnPropertyNames(Object.prototype);

const OK = { data: 'ok' };

// A widget action for each command; a test replaces the ones it needs.
const ACTIONS = {
  navigate: () => true,
  showAlert: () => {},
  login: async () => {},
  logout: async () => {},
  authorize: async () => {},
  newCall: () => OK,
  controlCall: async () => OK,
  webphoneSessions: async () => [],
  newSms: () => OK,
  setPresence: () => OK,
  callingSettings: () => OK,
  callLog: () => ({ data: { records: [] } }),
  registerService: () => OK,
  hostResponse: () => {},
};

// frame builds a bridge in a fake frame. send(data) delivers a message from
// the host page; request(command) sends it with a requestId and resolves
// with its first answer; answers(id) lists every answer to id so far;
// warnings lists what the bridge warned about.
function frame(t, actions = {}) {
  const posted = [];
  const waiting = new Map();
  const warnings = [];
  t.mock.method(console, 'warn', (...args) => warnings.push(args.join(' ')));
  t.mock.method(console, 'debug', () => {});
  const parent = {
    postMessage(message, origin) {
      assert.equal(origin, HOST);
      const copy = structuredClone(message);
      posted.push(copy);
      if (copy.type === 'rc-adapter-message-response' && waiting.has(copy.responseId)) {
        waiting.get(copy.responseId)(copy.response);
        waiting.delete(copy.responseId);
      }
    },
  };
  let listener = null;
  const win = {
    parent,
    location: { ancestorOrigins: [HOST] },
    document: { referrer: '' },
    addEventListener(type, fn) {
      if (type === 'message') listener = fn;
    },
  };
  createBridge({
    config: { hostOrigin: HOST, allowedOrigins: [HOST] },
    getState: () => ({ loggedIn: true, dialerReady: true }),
    actions: { ...ACTIONS, ...actions },
    win,
  }).listen();
  const send = (data, origin = HOST) => listener({ source: parent, origin, data });
  let next = 0;
  return {
    send,
    warnings,
    request(command) {
      const requestId = `sentinel-${++next}`;
      const answered = new Promise((resolve) => waiting.set(requestId, resolve));
      send({ ...command, requestId });
      return answered;
    },
    answers: (id) => posted.filter((m) => m.type === 'rc-adapter-message-response' && m.responseId === id)
      .map((m) => m.response),
  };
}

// settle waits until every command sent so far has been answered: commands
// run in order, so once a last one is answered the others have been.
async function settle(f) {
  assert.deepEqual(await f.request({ type: 'rc-adapter-navigate-to', path: '/history' }), OK);
}

test('host commands named after Object built-ins are answered once, or ignored with a warning', async (t) => {
  for (const name of BUILTIN_NAMES) {
    await t.test(name, async (t) => {
      const f = frame(t);
      assert.doesNotThrow(() => f.send({ type: name, requestId: 'with-id' }));
      assert.doesNotThrow(() => f.send({ type: name }));
      await settle(f);
      const answers = f.answers('with-id');
      assert.equal(answers.length, 1, `answers: ${JSON.stringify(answers)}`);
      assert.equal(answers[0].error, 'unknownCommand');
      assert.equal(f.warnings.filter((w) => w.includes(`unknown command ${name}`)).length, 2, f.warnings.join('\n'));
    });
  }
});

test('message requests for paths named after Object built-ins are answered unknownPath once', async (t) => {
  for (const name of BUILTIN_NAMES) {
    await t.test(name, async (t) => {
      const f = frame(t);
      for (const path of [name, `/${name}`]) {
        assert.doesNotThrow(() => f.send({ type: 'rc-adapter-message-request', requestId: path, path }));
      }
      await settle(f);
      for (const path of [name, `/${name}`]) {
        const answers = f.answers(path);
        assert.equal(answers.length, 1, `${path}: ${JSON.stringify(answers)}`);
        assert.equal(answers[0].error, 'unknownPath');
      }
      assert.ok(f.warnings.some((w) => w.includes(name)), f.warnings.join('\n'));
    });
  }
});

test('every request with a requestId is answered exactly once, also on bad input', async (t) => {
  const boom = () => {
    throw new Error('boom');
  };
  const cases = [
    { name: 'unknown path', command: { type: 'rc-adapter-message-request', path: '/nope' }, error: 'unknownPath' },
    { name: 'body is an array', command: { type: 'rc-adapter-message-request', path: '/get-call-log', body: [1] }, error: 'invalidField' },
    { name: 'body is a string', command: { type: 'rc-adapter-message-request', path: '/get-call-log', body: 'x' }, error: 'invalidField' },
    {
      name: 'body holds only an own __proto__',
      command: { type: 'rc-adapter-message-request', path: '/custom-alert-message', body: JSON.parse('{"__proto__": {"alertMessage": "hi"}}') },
      error: 'invalidRequest',
    },
    {
      name: 'field value named after a built-in',
      command: { type: 'rc-adapter-message-request', path: '/custom-alert-message', body: { alertMessage: 'hi', alertLevel: 'toString' } },
      error: 'invalidRequest',
    },
    { name: 'call action named after a built-in', command: { type: 'rc-adapter-control-call', callAction: 'constructor' }, error: 'invalidField' },
    { name: 'type is not a string', command: { type: 7 }, error: 'invalidField' },
    { name: 'no type', command: { path: '/history' }, error: 'invalidField' },
    { name: 'handler throws', command: { type: 'rc-adapter-new-call', phoneNumber: '102', toCall: true }, actions: { newCall: boom }, error: 'failed' },
    { name: 'handler throws a string', command: { type: 'rc-adapter-new-sms', phoneNumber: '102' }, actions: { newSms: () => { throw 'nope'; } }, error: 'failed' },
    {
      name: 'handler rejects',
      command: { type: 'rc-adapter-set-presence', userStatus: 'Busy' },
      actions: { setPresence: () => Promise.reject(new Error('down')) },
      error: 'failed',
    },
    {
      name: 'request handler throws',
      command: { type: 'rc-adapter-message-request', path: '/custom-alert-message', body: { alertMessage: 'hi' } },
      actions: { showAlert: boom },
      error: 'failed',
    },
    {
      name: 'answer cannot be posted',
      command: { type: 'rc-adapter-message-request', path: '/get-call-log' },
      actions: { callLog: () => ({ data: { records: [() => 1] } }) },
      error: 'failed',
    },
  ];
  for (const c of cases) {
    await t.test(c.name, async (t) => {
      const f = frame(t, c.actions);
      assert.doesNotThrow(() => f.send({ ...c.command, requestId: 42 }));
      await settle(f);
      const answers = f.answers(42);
      assert.equal(answers.length, 1, `answers: ${JSON.stringify(answers)}`);
      assert.equal(answers[0].error, c.error, JSON.stringify(answers[0]));
      assert.equal(typeof answers[0].message, 'string');
    });
  }
});

test('the message event filter passes types named after Object built-ins', () => {
  const firstTime = createMessageEventFilter();
  for (const name of BUILTIN_NAMES) {
    assert.equal(firstTime({ type: name, message: { id: 1 } }), true, name);
  }
  const inbound = { type: 'rc-inbound-message-notify', message: { id: 'toString' } };
  assert.equal(firstTime(inbound), true);
  assert.equal(firstTime(inbound), false);
});

test('the host\'s answers to the widget\'s requests go to hostResponse, from the host origin only', async (t) => {
  const taken = [];
  const f = frame(t, { hostResponse: (message) => taken.push(message) });
  const answer = { type: 'rc-post-message-response', responseId: 'cb-1', response: { data: 'ok' } };
  f.send(answer, 'https://evil.example');
  assert.equal(taken.length, 0);
  assert.ok(f.warnings.some((w) => w.includes('https://evil.example')), f.warnings.join('\n'));
  f.send(answer);
  assert.deepEqual(taken, [answer]);
  assert.equal(f.answers('cb-1').length, 0);
  assert.equal(f.warnings.filter((w) => w.includes('unknown command')).length, 0);
});

test('a registration is handed to registerService and answered with what it says', async (t) => {
  const services = [];
  const f = frame(t, { registerService: (service) => { services.push(service); return OK; } });
  const service = { name: 'Demo CRM', contactMatchPath: '/contacts/match' };
  assert.deepEqual(await f.request({ type: 'rc-adapter-register-third-party-service', service }), OK);
  assert.deepEqual(services, [service]);
  const refused = await f.request({ type: 'rc-adapter-register-third-party-service', service: 'Demo CRM' });
  assert.equal(refused.error, 'invalidField');
});
