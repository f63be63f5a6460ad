// The host's CRM as the widget uses it (hostservice.js carries the requests):
// the names of the numbers the widget shows (caller matching), its contacts
// and their search, opening a contact in the host, and logging calls and
// messages, with the marks of what was logged.
//
// Matching: every view shows a party through showParty (numbers.js), which
// asks lookup(number). A number not known yet joins the next batch to
// contactMatchPath; the answers are kept per signed-in user (and service),
// and store.update({crmNames}) has the views show them. Extensions of the
// account never reach here: they keep the server's names.
//
// The pure part (reading contacts and answers, the log marks) is tested under
// `node --test` (web/test/crm.test.js).

import { asString, isPlainObject } from './fields.js';
import { t } from './i18n.js';

// How long numbers gather before one batch asks for them all.
export const MATCH_BATCH_MS = 50;
// The most numbers one match request asks for.
export const MAX_MATCH_BATCH = 30;
// The most log marks kept per user; the oldest go first.
export const MAX_LOGGED_MARKS = 500;
// Where the log marks and the auto-log choice are kept, per user.
const LOGGED_KEY = 'cb-crm-logged:';
const AUTO_LOG_KEY = 'cb-crm-autolog:';

// The dispositions a log may carry, as the host receives them in every
// language (the log dialog shows them in the user's words).
export const DISPOSITIONS = Object.freeze(['', 'Resolved', 'Follow up', 'Left message', 'No answer']);

// matchKey is the number as the widget asks for it: + and digits.
export const matchKey = (number) => asString(number).replace(/[^\d+]/g, '');

// readContact keeps a contact of the host when it is one: {id, name, type,
// phoneNumbers [{phoneNumber, phoneType}], company, emails}.
export function readContact(raw, serviceName = '') {
  if (!isPlainObject(raw)) return null;
  const name = asString(raw.name).trim();
  const id = typeof raw.id === 'number' ? String(raw.id) : asString(raw.id);
  if (!name) return null;
  const phoneNumbers = (Array.isArray(raw.phoneNumbers) ? raw.phoneNumbers : [])
    .filter(isPlainObject)
    .map((p) => ({ phoneNumber: asString(p.phoneNumber), phoneType: asString(p.phoneType) }))
    .filter((p) => p.phoneNumber !== '');
  return Object.freeze({
    id,
    name,
    type: asString(raw.type) || serviceName,
    phoneNumbers,
    company: asString(raw.company),
    emails: (Array.isArray(raw.emails) ? raw.emails : []).filter((e) => typeof e === 'string'),
  });
}

// readContacts keeps the contacts of an answer's data.
export function readContacts(data, serviceName) {
  return (Array.isArray(data) ? data : []).map((raw) => readContact(raw, serviceName)).filter(Boolean);
}

// readMatches reads a match answer's data for the numbers asked: number →
// first contact, or null for none. The host may key a number as asked or
// as its digits.
export function readMatches(data, asked, serviceName) {
  const table = isPlainObject(data) ? data : {};
  const byDigits = new Map(Object.entries(table).map(([key, value]) => [matchKey(key).replace('+', ''), value]));
  return new Map(asked.map((number) => {
    const raw = Object.hasOwn(table, number) ? table[number] : byDigits.get(number.replace('+', ''));
    const list = Array.isArray(raw) ? raw : [];
    return [number, readContacts(list, serviceName)[0] ?? null];
  }));
}

// logKey names a call or a conversation among the log marks.
export const callLogKey = (call) => `call:${asString(call?.telephonySessionId) || asString(call?.sessionId) || asString(call?.id)}`;
export const messageLogKey = (conversationId) => `messages:${asString(conversationId)}`;

