// Tests of notices.js's pure parts under `node --test`.
import { catalogue } from './english.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { setCatalogue } from '../static/i18n.js';
import { messageNotice, noticeAllowed } from '../static/notices.js';

test('a notification shows only when turned on, granted, and the widget is hidden or unfocused', () => {
  const base = { on: true, permission: 'granted', visible: false, focused: false };
  assert.equal(noticeAllowed(base), true);
  assert.equal(noticeAllowed({ ...base, visible: true }), true, 'visible but another window has the focus');
  assert.equal(noticeAllowed({ ...base, focused: true }), true, 'focused but hidden');
  assert.equal(noticeAllowed({ ...base, visible: true, focused: true }), false, 'the user is looking at it');
  assert.equal(noticeAllowed({ ...base, on: false }), false, 'off by choice');
  assert.equal(noticeAllowed({ ...base, permission: 'default' }), false);
  assert.equal(noticeAllowed({ ...base, permission: 'denied' }), false);
});

test('a message notification names its sender and kind, and carries the text', () => {
  assert.deepEqual(messageNotice({ id: '8', type: 'SMS', from: { name: 'Alice Adams', phoneNumber: '+16505550101' }, subject: 'Late' }),
    { title: 'New message from Alice Adams', body: 'Late', tag: 'cb-message-8' });
  assert.equal(messageNotice({ id: '9', type: 'VoiceMail', from: { phoneNumber: '+15550100' } }).title, 'New voicemail from +15550100');
  assert.equal(messageNotice({ id: '9', type: 'VoiceMail', from: { phoneNumber: '+15550100' } }).body, '');
  assert.equal(messageNotice({}).title, 'New message from Unknown sender');
  assert.equal(messageNotice(null).tag, 'cb-message-');
});

test('a message notification speaks the widget\'s language', (ctx) => {
  ctx.after(() => setCatalogue('en-US', catalogue('en')));
  setCatalogue('de', catalogue('de'));
  assert.equal(messageNotice({ id: '9', type: 'VoiceMail', from: { name: 'Bob' } }).title, 'Neue Mailbox-Nachricht von Bob');
  assert.equal(messageNotice({ id: '9', type: 'Fax', from: {} }).title, 'Neues Fax von unbekanntem Absender');
  setCatalogue('fr-FR', catalogue('fr'));
  assert.equal(messageNotice({ id: '8', type: 'SMS', from: { phoneNumber: '+33612345678' } }).title, 'Nouveau message de +33612345678');
  assert.equal(messageNotice({ type: 'toString' }).title, 'Nouveau message d\'un expéditeur inconnu');
});
