// Tests of conversations.js, the rules of messages and conversations, under
// `node --test`.
import { catalogue } from './english.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  badgeText, callBackNumber, composeHint, contentUrl, conversationKey, conversationWith, dayText, deliveryText, describeParties,
  durationText, errorText, groupConversations, initials, isUnread, listStatus, messageType, preview, readMessage,
  recordingErrorText, replyNumber, shortTime, voicemailAudio,
} from '../static/conversations.js';
import { setCatalogue } from '../static/i18n.js';
import { RequestError } from '../static/server.js';

test('a message to an extension number is a pager message, any other an SMS', () => {
  const cases = [['101', 'Pager'], [' 1-0-1 ', 'Pager'], ['12345678', 'Pager'], ['1', 'SMS'], ['123456789', 'SMS'],
    ['+16505550100', 'SMS'], ['(650) 555-0100', 'SMS'], ['', 'SMS'], [undefined, 'SMS']];
  for (const [to, want] of cases) assert.equal(messageType(to), want, String(to));
});

const ALICE = { phoneNumber: '+16505550100', name: 'Alice' };
const BOB = { phoneNumber: '+16505550101', extensionNumber: '102', name: '' };

function message(id, fields) {
  return readMessage({ id, type: 'SMS', direction: 'Inbound', readStatus: 'Read', subject: `m${id}`,
    creationTime: new Date(Date.UTC(2024, 0, 1, 0, 0, id)).toISOString(), ...fields });
}

test('a message needs an id and a creation time; a number id becomes a string', () => {
  assert.equal(readMessage({ id: 7, creationTime: '2024-01-01T00:00:00Z' }).id, '7');
  for (const raw of [null, [], { id: '', creationTime: '2024-01-01T00:00:00Z' }, { id: {}, creationTime: '2024-01-01T00:00:00Z' },
    { id: 'a' }, { id: 'a', creationTime: 'yesterday' }]) {
    assert.equal(readMessage(raw), null, JSON.stringify(raw));
  }
});

test('a party is written to by its extension for pager messages, else by its phone number', () => {
  assert.equal(replyNumber(BOB, 'Pager'), '102');
  assert.equal(replyNumber(BOB, 'SMS'), '+16505550101');
  assert.equal(replyNumber({ extensionNumber: '103' }, 'SMS'), '103');
  assert.equal(replyNumber({ phoneNumber: '+16505550102' }, 'Pager'), '+16505550102');
  assert.equal(replyNumber({}, 'SMS'), '');
});

test('messages group by conversationId, else by type and the other party', () => {
  assert.equal(conversationKey({ conversationId: 42 }), 'c:42');
  assert.equal(conversationKey({ conversationId: 'x' }), 'c:x');
  assert.equal(conversationKey({ type: 'SMS', direction: 'Inbound', from: ALICE }), 'p:SMS:+16505550100');
  assert.equal(conversationKey({ type: 'Pager', direction: 'Outbound', to: [BOB, ALICE] }), 'p:Pager:102,+16505550100');
  assert.equal(conversationKey({ type: 'SMS', direction: 'Outbound', to: 'nobody' }), 'p:SMS:');
});

test('conversations come newest first, each with its messages oldest first, unread counted, deleted left out', () => {
  const list = groupConversations([
    message(3, { conversationId: 'a', from: ALICE, readStatus: 'Unread' }),
    message(1, { conversationId: 'a', direction: 'Outbound', to: [ALICE] }),
    message(2, { conversationId: 'b', from: BOB, type: 'Pager', readStatus: 'Unread' }),
    message(4, { conversationId: 'b', from: BOB, type: 'Pager', availability: 'Deleted' }),
    message(5, { conversationId: 'c', availability: 'Deleted' }),
  ]);
  assert.deepEqual(list.map((c) => c.key), ['c:a', 'c:b']);
  assert.deepEqual(list[0].messages.map((m) => m.id), ['1', '3']);
  assert.equal(list[0].last.id, '3');
  assert.equal(list[0].unread, 1);
  assert.deepEqual(list[0].others, [ALICE]);
  assert.equal(list[0].conversationId, 'a');
  assert.equal(list[1].type, 'Pager');
  assert.deepEqual(list[1].messages.map((m) => m.id), ['2']);
  const outbound = groupConversations([message(1, { direction: 'Outbound', to: [ALICE] })]);
  assert.equal(outbound[0].unread, 0, 'an outbound message is never unread');
  assert.equal(outbound[0].conversationId, null);
});

