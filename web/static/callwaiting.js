// Call waiting: a call that rings while this tab has another call shows
// over the top of the call, not as the full incoming-call panel, and offers
// what to do with the call in progress: hold it and answer, end it and
// answer, ignore the new call here (other devices go on ringing), or
// decline it. The ringer plays the call-waiting tone meanwhile (ringer.js).

import { isRinging } from './calls.js';

// waitingCall is the call that waits: one that rings while another call of
// list does not; null when none waits.
export function waitingCall(list) {
  const ringing = list.find(isRinging);
  if (!ringing) return null;
  return list.some((entry) => !isRinging(entry)) ? ringing : null;
}

// WAITING_ACTIONS: each button of the panel, with the call action it runs.
export const WAITING_ACTIONS = Object.freeze({
  'cb-waiting-hold': { action: 'answer', options: Object.freeze({ action: 'hold' }) },
  'cb-waiting-end': { action: 'answer', options: Object.freeze({ action: 'end' }) },
  'cb-waiting-ignore': { action: 'ignore' },
  'cb-waiting-decline': { action: 'reject' },
});

// createCallWaiting binds the call-waiting panel.
//   describe: describe(entry) is who calls: {name, number}
//   act:      act(entry, action, options) runs a call action
//   answered: answered() hears that the user answers (optional)
// It returns render(list), which shows the waiting call of list (if any)
// and returns it.
export function createCallWaiting({ describe, act, answered }) {
  const byId = (id) => document.getElementById(id);
  const panel = byId('cb-waiting');
  const name = byId('cb-waiting-name');
  const number = byId('cb-waiting-number');
  const buttons = Object.keys(WAITING_ACTIONS).map(byId);
  let shown = null;

  panel.addEventListener('click', (event) => {
    const button = event.target.closest('button');
    const step = button && Object.hasOwn(WAITING_ACTIONS, button.id) && WAITING_ACTIONS[button.id];
    if (!step || !shown) return;
    if (step.action === 'answer') answered?.();
    act(shown, step.action, step.options);
  });

  // A call that starts waiting takes the keyboard's focus, unless the user
  // is typing somewhere else.
  function takeFocus() {
    const active = document.activeElement;
    const typing = active && active !== document.body && active.matches('input, textarea, select');
    if (!typing) buttons[0].focus({ preventScroll: true });
  }

  function render(list) {
    const entry = waitingCall(list);
    const appeared = entry && entry !== shown;
    shown = entry;
    panel.hidden = !entry;
    if (!entry) return null;
    const who = describe(entry);
    name.textContent = who.name;
    number.textContent = who.number;
    for (const button of buttons) button.disabled = Boolean(entry.busy);
    if (appeared) takeFocus();
    return entry;
  }

  return { render };
}
