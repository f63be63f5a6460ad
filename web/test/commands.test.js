// Tests of the host's rc-adapter-control-call (commands.js) under
// `node --test`: which call actions the widget knows, which it carries
// out, and the options each needs.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { COMMANDS } from '../static/commands.js';
import { validateFields } from '../static/fields.js';

const CONTROL = COMMANDS['rc-adapter-control-call'];

// run carries out command with a fake widget: it answers every call action
// with OK and records what it was asked and what the host was told.
async function run(t, command) {
  const asked = [];
  const posted = [];
  const ctx = {
    actions: { controlCall: async (c) => { asked.push(c); return { data: 'ok' }; } },
    post: (message) => posted.push(message),
    warn: () => {},
    state: { loggedIn: true },
  };
  const full = { type: 'rc-adapter-control-call', ...command };
  assert.deepEqual(validateFields(CONTROL.fields, full), [], JSON.stringify(command));
  const response = await CONTROL.run(full, ctx);
  return { response, asked, posted };
}

test('the widget knows every call action of the contract, and carries out each', async (t) => {
  const supported = ['answer', 'reject', 'ignore', 'hangup', 'hold', 'unhold', 'mute', 'unmute', 'transfer', 'completeTransfer',
    'cancelTransfer', 'forward', 'switch', 'moveHere', 'toVoicemail', 'startRecord', 'stopRecord', 'pauseRecord', 'resumeRecord',
    'merge', 'addParticipant', 'removeParticipant', 'endConference'];
  const options = {
    transfer: { transferNumber: '103' }, forward: { forwardNumber: '103' }, addParticipant: { number: '103' },
    removeParticipant: { partyId: 'p-2' },
  };
  for (const callAction of supported) {
    const { response, asked, posted } = await run(t, { callAction, options: options[callAction] });
    assert.deepEqual(response, { data: 'ok' }, callAction);
    assert.equal(asked.length, 1, callAction);
    assert.deepEqual(posted, [], callAction);
  }
  assert.notDeepEqual(validateFields(CONTROL.fields, { callAction: 'move' }), [], 'move is not a host action');
});

test('each call action checks the options it needs before it runs', async (t) => {
  const refused = [
    ['transfer', undefined, 'options.transferNumber'],
    ['transfer', { transferNumber: '' }, 'options.transferNumber'],
    ['transfer', { transferNumber: '  ' }, 'options.transferNumber'],
    ['transfer', { transferNumber: 103 }, 'options.transferNumber'],
    ['transfer', { transferNumber: '1'.repeat(65) }, 'options.transferNumber'],
    ['transfer', { transferNumber: '103', warm: 'yes' }, 'options.warm'],
    ['forward', {}, 'options.forwardNumber'],
    ['forward', { transferNumber: '103' }, 'options.forwardNumber'],
    ['answer', { action: 'park' }, 'options.action'],
    ['answer', { action: 'toString' }, 'options.action'],
    ['dtmf', { dtmf: 'x' }, 'options.dtmf'],
    ['addParticipant', undefined, 'options.number'],
    ['addParticipant', { number: ' ' }, 'options.number'],
    ['addParticipant', { number: 103 }, 'options.number'],
    ['addParticipant', { phoneNumber: '103' }, 'options.number'],
    ['removeParticipant', undefined, 'options.partyId'],
    ['removeParticipant', { partyId: '' }, 'options.partyId'],
    ['removeParticipant', { partyId: 2 }, 'options.partyId'],
    ['removeParticipant', { partyId: 'p'.repeat(65) }, 'options.partyId'],
    ['merge', { otherCallId: 7 }, 'options.otherCallId'],
    ['merge', { otherCallId: '' }, 'options.otherCallId'],
  ];
  for (const [callAction, options, field] of refused) {
    const { response, asked } = await run(t, { callAction, options });
    assert.equal(response.error, 'invalidField', `${callAction} ${JSON.stringify(options)}`);
    assert.match(response.message, new RegExp(field.replace('.', '\\.')));
    assert.deepEqual(asked, []);
  }
  const accepted = [
    ['transfer', { transferNumber: '+1 650 555 0103', warm: true }],
    ['transfer', { transferNumber: '103', warm: false }],
    ['answer', { action: 'hold' }],
    ['answer', { action: 'end' }],
    ['answer', undefined],
    ['forward', { forwardNumber: '*103' }],
    ['addParticipant', { number: '+1 650 555 0103' }],
    ['removeParticipant', { partyId: 'p-2' }],
    ['merge', undefined],
    ['merge', { otherCallId: 's-2' }],
    ['endConference', undefined],
  ];
  for (const [callAction, options] of accepted) {
    const { response, asked } = await run(t, { callAction, options });
    assert.deepEqual(response, { data: 'ok' }, `${callAction} ${JSON.stringify(options)}`);
    assert.deepEqual(asked[0].options, options);
  }
});

test('a failed call action is told to the host as rc-control-call-error', async (t) => {
  const posted = [];
  const ctx = {
    actions: { controlCall: async () => ({ error: 'invalidState', message: 'There is no transfer in progress.', callId: 'c1' }) },
    post: (message) => posted.push(message),
    warn: () => {},
  };
  const response = await CONTROL.run({ type: 'rc-adapter-control-call', callAction: 'completeTransfer' }, ctx);
  assert.deepEqual(response, { error: 'invalidState', message: 'There is no transfer in progress.' });
  assert.deepEqual(posted, [{ type: 'rc-control-call-error', error: 'invalidState', message: 'There is no transfer in progress.', callId: 'c1' }]);
});
