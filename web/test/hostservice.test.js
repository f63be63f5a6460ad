// Tests of hostservice.js, the requests the widget sends to the host's own
// service and the answers it takes, under `node --test`.
import './english.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { createHostService, HostError, readService } from '../static/hostservice.js';

const SERVICE = {
  name: 'Demo CRM',
  contactsPath: '/contacts',
  contactSearchPath: '/contacts/search',
  contactMatchPath: '/contacts/match',
  callLoggerPath: '/callLogger',
  callLoggerTitle: 'Log to Demo CRM',
  messageLoggerPath: '/messageLogger',
};

// host builds a service whose posts land in sent; warnings lists its warnings.
function host({ timeoutMs = 10_000, post } = {}) {
  const sent = [];
  const warnings = [];
  const changes = [];
  const service = createHostService({
    post: post ?? ((message) => {
      sent.push(structuredClone(message));
      return true;
    }),
    onChange: (s) => changes.push(s),
    timeoutMs,
    warn: (...args) => warnings.push(args.join(' ')),
  });
  return { service, sent, warnings, changes };
}

test('readService keeps the known fields of a valid service', () => {
  const { service, problem } = readService({ ...SERVICE, extra: 1 });
  assert.equal(problem, undefined);
  assert.deepEqual({ ...service }, SERVICE);
});

test('readService refuses a bad name, a path without / and a non-string', () => {
  for (const bad of [
    null, [], 'x', {}, { name: '' }, { name: 7 },
    { name: 'A', contactsPath: 'contacts' },
    { name: 'A', contactMatchPath: 42 },
    { name: 'A', callLoggerPath: '/log it' },
    { name: 'A', callLoggerTitle: {} },
  ]) {
    assert.ok(readService(bad).problem, JSON.stringify(bad));
  }
});

test('a bad registration warns and registers nothing', () => {
  const { service, warnings, changes } = host();
  const answer = service.register({ name: 'CRM', contactMatchPath: 'match' });
  assert.equal(answer.error, 'invalidField');
  assert.equal(service.service, null);
  assert.equal(changes.length, 0);
  assert.match(warnings[0], /contactMatchPath.*nothing was registered/);
});

test('a request goes to the registered path and resolves with its answer', async () => {
  const { service, sent, changes } = host();
  assert.deepEqual(service.register(SERVICE), { data: 'ok' });
  assert.equal(changes[0].name, 'Demo CRM');
  const result = service.request('contactMatchPath', { phoneNumbers: ['+16505550199'] });
  assert.equal(sent.length, 1);
  const [request] = sent;
  assert.equal(request.path, '/contacts/match');
  assert.deepEqual(request.body, { phoneNumbers: ['+16505550199'] });
  const data = { '+16505550199': [{ id: '1', name: 'Ada' }] };
  assert.equal(service.receive({ type: 'rc-post-message-response', responseId: request.requestId, response: { data } }), true);
  assert.deepEqual(await result, { data });
  assert.equal(service.pending, 0);
});

test('each request has its own id and takes only its own answer', async () => {
  const { service, sent } = host();
  service.register(SERVICE);
  const first = service.request('contactsPath', { page: 1 });
  const second = service.request('contactsPath', { page: 2 });
  assert.notEqual(sent[0].requestId, sent[1].requestId);
  service.receive({ responseId: sent[1].requestId, response: { data: 'two' } });
  service.receive({ responseId: sent[0].requestId, response: { data: 'one' } });
  assert.equal((await first).data, 'one');
  assert.equal((await second).data, 'two');
  // A second answer to the same request is ignored.
  assert.equal(service.receive({ responseId: sent[0].requestId, response: { data: 'again' } }), false);
});

test('an answer with an error rejects with the host\'s words', async () => {
  const { service, sent } = host();
  service.register(SERVICE);
  const result = service.request('callLoggerPath', { call: {} });
  service.receive({ responseId: sent[0].requestId, response: { error: 'Contact is locked' } });
  await assert.rejects(result, (err) => err instanceof HostError && err.code === 'hostError' && /Demo CRM: Contact is locked/.test(err.message));
});

test('an answer with an error but no words says the host failed', async () => {
  const { service, sent } = host();
  service.register(SERVICE);
  const result = service.request('callLoggerPath', { call: {} });
  service.receive({ responseId: sent[0].requestId, response: { error: '' } });
  await assert.rejects(result, { code: 'hostError', message: 'Demo CRM reported an error.' });
});

test('an answer that is not an object rejects as unreadable', async () => {
  const { service, sent } = host();
  service.register(SERVICE);
  const result = service.request('contactsPath');
  service.receive({ responseId: sent[0].requestId, response: 'ok' });
  await assert.rejects(result, { code: 'invalidResponse' });
});

test('a host that never answers times out with a clear error', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const { service } = host({ timeoutMs: 10_000 });
  service.register(SERVICE);
  const result = service.request('contactMatchPath', { phoneNumbers: ['+1'] });
  t.mock.timers.tick(10_000);
  await assert.rejects(result, (err) => err.code === 'timeout' && /Demo CRM did not answer within 10 s/.test(err.message));
  assert.equal(service.pending, 0);
});

test('without a service, a path or a host to post to, a request fails at once', async () => {
  const { service } = host();
  await assert.rejects(service.request('contactsPath'), { code: 'notRegistered' });
  service.register({ name: 'Bare' });
  await assert.rejects(service.request('contactsPath'), { code: 'noPath' });
  const unreachable = host({ post: () => false }).service;
  unreachable.register(SERVICE);
  await assert.rejects(unreachable.request('contactsPath'), { code: 'notSent' });
});

test('reset fails the requests waiting and forgets the service', async () => {
  const { service, changes } = host();
  service.register(SERVICE);
  const result = service.request('contactsPath');
  service.reset();
  await assert.rejects(result, { code: 'notRegistered' });
  assert.equal(service.has('contactsPath'), false);
  assert.equal(changes.at(-1), null);
});
