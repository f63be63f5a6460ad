// Tests of the audio settings' pure parts under `node --test`: reading what
// is stored, the device lists, the ringtones, the call's quality, the
// microphone's constraints and the sign-in page's theme.
import './english.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  AUDIO_DEFAULTS, deviceChoices, findDevice, hasLabels, MAX_USERS, readAudioSettings, settingsOf, storedUsers, withSettings,
} from '../static/audio.js';
import { catalogue } from './english.js';
import { setCatalogue, t as translate } from '../static/i18n.js';
import { gradeQuality, qualityText, QUALITY_LIMITS } from '../static/media.js';
import { audioConstraints } from '../static/microphone.js';
import { DEFAULT_RINGTONE, RINGTONES, ringtoneAt, toneBursts } from '../static/ringer.js';
import { themedUri } from '../static/signin.js';

test('readAudioSettings keeps what is valid and puts the default in place of the rest', () => {
  assert.deepEqual(readAudioSettings(null), AUDIO_DEFAULTS);
  assert.deepEqual(readAudioSettings('x'), AUDIO_DEFAULTS);
  const all = {
    microphone: 'm1', microphoneLabel: 'Desk mic', speaker: 's1', speakerLabel: 'Headset', ringer: 'r1', ringerLabel: 'Speakers',
    ringtone: 'chime', volume: 35,
  };
  assert.deepEqual(readAudioSettings({ ...all, other: 1 }), all);
  assert.deepEqual(readAudioSettings({ microphone: 7, speaker: 'x'.repeat(300), ringtone: 'toString', volume: '50' }), AUDIO_DEFAULTS);
  assert.equal(readAudioSettings({ volume: 140 }).volume, 100);
  assert.equal(readAudioSettings({ volume: -3 }).volume, 0);
  assert.equal(readAudioSettings({ volume: 42.6 }).volume, 43);
  assert.equal(readAudioSettings({ volume: Number.NaN }).volume, AUDIO_DEFAULTS.volume);
});

test('the settings are kept for each user, the latest first, and one user\'s are not another\'s', () => {
  let stored = null;
  assert.deepEqual(settingsOf(stored, 'alice'), AUDIO_DEFAULTS);
  stored = withSettings(stored, 'alice', { microphone: 'm1', volume: 20 });
  stored = withSettings(stored, 'bob', { ringtone: 'pulse' });
  assert.deepEqual(settingsOf(stored, 'alice'), { ...AUDIO_DEFAULTS, microphone: 'm1', volume: 20 });
  assert.deepEqual(settingsOf(stored, 'bob'), { ...AUDIO_DEFAULTS, ringtone: 'pulse' });
  assert.deepEqual(settingsOf(stored, 'carol'), AUDIO_DEFAULTS);
  assert.deepEqual(settingsOf(stored, ''), AUDIO_DEFAULTS, 'nobody signed in: the defaults');
  assert.deepEqual(storedUsers(stored).map((u) => u.user), ['bob', 'alice']);
  stored = withSettings(stored, 'alice', { microphone: 'm2' });
  assert.deepEqual(storedUsers(stored).map((u) => u.user), ['alice', 'bob']);
  assert.equal(settingsOf(stored, 'alice').microphone, 'm2');

  // Only so many users are kept; what is not a user is dropped.
  for (let i = 0; i < MAX_USERS + 5; i += 1) stored = withSettings(stored, `u${i}`, {});
  assert.equal(storedUsers(stored).length, MAX_USERS);
  assert.deepEqual(storedUsers({ users: [null, { user: '' }, { user: 3 }, { user: 'x', settings: { volume: 10 } }] }),
    [{ user: 'x', settings: { ...AUDIO_DEFAULTS, volume: 10 } }]);
  assert.deepEqual(storedUsers({ users: 'no' }), []);
});

