// Messaging between the widget and the page that embeds it.
//
// Outbound messages go to one exact origin: the host page's, and only when
// that origin is on the app's allowed list. Inbound commands are accepted only
// from the parent window at that origin, validated against the COMMANDS table,
// and run through an ordered queue that lets a command wait (up to
// COMMAND_TIMEOUT_MS) until the widget can carry it out. A command that
// carries a requestId is answered exactly once, whatever it holds and
// whatever its handler does.

export const COMMAND_TIMEOUT_MS = 10_000;

// The longest callbackUri the widget hands to its server.
export const MAX_URI_LENGTH = 4096;

const LOG_PREFIX = '[callbridge]';
const warn = (...args) => console.warn(LOG_PREFIX, ...args);

const RESPONSE_TYPE = 'rc-adapter-message-response';
const ALERT_LEVELS = ['info', 'warning', 'danger'];
const CALL_ACTIONS = [
  'answer', 'reject', 'hangup', 'hold', 'unhold', 'mute', 'unmute', 'transfer',
  'forward', 'dtmf', 'startRecord', 'stopRecord', 'toVoicemail',
];
// Call actions of the contract the web phone does not carry out yet.
const UNSUPPORTED_CALL_ACTIONS = ['transfer', 'forward', 'toVoicemail', 'startRecord', 'stopRecord'];
// What rc-adapter-set-presence may set (docs/events.md rc-adapter-syncPresence).
const USER_STATUSES = ['Available', 'Busy', 'Offline'];
const DND_STATUSES = ['TakeAllCalls', 'DoNotAcceptAnyCalls', 'DoNotAcceptDepartmentCalls', 'TakeDepartmentCallsOnly'];
// The tones of options.dtmf: digits, *, #, A-D.
const DTMF_TONES = /^[0-9*#A-D]{1,64}$/i;
const OK = Object.freeze({ data: 'ok' });

export const isUri = (v) => typeof v === 'string' && v !== '' && v.length <= MAX_URI_LENGTH;
export const asString = (value) => (typeof value === 'string' ? value : '');
const isThenable = (v) => typeof v?.then === 'function';

// ownValue is table[key] when table holds key itself, else undefined. Keys
// from outside (a command's type, a request's path, an event's type) go
// through it, so names every object inherits (constructor, __proto__,
// toString...) find nothing instead of a built-in.
export const ownValue = (table, key) => (Object.hasOwn(table, key) ? table[key] : undefined);

// ---------------------------------------------------------------------------
// Field validation

const FIELD_TYPES = {
  string: { label: 'a string', check: (v) => typeof v === 'string' },
  boolean: { label: 'a boolean', check: (v) => typeof v === 'boolean' },
  number: { label: 'a number', check: (v) => Number.isFinite(v) },
  object: { label: 'an object', check: (v) => isPlainObject(v) },
  uri: { label: `a URL of at most ${MAX_URI_LENGTH} characters`, check: isUri },
  id: {
    label: 'a non-empty string or a number',
    check: (v) => (typeof v === 'string' && v !== '') || Number.isFinite(v),
  },
};

const required = (type, values) => ({ type, optional: false, values });
const optional = (type, values) => ({ type, optional: true, values });

export function isPlainObject(value) {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

// validateFields checks payload against a table of field descriptors and
// returns one {field, reason} per problem; an empty list means valid.
export function validateFields(fields, payload) {
  const problems = [];
  for (const [field, { type, optional: isOptional, values }] of Object.entries(fields)) {
    const value = ownValue(payload, field);
    const { label, check } = FIELD_TYPES[type];
    if (value === undefined || value === null) {
      if (!isOptional) problems.push({ field, reason: `is required (${label})` });
    } else if (!check(value)) {
      problems.push({ field, reason: `must be ${label}` });
    } else if (values && !values.includes(value)) {
      problems.push({ field, reason: `must be one of ${values.join(', ')}` });
    }
  }
  return problems;
}

const describeProblems = (problems) =>
  problems.map(({ field, reason }) => `${field} ${reason}`).join('; ');

// errorText describes what a handler threw or rejected with, whatever it is.
function errorText(err) {
  try {
    return typeof err?.message === 'string' && err.message !== '' ? err.message : String(err);
  } catch {
    return 'unknown error';
  }
}

// ---------------------------------------------------------------------------
// Command handlers. Each returns the response a request is answered with.

function controlCallUnsupported(command, ctx) {
  const message = `${command.type} (${command.callAction}) is not available yet`;
  ctx.warn(message);
  ctx.post({ type: 'rc-control-call-error', error: 'unsupported', message, callId: command.callId ?? null });
  return { error: 'unsupported', message };
}

// newCall opens the dialer with the number, and dials it when toCall is set.
function newCall(command, ctx) {
  return ctx.actions.newCall(command.phoneNumber, command.toCall === true);
}

// The dialer can take a call, or says why it cannot (dialerProblem): either
// way a new call need not wait any longer.
function dialerSettled(state) {
  return state.loggedIn && (state.dialerReady || Boolean(state.dialerProblem));
}

// controlCall carries out a call action on the web phone. Each failure is
// also told to the host as rc-control-call-error.
async function controlCall(command, ctx) {
  if (UNSUPPORTED_CALL_ACTIONS.includes(command.callAction)) return controlCallUnsupported(command, ctx);
  if (command.callAction === 'dtmf' && !DTMF_TONES.test(asString(command.options?.dtmf))) {
    const message = `${command.type}: options.dtmf must be 1 to 64 of 0-9 * # A-D`;
    ctx.warn(message);
    return { error: 'invalidField', message };
  }
  const { callId, ...response } = await ctx.actions.controlCall(command);
  if (response.error) {
    ctx.warn(`${command.type} (${command.callAction}): ${response.message}`);
    ctx.post({ type: 'rc-control-call-error', error: response.error, message: response.message, callId: callId ?? null });
  }
  return response;
}

// syncSessions tells the host the calls of this device.
async function syncSessions(_command, ctx) {
  const calls = await ctx.actions.webphoneSessions();
  ctx.post({ type: 'rc-webphone-sessions-sync', calls });
  return { data: calls };
}

function navigateTo(command, ctx) {
  if (ctx.actions.navigate(command.path)) return OK;
  const message = `${command.type}: unknown path "${command.path}"`;
  ctx.warn(message);
  return { error: 'invalidPath', message };
}

function showCustomAlert(body, ctx) {
  ctx.actions.showAlert({
    message: body.alertMessage,
    level: body.alertLevel ?? 'info',
    ttl: body.ttl,
  });
  return OK;
}

// callLog answers /get-call-log and /unlogged-calls with the signed-in
// user's recent calls, newest first. The widget logs no call anywhere, so
// every call counts as unlogged.
function callLog(body, ctx, path) {
  if (!ctx.state.loggedIn) {
    return { error: 'notSignedIn', message: `${path} needs a signed-in user` };
  }
  return ctx.actions.callLog({ perPage: body.perPage });
}

// newSms opens the message composer with the number and the text.
function newSms(command, ctx) {
  return ctx.actions.newSms({
    phoneNumber: command.phoneNumber,
    text: command.text ?? '',
    conversation: command.conversation === true,
  });
}

// setPresence sets the user's status; rc-adapter-syncPresence follows.
function setPresence(command, ctx) {
  if (command.userStatus === undefined && command.dndStatus === undefined) {
    const message = `${command.type}: give userStatus, dndStatus or both`;
    ctx.warn(message);
    return { error: 'invalidField', message };
  }
  return ctx.actions.setPresence({ userStatus: command.userStatus, dndStatus: command.dndStatus });
}

// callingSettings changes the calling mode, the phone a RingOut rings first
// and the caller id; rc-calling-settings-notify follows a change.
function callingSettings(command, ctx) {
  const { callWith, myLocation, fromNumber } = command;
  return ctx.actions.callingSettings({ callWith, myLocation, fromNumber });
}

const signedIn = (state) => state.loggedIn;

// runSessionAction answers a sign-in command once its action settles:
// {data:'ok'}, or the error code and message the action rejected with.
async function runSessionAction(command, ctx, action) {
  try {
    await action();
    return OK;
  } catch (err) {
    const message = err?.message || String(err);
    ctx.warn(`${command.type}: ${message}`);
    return { error: err?.code || 'failed', message };
  }
}

function login(command, ctx) {
  return runSessionAction(command, ctx, () => ctx.actions.login());
}

function logout(command, ctx) {
  return runSessionAction(command, ctx, () => ctx.actions.logout());
}

function authorizationCode(command, ctx) {
  return runSessionAction(command, ctx, () => ctx.actions.authorize(command.callbackUri));
}

// Paths of rc-adapter-message-request, each with the fields of its body.
const REQUESTS = Object.freeze({
  '/custom-alert-message': {
    fields: {
      alertMessage: required('string'),
      alertLevel: optional('string', ALERT_LEVELS),
      ttl: optional('number'),
    },
    run: showCustomAlert,
  },
  '/get-call-log': { fields: { perPage: optional('number') }, run: callLog },
  '/unlogged-calls': { fields: { perPage: optional('number') }, run: callLog },
});

function answerRequest(command, ctx) {
  const request = ownValue(REQUESTS, command.path);
  if (!request) {
    const message = `no handler for ${command.path}`;
    ctx.warn(`${command.type}: ${message}`);
    return { error: 'unknownPath', message };
  }
  const body = command.body ?? {};
  const problems = validateFields(request.fields, body);
  if (problems.length > 0) {
    const message = `${command.path}: ${describeProblems(problems)}`;
    ctx.warn(message);
    return { error: 'invalidRequest', message };
  }
  return request.run(body, ctx, command.path);
}

// Every command type of the embedding contract: its fields, and how it runs.
// A handler may add canRun(state, command); while it returns false the
// command waits in the queue. run returns the response, or a Promise of it;
// the commands behind wait until it settles.
export const COMMANDS = Object.freeze({
  'rc-adapter-navigate-to': {
    fields: { path: required('string') },
    run: navigateTo,
  },
  'rc-adapter-message-request': {
    fields: { requestId: required('id'), path: required('string'), body: optional('object') },
    run: answerRequest,
  },
  'rc-adapter-new-call': {
    fields: { phoneNumber: required('string'), toCall: optional('boolean') },
    canRun: dialerSettled,
    run: newCall,
  },
  'rc-adapter-control-call': {
    fields: {
      callAction: required('string', CALL_ACTIONS),
      callId: optional('string'),
      options: optional('object'),
    },
    run: controlCall,
  },
  'rc-adapter-new-sms': {
    fields: { phoneNumber: required('string'), text: optional('string'), conversation: optional('boolean') },
    canRun: signedIn,
    run: newSms,
  },
  'rc-adapter-login': { fields: {}, run: login },
  'rc-adapter-logout': { fields: {}, run: logout },
  'rc-adapter-authorization-code': {
    fields: { callbackUri: required('uri') },
    run: authorizationCode,
  },
  'rc-adapter-set-presence': {
    fields: { userStatus: optional('string', USER_STATUSES), dndStatus: optional('string', DND_STATUSES) },
    canRun: signedIn,
    run: setPresence,
  },
  'rc-calling-settings-update': {
    fields: {
      callWith: optional('string', ['browser', 'ringout']),
      myLocation: optional('string'),
      fromNumber: optional('string'),
    },
    run: callingSettings,
  },
  'rc-adapter-webphone-sessions-sync': { fields: {}, run: syncSessions },
});

// Any command may carry a requestId; it is then answered exactly once.
const COMMON_FIELDS = { requestId: optional('id') };

// ---------------------------------------------------------------------------
// Ordered command queue

// createCommandQueue runs jobs ({canRun(state), run(), expire()}) in arrival
// order. A job that cannot run yet waits, and so does everything behind it;
// so does everything behind a job whose run() returned a Promise, until it
// settles. drain() re-checks the head, and a job still waiting after
// timeoutMs is expired instead of run.
export function createCommandQueue({ getState, timeoutMs = COMMAND_TIMEOUT_MS }) {
  const waiting = [];
  let timer = null;
  let draining = false;
  let running = false;

  function schedule() {
    clearTimeout(timer);
    timer = null;
    if (waiting.length > 0) {
      timer = setTimeout(drain, Math.max(0, waiting[0].deadline - Date.now()));
    }
  }

  function drain() {
    if (draining) return;
    draining = true;
    try {
      while (waiting.length > 0) {
        const { job, deadline } = waiting[0];
        if (!running && job.canRun(getState())) {
          waiting.shift();
          start(job);
        } else if (Date.now() >= deadline) {
          waiting.shift();
          job.expire();
        } else {
          break;
        }
      }
    } finally {
      draining = false;
      schedule();
    }
  }

  function start(job) {
    const result = job.run();
    if (!isThenable(result)) return;
    running = true;
    const finish = () => {
      running = false;
      drain();
    };
    result.then(finish, finish);
  }

  function submit(job) {
    waiting.push({ job, deadline: Date.now() + timeoutMs });
    drain();
  }

  return {
    submit,
    drain,
    get size() {
      return waiting.length;
    },
  };
}

// ---------------------------------------------------------------------------
// Host origin

function originOf(url) {
  try {
    return new URL(url).origin;
  } catch {
    return '';
  }
}

// resolveHostOrigin picks the origin of the embedding page: the one the
// server determined, else the frame's first ancestor, else the referrer's.
// origin is '' unless the candidate is on the app's allowed list.
export function resolveHostOrigin(config, { ancestorOrigins, referrer }) {
  const candidate = config.hostOrigin || ancestorOrigins?.[0] || originOf(referrer);
  const allowed = config.allowedOrigins ?? [];
  return { candidate, origin: allowed.includes(candidate) ? candidate : '' };
}

// Events from the server that the host page also receives.
export function isRelayedEvent(type) {
  return type.endsWith('-notify') || type === 'rc-adapter-syncPresence';
}

// The key under which each message event reaches the host once: an update
// once per message id and lastModifiedTime, an inbound message once per id.
const MESSAGE_EVENT_KEYS = Object.freeze({
  'rc-message-updated-notify': (message) => `${message.id} ${message.lastModifiedTime}`,
  'rc-inbound-message-notify': (message) => String(message.id),
});
// How many keys of each type are remembered; the oldest go first.
export const MAX_REMEMBERED_MESSAGE_EVENTS = 2048;

const isMessageId = (v) => (typeof v === 'string' && v !== '') || Number.isFinite(v);

// createMessageEventFilter returns firstTime(event): false for a message
// event the host has had already, whatever brought it again (the event
// stream replays after a reconnect what it may have delivered before), and
// for one without a message; true for everything else.
export function createMessageEventFilter(limit = MAX_REMEMBERED_MESSAGE_EVENTS) {
  const seen = new Map(Object.keys(MESSAGE_EVENT_KEYS).map((type) => [type, new Set()]));
  return function firstTime(event) {
    const keyOf = ownValue(MESSAGE_EVENT_KEYS, event.type);
    if (!keyOf) return true;
    if (!isPlainObject(event.message) || !isMessageId(event.message.id)) {
      warn(`ignored ${event.type} without a message id`);
      return false;
    }
    const keys = seen.get(event.type);
    const key = keyOf(event.message);
    if (keys.has(key)) return false;
    keys.add(key);
    if (keys.size > limit) keys.delete(keys.values().next().value);
    return true;
  };
}

// ---------------------------------------------------------------------------
// Bridge

// createBridge connects the widget to its host page.
//   config:   the widget's boot configuration
//   getState: returns the widget's current state (read by handlers and canRun)
//   actions:  { navigate(path) -> boolean, showAlert({message, level, ttl}),
//               login(), logout(), authorize(callbackUri) -> Promise that
//               rejects with an Error carrying a code,
//               newCall(phoneNumber, toCall), controlCall(command) -> Promise
//               of a response ({data} or {error, message}; controlCall adds
//               the callId concerned), webphoneSessions() -> Promise of the
//               device's calls, newSms({phoneNumber, text, conversation}),
//               setPresence({userStatus, dndStatus}),
//               callingSettings({callWith, myLocation, fromNumber}) and
//               callLog({perPage}), each -> a response or a Promise of one }
//   isOwnMessage: true for a message from one of the widget's own windows
//             (the sign-in window); another listener handles those
// It returns { hostOrigin, post(message), relay(event), stateChanged() }.
export function createBridge({ config, getState, actions, isOwnMessage = () => false, win = window }) {
  const framed = win.parent !== win;
  const hostOrigin = framed ? findHostOrigin(config, win) : '';
  if (!framed) console.info(LOG_PREFIX, 'not inside a frame; host messaging is off');

  const queue = createCommandQueue({ getState });
  const firstTime = createMessageEventFilter();

  function post(message) {
    if (!hostOrigin) return false;
    win.parent.postMessage(message, hostOrigin);
    return true;
  }

  function relay(event) {
    return isRelayedEvent(event.type) && firstTime(event) && post(event);
  }

  // answer posts the response to a command that carried a requestId. A
  // response the browser cannot copy to the host is answered with an error
  // instead: either way the host hears exactly one answer.
  function answer(command, response) {
    if (command.requestId === undefined || command.requestId === null) return;
    const responseId = command.requestId;
    try {
      post({ type: RESPONSE_TYPE, responseId, response });
    } catch (err) {
      const message = `${command.type}: the answer could not be sent (${errorText(err)})`;
      warn(message);
      post({ type: RESPONSE_TYPE, responseId, response: { error: 'failed', message } });
    }
  }

  function isFromHost(event) {
    if (event.source !== win.parent || !framed) {
      warn('ignored a message that does not come from the host page');
      return false;
    }
    if (!hostOrigin || event.origin !== hostOrigin) {
      warn(`ignored a message from origin ${event.origin}: it is not the host origin`);
      return false;
    }
    return true;
  }

  // refuse warns of a command the widget does not carry out, and answers it
  // with the error unless its requestId is unusable.
  function refuse(command, error, message) {
    warn(`ignored ${message}`);
    if (validateFields(COMMON_FIELDS, command).length === 0) answer(command, { error, message });
  }

  function reject(command, problems) {
    refuse(command, 'invalidField', `${command.type}: ${describeProblems(problems)}`);
  }

  // failure is the response to a handler that threw or rejected.
  function failure(command, err) {
    const message = `${command.type}: ${errorText(err)}`;
    warn(message);
    return { error: 'failed', message };
  }

  // respond answers command with a handler's response, once it is there.
  function respond(command, response) {
    if (!isThenable(response)) {
      answer(command, response);
      return undefined;
    }
    return response.then(
      (settled) => answer(command, settled),
      (err) => answer(command, failure(command, err)),
    );
  }

  // run carries out command; what its handler throws is answered as an
  // error, and the commands behind it go on.
  function run(command, handler, context) {
    let response;
    try {
      response = handler.run(command, context);
    } catch (err) {
      response = failure(command, err);
    }
    return respond(command, response);
  }

  function accept(command, handler) {
    const context = () => ({ actions, post, warn, state: getState() });
    queue.submit({
      canRun: (state) => handler.canRun?.(state, command) ?? true,
      run: () => run(command, handler, context()),
      expire: () => {
        const message = `${command.type} could not run within ${COMMAND_TIMEOUT_MS / 1000} s`;
        warn(message);
        answer(command, { error: 'timeout', message });
      },
    });
  }

  function onMessage(event) {
    if (isOwnMessage(event) || !isFromHost(event)) return;
    const command = event.data;
    if (!isPlainObject(command)) {
      warn('ignored a host message that is not an object');
      return;
    }
    if (typeof command.type !== 'string') {
      refuse(command, 'invalidField', 'a host message without a string type');
      return;
    }
    const handler = ownValue(COMMANDS, command.type);
    if (!handler) {
      refuse(command, 'unknownCommand', `unknown command ${command.type}`);
      return;
    }
    const problems = validateFields({ ...COMMON_FIELDS, ...handler.fields }, command);
    if (problems.length > 0) {
      reject(command, problems);
      return;
    }
    accept(command, handler);
  }

  win.addEventListener('message', onMessage);

  return { hostOrigin, post, relay, stateChanged: queue.drain };
}

function findHostOrigin(config, win) {
  const { candidate, origin } = resolveHostOrigin(config, {
    ancestorOrigins: win.location.ancestorOrigins,
    referrer: win.document.referrer,
  });
  if (!origin) {
    warn(`host origin "${candidate || 'unknown'}" is not allowed for this app; nothing will be sent to the host page`);
  }
  return origin;
}
