// The lists of calls: the cards at the top of the call panel (each call of
// this tab once it has more than one, and the user's calls on their other
// devices), the /calls page (this tab's calls as rows, the other devices'
// as cards), and the bar that offers a call of another device while this
// tab has none.
//
// The pure part (what a card says and offers) is tested under `node --test`
// (web/test/callcards.test.js).

import { STATUS, canAct, isOnHold, isRinging, rowState, statusText } from './calls.js';
import { canMerge, hosts } from './conference.js';
import { t } from './i18n.js';
import { consultPair } from './transfer.js';

const isLiveHere = (entry) => Boolean(entry.id) && !isRinging(entry) && !entry.answering &&
  entry.call.callStatus === STATUS.connected && !isOnHold(entry.call);

// cardAction is the main button of the card of a call of this tab:
// {action, label}, or null when there is nothing to do but hang up.
export function cardAction(entry, list) {
  if (!entry.id || isRinging(entry) || entry.answering) return null;
  if (isOnHold(entry.call)) {
    const other = list.some((e) => e !== entry && isLiveHere(e));
    return other ? { action: 'switch', label: t('call.switch') } : { action: 'unhold', label: t('call.resume') };
  }
  return entry.call.callStatus === STATUS.connected ? { action: 'hold', label: t('call.hold') } : null;
}

// cardStatus is what the card of a call of this tab says of it at now.
export function cardStatus(entry, list, now) {
  const text = statusText(entry, now);
  const pair = consultPair(list, entry);
  if (pair?.consult === entry) return t('call.cardConsult', { status: text });
  if (entry.conferenceOf) return t('call.cardAdding', { status: text });
  if (pair?.original === entry) return t('call.cardTransferring', { status: text });
  return text;
}

// mergeLabel is what the Merge button of the card of other says: it
// merges other with current, the call the panel shows (into its
// conference when the user hosts one there).
export function mergeLabel(current, other, describe) {
  if (hosts(other)) {
    return hosts(current) ? t('call.mergeConferences') : t('call.mergeConferenceAndCall', { name: describe(current).name });
  }
  const name = describe(other).name;
  if (hosts(current)) return t('call.mergeCallAndConference', { name });
  return t('call.mergeCalls', { first: name, second: describe(current).name });
}

// panelCards lists what the call panel shows as cards: this tab's calls
// (not ringing) once there is more than one or a call on another device,
// then the other devices' calls; none when one call is all there is.
export function panelCards(list, elsewhere) {
  const mine = list.filter((entry) => !isRinging(entry));
  return mine.length > 1 || elsewhere.length > 0 ? { mine, elsewhere } : { mine: [], elsewhere: [] };
}

// elsewhereText is what the bar says of the calls on other devices: {name, detail}.
export function elsewhereText(remotes, describeRemote) {
  if (remotes.length === 1) return { name: describeRemote(remotes[0]).name, detail: t('call.onOtherDevice') };
  return { name: t('call.callCount', { count: remotes.length }), detail: t('call.onOtherDevices') };
}