const DEVICES = [
  { kind: 'audioinput', deviceId: 'default', label: 'Default' },
  { kind: 'audioinput', deviceId: 'm1', label: 'Fake Audio Input 1' },
  { kind: 'audioinput', deviceId: 'm2', label: 'Fake Audio Input 2' },
  { kind: 'audiooutput', deviceId: 'default', label: 'Default' },
  { kind: 'audiooutput', deviceId: 's1', label: 'Fake Audio Output 1' },
  { kind: 'videoinput', deviceId: 'v1', label: 'Camera' },
];

test('deviceChoices lists the default first, then each device of the kind by its label', () => {
  assert.deepEqual(deviceChoices(DEVICES, 'audioinput'), [
    { id: '', label: 'System default' },
    { id: 'm1', label: 'Fake Audio Input 1' },
    { id: 'm2', label: 'Fake Audio Input 2' },
  ]);
  assert.deepEqual(deviceChoices(DEVICES, 'audiooutput'), [{ id: '', label: 'System default' }, { id: 's1', label: 'Fake Audio Output 1' }]);
  // Before the microphone is allowed the browser keeps the labels back.
  const unnamed = [{ kind: 'audioinput', deviceId: 'a', label: '' }, { kind: 'audiooutput', deviceId: 'b', label: '' }];
  assert.deepEqual(deviceChoices(unnamed, 'audioinput'), [{ id: '', label: 'System default' }, { id: 'a', label: 'Microphone 1' }]);
  assert.deepEqual(deviceChoices(unnamed, 'audiooutput'), [{ id: '', label: 'System default' }, { id: 'b', label: 'Speaker 1' }]);
  assert.equal(hasLabels(unnamed), false);
  assert.equal(hasLabels(DEVICES), true);
});

test('the device lists speak the widget\'s language', (t) => {
  t.after(() => setCatalogue('en-US', catalogue('en')));
  const unnamed = [{ kind: 'audioinput', deviceId: 'a', label: '' }, { kind: 'audioinput', deviceId: 'b', label: 'USB' }];
  setCatalogue('fr-FR', catalogue('fr'));
  assert.deepEqual(deviceChoices(unnamed, 'audioinput').map((c) => c.label), ['Par défaut du système', 'Micro 1', 'USB']);
  setCatalogue('es', catalogue('es'));
  assert.deepEqual(deviceChoices(unnamed, 'audiooutput').map((c) => c.label), ['Predeterminado del sistema']);
  assert.equal(translate(RINGTONES.chime.label), 'Campanilla');
});

test('findDevice finds a picked device by its id, else by its label; gone, it is null', () => {
  assert.deepEqual(findDevice(DEVICES, 'audioinput', 'm1', 'Fake Audio Input 1'), { id: 'm1', label: 'Fake Audio Input 1' });
  assert.deepEqual(findDevice(DEVICES, 'audioinput', 'm1', ''), { id: 'm1', label: 'Fake Audio Input 1' });
  // The browser gave the device a new id: its label finds it.
  assert.deepEqual(findDevice(DEVICES, 'audioinput', 'old-id', 'Fake Audio Input 2'), { id: 'm2', label: 'Fake Audio Input 2' });
  assert.equal(findDevice(DEVICES, 'audioinput', 'm9', 'Unplugged headset'), null);
  assert.equal(findDevice(DEVICES, 'audioinput', 'm9', ''), null);
  assert.equal(findDevice(DEVICES, 'audiooutput', 'm1', 'Fake Audio Input 1'), null, 'an input is no output');
  assert.deepEqual(findDevice(DEVICES, 'audioinput', '', 'x'), { id: '', label: '' }, 'the default is never gone');
  assert.deepEqual(findDevice(DEVICES, 'audioinput', 'default', ''), { id: '', label: '' });
  // A browser that lists no device of the kind by id says nothing of it.
  assert.deepEqual(findDevice([], 'audioinput', 'm1', 'Mic'), { id: 'm1', label: 'Mic' });
  assert.deepEqual(findDevice([{ kind: 'audioinput', deviceId: '', label: '' }], 'audioinput', 'm1', ''), { id: 'm1', label: '' });
});

