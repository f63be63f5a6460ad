// The demo host page's side of the embedding contract: which messages come
// from the widget, and the commands this page sends it, through
// window.RCAdapter (created by adapter.js) or, for commands the adapter has
// no method for, a postMessage straight into the widget frame at the
// widget's exact origin (never '*'). No dependencies: copy what you need.

/** How long a request waits for the widget's answer (contract §2). */
export const REQUEST_TIMEOUT_MS = 5000;

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The sign-in URL of rc-login-popup-notify when this page may open it: an
 * http(s) URL on the widget's origin, or an https URL on one of
 * signInOrigins. Anything else (javascript:, data:, another origin) is
 * refused with a warning, and '' returned.
 */
export function signInUrl(value, widgetOrigin, signInOrigins = []) {
  let url = null;
  try {
    url = new URL(value);
  } catch {
    // Not an absolute URL: refused below.
  }
  const web = url !== null && (url.protocol === 'https:' || url.protocol === 'http:');
  if (web && (url.origin === widgetOrigin || (url.protocol === 'https:' && signInOrigins.includes(url.origin)))) {
    return url.href;
  }
  console.warn(`[demo] refused to open a sign-in URL that is not on the widget's origin ${widgetOrigin}: ${String(value).slice(0, 200)}`);
  return '';
}

/**
 * True for a message of the widget's own frame (widgetWindow, null before
 * the frame exists) at the widget's origin. The origin alone is not enough:
 * any other window on that origin (a page of the widget server opened
 * elsewhere) could post to this page too.
 */
export function isFromWidget(event, widgetOrigin, widgetWindow) {
  if (!widgetOrigin || event.origin !== widgetOrigin) return false;
  if (widgetWindow === null || event.source !== widgetWindow) {
    console.warn('[demo] ignored a message from a window of the widget origin that is not the widget frame');
    return false;
  }
  return true;
}

/** True when data is the widget's answer to requestId. */
export function isAnswerTo(data, requestId) {
  return isObject(data) && data.type === 'rc-adapter-message-response' && data.responseId === requestId;
}

/** The answer's response, or throws the error the widget answered with. */
export function unwrap(answer) {
  const response = isObject(answer.response) ? answer.response : {};
  if (response.error) {
    throw new Error(response.message ? `${response.error}: ${response.message}` : String(response.error));
  }
  return response;
}

export function newRequestId(random = window.crypto) {
  if (random && typeof random.randomUUID === 'function') {
    return random.randomUUID();
  }
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/**
 * createWidgetLink talks with the widget at widgetOrigin. heard(data) must be
 * given every message of the widget, so the commands waiting for an answer
 * get it.
 */
export function createWidgetLink(widgetOrigin) {
  /** Pending waits for a particular message from the widget (see waitForMessage). */
  const waiters = new Set();

  /** window.RCAdapter, or an error saying why it is missing. */
  function adapter() {
    if (!window.RCAdapter) {
      throw new Error('window.RCAdapter is not available: the widget has not loaded');
    }
    return window.RCAdapter;
  }

  /** The widget frame's window, once adapter.js has built the frame. */
  function widgetWindow() {
    const frame = window.RCAdapter && window.RCAdapter.frame;
    return frame && frame.contentWindow ? frame.contentWindow : null;
  }

  function heard(data) {
    for (const waiter of waiters) {
      if (waiter.match(data)) {
        waiters.delete(waiter);
        clearTimeout(waiter.timer);
        waiter.resolve(data);
      }
    }
  }

  /**
   * Resolves with the first message from the widget for which match(data) is
   * true, or rejects after REQUEST_TIMEOUT_MS.
   */
  function waitForMessage(match, what) {
    return new Promise((resolve, reject) => {
      const waiter = { match, resolve };
      waiter.timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`timeout: no ${what} within ${REQUEST_TIMEOUT_MS / 1000} s`));
      }, REQUEST_TIMEOUT_MS);
      waiters.add(waiter);
    });
  }

  /** Calls RCAdapter[name](...args) and returns what it returns. */
  function callAdapter(name, ...args) {
    const rc = adapter();
    if (typeof rc[name] !== 'function') {
      throw new Error(`RCAdapter.${name} is not a function`);
    }
    return rc[name](...args);
  }

  /**
   * Posts a command straight into the widget frame, for commands the adapter
   * has no method for. It carries a requestId so the widget answers it.
   */
  function postCommand(message) {
    const frame = adapter().frame;
    if (!frame || !frame.contentWindow) {
      throw new Error('the widget frame is not available');
    }
    const requestId = newRequestId();
    frame.contentWindow.postMessage({ ...message, requestId }, widgetOrigin);
    return requestId;
  }

  /** Posts a command and resolves with the widget's answer to it. */
  async function sendCommand(message) {
    const requestId = postCommand(message);
    const answer = await waitForMessage((d) => isAnswerTo(d, requestId), `answer to ${message.type}`);
    return unwrap(answer);
  }

  /** rc-adapter-message-request: asks the widget something at path. */
  function messageRequest(path, body) {
    return sendCommand({ type: 'rc-adapter-message-request', path, body });
  }

  /**
   * rc-adapter-webphone-sessions-sync: the widget replies with
   * rc-webphone-sessions-sync {calls}; an error comes back as an answer instead.
   */
  async function syncSessions() {
    const requestId = postCommand({ type: 'rc-adapter-webphone-sessions-sync' });
    const reply = await waitForMessage(
      (d) => (isObject(d) && d.type === 'rc-webphone-sessions-sync') ||
        (isAnswerTo(d, requestId) && isObject(d.response) && Boolean(d.response.error)),
      'rc-webphone-sessions-sync',
    );
    if (reply.type !== 'rc-webphone-sessions-sync') {
      unwrap(reply); // throws the widget's error
    }
    const calls = Array.isArray(reply.calls) ? reply.calls : [];
    return { calls };
  }

  return {
    isFromWidget: (event) => isFromWidget(event, widgetOrigin, widgetWindow()),
    heard,
    callAdapter,
    sendCommand,
    messageRequest,
    syncSessions,
  };
}
