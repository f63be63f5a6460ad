// Tests of the settings' pure parts (settings.js) and of RingOut's
// (ringout.js) under `node --test`.
import './english.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { barText, callPhase, endedText, isConnected, statusPhase } from '../static/ringout.js';
import { forUser, PRESENCE_CHOICES, presenceChoice } from '../static/settings.js';

test('the status selector shows do not disturb whenever calls do not ring, else the user status', () => {
  const cases = [
    [{ userStatus: 'Available', dndStatus: 'TakeAllCalls' }, 'Available'],
    [{ userStatus: 'Busy', dndStatus: 'TakeAllCalls' }, 'Busy'],
    [{ userStatus: 'Available', dndStatus: 'DoNotAcceptAnyCalls' }, 'DoNotDisturb'],
    [{ userStatus: 'Offline', dndStatus: 'TakeDepartmentCallsOnly' }, 'DoNotDisturb'],
    [{ userStatus: 'Offline', dndStatus: 'DoNotAcceptDepartmentCalls' }, 'Offline'],
    [{ userStatus: 'Away' }, 'Available'],
    [{ userStatus: 'toString' }, 'Available'],
    [null, 'Available'],
  ];
  for (const [presence, want] of cases) assert.equal(presenceChoice(presence), want, JSON.stringify(presence));
  for (const [choice, presence] of Object.entries(PRESENCE_CHOICES)) assert.equal(presenceChoice(presence), choice);
});

test('a user\'s choice of numbers holds for that user only; choices made signed out are taken over', () => {
  const mine = { callWith: 'ringout', myLocation: '+16505550100', fromNumber: '+16505550000', user: '+1650' };
  assert.equal(forUser(mine, '+1650'), mine);
  assert.deepEqual(forUser({ ...mine, user: '' }, '+1650'), mine);
  assert.deepEqual(forUser(mine, '+1999'), { callWith: 'ringout', myLocation: '', fromNumber: '', user: '+1999' });
});

test('a RingOut\'s status moves it through its phases, or ends it saying how', () => {
  const cases = [
    [undefined, null],
    [{ callStatus: 'InProgress', callerStatus: 'InProgress', calleeStatus: 'InProgress' }, { phase: 'caller' }],
    [{ callerStatus: 'Success', calleeStatus: 'InProgress' }, { phase: 'callee' }],
    [{ callStatus: 'InProgress', callerStatus: 'Success', calleeStatus: 'Success' }, { phase: 'connected' }],
    [{ callStatus: 'Success' }, { phase: 'connected' }],
    [{ callStatus: 'CannotReach', callerStatus: 'NoAnswer', calleeStatus: 'InProgress' }, { ended: 'Your phone did not answer' }],
    [{ callStatus: 'Busy', callerStatus: 'Success', calleeStatus: 'Busy' }, { ended: 'Busy' }],
    [{ callStatus: 'Error', callerStatus: 'Success', calleeStatus: 'Rejected' }, { ended: 'Declined' }],
    [{ callStatus: 'Error', callerStatus: 'constructor', calleeStatus: 'toString' }, { ended: 'RingOut failed' }],
  ];
  for (const [status, want] of cases) assert.deepEqual(statusPhase(status), want, JSON.stringify(status));
});

test('the RingOut\'s own call moves it on; NoCall ends it', () => {
  assert.equal(callPhase('caller', 'Ringing'), 'caller');
  assert.equal(callPhase('caller', 'CallConnected'), 'callee');
  assert.equal(callPhase('connected', 'CallConnected'), 'connected');
  assert.equal(callPhase('callee', 'OnHold'), 'connected');
  assert.equal(callPhase('caller', 'NoCall'), '');
  assert.equal(callPhase('caller', 'hasOwnProperty'), '');
  assert.equal(endedText({ phase: 'callee', cancelling: true }), 'RingOut cancelled');
  assert.equal(endedText({ phase: 'connected' }), 'RingOut ended');
  assert.equal(endedText({ phase: 'callee' }), 'RingOut ended before it connected');
});

test('a RingOut is connected once every party of its session has answered', () => {
  const party = (code) => ({ status: { code } });
  assert.ok(isConnected({ parties: [party('Answered'), party('Hold')] }));
  assert.ok(!isConnected({ parties: [party('Answered'), party('Proceeding')] }));
  assert.ok(!isConnected({ parties: [party('Answered')] }));
  assert.ok(!isConnected({ parties: [null, party('Answered')] }));
  assert.ok(!isConnected({}));
});

test('the RingOut bar says where the RingOut is', () => {
  const shown = (n) => (n ? `<${n}>` : '');
  const ringout = { id: 'r1', from: '+16505550100', to: '+16505550199', phase: 'caller', ended: false, text: '' };
  assert.equal(barText({ ...ringout, id: '' }, shown), 'RingOut to <+16505550199>…');
  assert.equal(barText(ringout, shown), 'RingOut: ringing your phone <+16505550100>…');
  assert.equal(barText({ ...ringout, phase: 'callee' }, shown), 'RingOut: calling <+16505550199>…');
  assert.equal(barText({ ...ringout, phase: 'connected', to: '' }, shown), 'RingOut connected to the number');
  assert.equal(barText({ ...ringout, ended: true, text: 'Busy' }, shown), 'Busy');
});
