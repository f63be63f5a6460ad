// The messages page's conversation and composers: the open conversation's
// bubbles by day, its reply box, and the new message form. It shows what
// messages.js hands it; messages.js sends.

import { asString } from './fields.js';
import { cleanNumber } from './numbers.js';
import { CLOCK, composeHint, dayText, deliveryText, describeParties, time } from './conversations.js';
import { formatDate, t } from './i18n.js';

// The composer grows up to this many pixels, then scrolls.
const MAX_COMPOSER_HEIGHT = 96;
// How close to the bottom (px) the conversation counts as scrolled to its end.
const AT_BOTTOM_PX = 24;

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
  const parts = [formatDate(when, CLOCK)];
  parts.push(deliveryText(message, showStatus));
  meta.textContent = parts.filter(Boolean).join(' · ');
  meta.title = formatDate(when);
  item.append(text, meta);
  return item;
}

// dayLabel heads the messages of one day in a conversation.
function dayLabel(ms) {
  const item = document.createElement('li');
  item.className = 'thread__day';
  item.textContent = dayText(ms);
  return item;
}

// fitText grows a composer's text box with its text, up to a limit.
function fitText(text) {
  if (text.offsetParent === null) return; // not shown: nothing to measure
  text.style.height = 'auto';
  text.style.height = `${Math.min(text.scrollHeight, MAX_COMPOSER_HEIGHT)}px`;
}

// sendOnEnter makes Enter in a text box submit; Shift+Enter starts a new line.
export function sendOnEnter(text, submit) {
  text.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
}

// createThreadView shows a conversation and the composers.
//   ui:     the page's elements (messages.js)
//   shown:  shown(number) formats a number of a party for the page
//   format: format(number) formats a number being written to
// It returns { render(conversation), renderComposers(sending) }.
export function createThreadView({ ui, shown, format }) {
  // render shows conversation; its bubbles are built again only when its
  // messages changed, and it stays scrolled to its end when it was there.
  function render(conversation) {
    const { key } = conversation;
    const { name, number } = describeParties(conversation.others, conversation.type, shown);
    ui.threadName.textContent = name;
    const kind = t(conversation.type === 'Pager' ? 'messages.companyMessage' : 'messages.sms');
    ui.threadNumber.textContent = [kind, number].filter(Boolean).join(' · ');
    const list = ui.threadMessages;
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < AT_BOTTOM_PX;
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
    if (list.dataset.signature !== `${key}|${signature}`) {
      list.replaceChildren(...items);
      list.dataset.signature = `${key}|${signature}`;
      if (atBottom || list.dataset.key !== key) list.scrollTop = list.scrollHeight;
      list.dataset.key = key;
    }
  }

  // renderComposers sizes the text boxes, says how a new message goes, and
  // lets a message be sent when there is one to send (and none is sending).
  function renderComposers(sending) {
    fitText(ui.threadText);
    fitText(ui.composeText);
    ui.threadSend.disabled = sending || ui.threadText.value.trim() === '';
    const to = cleanNumber(ui.composeTo.value);
    ui.composeKind.textContent = composeHint(to, format);
    ui.composeSend.disabled = sending || !to || ui.composeText.value.trim() === '';
  }

  return { render, renderComposers };
}