test('the conversation with a number is found by its one party\'s phone or extension number', () => {
  const list = groupConversations([
    message(1, { conversationId: 'a', from: ALICE }),
    message(2, { conversationId: 'b', from: BOB, type: 'Pager' }),
    message(3, { conversationId: 'g', direction: 'Outbound', to: [ALICE, BOB] }),
  ]);
  assert.equal(conversationWith(list, 'SMS', '+1 (650) 555-0100')?.key, 'c:a');
  assert.equal(conversationWith(list, 'Pager', '102')?.key, 'c:b');
  assert.equal(conversationWith(list, 'SMS', '102'), null, 'not of another type');
  assert.equal(conversationWith(list, 'SMS', '+16505550199'), null);
});

test('the other parties are named, with the number of one named party', () => {
  const shown = (n) => `<${n}>`;
  assert.deepEqual(describeParties([ALICE], 'SMS', shown), { name: 'Alice', number: '<+16505550100>' });
  assert.deepEqual(describeParties([BOB], 'Pager', shown), { name: '<102>', number: '' });
  assert.deepEqual(describeParties([ALICE, BOB], 'SMS', shown), { name: 'Alice, <+16505550101>', number: '' });
  assert.deepEqual(describeParties([], 'SMS', shown), { name: 'Unknown', number: '' });
  // A test number goes by what it does, whatever the server calls it.
  assert.deepEqual(describeParties([{ phoneNumber: '+15550101', name: 'Test line' }], 'SMS', shown),
    { name: 'Echo line', number: '<+15550101>' });
});

test('times say today\'s time, Yesterday, a weekday within the week, else the date', () => {
  const now = new Date(2024, 5, 15, 12, 0).getTime();
  const at = (days, hour = 9) => new Date(2024, 5, 15 - days, hour, 30).getTime();
  const english = (ms, options) => new Intl.DateTimeFormat('en-US', options).format(ms);
  assert.equal(shortTime(at(0), now), english(at(0), { hour: 'numeric', minute: '2-digit' }));
  assert.equal(shortTime(at(1), now), 'Yesterday');
  assert.equal(shortTime(at(6), now), english(at(6), { weekday: 'short' }));
  assert.equal(shortTime(at(7), now), 'Jun 8');
  const day = (days) => new Date(at(days)).setHours(0, 0, 0, 0);
  assert.equal(dayText(day(0), now), 'Today');
  assert.equal(dayText(day(1), now), 'Yesterday');
  assert.equal(dayText(day(2), now), 'Thu, Jun 13');
});

test('times and days are written in the widget\'s language', (ctx) => {
  ctx.after(() => setCatalogue('en-US', catalogue('en')));
  setCatalogue('de', catalogue('de'));
  const now = new Date(2024, 5, 15, 12, 0).getTime();
  const at = (days, hour = 9) => new Date(2024, 5, 15 - days, hour, 30).getTime();
  assert.equal(shortTime(at(0, 14), now), '14:30');
  assert.equal(shortTime(at(1), now), 'Gestern');
  assert.equal(shortTime(at(7), now), '8. Juni');
  assert.equal(dayText(new Date(at(0)).setHours(0, 0, 0, 0), now), 'Heute');
  setCatalogue('fr-FR', catalogue('fr'));
  assert.equal(dayText(new Date(at(2)).setHours(0, 0, 0, 0), now), 'jeu. 13 juin');
  assert.equal(preview({ type: 'VoiceMail', attachments: [{ id: 'a', vmDuration: 65 }] }), 'Message vocal · 1:05');
  assert.equal(listStatus({ off: false, phase: 'loading', count: 0, error: '' }), 'Chargement de vos messages…');
});

test('a conversation\'s initials come from words that start with a letter', () => {
  assert.equal(initials('alice smith jones'), 'AS');
  assert.equal(initials('+1 (650) 555'), '');
  assert.equal(initials('Ext. 101'), 'E');
  assert.equal(initials('Ölaf 2 Ünal'), 'ÖÜ');
});

test('what rows, bubbles, the list and the badge say', () => {
  assert.equal(preview({ subject: '  hello\n\n  there ' }), 'hello there');
  assert.equal(preview({}), '');
  const out = (messageStatus) => ({ direction: 'Outbound', messageStatus });
  assert.equal(deliveryText(out('Delivered'), true), 'Delivered');
  assert.equal(deliveryText(out('Queued'), true), 'Sending…');
  assert.equal(deliveryText(out('Delivered'), false), '', 'only the last sent says how it went');
  assert.equal(deliveryText(out('DeliveryFailed'), false), 'Not delivered', 'a failure always says so');
  assert.equal(deliveryText(out('toString'), true), '');
  assert.equal(deliveryText({ direction: 'Inbound', messageStatus: 'Received' }, true), '');
  assert.equal(listStatus({ off: false, phase: 'loading', count: 0, error: '' }), 'Loading your messages…');
  assert.equal(listStatus({ off: false, phase: 'loading', count: 3, error: '' }), '');
  assert.equal(listStatus({ off: false, phase: 'failed', count: 3, error: 'offline' }), 'Could not load your messages: offline');
  assert.equal(listStatus({ off: true, phase: 'failed', count: 0, error: 'offline' }), '');
  assert.equal(badgeText(0), '0');
  assert.equal(badgeText(99), '99');
  assert.equal(badgeText(100), '99+');
  const format = (n) => `<${n}>`;
  assert.equal(composeHint('', format), 'Type a phone number, or an extension number for a company message.');
  assert.equal(composeHint('101', format), 'Company message to extension 101');
  assert.equal(composeHint('+16505550100', format), 'SMS to <+16505550100>');
});

