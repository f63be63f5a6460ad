// The demo host page's log: every message heard from the widget, newest
// first, with a filter; and the words for what a command came to. No
// dependencies: copy what you need.

/** Log entries kept in the DOM; window.cbDemo.messages keeps them all. */
const MAX_RENDERED = 500;

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** JSON for display; never throws (cyclic or odd values become a note). */
export function stringify(v, indent) {
  try {
    const text = JSON.stringify(v, null, indent);
    return text === undefined ? String(v) : text;
  } catch (err) {
    return `[unserialisable: ${err.message}]`;
  }
}

/** The local time of ms as HH:MM:SS.mmm. */
export function clock(ms) {
  const d = new Date(ms);
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** Groups message types so the log can colour them. */
export function kindOf(type, data) {
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
export function preview(data) {
  let rest = data;
  if (isObject(data)) {
    rest = { ...data };
    delete rest.type;
  }
  const text = stringify(rest, 0);
  return text.length > 140 ? `${text.slice(0, 139)}…` : text;
}

/** Text for what a command resolved with: 'done' for nothing, else at most 200 characters. */
export function describe(value) {
  if (value === undefined) return 'done';
  const text = typeof value === 'string' ? value : stringify(value, 0);
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

/** Text for a rejection: an Error's message, or the {error, message} a widget answer carries. */
export function errorText(err) {
  if (err instanceof Error) {
    // The adapter's errors carry the widget's error code next to the message.
    return err.code && err.code !== err.message ? `${err.code}: ${err.message}` : err.message;
  }
  if (isObject(err) && err.error) return err.message ? `${err.error}: ${err.message}` : String(err.error);
  return describe(err);
}

/**
 * createLog shows the entries of messages ({time, origin, data}) in the
 * page's log: add(entry) shows one more; the filter box and the Clear button
 * work on their own. Clear empties messages in place.
 */
export function createLog(messages) {
  const $ = (id) => document.getElementById(id);
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
    const total = messages.length;
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
    messages.length = 0; // In place: holders of the array see it emptied.
    rendered = [];
    list.replaceChildren();
    update();
  });

  update();
  return { add };
}
