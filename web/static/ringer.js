// Ringing: the ringing tone while a call rings here, the call-waiting tone
// instead while this tab has another call, and a desktop notification for
// each ringing call (notices.js decides whether one may show).

import { isRinging } from './calls.js';

const LOG_PREFIX = '[callbridge]';
const warn = (...args) => console.warn(LOG_PREFIX, ...args);

// The ringing tone: 440 + 480 Hz together, two seconds on, four off.
export const RINGTONE = Object.freeze({ frequencies: Object.freeze([440, 480]), onS: 2, offS: 4, level: 0.12, rampS: 0.02 });
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
  return { title: 'Incoming call', body: number ? `${name}\n${number}` : name, tag: `cb-call-${id}` };
}

// createTone plays tone (RINGTONE, WAITING_TONE) with WebAudio until
// stopped. A browser may keep it silent until the page has had a user gesture.
export function createTone(tone = RINGTONE) {
  let context = null;
  let output = null;
  let oscillators = [];
  let timer = null;

  function burst() {
    const t = context.currentTime;
    const { level, rampS } = tone;
    output.gain.cancelScheduledValues(t);
    output.gain.setValueAtTime(0, t);
    for (const [start, end] of toneBursts(tone)) {
      output.gain.setValueAtTime(0, t + start);
      output.gain.linearRampToValueAtTime(level, t + start + rampS);
      output.gain.setValueAtTime(level, t + end - rampS);
      output.gain.linearRampToValueAtTime(0, t + end);
    }
  }

  function start() {
    if (timer) return;
    try {
      context ??= new AudioContext();
    } catch (err) {
      warn(`cannot play the ringing tone: ${err.message}`);
      return;
    }
    context.resume().catch(() => {});
    output = context.createGain();
    output.gain.value = 0;
    output.connect(context.destination);
    oscillators = tone.frequencies.map((frequency) => {
      const oscillator = context.createOscillator();
      oscillator.frequency.value = frequency;
      oscillator.connect(output);
      oscillator.start();
      return oscillator;
    });
    burst();
    timer = setInterval(burst, tonePeriodS(tone) * 1000);
  }

  function stop() {
    if (!timer) return;
    clearInterval(timer);
    timer = null;
    oscillators.forEach((oscillator) => oscillator.stop());
    oscillators = [];
    output.disconnect();
    output = null;
  }

  return { start, stop };
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
