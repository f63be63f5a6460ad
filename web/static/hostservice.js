// The host page's own service (a CRM): what it registered with
// rc-adapter-register-third-party-service, and the requests the widget sends
// it (rc-post-message-request {requestId, path, body}) with the answers it
// gives (rc-post-message-response {responseId, response}).
//
// This module checks a registration, numbers the requests, keeps each one
// until its answer or HOST_REQUEST_TIMEOUT_MS, and settles it: the answer
// ({data, ...}), or a HostError saying why there is none. It posts through the
// bridge (which sends only to the host origin) and is handed the answers
// the bridge accepted from that origin; it touches no page.

import { asString, isPlainObject, ownValue } from './fields.js';
import { t } from './i18n.js';

export const HOST_REQUEST_TIMEOUT_MS = 10_000;

// The paths a service may name: where the widget asks for each thing.
export const SERVICE_PATHS = Object.freeze([
  'contactsPath', 'contactSearchPath', 'contactMatchPath', 'viewMatchedContactPath',
  'callLoggerPath', 'messageLoggerPath', 'activitiesPath',
]);
// The texts a service may give: its name and its buttons' labels.
export const SERVICE_TEXTS = Object.freeze(['callLoggerTitle', 'messageLoggerTitle', 'callLoggerAutoSettingLabel']);
const MAX_TEXT_LENGTH = 100;
const MAX_PATH_LENGTH = 200;
const PATH = /^\/[^\s]*$/;

const LOG_PREFIX = '[callbridge]';

// HostError is why a request to the host has no data: code is notRegistered,
// noPath, notSent, timeout, hostError (the host answered an error) or
// invalidResponse; the message says it to the user, in the widget's
// language (the host's own words, and its service's name, as it gave them).
export class HostError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'HostError';
    this.code = code;
  }
}

// readService checks a registration's service: {service} with the fields it
// knows (name, each path, each text), or {problem} saying what is wrong.
// Fields it does not know are left out.
export function readService(raw) {
  if (!isPlainObject(raw)) return { problem: 'service must be an object' };
  const name = ownValue(raw, 'name');
  if (typeof name !== 'string' || name.trim() === '' || name.length > MAX_TEXT_LENGTH) {
    return { problem: `service.name must be a non-empty string of at most ${MAX_TEXT_LENGTH} characters` };
  }
  const service = { name: name.trim() };
  for (const key of SERVICE_PATHS) {
    const value = ownValue(raw, key);
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string' || !PATH.test(value) || value.length > MAX_PATH_LENGTH) {
      return { problem: `service.${key} must be a path starting with / (at most ${MAX_PATH_LENGTH} characters, no spaces)` };
    }
    service[key] = value;
  }
  for (const key of SERVICE_TEXTS) {
    const value = ownValue(raw, key);
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string' || value.length > MAX_TEXT_LENGTH) {
      return { problem: `service.${key} must be a string of at most ${MAX_TEXT_LENGTH} characters` };
    }
    service[key] = value;
  }
  return { service: Object.freeze(service) };
}

// errorOf reads the error of a host's answer: null when it has none, else
// the host's words for it ('' for none).
function errorOf(response) {
  const { error } = response;
  if (error === undefined || error === null || error === false) return null;
  if (typeof error === 'string') return error;
  if (isPlainObject(error)) return asString(error.message) || asString(error.code);
  return asString(response.message);
}

// createHostService keeps the host's service and its requests.
//   post:      post({requestId, path, body}) sends the request to the host
//              page (as rc-post-message-request); false when it cannot
//   onChange:  onChange(service or null) after each registration or reset
//   timeoutMs: how long a request waits for its answer
// It returns { register(raw), reset(), service, has(key), request(key, body),
// receive(message), pending }.
export function createHostService({ post, onChange = () => {}, timeoutMs = HOST_REQUEST_TIMEOUT_MS, warn = (...a) => console.warn(LOG_PREFIX, ...a) }) {
  let service = null;
  let next = 1;
  // Requests waiting for their answer, by requestId.
  const waiting = new Map();

  // register takes a registration; a bad one is warned about and changes
  // nothing. It returns the answer to the command.
  function register(raw) {
    const { service: read, problem } = readService(raw);
    if (problem) {
      const message = `rc-adapter-register-third-party-service: ${problem}; nothing was registered`;
      warn(message);
      return { error: 'invalidField', message };
    }
    service = read;
    onChange(service);
    return { data: 'ok' };
  }

  // reset forgets the service (the host page went away or was replaced);
  // the requests waiting fail.
  function reset() {
    service = null;
    for (const [id, pending] of waiting) {
      waiting.delete(id);
      clearTimeout(pending.timer);
      pending.reject(new HostError('notRegistered', t('crm.hostWithdrew')));
    }
    onChange(null);
  }

  const has = (key) => Boolean(service && service[key]);

  // request sends body to the path the service registered under key and
  // resolves with the answer, {data, ...} (a page of contacts adds nextPage).
  function request(key, body = {}) {
    if (!service) return Promise.reject(new HostError('notRegistered', t('crm.noCrm')));
    const path = service[key];
    if (!path) return Promise.reject(new HostError('noPath', t('crm.noPath', { service: service.name, path: key })));
    const requestId = `cb-${Date.now().toString(36)}-${next++}`;
    return new Promise((resolve, reject) => {
      let sent = false;
      try {
        sent = post({ requestId, path, body });
      } catch (err) {
        warn(`${path}: the request could not be sent (${err?.message ?? err})`);
      }
      if (!sent) {
        reject(new HostError('notSent', t('crm.unreachable', { service: service.name })));
        return;
      }
      const timer = setTimeout(() => {
        waiting.delete(requestId);
        reject(new HostError('timeout', t('crm.timeout', { service: service.name, count: Math.round(timeoutMs / 1000) })));
      }, timeoutMs);
      waiting.set(requestId, { resolve, reject, timer, path, name: service.name });
    });
  }

  // receive takes the host's answer {responseId, response} (as
  // rc-post-message-response), which the bridge accepted from the host
  // origin. It returns whether it settled a request.
  function receive(message) {
    const id = message?.responseId;
    const pending = (typeof id === 'string' || Number.isFinite(id)) ? waiting.get(String(id)) : undefined;
    if (!pending) {
      warn(`ignored an answer of the host to no request waiting (${String(id)})`);
      return false;
    }
    waiting.delete(String(id));
    clearTimeout(pending.timer);
    const { response } = message;
    if (!isPlainObject(response)) {
      pending.reject(new HostError('invalidResponse', t('crm.unreadable', { service: pending.name })));
      return true;
    }
    const error = errorOf(response);
    if (error !== null) {
      const message = error
        ? t('crm.hostSaid', { service: pending.name, error })
        : t('crm.hostFailed', { service: pending.name });
      pending.reject(new HostError('hostError', message));
      return true;
    }
    pending.resolve(response);
    return true;
  }

  return {
    register,
    reset,
    has,
    request,
    receive,
    get service() {
      return service;
    },
    get pending() {
      return waiting.size;
    },
  };
}
