// The widget's requests to its server: every one is JSON, carries the
// widget's headers, and fails as a RequestError with the server's errorCode.
// It also keeps the widget's own endpoints of the session (sign-in, sign-out,
// state, a tab's device).

import { language, t } from './i18n.js';
import { asString, isPlainObject } from './fields.js';

// The widget's own endpoints. Every request carries X-Callbridge: a page on
// another site cannot add a custom header without a preflight, which the
// server refuses, so the header proves the request comes from the widget.
const ENDPOINTS = {
  devices: '/widget/devices',
  login: '/widget/login',
  completeLogin: '/widget/login/complete',
  logout: '/widget/logout',
  state: '/widget/state',
};
// X-Callbridge-Client names the page's app: the server refuses a request of
// a page whose app is not the session's.
const requestHeaders = { 'Content-Type': 'application/json', 'X-Callbridge': '1', 'X-Callbridge-Client': '' };

// setClient names the page's app in every request from now on.
export function setClient(clientId) {
  requestHeaders['X-Callbridge-Client'] = clientId;
}

const REQUEST_TIMEOUT_MS = 15_000;
// A recording takes longer than a JSON answer: a few minutes of audio.
const MEDIA_TIMEOUT_MS = 60_000;

// What the user reads of a failed request, by the server's errorCode. In
// English the server's own message says it best; in another language the
// catalogue's message for the code does, or a general one.
const ERROR_TEXT = {
  network: 'errors.network',
  badResponse: 'errors.badResponse',
  NotSignedIn: 'errors.notSignedIn',
  LoginExpired: 'errors.loginExpired',
  LoginFailed: 'errors.loginFailed',
  InsufficientPermissions: 'errors.notAllowed',
  Forbidden: 'errors.notAllowed',
  DeviceNotYours: 'errors.notAllowed',
  NotFound: 'errors.notFound',
  InvalidParameter: 'errors.invalidParameter',
  InvalidNumber: 'errors.invalidNumber',
  TargetUnreachable: 'errors.targetUnreachable',
  InvalidState: 'errors.invalidState',
  TooManyCalls: 'errors.tooManyCalls',
  TooManyRequests: 'errors.tooManyRequests',
  TooManyDevices: 'errors.tooManyDevices',
  CallingOff: 'errors.callingOff',
  MessagingOff: 'errors.messagingOff',
  InboundSMSOff: 'errors.messagingOff',
  FeatureNotAvailable: 'errors.featureNotAvailable',
  RecordingUnavailable: 'errors.recordingUnavailable',
  RecordingInProgress: 'errors.recordingInProgress',
  ConferenceFull: 'errors.conferenceFull',
  DepartmentHasNoPhones: 'errors.departmentHasNoPhones',
  AudioStorageFull: 'errors.audioStorageFull',
  RequestTooLarge: 'errors.requestTooLarge',
  RingOutNotInProgress: 'errors.ringOutNotInProgress',
  ShuttingDown: 'errors.unavailable',
  ServiceUnavailable: 'errors.unavailable',
  StorageUnavailable: 'errors.unavailable',
  InternalError: 'errors.internal',
};

// errorText is what a user reads of a failed request.
export function errorText(code, serverMessage = '') {
  if (serverMessage && language().toLowerCase().startsWith('en')) return serverMessage;
  return t(ERROR_TEXT[code] ?? 'errors.refused');
}

// RequestError is a failed request: code is the server's errorCode (or
// network, badResponse), message says what went wrong in words a user can
// read, and param names the request's field at fault, when one is.
export class RequestError extends Error {
  constructor(code, message, param = '') {
    super(message);
    this.name = 'RequestError';
    this.code = code;
    this.param = param;
  }
}

export async function request(method, url, body) {
  let response;
  try {
    response = await fetch(url, {
      method,
      credentials: 'same-origin',
      headers: requestHeaders,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch {
    throw new RequestError('network', errorText('network'));
  }
  // Done, with nothing to say (a cancelled RingOut).
  if (response.status === 204) return {};
  const payload = await response.json().catch(() => null);
  if (!response.ok) {
    const code = asString(payload?.errorCode) || `http${response.status}`;
    throw new RequestError(
      code,
      errorText(code, asString(payload?.message)),
      Array.isArray(payload?.errors) ? asString(payload.errors[0]?.parameterName) : '',
    );
  }
  if (!isPlainObject(payload)) {
    throw new RequestError('badResponse', errorText('badResponse'));
  }
  return payload;
}

// fetchMedia fetches audio of the widget's server (a voicemail, the
// greeting) with the widget's headers, which a media element cannot send,
// and resolves to an object URL of it for the element; the caller revokes
// it. It rejects with a RequestError: NotFound when there is none.
export async function fetchMedia(url) {
  let response;
  try {
    response = await fetch(url, {
      credentials: 'same-origin',
      headers: { 'X-Callbridge': '1', 'X-Callbridge-Client': requestHeaders['X-Callbridge-Client'] },
      signal: AbortSignal.timeout(MEDIA_TIMEOUT_MS),
    });
  } catch {
    throw new RequestError('network', errorText('network'));
  }
  if (!response.ok) {
    const payload = await response.json().catch(() => null);
    const code = asString(payload?.errorCode) || (response.status === 404 ? 'NotFound' : `http${response.status}`);
    throw new RequestError(code, errorText(code, asString(payload?.message)));
  }
  return URL.createObjectURL(await response.blob());
}

// Signing in or out gives the session cookie a new id. A state read that
// overlaps one may have left with the old cookie, so its answer is stale:
// state() answers null then, and the sign-in or sign-out's own answer counts.
let sessionChanges = 0;
let sessionChangesDone = 0;

function changingSession(promise) {
  sessionChanges += 1;
  return promise.finally(() => {
    sessionChangesDone += 1;
  });
}

export const server = {
  newDevice: () => request('POST', ENDPOINTS.devices, {}),
  startLogin: (mode) => request('POST', ENDPOINTS.login, { mode }),
  completeLogin: (callbackUri) => changingSession(request('POST', ENDPOINTS.completeLogin, { callbackUri })),
  logout: () => changingSession(request('POST', ENDPOINTS.logout, {})),
  async state() {
    const before = sessionChanges;
    if (before !== sessionChangesDone) return null;
    const session = await request('GET', ENDPOINTS.state);
    return sessionChanges === before && sessionChangesDone === before ? session : null;
  },
};
