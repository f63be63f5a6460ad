// The server's event stream (contract §3): opening it for this tab's
// device, following its status, reopening it when it stalls, and reading its
// events.

const LOG_PREFIX = '[callbridge]';

// Until the stream's first heartbeat says otherwise: twice the server's
// default heartbeat interval (15 s) and a second.
const DEFAULT_STREAM_SILENCE_MS = 31_000;

// eventsUrlFor is the event stream of this tab, for the page's app: the
// server registers the device (when signed in) with its phone system while
// the stream is open. A relative eventsUrl is read against base, the page's
// address.
export function eventsUrlFor(eventsUrl, clientId, deviceId, base = window.location.href) {
  if (!eventsUrl) return '';
  const url = new URL(eventsUrl, base);
  url.searchParams.set('clientId', clientId);
  if (deviceId) url.searchParams.set('deviceId', deviceId);
  return url.href;
}

// parseServerEvent reads an event's data: a JSON object with a string type,
// else null (and a warning).
export function parseServerEvent(data) {
  try {
    const event = JSON.parse(data);
    if (event !== null && typeof event === 'object' && typeof event.type === 'string') return event;
  } catch {
    // reported below
  }
  console.warn(LOG_PREFIX, 'ignored a server event that is not a JSON object with a type');
  return null;
}

// connectEvents opens the server's event stream; EventSource reconnects on
// its own, and onStatus follows it: connecting, connected or offline.
// onLink follows the phone's signalling link the same way, in the words of
// rc-webphone-connection-status-notify: an error counts as disconnected
// until the stream is open again.
// A stream can also stall with no error at all (a proxy or a network that
// drops what it carries without closing anything). The server sends a
// heartbeat event every intervalMs (it says how often); a stream silent for
// twice that and a second is closed and opened anew, with the id of the last
// event received, so the server replays what the silence lost.
// reconnect() opens a fresh stream, which the session cookie of the moment
// selects (the server moves a session to a new id at sign-in and sign-out),
// at urlFor()'s address of the moment. A stream the server refused (it
// names a device of an ended session, or a cap is reached) is closed for
// good: onClosed is told, and decides when to reconnect.
export function connectEvents(urlFor, { onStatus, onLink, onEvent, onClosed }) {
  let source = null;
  let lastEventId = '';
  let silenceMs = DEFAULT_STREAM_SILENCE_MS;
  let watchdog = 0;

  function watch(current) {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => {
      if (current !== source) return;
      console.warn(LOG_PREFIX, `the event stream was silent for ${silenceMs} ms; reopening it`);
      onLink('disconnected');
      open({ resume: true });
    }, silenceMs);
  }

  function open({ resume = false } = {}) {
    source?.close();
    clearTimeout(watchdog);
    if (!resume) lastEventId = ''; // another session's stream: its ids mean nothing here
    const url = urlFor();
    if (!url) {
      onStatus('offline');
      onLink('disconnected');
      return;
    }
    const target = resume && lastEventId
      ? `${url}${url.includes('?') ? '&' : '?'}lastEventId=${encodeURIComponent(lastEventId)}`
      : url;
    const current = new EventSource(target);
    source = current;
    onStatus('connecting');
    onLink('connecting');
    watch(current);
    current.addEventListener('open', () => {
      if (current !== source) return;
      watch(current);
      onStatus('connected');
      onLink('connected');
    });
    current.addEventListener('error', () => {
      if (current !== source) return;
      const closed = current.readyState === EventSource.CLOSED;
      onStatus(closed ? 'offline' : 'connecting');
      onLink('disconnected');
      if (closed) onClosed();
    });
    current.addEventListener('heartbeat', (message) => {
      if (current !== source) return;
      const beat = parseServerEvent(message.data);
      const interval = Number(beat?.intervalMs);
      if (Number.isFinite(interval) && interval >= 1000) silenceMs = 2 * interval + 1000;
      watch(current);
    });
    current.addEventListener('message', (message) => {
      if (current !== source) return;
      watch(current);
      if (message.lastEventId) lastEventId = message.lastEventId;
      const event = parseServerEvent(message.data);
      if (event) onEvent(event);
    });
  }

  open();
  return { reconnect: () => open() };
}
