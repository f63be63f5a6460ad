// Ringing: the ringing tone while a call rings here, the call-waiting tone
// instead while this tab has another call, and a desktop notification for
// each ringing call (notices.js decides whether one may show). The user
// picks the ringtone, its volume and the output it plays on (audio.js).

import { isRinging } from './calls.js';
import { t } from './i18n.js';

const LOG_PREFIX = '[callbridge]';
const warn = (...args) => console.warn(LOG_PREFIX, ...args);

// The ringing tone: 440 + 480 Hz together, two seconds on, four off.
export const RINGTONE = Object.freeze({ frequencies: Object.freeze([440, 480]), onS: 2, offS: 4, level: 0.12, rampS: 0.02 });

// The ringtones the user may pick, each synthesised here; classic is the
// ringing tone above. Their levels are for the full volume (100); each
// label is the message key of the ringtone's name.
export const RINGTONES = Object.freeze({
  classic: Object.freeze({ label: 'audio.ringtoneClassic', ...RINGTONE, level: 0.15 }),
  double: Object.freeze({
    label: 'audio.ringtoneDouble', frequencies: Object.freeze([400, 450]), onS: 0.4, offS: 0.2, beeps: 2, periodS: 3, level: 0.15, rampS: 0.02,
  }),
  chime: Object.freeze({
    label: 'audio.ringtoneChime', frequencies: Object.freeze([880, 1320]), onS: 0.18, offS: 0.12, beeps: 3, periodS: 3, level: 0.1, rampS: 0.01,
  }),
  pulse: Object.freeze({
    label: 'audio.ringtonePulse', frequencies: Object.freeze([660]), onS: 0.1, offS: 0.1, beeps: 6, periodS: 3, level: 0.12, rampS: 0.01,
  }),
});
export const DEFAULT_RINGTONE = 'classic';
export const DEFAULT_RING_VOLUME = 80;

// ringtoneAt is the ringtone named name (the default when it is none) at
// volume (0–100): its level scaled.
export function ringtoneAt(name, volume) {
  const tone = Object.hasOwn(RINGTONES, name) ? RINGTONES[name] : RINGTONES[DEFAULT_RINGTONE];
  const v = Number.isFinite(volume) ? Math.min(100, Math.max(0, volume)) : DEFAULT_RING_VOLUME;
  return { ...tone, level: Math.round(tone.level * v * 10) / 1000 };
}
// The call-waiting tone: two short soft beeps of 440 Hz every four seconds,
// quiet enough to talk over.
export const WAITING_TONE = Object.freeze({
  frequencies: Object.freeze([440]), onS: 0.2, offS: 0.2, beeps: 2, periodS: 4, level: 0.05, rampS: 0.01,
});

// toneBursts lists the [start, end] seconds of each burst in a tone's period.
export function toneBursts({ onS, offS, beeps = 1 }) {
  return Array.from({ length: beeps }, (_, i) => [i * (onS + offS), i * (onS + offS) + onS]);
}

// tonePeriodS is how often a tone's bursts come again.
export const tonePeriodS = (tone) => tone.periodS ?? tone.onS + tone.offS;

// ringKind is what plays for calls: 'ring' while one rings here, 'waiting'
// when this tab also has another call, '' when none rings.
export function ringKind(calls) {
  if (!calls.some(isRinging)) return '';
  return calls.some((entry) => !isRinging(entry) && !entry.done) ? 'waiting' : 'ring';
}

// notificationFor is what the notification of a ringing call says, from
// who calls ({name, number}) and the call's id.
export function notificationFor({ name, number }, id) {
  return { title: t('audio.incomingCall'), body: number ? `${name}\n${number}` : name, tag: `cb-call-${id}` };
}

