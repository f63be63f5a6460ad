// Messaging between the widget and the page that embeds it.
//
// Outbound messages go to one exact origin: the host page's, and only when
// that origin is on the app's allowed list. Inbound commands are accepted only
// from the parent window at that origin, validated against the COMMANDS table,
// and run through an ordered queue that lets a command wait (up to
// COMMAND_TIMEOUT_MS) until the widget can carry it out. A command that
// carries a requestId is answered exactly once, whatever it holds and
// whatever its handler does. What each command holds and how it runs is
// commands.js's; this module carries messages both ways.

import { COMMANDS, COMMON_FIELDS } from './commands.js';
import { describeProblems, isPlainObject, ownValue, validateFields } from './fields.js';
import { resolveHostOrigin } from './early.js';

export const COMMAND_TIMEOUT_MS = 10_000;

const LOG_PREFIX = '[callbridge]';
const warn = (...args) => console.warn(LOG_PREFIX, ...args);

const RESPONSE_TYPE = 'rc-adapter-message-response';
const isThenable = (v) => typeof v?.then === 'function';

// errorText describes what a handler threw or rejected with, whatever it is.
function errorText(err) {
  try {
    return typeof err?.message === 'string' && err.message !== '' ? err.message : String(err);
  } catch {
    return 'unknown error';
  }
}

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
//               callLog({perPage}), registerService(service) (the
//               host's CRM, hostservice.js) and hostResponse(message) (its
//               answer to a request), each -> a response or a Promise of
//               one }
//   isOwnMessage: true for a message from one of the widget's own windows
//             (the sign-in window); another listener handles those
//   early:    what the page's boot script started (early.js), if it ran:
//             the messages it kept are handled first, in order
// It returns { hostOrigin, post(message), relay(event), listen(),
// stateChanged() }.
export function createBridge({ config, getState, actions, isOwnMessage = () => false, early = null, win = window }) {
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
    // An answer to the widget's own request waits for nothing.
    if (handler.immediate) {
      run(command, handler, context());
      return;
    }
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

  // listen starts taking the host's commands, those the boot script kept
  // first; the widget calls it once everything a command may use is there.
  function listen() {
    win.addEventListener('message', onMessage);
    early?.take().forEach(onMessage);
  }

  return { hostOrigin, post, relay, listen, stateChanged: queue.drain };
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
