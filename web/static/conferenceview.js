// The conference in the call panel, and adding a participant.
//
// While the call the panel shows is in a conference, the panel lists its
// participants (name, number, status, a badge when muted), with Mute or
// Unmute and Remove for each when the user hosts it, and Leave and (for
// the host) End for all. Add participant, among the call's controls, opens
// a number field over them: Enter calls the number, and the call joins the
// conference once answered. What a conference is, is conference.js's.

import { canAct } from './calls.js';
import { addingTo, conferenceTitle, hosts, participantRows } from './conference.js';
import { t } from './i18n.js';

// createConferenceView binds the participant list and the field that adds one.
//   region:   region() is the region numbers are shown for
//   describe: describe(entry) is who is on the other end: {name, number}
//   act:      act(entry, action, options) runs a call action
// It returns render(list, current) and close() (of the field).
export function createConferenceView({ region, describe, act }) {
  const byId = (id) => document.getElementById(id);
  const ui = {
    panel: byId('cb-active-call'),
    section: byId('cb-conference'), title: byId('cb-conference-title'), list: byId('cb-conference-list'),
    leave: byId('cb-conference-leave'), end: byId('cb-conference-end'),
    template: byId('cb-participant-template'),
    opener: byId('cb-add-participant'), form: byId('cb-add-participant-form'),
    number: byId('cb-add-participant-number'), dial: byId('cb-add-participant-dial'),
    cancel: byId('cb-add-participant-cancel'), note: byId('cb-add-participant-note'),
    hangup: byId('cb-hangup'),
  };
  // The call the panel shows, and the rows of its participants by partyId.
  let current = null;
  const rows = new Map();
  let adding = null; // the call the open field adds a participant to

  // -------------------------------------------------------------------------
  // The participant list

  function newRow(partyId) {
    const row = ui.template.content.firstElementChild.cloneNode(true);
    row.id = `cb-participant-${partyId}`;
    row.dataset.partyId = partyId;
    return row;
  }

  function fillRow(row, p) {
    row.dataset.state = p.state;
    row.dataset.self = String(p.self);
    row.querySelector('.participant__name').textContent = p.name;
    row.querySelector('.participant__detail').textContent = p.detail;
    const badge = row.querySelector('.participant__badge');
    badge.hidden = !p.muted;
    badge.textContent = p.muted;
    const mute = row.querySelector('[data-participant="mute"]');
    mute.hidden = !p.mute;
    if (p.mute) {
      mute.textContent = p.mute.label;
      mute.dataset.muted = String(p.mute.muted);
      mute.setAttribute('aria-label', t(p.mute.muted ? 'conference.muteName' : 'conference.unmuteName', { name: p.name }));
    }
    const remove = row.querySelector('[data-participant="remove"]');
    remove.hidden = !p.remove;
    remove.setAttribute('aria-label', t('conference.removeName', { name: p.name }));
    const busy = Boolean(current?.busy);
    mute.disabled = busy;
    remove.disabled = busy;
  }

  function renderList(entry) {
    const conference = entry?.conference ?? null;
    ui.section.hidden = !conference;
    ui.panel.dataset.conference = String(Boolean(conference));
    if (!conference) {
      rows.forEach((row) => row.remove());
      rows.clear();
      return;
    }
    const list = participantRows(conference, entry.call.partyId, region());
    const keys = list.map((p) => p.partyId);
    for (const [key, row] of rows) {
      if (!keys.includes(key)) {
        row.remove();
        rows.delete(key);
      }
    }
    list.forEach((p, index) => {
      let row = rows.get(p.partyId);
      if (!row) {
        row = newRow(p.partyId);
        rows.set(p.partyId, row);
      }
      // Rows move only when the order changes, so a focused button keeps its focus.
      if (ui.list.children[index] !== row) ui.list.insertBefore(row, ui.list.children[index] ?? null);
      fillRow(row, p);
    });
    ui.title.textContent = conferenceTitle(conference);
    const host = hosts(entry);
    ui.end.hidden = !host;
    ui.end.disabled = Boolean(entry.busy);
    ui.leave.disabled = Boolean(entry.busy);
    ui.leave.setAttribute('aria-label', t(host ? 'conference.leaveLabelHost' : 'conference.leaveLabel'));
  }

  ui.list.addEventListener('click', (event) => {
    const button = event.target.closest('[data-participant]');
    const row = event.target.closest('[data-party-id]');
    if (!button || !row || !current) return;
    const { partyId } = row.dataset;
    if (button.dataset.participant === 'remove') act(current, 'removeParticipant', { partyId });
    else act(current, 'muteParticipant', { partyId, muted: button.dataset.muted === 'true' });
  });
  ui.leave.addEventListener('click', () => current && act(current, 'hangup'));
  ui.end.addEventListener('click', () => current && act(current, 'endConference'));

  // -------------------------------------------------------------------------
  // Adding a participant

  function open() {
    if (!current || !canAct(current, 'addParticipant')) return;
    adding = current;
    ui.form.hidden = false;
    ui.panel.dataset.adding = 'true';
    ui.opener.setAttribute('aria-expanded', 'true');
    ui.number.value = '';
    ui.note.textContent = t('conference.waitsOnHold', { name: describe(current).name });
    renderField();
    ui.number.focus();
  }

  // refocus: the keyboard waits for a control of the panel to take it.
  let refocus = false;

  // focusPanel puts the keyboard on Add person, else on the call's hang-up
  // or Leave; false when none can take it yet (the call is busy).
  function focusPanel() {
    const target = [ui.opener, ui.hangup, ui.leave].find((b) => !b.disabled && b.offsetParent);
    target?.focus();
    return Boolean(target);
  }

  function close({ focus = true } = {}) {
    if (!adding) return;
    adding = null;
    ui.form.hidden = true;
    ui.panel.dataset.adding = 'false';
    ui.opener.setAttribute('aria-expanded', 'false');
    if (focus) focusPanel();
  }

  // dial calls the number; the keyboard goes to the panel once the call
  // placed shows there.
  function dial() {
    const number = ui.number.value.trim();
    if (!adding || !number) {
      ui.number.focus();
      return;
    }
    act(adding, 'addParticipant', { number });
    close({ focus: false });
    refocus = true;
  }

  function renderField() {
    ui.dial.disabled = !adding || ui.number.value.trim() === '' || !canAct(adding, 'addParticipant');
  }

  ui.opener.addEventListener('click', () => (adding ? close() : open()));
  ui.number.addEventListener('input', renderField);
  ui.form.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.stopPropagation();
      close();
    }
  });
  // Enter in the field submits the form.
  ui.form.addEventListener('submit', (event) => {
    event.preventDefault();
    dial();
  });
  ui.cancel.addEventListener('click', () => close());

  // -------------------------------------------------------------------------
  // Rendering with the calls

  // render follows the calls: the panel lists the conference of its call
  // (entry), and the field closes when its call is no longer shown.
  function render(list, entry) {
    current = entry;
    if (adding && (adding !== entry || adding.done)) close({ focus: false });
    renderList(entry);
    const pending = addingTo(list);
    ui.opener.disabled = !entry || Boolean(pending) || !canAct(entry, 'addParticipant');
    if (adding) renderField();
    // Only while nothing else took the keyboard meanwhile.
    if (refocus && (!document.activeElement || document.activeElement === document.body)) {
      if (!entry || focusPanel()) refocus = false;
    } else {
      refocus = false;
    }
  }

  return { render, close };
}
