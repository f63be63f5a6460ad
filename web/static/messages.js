// The messages page: the signed-in user's conversations (SMS and company
// pager) and voicemails, one conversation at a time with its composer, one
// voicemail with its player, and a new message.
//
// Messages come from the server (GET /widget/messages) and stay current
// through the two message events of the stream; the page keeps the newest
// version of each message (by lastModifiedTime). Opening a conversation
// marks its inbound messages read; a voicemail is marked read once it plays,
// and can be marked unread again, deleted or called back. The Messages tab
// shows how many are unread in all.
//
// This module keeps the messages and what the page shows; the rules of
// conversations are conversations.js's, the list is messagelist.js's, the
// open conversation and the composers are messagethread.js's.

import {
  callBackNumber, contentUrl, conversationKey, conversationWith, describeParties, durationText, errorText, groupConversations,
  isUnread, messageType, readMessage, recordingErrorText, replyNumber, time, voicemailAudio,
} from './conversations.js';
import { asString, ownValue } from './fields.js';
import { formatDate, t } from './i18n.js';
import { focusOn, focusView, mayMoveFocus } from './layers.js';
import { createConversationList } from './messagelist.js';
import { createThreadView, sendOnEnter } from './messagethread.js';
import { cleanNumber, formatNumber, formatParty, MAX_NUMBER_LENGTH, regionOf } from './numbers.js';

const LOG_PREFIX = '[callbridge]';
const warn = (...args) => console.warn(LOG_PREFIX, ...args);

const MESSAGES_URL = '/widget/messages';
const messageUrl = (id) => `${MESSAGES_URL}/${encodeURIComponent(id)}`;
// How many of the newest messages the list loads, and of one conversation.
const LIST_SIZE = 100;
const THREAD_SIZE = 100;
const MAX_TEXT_LENGTH = 1000;
const OK = Object.freeze({ data: 'ok' });

const byId = (id) => document.getElementById(id);

// The page's elements, by their ids.
const ELEMENT_IDS = Object.freeze({
  listView: 'cb-msg-list-view', list: 'cb-conversations', status: 'cb-msg-status', statusText: 'cb-msg-status-text',
  retry: 'cb-msg-retry', empty: 'cb-msg-empty', emptyText: 'cb-msg-empty-text', emptyNew: 'cb-msg-empty-new',
  newButton: 'cb-msg-new', rowTemplate: 'cb-conversation-row-template',
  thread: 'cb-thread', threadBack: 'cb-thread-back', threadName: 'cb-thread-name', threadNumber: 'cb-thread-number',
  threadMessages: 'cb-thread-messages', threadForm: 'cb-thread-form', threadText: 'cb-thread-text', threadSend: 'cb-thread-send',
  compose: 'cb-compose', composeBack: 'cb-compose-back', composeTo: 'cb-compose-to', composeKind: 'cb-compose-kind',
  composeForm: 'cb-compose-form', composeText: 'cb-compose-text', composeSend: 'cb-compose-send',
  voicemail: 'cb-voicemail', vmBack: 'cb-vm-back', vmName: 'cb-vm-name', vmNumber: 'cb-vm-number', vmWhen: 'cb-vm-when',
  vmPlayer: 'cb-vm-player', vmNote: 'cb-vm-note', vmCall: 'cb-vm-call', vmRead: 'cb-vm-read', vmDelete: 'cb-vm-delete',
  badge: 'cb-messages-badge',
});

function findElements() {
  return Object.fromEntries(Object.entries(ELEMENT_IDS).map(([key, id]) => [key, byId(id)]));
}

