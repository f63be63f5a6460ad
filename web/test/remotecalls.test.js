// Tests of remotecalls.js, the user's calls on their other devices, under
// `node --test`.
import './english.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { MAX_REMEMBERED, createRemoteCalls, describeRemote, readActiveCall } from '../static/remotecalls.js';

// active is rc-active-call-notify for session id in telephonyStatus status.
function active(id, status, sequence, fields = {}) {
  return {
    type: 'rc-active-call-notify',
    call: {
      id: `p-${id}`, telephonySessionId: id, partyId: `p-${id}`, direction: 'Inbound', telephonyStatus: status, sequence,
      from: { name: 'Carol Clark', phoneNumber: '+16505550103', extensionNumber: '103' },
      to: { name: 'Alice Adams', extensionNumber: '101' },
      ...fields,
    },
  };
}

test('readActiveCall reads an activeCall by its telephony session', () => {
  assert.deepEqual(readActiveCall(active('s1', 'OnHold', 7).call), {
    id: 's1', partyId: 'p-s1', direction: 'Inbound', status: 'OnHold', onHold: true, sequence: 7,
    from: { name: 'Carol Clark', phoneNumber: '+16505550103', extensionNumber: '103' },
    to: { name: 'Alice Adams', extensionNumber: '101' },
  });
  const odd = readActiveCall({ telephonySessionId: 's2', direction: 'toString', from: 'x', sequence: 'x' });
  assert.equal(odd.direction, 'Outbound');
  assert.deepEqual(odd.from, {});
  assert.equal(odd.sequence, 0);
  for (const raw of [null, 'x', [], {}, { telephonySessionId: '' }, { telephonySessionId: 7 }]) {
    assert.equal(readActiveCall(raw), null, JSON.stringify(raw));
  }
});

test('a connected or held call of the user is kept until it ends, the newest news winning', () => {
  const remote = createRemoteCalls();
  const ids = (here = () => false) => remote.list(here).map((call) => `${call.id} ${call.status}`);
  assert.equal(remote.handleEvent(active('s1', 'Ringing', 1)), false);
  assert.deepEqual(ids(), []);
  assert.equal(remote.handleEvent(active('s1', 'CallConnected', 2)), true);
  assert.equal(remote.handleEvent(active('s2', 'OnHold', 3)), true);
  assert.deepEqual(ids(), ['s1 CallConnected', 's2 OnHold']);
  // An older event of a session changes nothing.
  assert.equal(remote.handleEvent(active('s1', 'NoCall', 1)), false);
  assert.deepEqual(ids(), ['s1 CallConnected', 's2 OnHold']);
  // The calls this tab carries are not listed.
  assert.deepEqual(ids((id) => id === 's1'), ['s2 OnHold']);
  assert.equal(remote.handleEvent(active('s1', 'NoCall', 4)), true);
  assert.deepEqual(ids(), ['s2 OnHold']);
  assert.equal(remote.get('s2').onHold, true);
  assert.equal(remote.forget('s2'), true);
  assert.deepEqual(ids(), []);
  remote.handleEvent(active('s3', 'CallConnected', 5));
  remote.clear();
  assert.deepEqual(ids(), []);
});

test('RingOuts are not calls of a device: they are never offered', () => {
  const remote = createRemoteCalls();
  remote.handleEvent(active('s1', 'CallConnected', 1));
  assert.equal(remote.handleEvent({ type: 'rc-ringout-call-notify', call: active('s1', 'CallConnected', 2).call }), true);
  assert.equal(remote.handleEvent(active('s1', 'CallConnected', 3)), false);
  assert.equal(remote.list(() => false).length, 0);
  assert.equal(remote.handleEvent({ type: 'rc-ringout-call-notify', call: null }), false);
});

test('other events and unreadable calls change nothing', () => {
  const remote = createRemoteCalls();
  for (const event of [{ type: 'rc-call-ring-notify', call: active('s1', 'CallConnected', 1).call },
    { type: 'rc-active-call-notify' }, { type: 'rc-active-call-notify', call: { telephonySessionId: '' } }, { type: 'toString' }]) {
    assert.equal(remote.handleEvent(event), false, JSON.stringify(event));
  }
  assert.deepEqual(remote.list(() => false), []);
});

test('the sequences of many sessions are remembered, the oldest forgotten first', () => {
  const remote = createRemoteCalls();
  for (let i = 0; i <= MAX_REMEMBERED; i += 1) remote.handleEvent(active(`s${i}`, 'NoCall', 10));
  // s0's sequence was forgotten: an old event of it counts again.
  assert.equal(remote.handleEvent(active('s0', 'CallConnected', 1)), true);
  assert.equal(remote.handleEvent(active(`s${MAX_REMEMBERED}`, 'CallConnected', 1)), false);
});

test('describeRemote names the other end of a call on another device', () => {
  const call = (direction, from, to) => readActiveCall({ telephonySessionId: 's', direction, from, to });
  assert.deepEqual(describeRemote(call('Inbound', { name: 'Carol', phoneNumber: '+16505550103' }, {}), 'US'),
    { name: 'Carol', number: '(650) 555-0103' });
  assert.deepEqual(describeRemote(call('Outbound', {}, { phoneNumber: '+442071234567' }), 'US'), { name: '+442071234567', number: '' });
  assert.deepEqual(describeRemote(call('Outbound', {}, { extensionNumber: '103' }), 'US'), { name: 'Ext. 103', number: '' });
  assert.deepEqual(describeRemote(call('Inbound', { name: 'Bob', phoneNumber: '+16505550102', extensionNumber: '102' }, {}), 'US'),
    { name: 'Bob', number: 'Ext. 102' });
  assert.deepEqual(describeRemote(call('Inbound', {}, {}), 'US'), { name: 'Unknown number', number: '' });
});
