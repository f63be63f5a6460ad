// The transfer panel and the warm transfer in progress.
//
// The panel opens over the call from its Transfer button: a field for a
// number or a name, the account's extensions filtered by it (a listbox the
// arrow keys move through), and two ways to transfer: now (blind), or after
// a consult call (warm). While a consult call is under way the call panel
// shows who is consulted for whom, with Complete transfer and Cancel.
// What a transfer is, is transfer.js's; this module shows it.

import { canAct } from './calls.js';
import {
  MAX_EXTENSIONS_SHOWN, canComplete, consultPair, extensionsUrl, filterExtensions, readExtensions, targetName,
  transferTarget,
} from './transfer.js';
import { t } from './i18n.js';

const LOG_PREFIX = '[callbridge]';
const warn = (...args) => console.warn(LOG_PREFIX, ...args);

// The list asks the server again once typing pauses this long.
const QUERY_DELAY_MS = 250;

// createTransferView binds the transfer panel and the consult bar.
//   request:  request(method, url, body) → Promise of the server's JSON answer
//   store:    the widget's store (the session: the user's own extension)
//   region:   region() is the region numbers are shown for
//   describe: describe(entry) is who is on the other end: {name, number}
//   act:      act(entry, action, options) runs a call action
// It returns open(entry), close() and render(list, current).
export function createTransferView({ request, store, region, describe, act }) {
  const byId = (id) => document.getElementById(id);
  const ui = {
    sheet: byId('cb-transfer'), close: byId('cb-transfer-close'), who: byId('cb-transfer-who'),
    input: byId('cb-transfer-to'), list: byId('cb-transfer-list'), note: byId('cb-transfer-note'),
    warm: byId('cb-transfer-warm'), blind: byId('cb-transfer-blind'), opener: byId('cb-transfer-open'),
    consult: byId('cb-consult'), consultText: byId('cb-consult-text'),
    complete: byId('cb-consult-complete'), cancel: byId('cb-consult-cancel'),
  };
  let entry = null; // the call the panel transfers
  let extensions = [];
  let shown = []; // the extensions listed
  let picked = null;
  let active = -1; // the listed extension the arrow keys are on
  let queryTimer = 0;
  let asked = 0; // requests made, so that only the latest answer counts
  let pair = null; // the warm transfer the call panel shows

  // -------------------------------------------------------------------------
  // The list of extensions

  async function load(query) {
    const ask = ++asked;
    try {
      const found = readExtensions(await request('GET', extensionsUrl(query)), store.get().session.extension?.number ?? '');
      if (ask !== asked || !entry) return;
      // Keep what was listed before for the names it had: an answer to a
      // narrower query holds fewer.
      const known = new Map(extensions.map((x) => [x.number, x]));
      found.forEach((x) => known.set(x.number, x));
      extensions = [...known.values()].sort((a, b) => a.number.localeCompare(b.number, 'en', { numeric: true }));
      ui.note.textContent = '';
      renderList();
    } catch (err) {
      if (ask !== asked) return;
      warn(`could not list the extensions: ${err.message}`);
      ui.note.textContent = t('transfer.loadFailed');
    }
  }

  function renderList() {
    shown = filterExtensions(extensions, picked ? '' : ui.input.value).slice(0, MAX_EXTENSIONS_SHOWN);
    if (active >= shown.length) active = shown.length - 1;
    ui.list.replaceChildren(...shown.map((x, i) => {
      const option = document.createElement('li');
      option.className = 'transfer-option';
      option.id = `cb-transfer-option-${i}`;
      option.setAttribute('role', 'option');
      option.setAttribute('aria-selected', String(picked?.number === x.number));
      option.dataset.active = String(i === active);
      option.dataset.busy = String(x.busy);
      const name = document.createElement('span');
      name.className = 'transfer-option__name';
      name.textContent = x.name;
      const detail = document.createElement('span');
      detail.className = 'transfer-option__detail';
      detail.textContent = [t('transfer.extensionNumber', { number: x.number }), x.status].filter(Boolean).join(' · ');
      option.append(name, detail);
      option.addEventListener('click', () => pick(x));
      return option;
    }));
    if (active >= 0) {
      ui.input.setAttribute('aria-activedescendant', `cb-transfer-option-${active}`);
      byId(`cb-transfer-option-${active}`).scrollIntoView({ block: 'nearest' });
    } else {
      ui.input.removeAttribute('aria-activedescendant');
    }
    if (extensions.length > 0 && shown.length === 0 && !transferTarget(ui.input.value, null)) {
      ui.note.textContent = t('transfer.noMatch');
    } else if (ui.note.textContent === t('transfer.noMatch')) {
      ui.note.textContent = '';
    }
    renderButtons();
  }

  function renderButtons() {
    const target = transferTarget(ui.input.value, picked);
    const ready = Boolean(entry) && Boolean(target) && canAct(entry, 'transfer');
    ui.blind.disabled = !ready;
    ui.warm.disabled = !ready;
    const name = target ? targetName(target, extensions, region()) : '';
    ui.blind.textContent = name ? t('transfer.transferNowTo', { name }) : t('transfer.transferNow');
    ui.warm.textContent = name ? t('transfer.consultFirstName', { name }) : t('transfer.consultFirst');
  }

  function pick(extension) {
    picked = extension;
    ui.input.value = `${extension.name} (${extension.number})`;
    active = shown.indexOf(extension);
    renderList();
    ui.input.focus();
  }

  // -------------------------------------------------------------------------
  // Opening and closing

  function open(call) {
    if (!call) return;
    entry = call;
    picked = null;
    active = -1;
    ui.input.value = '';
    ui.note.textContent = '';
    const { name } = describe(call);
    ui.who.textContent = t('transfer.yourCallWith', { name });
    // What the panel covers turns inert (layers.js).
    ui.sheet.hidden = false;
    renderList();
    ui.input.focus();
    load('');
  }

  function close() {
    if (!entry) return;
    entry = null;
    clearTimeout(queryTimer);
    ui.sheet.hidden = true;
    if (!ui.opener.disabled && ui.opener.offsetParent) ui.opener.focus();
  }

  function transfer(warm) {
    const target = transferTarget(ui.input.value, picked);
    if (!entry || !target) return;
    act(entry, 'transfer', warm ? { transferNumber: target, warm: true } : { transferNumber: target });
    close();
  }

  function onKey(event) {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      if (shown.length === 0) return;
      const step = event.key === 'ArrowDown' ? 1 : -1;
      active = (active + step + shown.length) % shown.length;
      renderList();
    } else if (event.key === 'Enter' && !picked) {
      // Enter picks the extension the arrows are on, or the only one listed.
      const choice = shown[active] ?? (shown.length === 1 ? shown[0] : null);
      if (!choice) return;
      event.preventDefault();
      pick(choice);
    }
  }

  ui.input.addEventListener('input', () => {
    picked = null;
    active = -1;
    renderList();
    clearTimeout(queryTimer);
    queryTimer = setTimeout(() => load(ui.input.value), QUERY_DELAY_MS);
  });
  ui.input.addEventListener('keydown', onKey);
  ui.sheet.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.stopPropagation();
      close();
    }
  });
  ui.close.addEventListener('click', close);
  ui.blind.addEventListener('click', () => transfer(false));
  ui.warm.addEventListener('click', () => transfer(true));
  ui.complete.addEventListener('click', () => pair && act(pair.consult, 'completeTransfer'));
  ui.cancel.addEventListener('click', () => pair && act(pair.consult, 'cancelTransfer'));

  // -------------------------------------------------------------------------
  // Rendering with the calls

  // render follows the calls: the panel closes when its call ends, and the
  // call panel shows the warm transfer of its call (current), if any.
  function render(list, current) {
    if (entry && (entry.done || !list.includes(entry))) close();
    if (entry) renderButtons();
    pair = consultPair(list, current);
    ui.consult.hidden = !pair;
    ui.opener.disabled = !current || Boolean(pair) || !canAct(current, 'transfer');
    if (!pair) return;
    const target = describe(pair.consult).name;
    const caller = describe(pair.original).name;
    ui.consultText.textContent = t(canComplete(pair) ? 'transfer.consultOnLine' : 'transfer.consultCalling', { target, caller });
    const busy = Boolean(pair.original.busy || pair.consult.busy);
    ui.complete.disabled = busy || !canComplete(pair);
    ui.cancel.disabled = busy;
  }

  return { open, close, render };
}