test('ringtones play at the volume picked; an unknown one is the default', () => {
  assert.equal(ringtoneAt('chime', 100).level, RINGTONES.chime.level);
  assert.equal(ringtoneAt('classic', 80).level, 0.12);
  assert.equal(ringtoneAt('classic', 0).level, 0);
  assert.equal(ringtoneAt('classic', 500).level, RINGTONES.classic.level);
  assert.deepEqual(ringtoneAt('nope', 100).frequencies, RINGTONES[DEFAULT_RINGTONE].frequencies);
  for (const [name, tone] of Object.entries(RINGTONES)) {
    assert.notEqual(translate(tone.label), tone.label, `${name} has a name in the catalogue`);
    // Every burst fits in the tone's period.
    const period = tone.periodS ?? tone.onS + tone.offS;
    for (const [, end] of toneBursts(tone)) assert.ok(end <= period, `${name} ends at ${end} of ${period}`);
  }
});

test('gradeQuality grades loss since the last reading, jitter and round trip; the worst counts', () => {
  const stats = (packetsLost, packetsReceived, jitterMs, rttMs) => ({ packetsLost, packetsReceived, jitterMs, rttMs });
  assert.equal(gradeQuality(stats(0, 500, 5, 20)).level, 'good');
  assert.equal(gradeQuality(stats(0, 0, 0, 0)).level, 'good', 'no packets yet is no loss');
  assert.equal(gradeQuality(stats(15, 485, 5, 20)).level, 'fair', '3% lost');
  assert.equal(gradeQuality(stats(50, 450, 5, 20)).level, 'poor', '10% lost');
  assert.equal(gradeQuality(stats(0, 500, QUALITY_LIMITS.good.jitterMs + 1, 20)).level, 'fair');
  assert.equal(gradeQuality(stats(0, 500, 5, QUALITY_LIMITS.fair.rttMs + 1)).level, 'poor');
  assert.equal(gradeQuality(stats(0, 500, QUALITY_LIMITS.good.jitterMs, QUALITY_LIMITS.good.rttMs)).level, 'good', 'the limits are good still');

  // A loss early in the call does not mark the rest of it.
  const early = stats(50, 450, 5, 20);
  const later = stats(50, 950, 5, 20);
  assert.deepEqual(gradeQuality(later, early), { level: 'good', label: 'Good', lossPct: 0, jitterMs: 5, rttMs: 20 });
  assert.equal(gradeQuality(stats(80, 950, 5, 20), early).lossPct, 5.7);
  // Counters that went back (a new connection) count from nothing.
  assert.equal(gradeQuality(stats(0, 100, 5, 20), early).level, 'good');

  const q = gradeQuality(stats(15, 485, 12, 40));
  assert.equal(qualityText(q), 'Call quality: Fair (3% loss, 12 ms jitter, 40 ms round trip)');
});

test('the microphone picked is asked for exactly; none means the default', () => {
  const plain = audioConstraints('');
  assert.equal(plain.audio.deviceId, undefined);
  assert.equal(plain.audio.echoCancellation, true);
  const picked = audioConstraints('m1');
  assert.deepEqual(picked.audio.deviceId, { exact: 'm1' });
  assert.equal(picked.audio.noiseSuppression, true);
  assert.equal(picked.video, false);
});

test('the sign-in URL asks for the widget\'s theme, unless it follows the system', () => {
  const uri = 'http://localhost:8080/oauth/authorize?client_id=a&state=s';
  assert.equal(themedUri(uri, 'dark'), `${uri}&theme=dark`);
  assert.equal(themedUri(uri, 'light'), `${uri}&theme=light`);
  assert.equal(themedUri(uri, 'auto'), uri);
  assert.equal(themedUri(uri, undefined), uri);
  assert.equal(themedUri(`${uri}&theme=light`, 'dark'), `${uri}&theme=dark`);
  assert.equal(themedUri('not a url', 'dark'), 'not a url');
});