// createCallCards binds the lists of calls.
//   describe:       describe(entry) is who is on the other end: {name, number}
//   describeRemote: the same for a call on another device (remotecalls.js)
//   actions:        act(entry, action, options), show(entry) (in the call
//                   panel), moveHere(id), navigate(path)
// It returns render({list, current, listed, elsewhere, now}).
export function createCallCards({ describe, describeRemote, actions }) {
  const byId = (id) => document.getElementById(id);
  const ui = {
    cards: byId('cb-call-cards'), page: byId('cb-calls-elsewhere'), pageTitle: byId('cb-title-calls-elsewhere'),
    rows: byId('cb-calls-list'), rowsEmpty: byId('cb-calls-empty'), rowTemplate: byId('cb-call-row-template'),
    cardTemplate: byId('cb-call-card-template'),
    bar: byId('cb-elsewhere'), barText: byId('cb-elsewhere-text'), barDetail: byId('cb-elsewhere-detail'),
    barAction: byId('cb-elsewhere-action'),
  };
  // The elements of each list, by call entry or by the id of a remote call.
  const made = new Map([[ui.cards, new Map()], [ui.page, new Map()], [ui.rows, new Map()]]);
  // What the elements' buttons act on now.
  const targets = new WeakMap();
  let barCall = null;

  // place keeps the elements of container in the order of keys, making
  // each new one with make(key) and dropping those of keys gone.
  function place(container, keys, make) {
    const elements = made.get(container);
    for (const [key, element] of elements) {
      if (!keys.includes(key)) {
        element.remove();
        elements.delete(key);
      }
    }
    keys.forEach((key, index) => {
      let element = elements.get(key);
      if (!element) {
        element = make(key);
        elements.set(key, element);
      }
      // Elements move only when the order changes, so a focused one keeps its focus.
      if (container.children[index] !== element) container.insertBefore(element, container.children[index] ?? null);
    });
    return keys.map((key) => elements.get(key));
  }

  function newCard() {
    const card = ui.cardTemplate.content.firstElementChild.cloneNode(true);
    card.addEventListener('click', (event) => {
      const button = event.target.closest('button');
      const target = targets.get(card);
      if (!button || !target) return;
      if (target.remote) {
        if (button.dataset.card === 'main') actions.moveHere(target.remote.id);
      } else if (button.dataset.card === 'main') {
        actions.act(target.entry, target.action);
      } else if (button.dataset.card === 'hangup') {
        actions.act(target.entry, 'hangup');
      } else if (button.dataset.card === 'merge') {
        if (target.current) actions.act(target.current, 'merge', { otherCallId: target.entry.id });
      } else {
        actions.show(target.entry);
      }
    });
    return card;
  }

  function fillMine(card, entry, list, current, now) {
    const { name, number } = describe(entry);
    const main = cardAction(entry, list);
    const status = [cardStatus(entry, list, now), number].filter(Boolean).join(' · ');
    targets.set(card, { entry, action: main?.action, current });
    card.dataset.state = rowState(entry);
    card.dataset.callId = entry.id;
    card.querySelector('.call-card__name').textContent = name;
    card.querySelector('.call-card__status').textContent = status;
    const open = card.querySelector('.call-card__open');
    open.disabled = false;
    open.setAttribute('aria-label', t('call.showCall', { name, status }));
    if (entry === current) open.setAttribute('aria-current', 'true');
    else open.removeAttribute('aria-current');
    const button = card.querySelector('[data-card="main"]');
    button.hidden = !main;
    if (main) {
      button.textContent = main.label;
      button.setAttribute('aria-label', t('call.actOnCall', { action: main.label, name }));
      button.disabled = !canAct(entry, main.action);
    }
    // Another call than the one shown can be merged with it.
    const merge = card.querySelector('[data-card="merge"]');
    merge.hidden = !current || entry === current || !canMerge(list, current, entry);
    if (!merge.hidden) merge.setAttribute('aria-label', mergeLabel(current, entry, describe));
    const end = card.querySelector('[data-card="hangup"]');
    end.hidden = false;
    end.disabled = Boolean(entry.busy);
    end.setAttribute('aria-label', t('call.hangUpCall', { name }));
  }

  function fillRemote(card, remote) {
    const { name, number } = describeRemote(remote);
    const status = t(remote.onHold ? 'call.onHoldElsewhere' : 'call.elsewhere');
    targets.set(card, { remote });
    card.dataset.state = 'elsewhere';
    delete card.dataset.callId;
    card.querySelector('.call-card__name').textContent = name;
    card.querySelector('.call-card__status').textContent = number ? `${status} · ${number}` : status;
    const open = card.querySelector('.call-card__open');
    open.disabled = true;
    open.removeAttribute('aria-label');
    open.removeAttribute('aria-current');
    const button = card.querySelector('[data-card="main"]');
    button.hidden = false;
    button.disabled = false;
    button.textContent = t('call.moveHere');
    button.setAttribute('aria-label', t('call.moveCallHere', { name }));
    card.querySelector('[data-card="hangup"]').hidden = true;
    card.querySelector('[data-card="merge"]').hidden = true;
  }

  function renderCards(container, mine, elsewhere, list, current, now) {
    const keys = [...mine, ...elsewhere.map((remote) => `remote:${remote.id}`)];
    const cards = place(container, keys, newCard);
    mine.forEach((entry, i) => fillMine(cards[i], entry, list, current, now));
    elsewhere.forEach((remote, i) => fillRemote(cards[mine.length + i], remote));
    container.hidden = keys.length === 0;
  }

  function newRow(entry) {
    const row = ui.rowTemplate.content.firstElementChild.cloneNode(true);
    row.querySelector('.call-row__open').addEventListener('click', () => actions.show(entry));
    return row;
  }

  function renderRows(list, now) {
    const rows = place(ui.rows, list, newRow);
    list.forEach((entry, i) => {
      const row = rows[i];
      const { name, number } = describe(entry);
      row.dataset.state = rowState(entry);
      row.querySelector('.call-row__name').textContent = name;
      row.querySelector('.call-row__detail').textContent =
        [t(entry.call.direction === 'Inbound' ? 'call.incoming' : 'call.outgoing'), number].filter(Boolean).join(' · ');
      row.querySelector('.call-row__status').textContent = isRinging(entry) ? t('call.rowRinging') : statusText(entry, now);
    });
    ui.rowsEmpty.hidden = list.length > 0 || ui.page.childElementCount > 0;
  }

  function renderBar(elsewhere, shown) {
    ui.bar.hidden = !shown || elsewhere.length === 0;
    if (ui.bar.hidden) return;
    barCall = elsewhere.length === 1 ? elsewhere[0] : null;
    const text = elsewhereText(elsewhere, describeRemote);
    ui.barText.textContent = text.name;
    ui.barDetail.textContent = text.detail;
    ui.barAction.textContent = t(barCall ? 'call.moveHere' : 'call.show');
    ui.barAction.setAttribute('aria-label', barCall ? t('call.moveCallHere', { name: describeRemote(barCall).name }) : t('call.showYourCalls'));
  }

  ui.barAction.addEventListener('click', () => {
    if (barCall) actions.moveHere(barCall.id);
    else actions.navigate('/calls');
  });

  // render shows list (this tab's calls), current (the one the panel
  // shows, if any), listed (the panel's cards: panelCards) and elsewhere
  // (the other devices' calls); the bar shows while there is no current call.
  function render({ list, current, listed, elsewhere, now }) {
    renderCards(ui.cards, listed.mine, listed.elsewhere, list, current, now);
    renderCards(ui.page, [], elsewhere, list, current, now);
    ui.pageTitle.hidden = elsewhere.length === 0;
    renderRows(list, now);
    renderBar(elsewhere, !current);
  }

  return { render };
}
