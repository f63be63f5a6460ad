// The messages page: the signed-in user's conversations (SMS and company
// pager), one conversation at a time with its composer, and a new message.
//
// Messages come from the server (GET /widget/messages) and stay current
// through the two message events of the stream; the page keeps the newest
// version of each message (by lastModifiedTime). Opening a conversation
// marks its inbound messages read. The Messages tab shows how many are
// unread in all.

import { asString, isPlainObject, ownValue } from './fields.js';
import {
  cleanNumber, formatNumber, formatParty, isExtensionNumber, MAX_NUMBER_LENGTH, regionOf,
} from './numbers.js';

const LOG_PREFIX = '[callbridge]';
const warn = (...args) => console.warn(LOG_PREFIX, ...args);

const MESSAGES_URL = '/widget/messages';
const messageUrl = (id) => `${MESSAGES_URL}/${encodeURIComponent(id)}`;
// How many of the newest messages the list loads, and of one conversation.
const LIST_SIZE = 100;
const THREAD_SIZE = 100;
const MAX_TEXT_LENGTH = 1000;
// The composer grows up to this many pixels, then scrolls.
const MAX_COMPOSER_HEIGHT = 96;
const MAX_BADGE = 99;
const OK = Object.freeze({ data: 'ok' });

const STATUS_TEXT = {
  Queued: 'Sending…',
  Sent: 'Sent',
  Delivered: 'Delivered',
  DeliveryFailed: 'Not delivered',
};


const byId = (id) => document.getElementById(id);

function readMessage(raw) {
  if (!isPlainObject(raw)) return null;
  const id = typeof raw.id === 'number' ? String(raw.id) : raw.id;
  if (typeof id !== 'string' || id === '') return null;
  if (!Number.isFinite(Date.parse(asString(raw.creationTime)))) return null;
  return { ...raw, id };
}

const time = (value) => Date.parse(asString(value)) || 0;
const isUnread = (m) => m.direction === 'Inbound' && m.readStatus === 'Unread';
const isAlive = (m) => m.availability !== 'Deleted';
const readParty = (raw) => (isPlainObject(raw) ? raw : {});

// messageType is how a message to `to` goes: to an extension number of the
// company as a pager message, else as an SMS.
export function messageType(to) {
  return isExtensionNumber(cleanNumber(to)) ? 'Pager' : 'SMS';
}

// parties are the other end of a message: its sender when inbound, its
// recipients when outbound.
function parties(message) {
  if (message.direction === 'Inbound') return [readParty(message.from)];
  return (Array.isArray(message.to) ? message.to : []).map(readParty);
}

// replyNumber is what a party is written to: its extension number for
// pager messages, else its phone number.
function replyNumber(party, type) {
  const phone = asString(party.phoneNumber);
  const extension = asString(party.extensionNumber);
  return type === 'Pager' ? (extension || phone) : (phone || extension);
}

// conversationKey groups messages: by the server's conversationId, else by
// the type and the other party's number.
function conversationKey(message) {
  const id = message.conversationId;
  if ((typeof id === 'string' && id !== '') || Number.isFinite(id)) return `c:${id}`;
  return `p:${message.type}:${parties(message).map((p) => replyNumber(p, message.type)).join(',')}`;
}

function shortTime(ms, now = Date.now()) {
  const date = new Date(ms);
  const today = new Date(now).setHours(0, 0, 0, 0);
  if (ms >= today) return date.toLocaleTimeString(undefined, { hour: 'numeric', minute: '2-digit' });
  if (ms >= today - 86_400_000) return 'Yesterday';
  if (ms >= today - 6 * 86_400_000) return date.toLocaleDateString(undefined, { weekday: 'short' });
  return date.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
}

function initials(name) {
  const letters = name.split(/\s+/).filter((word) => /^\p{L}/u.test(word)).map((word) => [...word][0].toUpperCase());
  return letters.slice(0, 2).join('');
}

