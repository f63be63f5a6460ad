// Tests of ringer.js's notifications under `node --test`: a fake
// Notification stands in for the browser's, and a fake ringtone counts what
// it was asked.
import './english.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { catalogue } from './english.js';
import { newEntry, STATUS } from '../static/calls.js';
import { setCatalogue } from '../static/i18n.js';
import { createRinger, notificationFor } from '../static/ringer.js';

// fakeNotifications installs a granted Notification that records every
// notification shown, and returns that list.
function fakeNotifications(t) {
  const shown = [];
  class FakeNotification {
    static permission = 'granted';
    static requestPermission = async () => 'granted';
    constructor(title, options) {
      Object.assign(this, { title, ...options, closed: 0 });
      shown.push(this);
    }
    addEventListener() {}
    close() {
      this.closed += 1;
    }
  }
  const before = globalThis.Notification;
  globalThis.Notification = FakeNotification;
  t.after(() => {
    globalThis.Notification = before;
  });
  return shown;
}

function fakeRingtone() {
  const ringtone = { playing: false, start: () => { ringtone.playing = true; }, stop: () => { ringtone.playing = false; } };
  return ringtone;
}

const ringing = (id) => newEntry({ id, direction: 'Inbound', callStatus: STATUS.setup, from: '+16505550100' });

function newRinger(ringtone = fakeRingtone()) {
  return createRinger({ notificationsOn: true, describe: () => ({ name: 'Alice', number: '+1 650-555-0100' }), ringtone });
}

test('a ringing call shows one notification, closed once it is answered', (t) => {
  const shown = fakeNotifications(t);
  const ringtone = fakeRingtone();
  const ringer = newRinger(ringtone);
  const entry = ringing('s1');
  ringer.update([entry]);
  ringer.update([entry]);
  assert.equal(shown.length, 1);
  assert.equal(shown[0].tag, 'cb-call-s1');
  assert.equal(ringtone.playing, true);
  entry.answering = true;
  ringer.update([entry]);
  assert.equal(ringtone.playing, false);
  assert.ok(shown[0].closed > 0, 'the answered call\'s notification is closed');
});

test('a ringing call that ends before it is answered has its notification closed', (t) => {
  const shown = fakeNotifications(t);
  const ringtone = fakeRingtone();
  const ringer = newRinger(ringtone);
  const first = ringing('s1');
  const second = ringing('s2');
  ringer.update([first, second]);
  assert.equal(shown.length, 2);
  // The first caller hangs up: the registry forgets the call, and the
  // ringer hears the calls left.
  ringer.update([second]);
  assert.equal(shown[0].closed, 1, 'the ended call\'s notification is closed');
  assert.equal(shown[1].closed, 0, 'the call still ringing keeps its notification');
  assert.equal(ringtone.playing, true);
  ringer.update([]);
  assert.equal(shown[1].closed, 1);
  assert.equal(ringtone.playing, false);
  ringer.update([]);
  assert.deepEqual(shown.map((n) => n.closed), [1, 1], 'each is closed once');
});

test('without the notification flag no notification shows', (t) => {
  const shown = fakeNotifications(t);
  const ringer = createRinger({ notificationsOn: false, describe: () => ({ name: 'A', number: '' }), ringtone: fakeRingtone() });
  ringer.update([ringing('s1')]);
  assert.equal(shown.length, 0);
});

test('with show, the ringer hands it each ringing call\'s notification and closes what it returned', () => {
  const asked = [];
  const returned = { closed: 0, close() { this.closed += 1; } };
  const ringer = createRinger({
    show: (notice) => { asked.push(notice); return asked.length === 1 ? returned : null; },
    describe: () => ({ name: 'Alice', number: '+1 650-555-0100' }),
    ringtone: fakeRingtone(),
    waitingTone: fakeRingtone(),
  });
  const first = ringing('s1');
  const second = ringing('s2');
  ringer.update([first, second]);
  assert.deepEqual(asked.map((n) => n.tag), ['cb-call-s1', 'cb-call-s2']);
  assert.equal(asked[0].title, 'Incoming call');
  ringer.update([]);
  assert.equal(returned.closed, 1);
});

test('the notification of a ringing call speaks the widget\'s language', (t) => {
  t.after(() => setCatalogue('en-US', catalogue('en')));
  assert.deepEqual(notificationFor({ name: 'Alice', number: '+1 650-555-0100' }, 's1'),
    { title: 'Incoming call', body: 'Alice\n+1 650-555-0100', tag: 'cb-call-s1' });
  setCatalogue('de', catalogue('de'));
  assert.equal(notificationFor({ name: 'Alice', number: '' }, 's1').title, 'Eingehender Anruf');
});
