// Tests of the phone's own events and answers (phone.js), its ringer
// (ringer.js) and its microphone (microphone.js), under `node --test`.
import './english.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { microphoneFailure } from '../static/microphone.js';
import { callStatsEvent, controlFailure, dtmfSentEvent, linkStatus, linkStatusEvent } from '../static/phone.js';
import { notificationFor, RINGTONE } from '../static/ringer.js';

test('the phone\'s events carry what docs/events.md says, in that order', () => {
  const call = { id: 'c1', callStatus: 'connected' };
  const stats = { rttMs: 1, jitterMs: 2, packetsLost: 0, packetsReceived: 9, bytesSent: 3, bytesReceived: 4, mos: 4.4 };
  const cases = [
    [linkStatusEvent('connectFailed', 'dev1'), { type: 'rc-webphone-connection-status-notify', connectionStatus: 'connectFailed', deviceId: 'dev1' }],
    [dtmfSentEvent(call, '5'), { type: 'rc-dtmf-sent-notify', call, tone: '5' }],
    [callStatsEvent(call, stats), { type: 'rc-call-stats-notify', call, stats }],
  ];
  for (const [got, want] of cases) {
    assert.deepEqual(got, want);
    assert.deepEqual(Object.keys(got), Object.keys(want));
    assert.deepEqual(structuredClone(got), want, 'it survives postMessage');
  }
});

test('the host hears the link\'s status while signed in, disconnected after, nothing before it is known', () => {
  assert.equal(linkStatus('', true), '');
  assert.equal(linkStatus('', false), '');
  assert.equal(linkStatus('connected', true), 'connected');
  assert.equal(linkStatus('connecting', true), 'connecting');
  assert.equal(linkStatus('connected', false), 'disconnected');
});

test('a failed control command names its call, or null', () => {
  assert.deepEqual(controlFailure('noSuchCall', 'There is no call x in this widget.', 'x'),
    { error: 'noSuchCall', message: 'There is no call x in this widget.', callId: 'x' });
  assert.deepEqual(controlFailure('unsupported', 'transfer is not supported', undefined),
    { error: 'unsupported', message: 'transfer is not supported', callId: null });
  assert.equal(controlFailure('failed', 'm', 0).callId, 0);
});

test('a ringing call\'s notification names the caller, with the number under a name', () => {
  assert.deepEqual(notificationFor({ name: 'Ann', number: '(650) 555-0100' }, 'c1'),
    { title: 'Incoming call', body: 'Ann\n(650) 555-0100', tag: 'cb-call-c1' });
  assert.deepEqual(notificationFor({ name: '(650) 555-0100', number: '' }, 'c2'),
    { title: 'Incoming call', body: '(650) 555-0100', tag: 'cb-call-c2' });
});

test('the ringing tone is the North American ringback: 440 + 480 Hz, 2 s on, 4 s off', () => {
  assert.deepEqual([...RINGTONE.frequencies], [440, 480]);
  assert.equal(RINGTONE.onS, 2);
  assert.equal(RINGTONE.offS, 4);
  assert.ok(RINGTONE.rampS < RINGTONE.onS / 2);
});

test('a refused or missing microphone is told apart from one that is busy', () => {
  const cases = [
    ['NotAllowedError', 'blocked'], ['SecurityError', 'blocked'], ['NotFoundError', 'absent'],
    ['OverconstrainedError', 'absent'], ['NotReadableError', ''], ['AbortError', ''], [undefined, ''], ['toString', ''],
  ];
  for (const [name, want] of cases) assert.equal(microphoneFailure(name), want, String(name));
});