// createMessages starts the messages page.
//   store:     the widget's store; the page follows the session in it
//   request:   request(method, url, body) → Promise of the server's JSON
//              answer, rejecting with an Error that carries the server's code
//   showPage:  showPage(path) shows a page of the widget
//   showAlert: showAlert({message, level}) shows a banner
// It returns { handleEvent(event), reload(), newSms({phoneNumber, text,
// conversation}) }.
export function createMessages({ store, request, showPage, showAlert }) {
  const ui = findElements();
  // The messages by id, and what is being done.
  const messages = new Map();
  let phase = 'idle';
  let error = '';
  let loads = 0;
  let user = '';
  // The view: list, thread (key) or compose.
  let view = 'list';
  let threadKey = '';
  const marking = new Set();
  const rows = new Map();
  let sending = false;

  const region = () => regionOf(store.get().session);
  const enabled = () => store.get().session.features.sms === true;
  const visible = () => store.get().route === '/messages' && document.visibilityState === 'visible';

  // -------------------------------------------------------------------------
  // Data

  // put keeps a message unless a newer version of it is known.
  function put(message) {
    const known = messages.get(message.id);
    if (known && time(known.lastModifiedTime) > time(message.lastModifiedTime)) return false;
    messages.set(message.id, message);
    return true;
  }

  // conversations groups the messages, the newest conversation first; each
  // has its messages oldest first.
  function conversations() {
    const groups = new Map();
    for (const message of messages.values()) {
      if (!isAlive(message)) continue;
      const key = conversationKey(message);
      let group = groups.get(key);
      if (!group) {
        group = { key, messages: [] };
        groups.set(key, group);
      }
      group.messages.push(message);
    }
    const list = [...groups.values()].map((group) => {
      group.messages.sort((a, b) => time(a.creationTime) - time(b.creationTime));
      const last = group.messages.at(-1);
      return {
        ...group,
        last,
        type: last.type === 'Pager' ? 'Pager' : 'SMS',
        others: parties(last),
        unread: group.messages.filter(isUnread).length,
        conversationId: last.conversationId ?? null,
      };
    });
    return list.sort((a, b) => time(b.last.creationTime) - time(a.last.creationTime));
  }

  const findConversation = (key) => conversations().find((c) => c.key === key) ?? null;

  // conversationWith finds the conversation of a type with a number.
  function conversationWith(type, number) {
    const wanted = cleanNumber(number);
    return conversations().find((c) => c.type === type && c.others.length === 1 &&
      [c.others[0].phoneNumber, c.others[0].extensionNumber].some((n) => cleanNumber(n) === wanted)) ?? null;
  }

  function describeParties(others, type) {
    const names = others.map((p) => asString(p.name) || shownNumber(replyNumber(p, type)));
    const name = names.join(', ') || 'Unknown';
    const number = others.length === 1 && asString(others[0].name) ? shownNumber(replyNumber(others[0], type)) : '';
    return { name, number };
  }

  const shownNumber = (number) => formatParty(number, region());

  async function fetchMessages(query) {
    const answer = await request('GET', `${MESSAGES_URL}?${new URLSearchParams(query)}`);
    return Array.isArray(answer.records) ? answer.records.map(readMessage).filter(Boolean) : [];
  }

  async function reload() {
    if (!store.get().session.loggedIn || !enabled()) return;
    const load = ++loads;
    if (phase !== 'ready') phase = 'loading';
    render();
    try {
      const list = await fetchMessages({ perPage: LIST_SIZE });
      if (load !== loads) return;
      list.forEach(put);
      phase = 'ready';
      error = '';
    } catch (err) {
      if (load !== loads) return;
      phase = messages.size > 0 ? 'ready' : 'failed';
      error = err.message;
      warn(`could not load the messages: ${err.message}`);
    }
    render();
    markOpenRead();
  }

  // loadThread fetches the whole of a conversation the list shows only the
  // newest messages of.
  async function loadThread(conversation) {
    if (conversation.conversationId === null) return;
    const load = loads;
    try {
      const list = await fetchMessages({ conversationId: conversation.conversationId, perPage: THREAD_SIZE });
      if (load !== loads) return;
      list.forEach(put);
      render();
      markOpenRead();
    } catch (err) {
      warn(`could not load the conversation: ${err.message}`);
    }
  }

  // markOpenRead marks read the unread messages of the conversation shown.
  function markOpenRead() {
    if (view !== 'thread' || !visible()) return;
    const conversation = findConversation(threadKey);
    if (!conversation) return;
    for (const message of conversation.messages) {
      if (isUnread(message) && !marking.has(message.id)) markRead(message);
    }
  }

  async function markRead(message) {
    marking.add(message.id);
    const load = loads;
    try {
      const answer = readMessage(await request('PUT', messageUrl(message.id), { readStatus: 'Read' }));
      if (load === loads && answer) put(answer);
    } catch (err) {
      warn(`could not mark message ${message.id} read: ${err.message}`);
    } finally {
      marking.delete(message.id);
      render();
    }
  }

  // send posts a message; it resolves with the message the server stored.
  async function send(type, to, text) {
    const answer = await request('POST', MESSAGES_URL, { type, to: [to], text });
    const message = readMessage(answer);
    if (!message) throw Object.assign(new Error('The server did not say which message it sent.'), { code: 'badResponse' });
    put(message);
    return message;
  }

  // -------------------------------------------------------------------------
  // Views

  function openList() {
    view = 'list';
    threadKey = '';
    render();
  }

  function openThread(key) {
    view = 'thread';
    threadKey = key;
    render();
    const conversation = findConversation(key);
    if (conversation) loadThread(conversation);
    markOpenRead();
    ui.threadText.focus({ preventScroll: true });
  }

  function openCompose(to = '', text = '') {
    view = 'compose';
    threadKey = '';
    ui.composeTo.value = to;
    ui.composeText.value = text;
    render();
    (to ? ui.composeText : ui.composeTo).focus({ preventScroll: true });
  }

  // newSms answers rc-adapter-new-sms: the composer opens with the number
  // and the text; with conversation, the conversation with that number
  // opens instead when there is one.
  function newSms({ phoneNumber, text, conversation }) {
    if (!enabled()) {
      return { error: 'messagesOff', message: 'Messaging is off for this app.' };
    }
    const number = phoneNumber.trim();
    if (number.length > MAX_NUMBER_LENGTH) {
      return { error: 'invalidNumber', message: `phoneNumber has at most ${MAX_NUMBER_LENGTH} characters` };
    }
    const body = text.slice(0, MAX_TEXT_LENGTH);
    showPage('/messages');
    const existing = conversation && number ? conversationWith(messageType(number), number) : null;
    if (existing) {
      openThread(existing.key);
      ui.threadText.value = body;
      render();
    } else {
      openCompose(number, body);
    }
    return OK;
  }

  async function submitThread() {
    const conversation = findConversation(threadKey);
    const text = ui.threadText.value.trim();
    if (!conversation || !text || sending) return;
    const to = conversation.others[0] && replyNumber(conversation.others[0], conversation.type);
    if (!to || conversation.others.length !== 1) {
      showAlert({ message: 'Replies go to one person: start a new message instead.', level: 'warning' });
      return;
    }
    sending = true;
    render();
    const key = threadKey;
    try {
      const message = await send(conversation.type, to, text);
      // The box is emptied, unless the user (or the host) moved on meanwhile.
      if (view === 'thread' && threadKey === key && ui.threadText.value.trim() === text) {
        ui.threadText.value = '';
        threadKey = conversationKey(message);
      }
    } catch (err) {
      showAlert({ message: `Could not send the message: ${err.message}`, level: 'danger' });
    } finally {
      sending = false;
      render();
    }
  }

  async function submitCompose() {
    const to = cleanNumber(ui.composeTo.value);
    const text = ui.composeText.value.trim();
    if (sending) return;
    if (!to) {
      ui.composeTo.focus();
      return;
    }
    if (!text) return;
    sending = true;
    render();
    try {
      const message = await send(messageType(to), to, text);
      // The conversation opens, unless a new message was started meanwhile.
      if (view === 'compose' && cleanNumber(ui.composeTo.value) === to && ui.composeText.value.trim() === text) {
        ui.composeText.value = '';
        ui.composeTo.value = '';
        openThread(conversationKey(message));
      }
    } catch (err) {
      showAlert({ message: `Could not send the message: ${err.message}`, level: 'danger' });
    } finally {
      sending = false;
      render();
    }
  }

  // -------------------------------------------------------------------------
  // Rendering

  function findElements() {
    const ids = {
      listView: 'cb-msg-list-view', list: 'cb-conversations', status: 'cb-msg-status', statusText: 'cb-msg-status-text',
      retry: 'cb-msg-retry', empty: 'cb-msg-empty', emptyText: 'cb-msg-empty-text', emptyNew: 'cb-msg-empty-new',
      newButton: 'cb-msg-new', rowTemplate: 'cb-conversation-row-template',
      thread: 'cb-thread', threadBack: 'cb-thread-back', threadName: 'cb-thread-name', threadNumber: 'cb-thread-number',
      threadMessages: 'cb-thread-messages', threadForm: 'cb-thread-form', threadText: 'cb-thread-text', threadSend: 'cb-thread-send',
      compose: 'cb-compose', composeBack: 'cb-compose-back', composeTo: 'cb-compose-to', composeKind: 'cb-compose-kind',
      composeForm: 'cb-compose-form', composeText: 'cb-compose-text', composeSend: 'cb-compose-send',
      badge: 'cb-messages-badge',
    };
    return Object.fromEntries(Object.entries(ids).map(([key, id]) => [key, byId(id)]));
  }

  function renderRow(row, conversation, now) {
    const { name, number } = describeParties(conversation.others, conversation.type);
    const { last } = conversation;
    row.dataset.key = conversation.key;
    row.dataset.unread = String(conversation.unread > 0);
    const letters = initials(name);
    const avatar = row.querySelector('.conversation-row__avatar');
    avatar.textContent = letters || '#';
    avatar.dataset.type = conversation.type;
    row.querySelector('.conversation-row__name').textContent = name;
    row.querySelector('.conversation-row__name').title = number;
    const preview = asString(last.subject).replace(/\s+/g, ' ').trim();
    row.querySelector('.conversation-row__preview').textContent =
      `${last.direction === 'Outbound' ? 'You: ' : ''}${preview}`;
    const when = time(last.creationTime);
    const stamp = row.querySelector('.conversation-row__time');
    stamp.textContent = shortTime(when, now);
    stamp.dateTime = new Date(when).toISOString();
    stamp.title = new Date(when).toLocaleString();
    const badge = row.querySelector('.conversation-row__badge');
    badge.textContent = conversation.unread > 0 ? String(Math.min(conversation.unread, MAX_BADGE)) : '';
    badge.hidden = conversation.unread === 0;
    row.querySelector('.conversation-row__open').setAttribute('aria-label',
      `${name}${conversation.unread ? `, ${conversation.unread} unread` : ''}: ${preview}`);
  }

  function renderList(list) {
    const now = Date.now();
    const keep = new Set(list.map((c) => c.key));
    for (const [key, row] of rows) {
      if (!keep.has(key)) {
        row.remove();
        rows.delete(key);
      }
    }
    list.forEach((conversation, index) => {
      let row = rows.get(conversation.key);
      if (!row) {
        row = ui.rowTemplate.content.firstElementChild.cloneNode(true);
        row.querySelector('.conversation-row__open').addEventListener('click', () => openThread(row.dataset.key));
        rows.set(conversation.key, row);
      }
      renderRow(row, conversation, now);
      if (ui.list.children[index] !== row) ui.list.insertBefore(row, ui.list.children[index] ?? null);
    });
    const off = !enabled();
    const text = off ? '' : phase === 'loading' && list.length === 0 ? 'Loading your messages…'
      : phase === 'failed' ? `Could not load your messages: ${error}` : '';
    ui.status.hidden = text === '';
    ui.statusText.textContent = text;
    ui.retry.hidden = phase !== 'failed';
    ui.empty.hidden = !off && (phase !== 'ready' || list.length > 0);
    ui.emptyText.textContent = off ? 'Messaging is off for this app.'
      : 'No messages yet. Text a number, or an extension of your company.';
    ui.emptyNew.hidden = off;
    ui.newButton.disabled = off;
  }

  function bubble(message, showStatus) {
    const item = document.createElement('li');
    item.className = 'bubble';
    item.dataset.direction = message.direction === 'Outbound' ? 'out' : 'in';
    item.dataset.status = asString(message.messageStatus);
    const text = document.createElement('p');
    text.className = 'bubble__text';
    text.textContent = asString(message.subject);
    const meta = document.createElement('p');
    meta.className = 'bubble__meta';
    const when = time(message.creationTime);
    const parts = [new Date(when).toLocaleTimeString(undefined, { hour: 'numeric', minute: '2-digit' })];
    const failed = message.messageStatus === 'DeliveryFailed';
    if (message.direction === 'Outbound' && (showStatus || failed)) parts.push(ownValue(STATUS_TEXT, message.messageStatus) ?? '');
    meta.textContent = parts.filter(Boolean).join(' · ');
    meta.title = new Date(when).toLocaleString();
    item.append(text, meta);
    return item;
  }

  // dayLabel heads the messages of one day in a conversation.
  function dayLabel(ms) {
    const item = document.createElement('li');
    item.className = 'thread__day';
    const today = new Date().setHours(0, 0, 0, 0);
    item.textContent = ms >= today ? 'Today' : ms >= today - 86_400_000 ? 'Yesterday'
      : new Date(ms).toLocaleDateString(undefined, { weekday: 'short', month: 'short', day: 'numeric' });
    return item;
  }

  function renderThread() {
    const conversation = findConversation(threadKey);
    if (!conversation) {
      if (view === 'thread') openList();
      return;
    }
    const { name, number } = describeParties(conversation.others, conversation.type);
    ui.threadName.textContent = name;
    ui.threadNumber.textContent = [conversation.type === 'Pager' ? 'Company message' : 'SMS', number].filter(Boolean).join(' · ');
    const list = ui.threadMessages;
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 24;
    const lastOut = conversation.messages.findLast((m) => m.direction === 'Outbound');
    const items = [];
    let day = -1;
    for (const message of conversation.messages) {
      const start = new Date(time(message.creationTime)).setHours(0, 0, 0, 0);
      if (start !== day) {
        items.push(dayLabel(start));
        day = start;
      }
      items.push(bubble(message, message === lastOut));
    }
    const signature = JSON.stringify(conversation.messages.map((m) => [m.id, m.lastModifiedTime]));
    if (list.dataset.signature !== `${threadKey}|${signature}`) {
      list.replaceChildren(...items);
      list.dataset.signature = `${threadKey}|${signature}`;
      if (atBottom || list.dataset.key !== threadKey) list.scrollTop = list.scrollHeight;
      list.dataset.key = threadKey;
    }
  }

  // fitText grows a composer's text box with its text, up to a limit.
  function fitText(text) {
    if (text.offsetParent === null) return; // not shown: nothing to measure
    text.style.height = 'auto';
    text.style.height = `${Math.min(text.scrollHeight, MAX_COMPOSER_HEIGHT)}px`;
  }

  function renderCompose() {
    const to = cleanNumber(ui.composeTo.value);
    ui.composeKind.textContent = !to ? 'Type a phone number, or an extension number for a company message.'
      : messageType(to) === 'Pager' ? `Company message to extension ${to}` : `SMS to ${formatNumber(to, region())}`;
    ui.composeSend.disabled = sending || !to || ui.composeText.value.trim() === '';
  }

  function renderBadge(list) {
    const unread = list.reduce((sum, c) => sum + c.unread, 0);
    ui.badge.hidden = unread === 0;
    ui.badge.textContent = unread > MAX_BADGE ? `${MAX_BADGE}+` : String(unread);
    ui.badge.setAttribute('aria-label', `${unread} unread`);
  }

  function render() {
    const list = store.get().session.loggedIn ? conversations() : [];
    if (view === 'thread' && !findConversation(threadKey)) view = 'list';
    ui.listView.hidden = view !== 'list';
    ui.thread.hidden = view !== 'thread';
    ui.compose.hidden = view !== 'compose';
    renderList(list);
    if (view === 'thread') renderThread();
    fitText(ui.threadText);
    fitText(ui.composeText);
    ui.threadSend.disabled = sending || ui.threadText.value.trim() === '';
    renderCompose();
    renderBadge(list);
  }

  // -------------------------------------------------------------------------
  // Events and controls

  function onMessageEvent(event) {
    const message = readMessage(event.message);
    if (!message || !put(message)) return;
    render();
    markOpenRead();
  }

  const EVENTS = {
    'rc-message-updated-notify': onMessageEvent,
    'rc-inbound-message-notify': onMessageEvent,
  };

  function handleEvent(event) {
    const handler = ownValue(EVENTS, event.type);
    if (handler && store.get().session.loggedIn && enabled()) handler(event);
  }

  // Enter sends; Shift+Enter starts a new line.
  function sendOnEnter(text, submit) {
    text.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        submit();
      }
    });
  }

  function bindControls() {
    ui.newButton.addEventListener('click', () => openCompose());
    ui.emptyNew.addEventListener('click', () => openCompose());
    ui.retry.addEventListener('click', reload);
    ui.threadBack.addEventListener('click', openList);
    ui.composeBack.addEventListener('click', openList);
    ui.threadForm.addEventListener('submit', (event) => {
      event.preventDefault();
      submitThread();
    });
    ui.composeForm.addEventListener('submit', (event) => {
      event.preventDefault();
      submitCompose();
    });
    sendOnEnter(ui.threadText, submitThread);
    sendOnEnter(ui.composeText, submitCompose);
    ui.threadText.addEventListener('input', render);
    ui.composeText.addEventListener('input', render);
    ui.composeTo.addEventListener('input', render);
    ui.composeTo.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') {
        event.preventDefault();
        ui.composeText.focus();
      }
    });
    // A conversation shown again counts as read again.
    document.addEventListener('visibilitychange', markOpenRead);
  }

  // stateChanged loads the messages of a user who signed in, forgets them
  // at sign-out, and marks the open conversation read when the page shows.
  let route = '';
  function stateChanged(state) {
    const next = state.session.loggedIn ? state.session.loginNumber : '';
    if (next !== user) {
      user = next;
      loads += 1;
      messages.clear();
      phase = 'idle';
      error = '';
      view = 'list';
      threadKey = '';
      render();
      if (user) reload();
    }
    if (state.route !== route) {
      route = state.route;
      markOpenRead();
    }
  }

  bindControls();
  store.subscribe(stateChanged);
  stateChanged(store.get());

  return { handleEvent, reload, newSms };
}