// createCrm uses the host's service.
//   host:      hostservice.js's service
//   store:     the widget's store (session, hostService; crmNames is set here)
//   showAlert: shows the user an alert
//   storage:   where marks are kept (localStorage)
// It returns { lookup(number), searchContacts(text), contactsPage(page),
// viewContact(contact), logCall(call, options), logConversation(conv,
// options), isLogged(key), autoLog, setAutoLog(on), labels() }.
export function createCrm({ host, store, showAlert, storage = globalThis.localStorage }) {
  let user = '';
  let serviceName = '';
  // number → contact or null (no match); numbers asked and not answered yet.
  let names = new Map();
  let asking = new Set();
  let batch = new Set();
  let batchTimer = 0;
  let version = 0;
  let failing = false;

  const ready = (key) => Boolean(user) && host.has(key);

  function changed() {
    version += 1;
    store.update({ crmNames: version });
  }

  function reset() {
    names = new Map();
    asking = new Set();
    batch = new Set();
    clearTimeout(batchTimer);
    failing = false;
  }

  async function askBatch() {
    batchTimer = 0;
    const numbers = [...batch].slice(0, MAX_MATCH_BATCH);
    numbers.forEach((n) => batch.delete(n));
    if (batch.size > 0) batchTimer = setTimeout(askBatch, MATCH_BATCH_MS);
    if (numbers.length === 0) return;
    numbers.forEach((n) => asking.add(n));
    const forUser = user;
    const forService = serviceName;
    try {
      const answer = await host.request('contactMatchPath', { phoneNumbers: numbers });
      if (forUser !== user || forService !== serviceName) return;
      failing = false;
      for (const [number, contact] of readMatches(answer.data, numbers, serviceName)) names.set(number, contact);
      changed();
    } catch (err) {
      if (forUser !== user || forService !== serviceName) return;
      // The numbers are asked again when next shown; the user hears once
      // until the host answers again.
      if (!failing) showAlert({ message: t('crm.lookupFailed', { service: serviceName, reason: err.message }), level: 'warning' });
      failing = true;
    } finally {
      numbers.forEach((n) => asking.delete(n));
    }
  }

  // lookup is the host's contact for a number the widget shows: {name,
  // source, contact}, or null (none, or not known yet: then it is asked).
  function lookup(number) {
    const key = matchKey(number);
    if (!key || !ready('contactMatchPath')) return null;
    if (names.has(key)) {
      const contact = names.get(key);
      return contact ? { name: contact.name, source: serviceName, contact } : null;
    }
    if (!asking.has(key) && !batch.has(key) && !failing) {
      batch.add(key);
      if (!batchTimer) batchTimer = setTimeout(askBatch, MATCH_BATCH_MS);
    }
    return null;
  }

  // searchContacts asks the host for contacts matching text.
  async function searchContacts(text) {
    if (!ready('contactSearchPath')) return [];
    const answer = await host.request('contactSearchPath', { searchString: text });
    return readContacts(answer.data, serviceName);
  }

  // contactsPage asks the host for a page of its contacts: {contacts, nextPage}.
  async function contactsPage(page = 1) {
    if (!ready('contactsPath')) return { contacts: [], nextPage: null };
    const answer = await host.request('contactsPath', { page });
    const nextPage = Number.isInteger(answer.nextPage) && answer.nextPage > page ? answer.nextPage : null;
    return { contacts: readContacts(answer.data, serviceName), nextPage };
  }

  // viewContact asks the host to show the contact.
  function viewContact(contact) {
    if (!host.has('viewMatchedContactPath')) return;
    host.request('viewMatchedContactPath', { contact }).catch((err) => {
      showAlert({ message: t('crm.openFailed', { name: contact.name, service: serviceName, reason: err.message }), level: 'danger' });
    });
  }

  // -------------------------------------------------------------------------
  // Logging, and the marks of what was logged

  const loggedKey = () => LOGGED_KEY + user;
  function readMarks() {
    try {
      const list = JSON.parse(storage.getItem(loggedKey()) ?? '[]');
      return Array.isArray(list) ? list.filter((k) => typeof k === 'string') : [];
    } catch {
      return [];
    }
  }
  let marks = new Set();

  function mark(key) {
    marks.delete(key);
    marks.add(key);
    while (marks.size > MAX_LOGGED_MARKS) marks.delete(marks.values().next().value);
    try {
      storage.setItem(loggedKey(), JSON.stringify([...marks]));
    } catch {
      // storage refused: the mark lasts while the page does
    }
    changed();
  }

  const isLogged = (key) => marks.has(key);

  // send logs item at path key; the host's success marks it. It resolves
  // true when logged; a failure is shown (failed is its message's key), and
  // resolves false.
  async function send(key, pathKey, body, markKey, failed) {
    if (!ready(pathKey)) return false;
    try {
      await host.request(pathKey, body);
      mark(markKey);
      return true;
    } catch (err) {
      showAlert({ message: t(failed, { service: serviceName, reason: err.message }), level: 'danger' });
      return false;
    }
  }

  const logCall = (call, { note = '', disposition = '', trigger = 'manual' } = {}) =>
    send('call', 'callLoggerPath', { call, note, disposition, triggerType: trigger }, callLogKey(call), 'crm.logCallFailed');

  const logConversation = (conversation, { note = '', disposition = '' } = {}) =>
    send('messages', 'messageLoggerPath', { conversation, note, disposition, triggerType: 'manual' },
      messageLogKey(conversation.conversationId), 'crm.logConversationFailed');

  // Auto-log: off unless the user turned it on (per user, in this browser).
  let autoLog = false;
  function readAutoLog() {
    try {
      return storage.getItem(AUTO_LOG_KEY + user) === '1';
    } catch {
      return false;
    }
  }
  function setAutoLog(on) {
    autoLog = Boolean(on);
    try {
      storage.setItem(AUTO_LOG_KEY + user, autoLog ? '1' : '0');
    } catch {
      // kept while the page lasts
    }
    changed();
  }

  // callEnded logs a call of this device that ended, when auto-log is on
  // and it was not logged yet.
  function callEnded(call) {
    if (!autoLog || !ready('callLoggerPath') || isLogged(callLogKey(call))) return;
    logCall(call, { trigger: 'auto' });
  }

  // labels are what the buttons and the setting say, in the service's words
  // (as the host gave them), else in the widget's.
  function labels() {
    const service = host.service;
    return {
      name: serviceName,
      logCall: asString(service?.callLoggerTitle) || t('crm.logCall'),
      logMessages: asString(service?.messageLoggerTitle) || t('crm.log'),
      autoLog: asString(service?.callLoggerAutoSettingLabel) || t('crm.autoLog'),
    };
  }

  function stateChanged(state) {
    const nextUser = state.session?.loggedIn ? asString(state.session.loginNumber) : '';
    const nextService = asString(state.hostService?.name);
    // A new service may match other names; a new registration of the same
    // one is asked again too.
    if (nextUser === user && state.hostService === current) return;
    current = state.hostService;
    const userChanged = nextUser !== user;
    user = nextUser;
    serviceName = nextService;
    reset();
    if (userChanged) {
      marks = new Set(user ? readMarks() : []);
      autoLog = user ? readAutoLog() : false;
    }
    queueMicrotask(changed);
  }
  let current = null;
  store.subscribe(stateChanged);
  stateChanged(store.get());

  return {
    lookup,
    searchContacts,
    contactsPage,
    viewContact,
    logCall,
    logConversation,
    callEnded,
    isLogged,
    setAutoLog,
    labels,
    has: (key) => ready(key),
    get autoLog() {
      return autoLog;
    },
  };
}