test('a failed request says why in the user\'s words, never in the server\'s', (ctx) => {
  const failure = (code, param = '') => new RequestError(code, `server text for ${code}`, param);
  assert.equal(errorText(failure('network')), 'no connection to the server');
  assert.equal(errorText(failure('TooManyRequests')), 'too many requests; wait a moment');
  assert.equal(errorText(failure('MessagingOff')), 'messaging is off on this server');
  assert.equal(errorText(failure('InvalidParameter', 'to'), '101'), 'extension 101 cannot receive messages');
  assert.equal(errorText(failure('InvalidParameter', 'to'), '+16505550100'), 'this number cannot receive text messages');
  assert.equal(errorText(failure('InvalidParameter', 'text'), '101'), 'the text is empty or too long');
  for (const code of ['InvalidParameter', 'InternalError', 'http500', 'constructor', '']) {
    assert.equal(errorText(failure(code)), 'try again later', code);
  }
  assert.equal(errorText(new Error('boom')), 'try again later');
  assert.equal(errorText(null), 'try again later');
  assert.equal(recordingErrorText(failure('NotFound')), 'the recording no longer exists');
  assert.equal(errorText(failure('NotFound')), 'the message no longer exists');
  ctx.after(() => setCatalogue('en-US', catalogue('en')));
  setCatalogue('es-ES', catalogue('es'));
  assert.equal(errorText(failure('InvalidParameter', 'to'), '102'), 'la extensión 102 no puede recibir mensajes');
  assert.equal(listStatus({ off: false, phase: 'failed', count: 0, error: errorText(failure('network')) }),
    'No se pudieron cargar sus mensajes: sin conexión con el servidor');
});

test('a voicemail is a row of its own, with its duration, its recording and its caller', () => {
  const vm = (id, fields = {}) => ({
    id, type: 'VoiceMail', direction: 'Inbound', readStatus: 'Unread', conversationId: '77',
    creationTime: '2026-01-02T10:00:00Z', from: { phoneNumber: '+16505550123', name: 'Pat' }, to: [{ extensionNumber: '101' }],
    attachments: [{ id: 'a1', uri: 'https://x/content/a1', contentType: 'audio/ogg', vmDuration: 23.4 }], ...fields,
  });
  assert.equal(conversationKey(vm('5')), 'v:5');
  const rows = groupConversations([vm('5'), vm('6', { creationTime: '2026-01-02T11:00:00Z', readStatus: 'Read' }),
    { id: '7', type: 'SMS', direction: 'Inbound', readStatus: 'Unread', conversationId: '77', creationTime: '2026-01-01T10:00:00Z', from: { phoneNumber: '+16505550123' } }]);
  assert.deepEqual(rows.map((r) => [r.key, r.type, r.unread]), [['v:6', 'VoiceMail', 0], ['v:5', 'VoiceMail', 1], ['c:77', 'SMS', 1]]);
  assert.equal(isUnread(vm('5')), true);
  assert.deepEqual(voicemailAudio(vm('5')), { id: 'a1', contentType: 'audio/ogg', duration: 23 });
  assert.equal(voicemailAudio(vm('5', { attachments: [] })), null);
  assert.equal(voicemailAudio(vm('5', { attachments: [{ id: '' }, 'x', null] })), null);
  assert.deepEqual(voicemailAudio(vm('5', { attachments: [{ id: 9, vmDuration: 'long' }] })), { id: '9', contentType: '', duration: 0 });
  assert.equal(preview(vm('5')), 'Voicemail · 0:23');
  assert.equal(preview(vm('5', { attachments: undefined })), 'Voicemail');
  assert.equal(durationText(0), '0:00');
  assert.equal(durationText(65), '1:05');
  assert.equal(durationText(180), '3:00');
  assert.equal(contentUrl('5', 'a/1'), '/widget/messages/5/content/a%2F1');
  assert.equal(callBackNumber(vm('5')), '+16505550123');
  assert.equal(callBackNumber(vm('5', { from: { extensionNumber: '102' } })), '102');
  assert.equal(callBackNumber(vm('5', { from: null })), '');
});