// createTone plays a tone (RINGTONE, WAITING_TONE) with WebAudio until
// stopped. A browser may keep it silent until the page has had a user
// gesture.
//   tone:   the tone, or a function that says it when it starts (the
//           user's ringtone at their volume)
//   sinkId: sinkId() is the id of the output to play on ('' the default),
//           where the browser lets a page pick one
// It returns { start(), stop(), preview() }: preview plays the tone's
// bursts once.
export function createTone(tone = RINGTONE, { sinkId = () => '' } = {}) {
  const current = () => (typeof tone === 'function' ? tone() : tone);
  let context = null;
  let output = null;
  let oscillators = [];
  let timer = null;
  let playing = RINGTONE;
  let previewTimer = null;

  // route plays the context on the chosen output, where it may.
  function route() {
    const id = sinkId();
    if (typeof context.setSinkId !== 'function' || context.sinkId === id) return;
    context.setSinkId(id).catch((err) => warn(`cannot play the tone on the chosen output: ${err.message}`));
  }

  function burst() {
    const now = context.currentTime;
    const { level, rampS } = playing;
    output.gain.cancelScheduledValues(now);
    output.gain.setValueAtTime(0, now);
    for (const [start, end] of toneBursts(playing)) {
      output.gain.setValueAtTime(0, now + start);
      output.gain.linearRampToValueAtTime(level, now + start + rampS);
      output.gain.setValueAtTime(level, now + end - rampS);
      output.gain.linearRampToValueAtTime(0, now + end);
    }
  }

  // begin sets the oscillators going, silent until a burst; false when
  // the browser has no audio to play on.
  function begin() {
    try {
      context ??= new AudioContext();
    } catch (err) {
      warn(`cannot play the ringing tone: ${err.message}`);
      return false;
    }
    playing = current();
    route();
    context.resume().catch(() => {});
    output = context.createGain();
    output.gain.value = 0;
    output.connect(context.destination);
    oscillators = playing.frequencies.map((frequency) => {
      const oscillator = context.createOscillator();
      oscillator.frequency.value = frequency;
      oscillator.connect(output);
      oscillator.start();
      return oscillator;
    });
    return true;
  }

  function silence() {
    clearTimeout(previewTimer);
    previewTimer = null;
    oscillators.forEach((oscillator) => oscillator.stop());
    oscillators = [];
    output?.disconnect();
    output = null;
  }

  function start() {
    if (timer) return;
    silence();
    if (!begin()) return;
    burst();
    timer = setInterval(burst, tonePeriodS(playing) * 1000);
  }

  function stop() {
    if (!timer) return;
    clearInterval(timer);
    timer = null;
    silence();
  }

  // preview plays one period's bursts, unless the tone rings already.
  function preview() {
    if (timer) return;
    silence();
    if (!begin()) return;
    burst();
    const lastEnd = Math.max(...toneBursts(playing).map(([, end]) => end));
    previewTimer = setTimeout(silence, lastEnd * 1000 + 100);
  }

  return { start, stop, preview };
}

// createRingtone plays the ringing tone.
export const createRingtone = () => createTone(RINGTONE);

// createRinger rings for the calls that ring here.
//   notificationsOn: desktop notifications are on (without show)
//   show:            show({title, body, tag}, onClick) shows a notification
//                    when it may (notices.js), returning it or null; without
//                    it, one shows whenever notificationsOn and the browser
//                    allow
//   describe:        describe(entry) is who calls: {name, number}
//   ringtone:        what plays the ringing tone ({start(), stop()})
//   waitingTone:     what plays the call-waiting tone (the same)
// It returns:
//   update(calls)    rings while one of calls rings, and shows or closes
//                    the calls' notifications: a call that stopped ringing,
//                    or that left the list (it ended), has its closed
export function createRinger({ notificationsOn = false, show, describe, ringtone = createRingtone(), waitingTone = createTone(WAITING_TONE) }) {
  // The notification of each call that rang (null when none could show),
  // while the call is in the list.
  const notifications = new Map();

  const supported = () => notificationsOn && typeof Notification === 'function';

  // notify shows a desktop notification for a ringing call.
  function notify(entry) {
    if (show) return show(notificationFor(describe(entry), entry.id));
    if (!supported() || Notification.permission !== 'granted') return null;
    const { title, body, tag } = notificationFor(describe(entry), entry.id);
    try {
      const notification = new Notification(title, { body, tag });
      notification.addEventListener('click', () => {
        window.focus();
        notification.close();
      });
      return notification;
    } catch (err) {
      warn(`cannot show a notification: ${err.message}`);
      return null;
    }
  }

  function update(calls) {
    const kind = ringKind(calls);
    if (kind !== 'ring') ringtone.stop();
    if (kind !== 'waiting') waitingTone.stop();
    if (kind === 'ring') ringtone.start();
    if (kind === 'waiting') waitingTone.start();
    const listed = new Set(calls);
    for (const [entry, notification] of notifications) {
      if (listed.has(entry)) continue;
      notification?.close();
      notifications.delete(entry);
    }
    for (const entry of calls) {
      const notification = notifications.get(entry);
      if (isRinging(entry)) {
        if (!notification) notifications.set(entry, notify(entry));
      } else if (notification) {
        notification.close();
      }
    }
  }

  return { update };
}
