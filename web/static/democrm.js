/*
 * The demo page as a CRM the widget can use (docs/commands.md, "Host
 * services"): it registers itself as a service once the widget says who is
 * signed in, then answers the widget's rc-post-message-request with
 * rc-post-message-response:
 *   /contacts         a page of its contacts
 *   /contacts/search  the contacts whose name or number holds the text
 *   /contacts/match   the contacts of each number the widget shows
 *   /contacts/view    shows the contact the user opened
 *   /callLogger       keeps a logged call and shows it in the Call log panel
 *   /messageLogger    the same for a conversation
 * Every message goes to the widget's exact origin, never '*'; demo.js hands
 * this module only messages of the widget's own frame at that origin.
 * No dependencies: copy what you need.
 */

const SERVICE_NAME = 'Demo CRM';
const PAGE_SIZE = 5;

/**
 * The CRM's contacts: the demo users by their direct numbers, and people
 * outside the company (one of them on the README's trunk example number).
 */
export const CRM_CONTACTS = [
  { id: 'c-1', name: 'Alice Adams', company: 'Demo Co. — Sales', phone: '+16505550101' },
  { id: 'c-2', name: 'Bob Brown', company: 'Demo Co. — Support', phone: '+16505550102' },
  { id: 'c-3', name: 'Carol Chen', company: 'Demo Co. — Billing', phone: '+16505550103' },
  { id: 'c-4', name: 'Ada Lovelace', company: 'Analytical Engines Ltd', phone: '+16505550199' },
  { id: 'c-5', name: 'Grace Hopper', company: 'Compiler Works', phone: '+14155550123' },
  { id: 'c-6', name: 'Alan Turing', company: 'Bletchley Consulting', phone: '+442071234567' },
];

/** A contact as the widget reads it. */
const asWidgetContact = (c) => ({
  id: c.id,
  name: c.name,
  type: SERVICE_NAME,
  company: c.company,
  phoneNumbers: [{ phoneNumber: c.phone, phoneType: 'direct' }],
});

const digits = (value) => String(value ?? '').replace(/\D/g, '');

/** The contacts of a number: its digits equal, or the one ends with the other (a national number). */
function contactsOf(number) {
  const wanted = digits(number);
  if (wanted.length < 4) return [];
  return CRM_CONTACTS.filter((c) => {
    const own = digits(c.phone);
    return own === wanted || own.endsWith(wanted) || wanted.endsWith(own);
  });
}

/**
 * createDemoCrm answers the widget. frame() is the widget frame's window;
 * show(kind, text) reports on the page; ui holds the Call log panel's
 * elements. It returns heard(data), to be given each widget message, and
 * the calls it logged (for tests: window.cbDemo.crm).
 */
export function createDemoCrm({ widgetOrigin, frame, ui }) {
  const logged = [];

  function post(message) {
    const target = frame();
    if (target) target.postMessage(message, widgetOrigin);
  }

  function register() {
    post({
      type: 'rc-adapter-register-third-party-service',
      service: {
        name: SERVICE_NAME,
        contactsPath: '/contacts',
        contactSearchPath: '/contacts/search',
        contactMatchPath: '/contacts/match',
        viewMatchedContactPath: '/contacts/view',
        callLoggerPath: '/callLogger',
        callLoggerTitle: 'Log to Demo CRM',
        messageLoggerPath: '/messageLogger',
        messageLoggerTitle: 'Log to Demo CRM',
      },
    });
  }

  /** Each path's answer to a request's body. */
  const handlers = {
    '/contacts': ({ page = 1 } = {}) => {
      const start = (Math.max(1, Number(page) || 1) - 1) * PAGE_SIZE;
      const slice = CRM_CONTACTS.slice(start, start + PAGE_SIZE).map(asWidgetContact);
      const more = start + PAGE_SIZE < CRM_CONTACTS.length;
      return more ? { data: slice, nextPage: page + 1 } : { data: slice };
    },
    '/contacts/search': ({ searchString = '' } = {}) => {
      const text = String(searchString).toLowerCase();
      const number = digits(text);
      return {
        data: CRM_CONTACTS.filter((c) => c.name.toLowerCase().includes(text) ||
          (number.length >= 2 && digits(c.phone).includes(number))).map(asWidgetContact),
      };
    },
    '/contacts/match': ({ phoneNumbers = [] } = {}) => ({
      data: Object.fromEntries(phoneNumbers.map((n) => [n, contactsOf(n).map(asWidgetContact)])),
    }),
    '/contacts/view': ({ contact } = {}) => {
      ui.opened.hidden = false;
      ui.opened.textContent = `Opened ${contact?.name ?? 'a contact'} from the widget.`;
      return { data: 'ok' };
    },
    '/callLogger': ({ call = {}, note = '', disposition = '', triggerType = 'manual' } = {}) => {
      addEntry({ kind: 'call', call, note, disposition, triggerType });
      return { data: 'ok' };
    },
    '/messageLogger': ({ conversation = {}, note = '', disposition = '' } = {}) => {
      addEntry({ kind: 'messages', conversation, note, disposition, triggerType: 'manual' });
      return { data: 'ok' };
    },
  };

  /** Who a logged call was with, and what it was. */
  function describeCall(call) {
    const inbound = call.direction === 'Inbound';
    const party = inbound ? call.from : call.to;
    const number = typeof party === 'string' ? party : (party?.phoneNumber || party?.extensionNumber || '');
    const name = (inbound ? call.fromUserName : call.toUserName) || party?.name || contactsOf(number)[0]?.name || number;
    const seconds = Number(call.duration) || 0;
    return {
      who: name || 'Unknown',
      what: [inbound ? 'Inbound' : 'Outbound', call.result, seconds ? `${seconds} s` : ''].filter(Boolean).join(' · '),
    };
  }

  function addEntry(entry) {
    logged.push({ ...entry, time: Date.now() });
    const item = document.createElement('li');
    item.className = 'crm-entry';
    const head = document.createElement('strong');
    const detail = document.createElement('span');
    if (entry.kind === 'call') {
      const { who, what } = describeCall(entry.call);
      head.textContent = `Call with ${who}`;
      detail.textContent = what;
    } else {
      const count = Array.isArray(entry.conversation.messages) ? entry.conversation.messages.length : 0;
      head.textContent = 'Conversation';
      detail.textContent = `${count} message${count === 1 ? '' : 's'}`;
    }
    const extra = document.createElement('span');
    extra.className = 'crm-entry-note';
    extra.textContent = [entry.triggerType === 'auto' ? 'Auto-logged' : '', entry.disposition, entry.note].filter(Boolean).join(' · ');
    item.append(head, detail, extra);
    ui.list.prepend(item);
    ui.count.textContent = String(logged.length);
    ui.empty.hidden = true;
  }

  function answer(request) {
    // The switch on the page lets you see what the widget does when its
    // CRM does not answer.
    if (!ui.answering.checked) return;
    const handle = Object.hasOwn(handlers, request.path) ? handlers[request.path] : null;
    let response;
    try {
      response = handle ? handle(request.body ?? {}) : { error: `Demo CRM has no ${request.path}` };
    } catch (err) {
      response = { error: err.message };
    }
    post({ type: 'rc-post-message-response', responseId: request.requestId, response });
  }

  function heard(data) {
    if (data?.type === 'rc-login-status-notify') register();
    else if (data?.type === 'rc-post-message-request') answer(data);
  }

  return { heard, logged };
}
