/*
 * Demo host page ("CRM") script.
 *
 * It shows the two directions of the embedding contract:
 *   - widget → host: a `message` listener that accepts only messages of the
 *     widget's own frame (event.source) at the widget's exact origin
 *     (event.origin), and logs every event (newest first); the raw records
 *     are kept in window.cbDemo.messages as {time, origin, data};
 *   - host → widget: buttons that call window.RCAdapter (created by adapter.js),
 *     and, for commands the adapter has no method for, a postMessage straight
 *     into the widget frame at the widget's exact origin (never '*');
 *   - sign-in through the host (disableLoginPopup=1): on rc-login-popup-notify
 *     the page opens the sign-in window itself, once it has checked that
 *     oAuthUri is a web URL on the widget's origin; its redirect page on this
 *     origin posts {callbackUri} back, and the page hands it to the widget as
 *     rc-adapter-authorization-code.
 * When a command returns a Promise, its outcome is shown in the status line.
 *
 * Plain script, no dependencies: copy what you need.
 */
(() => {
  'use strict';

  /** The one origin we accept messages from and post commands to. */
  const widgetOrigin = document.body.dataset.widgetOrigin || '';

  /**
   * Origins besides the widget's that may serve the sign-in page, https only.
   * When the widget server signs users in through an external provider
   * (--oidc-issuer), add the origin of its authorization endpoint here.
   */
  const SIGN_IN_ORIGINS = [];

  /** How long a request waits for the widget's answer (contract §2). */
  const REQUEST_TIMEOUT_MS = 5000;

  /** Log entries kept in the DOM; window.cbDemo.messages keeps them all. */
  const MAX_RENDERED = 500;

  const demo = { widgetOrigin, messages: [] };
  window.cbDemo = demo;

  const $ = (id) => document.getElementById(id);
  const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

  // ---------------------------------------------------------------------------
  // Widget → host: receive, record, render.

  /** Pending waits for a particular message from the widget (see waitForMessage). */
  const waiters = new Set();

  window.addEventListener('message', (event) => {
    if (hostSignIn.isFromWindow(event)) {
      hostSignIn.receive(event.data); // The sign-in window's own message: not the widget's.
      return;
    }
    if (!isFromWidget(event)) {
      return; // Not from the widget: not ours to read.
    }
    const entry = { time: Date.now(), origin: event.origin, data: event.data };
    demo.messages.push(entry);
    markWidget('connected', 'Widget connected');
    hostSignIn.follow(event.data);
    for (const waiter of waiters) {
      if (waiter.match(event.data)) {
        waiters.delete(waiter);
        clearTimeout(waiter.timer);
        waiter.resolve(event.data);
      }
    }
    log.add(entry);
  });

  /** The widget frame's window, once adapter.js has built the frame. */
  function widgetWindow() {
    const frame = window.RCAdapter && window.RCAdapter.frame;
    return frame && frame.contentWindow ? frame.contentWindow : null;
  }

  /**
   * True for a message of the widget's own frame at the widget's origin. The
   * origin alone is not enough: any other window on that origin (a page of
   * the widget server opened elsewhere) could post to this page too.
   */
  function isFromWidget(event) {
    if (!widgetOrigin || event.origin !== widgetOrigin) return false;
    const source = widgetWindow();
    if (source === null || event.source !== source) {
      console.warn('[demo] ignored a message from a window of the widget origin that is not the widget frame');
      return false;
    }
    return true;
  }

  /**
   * The sign-in URL of rc-login-popup-notify when this page may open it: an
   * http(s) URL on the widget's origin, or an https URL on one of
   * SIGN_IN_ORIGINS. Anything else (javascript:, data:, another origin) is
   * refused with a warning, and '' returned.
   */
  function signInUrl(value) {
    let url = null;
    try {
      url = new URL(value);
    } catch {
      // Not an absolute URL: refused below.
    }
    const web = url !== null && (url.protocol === 'https:' || url.protocol === 'http:');
    if (web && (url.origin === widgetOrigin || (url.protocol === 'https:' && SIGN_IN_ORIGINS.includes(url.origin)))) {
      return url.href;
    }
    console.warn(`[demo] refused to open a sign-in URL that is not on the widget's origin ${widgetOrigin}: ${String(value).slice(0, 200)}`);
    return '';
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

  const log = (() => {
    const list = $('log');
    const count = $('log-count');
    const empty = $('log-empty');
    const filter = $('log-filter');
    /** Rendered entries, oldest first: {el, text} where text is what the filter searches. */
    let rendered = [];

    function add(entry) {
      const data = entry.data;
      const type = isObject(data) && typeof data.type === 'string' ? data.type : '(no type)';
      const json = stringify(data, 2);

      const item = el('li', 'entry');
      item.dataset.kind = kindOf(type, data);
      item.dataset.type = type;

      const details = el('details');
      const summary = el('summary');
      const time = el('time', 'entry-time', clock(entry.time));
      time.dateTime = new Date(entry.time).toISOString();
      summary.title = `from ${entry.origin}`;
      summary.append(el('span', 'entry-type', type), time, el('code', 'entry-preview', preview(data)));
      details.append(summary, el('div', 'entry-origin', entry.origin), el('pre', 'entry-json', json));
      item.append(details);

      const record = { el: item, text: `${type}\n${json}`.toLowerCase() };
      item.hidden = !matches(record);
      list.prepend(item);
      rendered.push(record);
      if (rendered.length > MAX_RENDERED) {
        rendered.shift().el.remove();
      }
      update();
    }

    function matches(record) {
      const q = filter.value.trim().toLowerCase();
      return q === '' || record.text.includes(q);
    }

    function update() {
      const total = demo.messages.length;
      const shown = rendered.filter((r) => !r.el.hidden).length;
      const filtering = filter.value.trim() !== '';
      count.textContent = filtering ? `${shown} of ${total}` : String(total);
      empty.hidden = total > 0;
    }

    filter.addEventListener('input', () => {
      for (const record of rendered) {
        record.el.hidden = !matches(record);
      }
      update();
    });

    $('log-clear').addEventListener('click', () => {
      demo.messages.length = 0; // In place: holders of the array see it emptied.
      rendered = [];
      list.replaceChildren();
      update();
    });

    update();
    return { add };
  })();

  /** Groups message types so the log can colour them. */
  function kindOf(type, data) {
    if (type === 'rc-control-call-error' || type === 'rc-call-failed-notify') return 'error';
    if (type === 'rc-adapter-message-response') {
      return isObject(data.response) && data.response.error ? 'error' : 'response';
    }
    if (/^rc-(call|ringout|active-call|telephony|webphone|dtmf)/.test(type)) return 'call';
    if (/^rc-(login|adapter-syncPresence)/.test(type)) return 'auth';
    if (/^rc-(message|inbound-message)/.test(type)) return 'message';
    return 'info';
  }

  /** One line summing up a message: its fields other than type, compact. */
  function preview(data) {
    let rest = data;
    if (isObject(data)) {
      rest = { ...data };
      delete rest.type;
    }
    const text = stringify(rest, 0);
    return text.length > 140 ? `${text.slice(0, 139)}…` : text;
  }

  // ---------------------------------------------------------------------------
  // Host → widget: commands.

  /** window.RCAdapter, or an error saying why it is missing. */
  function adapter() {
    if (!window.RCAdapter) {
      throw new Error('window.RCAdapter is not available: the widget has not loaded');
    }
    return window.RCAdapter;
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

  /** True when data is the widget's answer to requestId. */
  function isAnswerTo(data, requestId) {
    return isObject(data) && data.type === 'rc-adapter-message-response' && data.responseId === requestId;
  }

  /** The answer's response, or throws the error the widget answered with. */
  function unwrap(answer) {
    const response = isObject(answer.response) ? answer.response : {};
    if (response.error) {
      throw new Error(response.message ? `${response.error}: ${response.message}` : String(response.error));
    }
    return response;
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

  // ---------------------------------------------------------------------------
  // Sign-in through this page (the widget's login popup off).

  const hostSignIn = (() => {
    const WINDOW_NAME = 'cb-host-login';
    const WINDOW_FEATURES = 'popup,width=480,height=640';
    const banner = $('login-banner');
    const detail = $('login-banner-detail');
    /** The sign-in URL the widget asked for, and the window it is open in. */
    let oAuthUri = '';
    let popup = null;

    /** Opens (or reuses) the sign-in window; the browser may refuse without a click. */
    function open() {
      if (!oAuthUri) return;
      const opened = window.open(oAuthUri, WINDOW_NAME, WINDOW_FEATURES);
      if (opened) {
        popup = opened;
        detail.textContent = 'Finish signing in in the window that opened.';
      } else {
        detail.textContent = 'The browser blocked the sign-in window: open it with the button.';
      }
    }

    /** Follows the widget's messages: a sign-in request, and its end. */
    function follow(data) {
      if (!isObject(data)) return;
      if (data.type === 'rc-login-popup-notify' && typeof data.oAuthUri === 'string') {
        const url = signInUrl(data.oAuthUri);
        if (!url) return;
        oAuthUri = url;
        banner.hidden = false;
        open(); // Works while this page still has the user's click (or allows popups).
      } else if (data.type === 'rc-login-status-notify' && data.loggedIn === true) {
        oAuthUri = '';
        banner.hidden = true;
      }
    }

    function isFromWindow(event) {
      return popup !== null && event.source === popup && event.origin === location.origin;
    }

    /** Hands the sign-in window's callbackUri to the widget. */
    function receive(data) {
      if (!isObject(data) || typeof data.callbackUri !== 'string') return;
      popup = null;
      oAuthUri = '';
      banner.hidden = true;
      run('rc-adapter-authorization-code', () =>
        sendCommand({ type: 'rc-adapter-authorization-code', callbackUri: data.callbackUri }));
    }

    $('btn-open-signin').addEventListener('click', open);
    return { follow, isFromWindow, receive };
  })();

  // Which way sign-in goes on this page, and a link to try the other.
  (() => {
    const params = new URLSearchParams(location.search);
    const viaHost = /^(1|true)$/.test(params.get('disableLoginPopup') || '');
    params.delete('disableLoginPopup');
    if (!viaHost) params.set('disableLoginPopup', '1');
    const query = params.toString();
    $('login-mode').textContent = viaHost
      ? 'Sign-in opens in a window of this page (disableLoginPopup=1).'
      : "Sign-in opens in the widget's own window.";
    const link = $('login-mode-link');
    link.textContent = viaHost ? "Use the widget's window instead" : 'Sign in through this page instead';
    link.href = query ? `?${query}` : location.pathname;
  })();

  // ---------------------------------------------------------------------------
  // Status line.

  const status = $('status');
  let lastRun = 0;

  function setStatus(kind, text) {
    status.dataset.kind = kind;
    status.textContent = text;
  }

  /**
   * Runs one command and shows its outcome. A Promise is awaited; anything
   * else means the command was posted and expects no answer.
   */
  async function run(label, action) {
    const id = ++lastRun;
    const show = (kind, text) => {
      if (id === lastRun) setStatus(kind, `${label} → ${text}`);
    };
    show('pending', 'waiting…');
    try {
      const result = action();
      if (result && typeof result.then === 'function') {
        show('ok', describe(await result));
      } else {
        show('ok', 'sent');
      }
    } catch (err) {
      show('error', errorText(err));
    }
  }

  /** Text for a rejection: an Error's message, or the {error, message} a widget answer carries. */
  function errorText(err) {
    if (err instanceof Error) {
      // The adapter's errors carry the widget's error code next to the message.
      return err.code && err.code !== err.message ? `${err.code}: ${err.message}` : err.message;
    }
    if (isObject(err) && err.error) return err.message ? `${err.error}: ${err.message}` : String(err.error);
    return describe(err);
  }

  function describe(value) {
    if (value === undefined) return 'done';
    const text = typeof value === 'string' ? value : stringify(value, 0);
    return text.length > 200 ? `${text.slice(0, 199)}…` : text;
  }

  // ---------------------------------------------------------------------------
  // Wiring.

  const value = (id) => $(id).value.trim();

  /** Reads a required number field, or throws so run() shows the problem. */
  function requireNumber(id) {
    const number = value(id);
    if (number === '') {
      $(id).focus();
      throw new Error('type a phone number first');
    }
    return number;
  }

  $('call-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const toCall = $('call-tocall').checked;
    run(`clickToCall(${value('call-number') || '…'}, ${toCall})`, () =>
      callAdapter('clickToCall', requireNumber('call-number'), toCall));
  });

  $('sms-form').addEventListener('submit', (event) => {
    event.preventDefault();
    run(`clickToSMS(${value('sms-number') || '…'})`, () =>
      callAdapter('clickToSMS', requireNumber('sms-number'), $('sms-text').value));
  });

  for (const button of document.querySelectorAll('button[data-path]')) {
    const path = button.dataset.path;
    button.addEventListener('click', () => run(`navigateTo(${path})`, () => callAdapter('navigateTo', path)));
  }

  // The adapter has no login method: post the command to the frame.
  $('btn-login').addEventListener('click', () =>
    run('rc-adapter-login', () => sendCommand({ type: 'rc-adapter-login' })));
  $('btn-logout').addEventListener('click', () => run('logoutUser()', () => callAdapter('logoutUser')));
  $('btn-minimize').addEventListener('click', () => run('setMinimized(true)', () => callAdapter('setMinimized', true)));
  $('btn-restore').addEventListener('click', () => run('setMinimized(false)', () => callAdapter('setMinimized', false)));

  for (const button of document.querySelectorAll('button[data-action]')) {
    const action = button.dataset.action;
    button.addEventListener('click', () => {
      const callId = value('control-call-id') || undefined;
      run(`controlCall(${action}${callId ? `, ${callId}` : ''})`, () =>
        callAdapter('controlCall', action, callId));
    });
  }

  $('btn-sessions-sync').addEventListener('click', () =>
    run('rc-adapter-webphone-sessions-sync', async () => {
      const { calls } = await syncSessions();
      return `${calls.length} call${calls.length === 1 ? '' : 's'} on this device`;
    }));

  $('alert-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const body = {
      alertMessage: $('alert-text').value,
      alertLevel: $('alert-level').value,
      ttl: Number($('alert-ttl').value) || 0,
    };
    run('/custom-alert-message', () => messageRequest('/custom-alert-message', body));
  });

  // "Use" next to a contact copies its number into the call and SMS fields.
  $('contacts').addEventListener('click', (event) => {
    const button = event.target.closest('button.use-number');
    if (!button) return;
    $('call-number').value = button.dataset.phone;
    $('sms-number').value = button.dataset.phone;
    $('call-number').focus();
  });

  // ---------------------------------------------------------------------------
  // Widget load state. The adapter script comes after this one, so watch its
  // load and error events from the window (capture phase: they don't bubble).

  const widgetState = $('widget-state');
  const dock = $('widget-dock');

  function markWidget(state, text) {
    if (widgetState.dataset.state === 'connected' && state !== 'failed') return;
    widgetState.dataset.state = state;
    widgetState.textContent = text;
  }

  window.addEventListener('load', (event) => {
    if (event.target instanceof HTMLScriptElement && event.target.id === 'widget-adapter') {
      dock.hidden = true;
      markWidget('loaded', 'Widget loaded');
    }
  }, true);

  window.addEventListener('error', (event) => {
    if (event.target instanceof HTMLScriptElement && event.target.id === 'widget-adapter') {
      markWidget('failed', 'Widget failed to load');
      dock.dataset.state = 'failed';
      $('widget-dock-title').textContent = 'The widget did not load';
      $('widget-dock-detail').textContent = `Could not fetch ${event.target.src}`;
    }
  }, true);

  // ---------------------------------------------------------------------------
  // Small helpers.

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** JSON for display; never throws (cyclic or odd values become a note). */
  function stringify(v, indent) {
    try {
      const text = JSON.stringify(v, null, indent);
      return text === undefined ? String(v) : text;
    } catch (err) {
      return `[unserialisable: ${err.message}]`;
    }
  }

  function clock(ms) {
    const d = new Date(ms);
    const pad = (n, w = 2) => String(n).padStart(w, '0');
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  }

  function newRequestId() {
    if (window.crypto && typeof window.crypto.randomUUID === 'function') {
      return window.crypto.randomUUID();
    }
    return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  }
})();
