// Desktop notifications: the Settings toggle that turns them on (off unless
// the user, or the host's notification flag, turned them on), the browser's
// permission, asked only from the toggle's click, and the notifications of
// ringing calls and new messages, shown only while the widget is out of
// sight or out of focus.
//
// noticeAllowed and messageNotice are pure and tested under `node --test`.

import { ownValue } from './fields.js';
import { t } from './i18n.js';

const LOG_PREFIX = '[callbridge]';
const warn = (...args) => console.warn(LOG_PREFIX, ...args);

// Where the choice is kept, for this browser.
const PREF_KEY = 'cb-desktop-notifications';
// What the toggle's note says (message keys).
const BLOCKED_TEXT = 'notices.blocked';
const UNSUPPORTED_TEXT = 'notices.unsupported';
// The title of a new message's notification, by the message's type: of a
// sender with a name or number, and of one without.
const TITLE_TEXT = Object.freeze({
  VoiceMail: ['notices.newVoicemailFrom', 'notices.newVoicemailUnknown'],
  Fax: ['notices.newFaxFrom', 'notices.newFaxUnknown'],
});
const TITLE_OTHER = ['notices.newMessageFrom', 'notices.newMessageUnknown'];

// noticeAllowed says whether a notification may show: the user turned them
// on, the browser granted them, and the widget is hidden or not focused.
export function noticeAllowed({ on, permission, visible, focused }) {
  return on && permission === 'granted' && !(visible && focused);
}

// messageNotice is what the notification of a new message says.
export function messageNotice(message) {
  const from = message?.from ?? {};
  const who = String(from.name || from.phoneNumber || from.extensionNumber || '');
  const [named, unknown] = ownValue(TITLE_TEXT, message?.type) ?? TITLE_OTHER;
  const title = who ? t(named, { name: who }) : t(unknown);
  const subject = typeof message?.subject === 'string' ? message.subject : '';
  return { title, body: subject, tag: `cb-message-${String(message?.id ?? '')}` };
}

// createNotices starts the toggle (checkbox, note: its elements) and
// returns { show({title, body, tag}, onClick) → Notification or null }.
export function createNotices({ checkbox, note, byDefault = false }) {
  const supported = () => typeof Notification === 'function';
  const permission = () => (supported() ? Notification.permission : 'denied');

  function readPref() {
    try {
      const kept = localStorage.getItem(PREF_KEY);
      return kept === null ? byDefault : kept === 'on';
    } catch {
      return byDefault;
    }
  }
  let on = readPref();
  function setOn(value) {
    on = value;
    try {
      localStorage.setItem(PREF_KEY, value ? 'on' : 'off');
    } catch {
      // storage refused: the choice lasts for this page
    }
    render();
  }

  function render() {
    const granted = permission() === 'granted';
    checkbox.checked = on && granted;
    note.textContent = !supported() ? t(UNSUPPORTED_TEXT)
      : on && permission() === 'denied' ? t(BLOCKED_TEXT) : '';
    note.hidden = note.textContent === '';
  }

  // Only this click asks the browser: turning the toggle on is the gesture.
  checkbox.addEventListener('change', async () => {
    if (!checkbox.checked) {
      setOn(false);
      return;
    }
    if (!supported()) {
      setOn(false);
      return;
    }
    if (permission() === 'default') {
      try {
        await Notification.requestPermission();
      } catch (err) {
        warn(`cannot ask for notifications: ${err.message}`);
      }
    }
    setOn(true);
  });

  function show({ title, body, tag }, onClick) {
    const allowed = noticeAllowed({
      on,
      permission: permission(),
      visible: document.visibilityState === 'visible',
      focused: document.hasFocus(),
    });
    if (!allowed) return null;
    try {
      const notification = new Notification(title, { body, tag });
      notification.addEventListener('click', () => {
        window.focus();
        onClick?.();
        notification.close();
      });
      return notification;
    } catch (err) {
      warn(`cannot show a notification: ${err.message}`);
      return null;
    }
  }

  render();
  return { show };
}
