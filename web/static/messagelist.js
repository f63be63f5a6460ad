// The messages page's list: a row for each conversation and each voicemail
// (with its icon and duration), newest first, what
// the list says while it loads or when it failed, and the Messages tab's
// unread badge. It shows what messages.js hands it.

import {
  badgeText, describeParties, initials, listStatus, MAX_BADGE, preview, shortTime, time,
} from './conversations.js';
import { formatDate, t } from './i18n.js';

// createConversationList shows conversations in the page's list.
//   ui:    the page's elements (messages.js)
//   shown: shown(number) formats a number for the page
//   open:  open(key) opens the conversation of a row
// It returns { render(list, {off, phase, error}), renderBadge(list) }.
export function createConversationList({ ui, shown, open }) {
  // The row of each conversation, by its key.
  const rows = new Map();

  function renderRow(row, conversation, now) {
    const { name, number } = describeParties(conversation.others, conversation.type, shown);
    const { last } = conversation;
    row.dataset.key = conversation.key;
    row.dataset.unread = String(conversation.unread > 0);
    row.dataset.type = conversation.type;
    const voicemail = conversation.type === 'VoiceMail';
    const letters = initials(name);
    const avatar = row.querySelector('.conversation-row__avatar');
    avatar.textContent = letters || '#';
    avatar.dataset.type = conversation.type;
    row.querySelector('.conversation-row__name').textContent = name;
    row.querySelector('.conversation-row__name').title = number;
    const text = preview(last);
    row.querySelector('.conversation-row__preview').textContent =
      last.direction === 'Outbound' ? t('messages.youPrefix', { text }) : text;
    const when = time(last.creationTime);
    const stamp = row.querySelector('.conversation-row__time');
    stamp.textContent = shortTime(when, now);
    stamp.dateTime = new Date(when).toISOString();
    stamp.title = formatDate(when);
    const badge = row.querySelector('.conversation-row__badge');
    badge.textContent = conversation.unread > 0 ? String(Math.min(conversation.unread, MAX_BADGE)) : '';
    badge.hidden = conversation.unread === 0;
    row.querySelector('.conversation-row__vm').hidden = !voicemail;
    const { unread } = conversation;
    row.querySelector('.conversation-row__open').setAttribute('aria-label', voicemail
      ? t(unread ? 'messages.voicemailRowLabelUnread' : 'messages.voicemailRowLabel', { preview: text, name, time: stamp.title })
      : t(unread ? 'messages.rowLabelUnread' : 'messages.rowLabel', { name, count: unread, preview: text }));
  }

  // render shows list; off says messaging is off for the app, phase
  // (idle, loading, ready or failed) and error how the loading goes.
  function render(list, { off, phase, error }) {
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
        row.querySelector('.conversation-row__open').addEventListener('click', () => open(row.dataset.key));
        rows.set(conversation.key, row);
      }
      renderRow(row, conversation, now);
      if (ui.list.children[index] !== row) ui.list.insertBefore(row, ui.list.children[index] ?? null);
    });
    const text = listStatus({ off, phase, count: list.length, error });
    ui.status.hidden = text === '';
    ui.statusText.textContent = text;
    ui.retry.hidden = phase !== 'failed';
    ui.empty.hidden = !off && (phase !== 'ready' || list.length > 0);
    ui.emptyText.textContent = t(off ? 'messages.off' : 'messages.empty');
    ui.emptyNew.hidden = off;
    ui.newButton.disabled = off;
  }

  // renderBadge shows how many messages of list are unread on the tab.
  function renderBadge(list) {
    const unread = list.reduce((sum, c) => sum + c.unread, 0);
    ui.badge.hidden = unread === 0;
    ui.badge.textContent = badgeText(unread);
    ui.badge.setAttribute('aria-label', t('messages.unreadLabel', { count: unread }));
  }

  return { render, renderBadge };
}
