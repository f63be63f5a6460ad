// Tests of what the call panel's live region says (phoneview.js), under
// `node --test`.
import { catalogue } from './english.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { STATUS } from '../static/calls.js';
import { setCatalogue } from '../static/i18n.js';
import { callAnnouncement } from '../static/phoneview.js';

test('the call panel says each change of state once, never the clock', () => {
  assert.equal(callAnnouncement(STATUS.setup, 'Bob Brown', 'Outbound'), 'Calling Bob Brown');
  assert.equal(callAnnouncement(STATUS.connecting, 'Bob Brown', 'Inbound'), 'Connecting: Bob Brown');
  assert.equal(callAnnouncement(STATUS.connected, 'Bob Brown', 'Outbound'), 'Connected: Bob Brown');
  assert.equal(callAnnouncement('onHold', 'Bob Brown', 'Outbound'), 'On hold: Bob Brown');
  assert.equal(callAnnouncement('ended', 'Bob Brown', '', 'Busy'), 'Busy: Bob Brown');
  assert.equal(callAnnouncement('ended', 'Bob Brown', ''), 'Call ended: Bob Brown');
  assert.equal(callAnnouncement(STATUS.finished, 'Bob Brown', 'Outbound'), '');
});

test('the call panel says it in the widget\'s language', (ctx) => {
  ctx.after(() => setCatalogue('en-US', catalogue('en')));
  setCatalogue('es-ES', catalogue('es'));
  assert.equal(callAnnouncement(STATUS.setup, 'Bob Brown', 'Outbound'), 'Llamando a Bob Brown');
  assert.equal(callAnnouncement('onHold', 'Bob Brown', 'Outbound'), 'En espera: Bob Brown');
  assert.equal(callAnnouncement('ended', 'Bob Brown', ''), 'Llamada finalizada: Bob Brown');
});