// createMessages starts the messages page.
//   store:     the widget's store; the page follows the session in it
//   request:   request(method, url, body) → Promise of the server's JSON
//              answer, rejecting with an Error that carries the server's code
//   showPage:  showPage(path) shows a page of the widget
//   showAlert: showAlert({message, level}) shows a banner
//   loadMedia: loadMedia(url) → Promise of an object URL of the audio at url
//   callBack:  callBack(number) calls a number as the dial pad does
//   crm:       the host's CRM (Log on a conversation): has(key), labels(),
//              isConversationLogged(id), offerConversationLog(conversation,
//              name); or null
// It returns { handleEvent(event), reload(), newSms({phoneNumber, text,
// conversation}), render() }.
export function createMessages({ store, request, loadMedia, showPage, showAlert, callBack, crm = null }) {
  const ui = findElements();
  const logButton = document.getElementById('cb-thread-log');
  // The messages by id, and what is being done.
  const messages = new Map();
  let phase = 'idle';
  // Why the list could not be loaded, in the user's words.
  let error = '';
  let loads = 0;
  let user = '';
  // The view: list, thread (key), voicemail (key) or compose.
  let view = 'list';
  let threadKey = '';
  // The recording the voicemail player plays (its content URL), the
  // object URL of its audio once loaded, and why it could not be.
  let playing = '';
  let audioUrl = '';
  // Why it could not be loaded, in the user's words.
  let audioError = '';
  const marking = new Set();
  let sending = false;

  const region = () => regionOf(store.get().session);
  const shownNumber = (number) => formatParty(number, region());
  const list = createConversationList({ ui, shown: shownNumber, open: (key) => openThread(key) });
  const thread = createThreadView({ ui, shown: shownNumber, format: (number) => formatNumber(number, region()) });
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

  // conversations groups the messages, the newest conversation first.
  const conversations = () => groupConversations(messages.values());

  const findConversation = (key) => conversations().find((c) => c.key === key) ?? null;

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
      error = errorText(err);
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

  async function markRead(message, readStatus = 'Read') {
    marking.add(message.id);
    const load = loads;
    try {
      const answer = readMessage(await request('PUT', messageUrl(message.id), { readStatus }));
      if (load === loads && answer) put(answer);
    } catch (err) {
      warn(`could not mark message ${message.id} ${readStatus.toLowerCase()}: ${err.message}`);
      if (readStatus === 'Unread') showAlert({ message: t('messages.markUnreadFailed', { reason: errorText(err) }), level: 'danger' });
    } finally {
      marking.delete(message.id);
      render();
    }
  }

  // The voicemail shown, or null.
  const openVoicemail = () => (view === 'voicemail' ? findConversation(threadKey)?.last ?? null : null);

  async function deleteVoicemail() {
    const message = openVoicemail();
    if (!message || marking.has(message.id)) return;
    marking.add(message.id);
    render();
    try {
      const answer = readMessage(await request('DELETE', messageUrl(message.id)));
      messages.delete(message.id);
      if (answer) put(answer);
      if (view === 'voicemail' && threadKey === conversationKey(message)) openList();
    } catch (err) {
      showAlert({ message: t('messages.deleteFailed', { reason: errorText(err) }), level: 'danger' });
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

  // openList goes back to the list, with the focus on the conversation
  // the user comes from (else the list's first heading or control): the
  // view that had it is gone.
  function openList() {
    const from = threadKey;
    const hadFocus = [ui.thread, ui.compose, ui.voicemail].some((v) => v.contains(document.activeElement));
    view = 'list';
    threadKey = '';
    render();
    if (!hadFocus || !mayMoveFocus()) return;
    const row = [...ui.listView.querySelectorAll('.conversation-row')].find((r) => r.dataset.key === from);
    if (!focusOn(row?.querySelector('.conversation-row__open'))) focusView(ui.listView);
  }

  function openThread(key) {
    const conversation = findConversation(key);
    if (conversation?.type === 'VoiceMail') {
      view = 'voicemail';
      threadKey = key;
      render();
      ui.vmPlayer.focus({ preventScroll: true });
      return;
    }
    view = 'thread';
    threadKey = key;
    render();
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
    const existing = conversation && number ? conversationWith(conversations(), messageType(number), number) : null;
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
      showAlert({ message: t('messages.replyToOne'), level: 'warning' });
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
      showAlert({ message: t('messages.sendFailed', { reason: errorText(err, to) }), level: 'danger' });
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
      showAlert({ message: t('messages.sendFailed', { reason: errorText(err, to) }), level: 'danger' });
    } finally {
      sending = false;
      render();
    }
  }

  // -------------------------------------------------------------------------
  // Rendering

  // renderVoicemail shows the open voicemail: who and when, its player
  // (loaded once per recording), and what can be done with it.
  function renderVoicemail(message) {
    const { name, number } = describeParties([message.from ?? {}], 'VoiceMail', shownNumber);
    ui.vmName.textContent = name;
    ui.vmNumber.textContent = number;
    const audio = voicemailAudio(message);
    const when = formatDate(time(message.creationTime), { dateStyle: 'medium', timeStyle: 'short' });
    ui.vmWhen.textContent = audio?.duration ? `${when} · ${durationText(audio.duration)}` : when;
    const src = audio ? contentUrl(message.id, audio.id) : '';
    if (src !== playing) loadAudio(src);
    ui.vmPlayer.hidden = !audioUrl;
    ui.vmNote.textContent = !audio ? t('messages.noRecording')
      : audioError ? t('messages.recordingFailed', { reason: audioError }) : audioUrl ? '' : t('messages.loadingRecording');
    const busy = marking.has(message.id);
    ui.vmRead.textContent = t(isUnread(message) ? 'messages.markRead' : 'messages.markUnread');
    ui.vmRead.disabled = busy;
    ui.vmDelete.disabled = busy;
    ui.vmCall.disabled = !callBackNumber(message);
  }

  // loadAudio puts the recording at src ('' for none) in the player; the
  // player shows once it is loaded.
  async function loadAudio(src) {
    playing = src;
    audioError = '';
    ui.vmPlayer.pause();
    ui.vmPlayer.removeAttribute('src');
    if (audioUrl) URL.revokeObjectURL(audioUrl);
    audioUrl = '';
    if (!src) return;
    try {
      const url = await loadMedia(src);
      if (playing !== src) {
        URL.revokeObjectURL(url);
        return;
      }
      audioUrl = url;
      ui.vmPlayer.src = url;
    } catch (err) {
      if (playing !== src) return;
      audioError = recordingErrorText(err);
    }
    render();
  }

  // The conversation as the host's CRM logs it.
  const logged = (conversation) => ({
    conversationId: asString(conversation.messages[0]?.conversationId) || conversation.key,
    type: conversation.type,
    messages: conversation.messages,
  });

  // renderLog offers Log on the open conversation, or says it was logged.
  let logOpen = null;
  function renderLog(conversation) {
    logOpen = conversation;
    const offered = Boolean(crm && conversation && crm.has('messageLoggerPath'));
    logButton.hidden = !offered;
    if (!offered) return;
    const done = crm.isConversationLogged(logged(conversation).conversationId);
    logButton.textContent = done ? t('messages.logged') : crm.labels().logMessages;
    logButton.disabled = done;
  }
  logButton.addEventListener('click', () => {
    if (!logOpen) return;
    crm.offerConversationLog(logged(logOpen), ui.threadName.textContent);
  });

  function render() {
    const shown = store.get().session.loggedIn ? conversations() : [];
    const open = view === 'thread' || view === 'voicemail' ? findConversation(threadKey) : null;
    if ((view === 'thread' || view === 'voicemail') && !open) view = 'list';
    ui.listView.hidden = view !== 'list';
    ui.thread.hidden = view !== 'thread';
    ui.voicemail.hidden = view !== 'voicemail';
    ui.compose.hidden = view !== 'compose';
    if (view !== 'voicemail' && playing) loadAudio('');
    if (view === 'voicemail') renderVoicemail(open.last);
    list.render(shown, { off: !enabled(), phase, error });
    if (open && view === 'thread') thread.render(open);
    renderLog(open && view === 'thread' ? open : null);
    thread.renderComposers(sending);
    list.renderBadge(shown);
    store.update({ unreadMessages: shown.reduce((sum, c) => sum + c.unread, 0) });
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

  function bindControls() {
    ui.newButton.addEventListener('click', () => openCompose());
    ui.emptyNew.addEventListener('click', () => openCompose());
    ui.retry.addEventListener('click', reload);
    ui.threadBack.addEventListener('click', openList);
    ui.composeBack.addEventListener('click', openList);
    ui.vmBack.addEventListener('click', openList);
    ui.vmRead.addEventListener('click', () => {
      const message = openVoicemail();
      if (message && !marking.has(message.id)) markRead(message, isUnread(message) ? 'Read' : 'Unread');
    });
    ui.vmDelete.addEventListener('click', deleteVoicemail);
    ui.vmCall.addEventListener('click', () => {
      const number = openVoicemail() && callBackNumber(openVoicemail());
      if (number) callBack(number);
    });
    // A voicemail played counts as read.
    ui.vmPlayer.addEventListener('play', () => {
      const message = openVoicemail();
      if (message && isUnread(message) && !marking.has(message.id)) markRead(message);
    });
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

  return { handleEvent, reload, newSms, render };
}
