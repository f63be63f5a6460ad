// The microphone: whether the widget may use one (found out without asking
// the user), and opening it for a call.
//
// Its state is checking, available, blocked, absent or unsupported; the
// phone turns it into the dialer's readiness (calls.js dialerStatus). The
// microphone the user picked (audio.js) is the one opened; one that is gone
// gives way to the default.

import { dialerError, phoneError } from './calls.js';
import { t } from './i18n.js';

const LOG_PREFIX = '[callbridge]';
const warn = (...args) => console.warn(LOG_PREFIX, ...args);

const AUDIO_CONSTRAINTS = { audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true }, video: false };

// audioConstraints are getUserMedia's constraints for the microphone
// deviceId ('' the default).
export function audioConstraints(deviceId) {
  if (!deviceId) return AUDIO_CONSTRAINTS;
  return { ...AUDIO_CONSTRAINTS, audio: { ...AUDIO_CONSTRAINTS.audio, deviceId: { exact: deviceId } } };
}

// microphoneFailure is the microphone's state after getUserMedia failed with
// an error of this name: blocked, absent, or '' when the state says nothing
// new (the microphone is busy elsewhere, say).
export function microphoneFailure(name) {
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'blocked';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'absent';
    default:
      return '';
  }
}

// createMicrophone follows the microphone.
//   onChange: onChange(state) hears of each new state
//   deviceId: deviceId() is (a Promise of) the microphone the user picked
//             ('' the default)
//   onGone:   onGone(deviceId) hears that the picked microphone could not
//             be opened, and the default was
// It returns:
//   state()    the microphone's state
//   granted()  whether the browser has said the widget may use it
//   open()     → Promise of a MediaStream, rejecting with a phoneError
//   check()    looks again, without asking the user
export function createMicrophone({ onChange, deviceId = () => '', onGone = () => {} }) {
  let state = 'checking';
  let watchedPermission = null;

  function set(next) {
    if (next === state) return;
    state = next;
    onChange(state);
  }

  function failed(err) {
    const failure = microphoneFailure(err?.name);
    if (failure === 'blocked') {
      set('blocked');
      return dialerError('microphoneBlocked');
    }
    if (failure === 'absent') {
      set('absent');
      return dialerError('microphoneAbsent');
    }
    return phoneError('microphone', 'The microphone could not be started: another app may be using it.', t('phone.microphoneBusy'));
  }

  async function open() {
    if (!navigator.mediaDevices?.getUserMedia) {
      set('unsupported');
      throw dialerError('microphoneUnsupported');
    }
    const chosen = await deviceId();
    try {
      let stream;
      try {
        stream = await navigator.mediaDevices.getUserMedia(audioConstraints(chosen));
      } catch (err) {
        // The microphone picked is gone: the default one serves.
        if (!chosen || microphoneFailure(err?.name) !== 'absent') throw err;
        stream = await navigator.mediaDevices.getUserMedia(audioConstraints(''));
        onGone(chosen);
      }
      set('available');
      return stream;
    } catch (err) {
      throw failed(err);
    }
  }

  async function permission() {
    try {
      return await navigator.permissions.query({ name: 'microphone' });
    } catch {
      return null;
    }
  }

  // probe finds out, without asking the user, whether there is a microphone
  // the widget may use; the first call asks for it.
  async function probe() {
    const media = navigator.mediaDevices;
    if (!media?.getUserMedia || typeof RTCPeerConnection !== 'function') return 'unsupported';
    const status = await permission();
    if (status && status !== watchedPermission) {
      watchedPermission = status;
      status.addEventListener('change', check);
    }
    if (status?.state === 'denied') return 'blocked';
    const devices = await media.enumerateDevices().catch(() => null);
    if (!devices) return 'available';
    return devices.some((device) => device.kind === 'audioinput') ? 'available' : 'absent';
  }

  function check() {
    probe().then(set, (err) => warn(`cannot check the microphone: ${err.message}`));
  }

  return {
    state: () => state,
    granted: () => watchedPermission?.state === 'granted',
    open,
    check,
  };
}
