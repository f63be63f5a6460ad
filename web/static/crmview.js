// The host's CRM on the widget's pages (crm.js does the asking): the
// Contacts page, the dialer's contact suggestions, the dialog that logs a
// call or a conversation with a note and a disposition, and the auto-log
// setting. The call view, the history and the messages offer their Log
// buttons through openLog.

import { formatNumber } from './numbers.js';
import { extensionsUrl, readExtensions } from './transfer.js';
import { t } from './i18n.js';

// How long typing pauses before the host is asked for contacts.
const SEARCH_PAUSE_MS = 250;
// The fewest characters a search asks for, and the most suggestions shown.
const MIN_SEARCH = 2;
const MAX_SUGGESTIONS = 5;

const byId = (id) => document.getElementById(id);

// createCrmView binds the CRM's elements.
//   crm:    crm.js's
//   store:  the widget's store
//   region: region() is the user's region, for numbers
//   dial:   dial(number) calls a number through the phone's dial path
//   request: request(method, url) → Promise of the server's JSON answer (the
//           account's extensions, suggested alongside the CRM's contacts)
// It returns { openLog({title, what, log}) }.
export function createCrmView({ crm, store, region, dial, request }) {
  const ui = {
    dialNumber: byId('cb-dial-number'), suggestions: byId('cb-dial-suggestions'), contactsButton: byId('cb-dial-contacts'),
    source: byId('cb-contacts-source'), search: byId('cb-contacts-search'), status: byId('cb-contacts-status'),
    list: byId('cb-contacts-list'), more: byId('cb-contacts-more'),
    dialog: byId('cb-log-dialog'), form: byId('cb-log-form'), title: byId('cb-log-title'), what: byId('cb-log-what'),
    note: byId('cb-log-note'), disposition: byId('cb-log-disposition'), cancel: byId('cb-log-cancel'),
    settings: byId('cb-crm-settings'), autoLog: byId('cb-auto-log'), autoLogLabel: byId('cb-auto-log-label'),
  };
  const numberOf = (contact) => contact.phoneNumbers[0]?.phoneNumber ?? '';

  // -------------------------------------------------------------------------
  // The log dialog

  let logging = null;
  // openLog asks for a note and a disposition, then log({note,
  // disposition}) sends them; what names the item ("Ada Lovelace, 2 min ago").
  function openLog({ title, what, log }) {
    logging = log;
    ui.title.textContent = title;
    ui.what.textContent = what;
    ui.note.value = '';
    ui.disposition.value = '';
    if (!ui.dialog.open) ui.dialog.showModal();
    ui.note.focus();
  }
  ui.form.addEventListener('submit', (event) => {
    event.preventDefault();
    const log = logging;
    logging = null;
    ui.dialog.close();
    log?.({ note: ui.note.value.trim(), disposition: ui.disposition.value });
  });
  ui.cancel.addEventListener('click', () => {
    logging = null;
    ui.dialog.close();
  });

  // -------------------------------------------------------------------------
  // Contacts

  function contactRow(contact) {
    const row = document.createElement('li');
    row.className = 'contact-row';
    const text = document.createElement('span');
    text.className = 'contact-row__text';
    const name = document.createElement('span');
    name.className = 'contact-row__name';
    name.textContent = contact.name;
    const detail = document.createElement('span');
    detail.className = 'contact-row__detail';
    const number = numberOf(contact);
    detail.textContent = [number ? formatNumber(number, region()) : '', contact.company].filter(Boolean).join(' · ');
    text.append(name, detail);
    row.append(text);
    if (crm.has('viewMatchedContactPath')) {
      const open = document.createElement('button');
      open.type = 'button';
      open.className = 'link-button contact-row__open';
      open.textContent = t('crm.open');
      open.setAttribute('aria-label', t('crm.openName', { name: contact.name, service: crm.labels().name }));
      open.addEventListener('click', () => crm.viewContact(contact));
      row.append(open);
    }
    if (number) {
      const call = document.createElement('button');
      call.type = 'button';
      call.className = 'button contact-row__call';
      call.textContent = t('crm.call');
      call.setAttribute('aria-label', t('crm.callName', { name: contact.name }));
      call.addEventListener('click', () => dial(number));
      row.append(call);
    }
    return row;
  }

  let loads = 0;
  let nextPage = null;
  async function showContacts(ask, { append = false } = {}) {
    const load = ++loads;
    ui.status.textContent = t('crm.loading');
    ui.more.hidden = true;
    try {
      const { contacts, nextPage: more } = await ask();
      if (load !== loads) return;
      if (!append) ui.list.replaceChildren();
      contacts.forEach((contact) => ui.list.append(contactRow(contact)));
      nextPage = more ?? null;
      ui.more.hidden = !nextPage;
      ui.status.textContent = ui.list.childElementCount === 0 ? t('crm.noContacts') : '';
    } catch (err) {
      if (load !== loads) return;
      ui.status.textContent = t('crm.loadFailed', { reason: err.message });
    }
  }

  const listAll = () => showContacts(() => crm.contactsPage(1));
  ui.more.addEventListener('click', () => {
    const page = nextPage;
    if (page) showContacts(() => crm.contactsPage(page), { append: true });
  });
  let searchTimer = 0;
  ui.search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    const text = ui.search.value.trim();
    searchTimer = setTimeout(() => {
      if (text.length < MIN_SEARCH) listAll();
      else showContacts(async () => ({ contacts: await crm.searchContacts(text), nextPage: null }));
    }, SEARCH_PAUSE_MS);
  });

  // -------------------------------------------------------------------------
  // Suggestions as the dialer's number is typed: the account's extensions
  // (from the server, as the transfer panel finds them), then the CRM's
  // contacts.

  // suggestionsFor finds both for text: [{label, number}].
  async function suggestionsFor(text) {
    const own = store.get().session.extension?.number ?? '';
    const [extensions, contacts] = await Promise.allSettled([
      // The server lists them as records.
      request('GET', extensionsUrl(text)).then((answer) => readExtensions(answer, own)),
      crm.searchContacts(text.replace(/[\s().-]/g, '') || text),
    ]);
    const fromServer = (extensions.value ?? [])
      .map((x) => ({ label: `${x.name} · ${t('transfer.extensionNumber', { number: x.number })}`, number: x.number }));
    const fromCrm = (contacts.value ?? []).filter((c) => numberOf(c))
      .map((c) => ({ label: `${c.name} · ${formatNumber(numberOf(c), region())}`, number: numberOf(c) }));
    return [...fromServer, ...fromCrm].slice(0, MAX_SUGGESTIONS);
  }

  let suggestTimer = 0;
  let suggesting = 0;
  function hideSuggestions() {
    suggesting += 1;
    ui.suggestions.hidden = true;
    ui.suggestions.replaceChildren();
  }
  ui.dialNumber.addEventListener('input', () => {
    clearTimeout(suggestTimer);
    const text = ui.dialNumber.value.trim();
    if (text.length < MIN_SEARCH || !crm.has('contactSearchPath')) {
      hideSuggestions();
      return;
    }
    suggestTimer = setTimeout(async () => {
      const ask = ++suggesting;
      const found = await suggestionsFor(text);
      if (ask !== suggesting) return;
      const items = found.map((suggestion) => {
        const item = document.createElement('li');
        const button = document.createElement('button');
        button.type = 'button';
        button.className = 'dialer__suggestion';
        button.textContent = suggestion.label;
        button.addEventListener('click', () => {
          ui.dialNumber.value = suggestion.number;
          ui.dialNumber.dispatchEvent(new Event('input', { bubbles: true }));
          hideSuggestions();
        });
        item.append(button);
        return item;
      });
      ui.suggestions.replaceChildren(...items);
      ui.suggestions.hidden = items.length === 0;
    }, SEARCH_PAUSE_MS);
  });

  // -------------------------------------------------------------------------
  // Following the widget

  ui.autoLog.addEventListener('change', () => crm.setAutoLog(ui.autoLog.checked));

  let route = '';
  let service = null;
  function stateChanged(state) {
    const labels = crm.labels();
    ui.contactsButton.hidden = !crm.has('contactsPath');
    ui.source.textContent = labels.name;
    ui.settings.hidden = !crm.has('callLoggerPath');
    ui.autoLog.checked = crm.autoLog;
    ui.autoLogLabel.textContent = labels.autoLog;
    if (!crm.has('contactSearchPath') && !ui.suggestions.hidden) hideSuggestions();
    const opened = state.route === '/contacts' && (route !== '/contacts' || service !== state.hostService);
    route = state.route;
    service = state.hostService;
    if (opened) {
      ui.search.value = '';
      if (crm.has('contactsPath')) listAll();
      else {
        ui.list.replaceChildren();
        ui.status.textContent = t('crm.noCrm');
      }
    }
  }
  store.subscribe(stateChanged);
  stateChanged(store.get());

  return { openLog };
}
