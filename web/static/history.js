// The history page: the signed-in user's recent calls from the server's call
// log, newest first, each a button that calls the other party back through
// the phone's usual dial path. It also answers the host's call-log requests.
//
// The switch writes a call's record just after the call's end event, so the
// page reloads after each rc-call-end-notify until the ended call is in it
// (a few tries, spaced out).

import { asString, isPlainObject, ownValue } from './fields.js';
import { formatDate, t } from './i18n.js';
import { regionOf, showParty } from './numbers.js';

const LOG_PREFIX = '[callbridge]';
const warn = (...args) => console.warn(LOG_PREFIX, ...args);

const CALL_LOG_URL = '/widget/call-log';
// Where the widget fetches the audio of a call's recording.
const RECORDING_URL = '/widget/recordings';
const PAGE_SIZE = 50;
// The most records a host request may ask for (the server's limit).
const MAX_PAGE_SIZE = 1000;
// When to look again for the record of a call that just ended.
const RECORD_RETRY_MS = [250, 1_000, 2_500, 5_000];
// Relative times move on this often.
const CLOCK_INTERVAL_MS = 30_000;

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

// Results of the call log (seeds/001), as message keys, in the words the
// call view ends a call with (calls.js), so that a call is called the same
// in both; a missed call and one answered elsewhere in the history's shorter
// words.
const RESULT_TEXT = Object.freeze({
  Busy: 'history.resultBusy',
  Rejected: 'history.resultDeclined',
  'No Answer': 'history.resultNoAnswer',
  Canceled: 'history.resultCancelled',
  Missed: 'history.resultMissed',
  Failed: 'history.resultFailed',
  Transferred: 'history.resultTransferred',
  Forwarded: 'history.resultForwarded',
  Voicemail: 'history.resultVoicemail',
  Accepted: 'history.resultAnswered',
});
// Why a call failed, by the reasonCode of its record (the SIP status), as
// the call view says it (calls.js).
const FAILURE_TEXT = Object.freeze({
  402: 'history.failureNotAllowed',
  404: 'history.failureNotFound',
  408: 'history.resultNoAnswer',
  480: 'history.failureUnavailable',
  486: 'history.resultBusy',
  487: 'history.resultCancelled',
  503: 'history.resultFailed',
  603: 'history.resultDeclined',
});
// What the page says went wrong with a request, by the error's code (the
// server's errorCode, or network, badResponse); any other is ERROR_OTHER.
const ERROR_TEXT = Object.freeze({
  network: 'history.errorNetwork',
  NotSignedIn: 'history.errorSignedOut',
  Unauthorized: 'history.errorSignedOut',
  TooManyRequests: 'history.errorBusy',
  ServiceUnavailable: 'history.errorUnavailable',
  StorageUnavailable: 'history.errorUnavailable',
  ShuttingDown: 'history.errorUnavailable',
  badResponse: 'history.errorBadAnswer',
});
// And what it says of a recording that cannot be played.
const RECORDING_ERROR_TEXT = Object.freeze({
  ...ERROR_TEXT,
  NotFound: 'history.recordingGone',
  RecordingInProgress: 'history.recordingInProgress',
  RecordingUnavailable: 'history.recordingNoAudio',
});
const ERROR_OTHER = 'history.errorOther';
// Inbound calls with these results were missed.
const MISSED_RESULTS = ['Missed', 'No Answer'];

const byId = (id) => document.getElementById(id);

// Where the start time of the newest call seen on the History page is kept,
// per user: later missed calls make the tab's badge.
const SEEN_KEY = 'cb-history-seen:';
// The most a badge counts before it says 99+.
const MAX_BADGE = 99;

// duration writes whole seconds as m:ss, or h:mm:ss from an hour on.
export function duration(seconds) {
  const total = Math.max(0, Math.floor(Number(seconds) || 0));
  const pad = (v) => String(v).padStart(2, '0');
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

const startOfDay = (ms) => new Date(ms).setHours(0, 0, 0, 0);

// relativeTime says how long ago ms was, seen at now: "Just now", "5 min
// ago", "3 h ago", "Yesterday", "3 days ago", then the date, in the
// widget's language.
export function relativeTime(ms, now = Date.now()) {
  const ago = now - ms;
  if (ago < MINUTE_MS) return t('history.justNow');
  if (ago < HOUR_MS) return t('history.minutesAgo', { count: Math.floor(ago / MINUTE_MS) });
  const days = Math.round((startOfDay(now) - startOfDay(ms)) / DAY_MS);
  if (days <= 0) return t('history.hoursAgo', { count: Math.floor(ago / HOUR_MS) });
  if (days === 1) return t('history.yesterday');
  if (days < 7) return t('history.daysAgo', { count: days });
  const sameYear = new Date(ms).getFullYear() === new Date(now).getFullYear();
  return formatDate(ms, sameYear ? { month: 'short', day: 'numeric' } : { month: 'short', day: 'numeric', year: 'numeric' });
}

// errorText says in the user's words what went wrong with a request (an
// Error with the server's code), from table (ERROR_TEXT, RECORDING_ERROR_TEXT).
export function errorText(err, table = ERROR_TEXT) {
  return t(ownValue(table, asString(err?.code)) ?? ERROR_OTHER);
}

// readRecord keeps a call-log record of the server when it is one.
function readRecord(raw) {
  if (!isPlainObject(raw) || typeof raw.id !== 'string' || raw.id === '') return null;
  const start = Date.parse(asString(raw.startTime));
  return Number.isFinite(start) ? raw : null;
}

const readParty = (raw) => (isPlainObject(raw) ? raw : {});

// describeRecord is what a history row shows of a record.
//   kind:   inbound, outbound or missed (its icon)
//   name:   the other party's name, else its number
//   number: what calls it back: its extension number, else its phone number
//   detail: the number of a named party (else the direction), and the
//           result or, for a call that connected, how long it lasted
export function describeRecord(record, region) {
  const inbound = record.direction === 'Inbound';
  const other = readParty(inbound ? record.from : record.to);
  const phoneNumber = asString(other.phoneNumber);
  const extensionNumber = asString(other.extensionNumber);
  const number = extensionNumber || phoneNumber;
  const party = showParty(other, region);
  const shown = party.number;
  const missed = inbound && MISSED_RESULTS.includes(record.result);
  const named = party.name !== '';
  // A failed call says why, as the call view did ("Unavailable").
  const failure = record.result === 'Failed' && Number.isInteger(record.reasonCode)
    ? ownValue(FAILURE_TEXT, String(record.reasonCode)) : undefined;
  // A result the widget does not know shows as the call log writes it.
  const known = failure ?? ownValue(RESULT_TEXT, record.result);
  const outcome = record.result === 'Call connected' ? duration(record.duration)
    : known ? t(known) : asString(record.result);
  // A named party's number goes first; else the direction says what the
  // name line (the number) does not.
  const lead = named ? shown : t(inbound ? 'history.incoming' : 'history.outgoing');
  return {
    ...(party.source ? { source: party.source } : {}),
    kind: missed ? 'missed' : (inbound ? 'inbound' : 'outbound'),
    name: party.name || shown || t(inbound ? 'history.unknownCaller' : 'history.unknownNumber'),
    numberText: named ? shown : '',
    number,
    detail: [lead, outcome].filter(Boolean).join(' · '),
  };
}

// newestStart is the start (ms) of the newest of records, 0 for none.
export function newestStart(records) {
  return records.reduce((newest, record) => Math.max(newest, Date.parse(record.startTime) || 0), 0);
}

// countMissed is how many of records are missed inbound calls that started
// after seenMs.
export function countMissed(records, seenMs) {
  return records.filter((record) => record.direction === 'Inbound' && MISSED_RESULTS.includes(record.result)
    && Date.parse(record.startTime) > seenMs).length;
}

// missedBadge is the text of the History tab's badge, '' for none.
export const missedBadge = (missed) => (missed <= 0 ? '' : missed > MAX_BADGE ? `${MAX_BADGE}+` : String(missed));

// recordingOf is the id of a record's recording, '' for none.
export function recordingOf(record) {
  return isPlainObject(record.recording) ? asString(record.recording.id) : '';
}

// createHistory starts the history page.
//   store:     the widget's store; the page follows the session in it
//   request:   request(method, url) → Promise of the server's JSON answer
//   callBack:  callBack(number) calls a number through the phone's dial path
//   loadMedia: loadMedia(url) → Promise of an object URL of the server's audio
//   crm:       the host's CRM (Log on each call): has(key), labels(),
//              isLogged(record), offerLog(record, name); or null
// It returns { handleEvent(event), reload(), callLog({perPage}), render() }.
export function createHistory({ store, request, callBack, loadMedia, crm = null }) {
  const ui = {
    list: byId('cb-history-list'),
    empty: byId('cb-history-empty'),
    status: byId('cb-history-status'),
    statusText: byId('cb-history-status-text'),
    retry: byId('cb-history-retry'),
    refresh: byId('cb-history-refresh'),
    template: byId('cb-history-row-template'),
    badge: byId('cb-history-badge'),
  };
  let records = [];
  // idle, loading, ready or failed; error says why it failed.
  let phase = 'idle';
  let error = '';
  // Each load has a number; an answer older than the last one is dropped.
  let loads = 0;
  let user = '';
  // Calls that ended and whose records are awaited, and the retry under way.
  const awaited = new Set();
  let retryTimer = 0;
  let retries = 0;
  let clockTimer = 0;
  const rows = new Map();
  // The start of the newest call the user saw on the page; null until the
  // user's first history arrives when nothing was kept.
  let seen = null;

  const region = () => regionOf(store.get().session);

  function fetchPage(perPage) {
    return request('GET', `${CALL_LOG_URL}?perPage=${perPage}`).then((answer) =>
      (Array.isArray(answer.records) ? answer.records.map(readRecord).filter(Boolean) : []));
  }

  // reload asks the server for the recent calls; the page shows them once
  // the answer is there.
  async function reload() {
    if (!store.get().session.loggedIn) return;
    const load = ++loads;
    if (phase !== 'ready') phase = 'loading';
    render();
    try {
      const list = await fetchPage(PAGE_SIZE);
      if (load !== loads) return;
      records = list;
      phase = 'ready';
      error = '';
      if (seen === null || store.get().route === '/history') markSeen();
    } catch (err) {
      if (load !== loads) return;
      phase = records.length > 0 ? 'ready' : 'failed';
      error = errorText(err);
      warn(`could not load the call history: ${err.message}`);
    }
    render();
    checkAwaited();
  }

  // checkAwaited stops waiting for the records that arrived, and looks
  // again, a little later each time, while some are missing.
  function checkAwaited() {
    for (const record of records) awaited.delete(record.telephonySessionId);
    clearTimeout(retryTimer);
    if (awaited.size === 0 || retries >= RECORD_RETRY_MS.length) {
      awaited.clear();
      retries = 0;
      return;
    }
    retryTimer = setTimeout(reload, RECORD_RETRY_MS[retries]);
    retries += 1;
  }

  function callEnded(event) {
    const id = asString(event.call?.telephonySessionId) || asString(event.call?.id);
    if (!id) return;
    awaited.add(id);
    retries = 0;
    clearTimeout(retryTimer);
    retryTimer = setTimeout(reload, RECORD_RETRY_MS[0]);
    retries = 1;
  }

  function handleEvent(event) {
    if (!store.get().session.loggedIn) return;
    if (event.type === 'rc-call-end-notify') callEnded(event);
  }

  // callLog answers the host's /get-call-log (and /unlogged-calls, without
  // the calls logged in its CRM): the recent calls as the
  // server's records.
  async function callLog({ perPage, unlogged = false } = {}) {
    let size = PAGE_SIZE;
    if (perPage !== undefined) {
      if (!Number.isInteger(perPage) || perPage < 1 || perPage > MAX_PAGE_SIZE) {
        return { error: 'invalidRequest', message: `perPage must be an integer from 1 to ${MAX_PAGE_SIZE}` };
      }
      size = perPage;
    }
    try {
      const page = await fetchPage(size);
      // The calls logged in the host's CRM are not unlogged.
      return { data: { records: unlogged && crm ? page.filter((record) => !crm.isLogged(record)) : page } };
    } catch (err) {
      return { error: err.code || 'failed', message: err.message };
    }
  }

  // -------------------------------------------------------------------------
  // Rendering

  function newRow() {
    const row = ui.template.content.firstElementChild.cloneNode(true);
    row.querySelector('.history-row__call').addEventListener('click', () => {
      const { number } = row.dataset;
      if (number) callBack(number);
    });
    const play = row.querySelector('.history-row__play');
    play.addEventListener('click', () => playRecording(row, play));
    row.querySelector('.history-row__log').addEventListener('click', () => {
      const record = records.find((r) => r.id === row.dataset.id);
      if (record) crm.offerLog(record, row.querySelector('.history-row__name').textContent);
    });
    return row;
  }

  // playRecording loads the row's recording, through the widget's own
  // request (a media element cannot send its header), and plays it.
  async function playRecording(row, play) {
    const audio = row.querySelector('.history-row__audio');
    const id = row.dataset.recording;
    if (!id) return;
    if (audio.dataset.recording === id && audio.src) {
      audio.hidden = false;
      audio.play().catch(() => {});
      return;
    }
    play.disabled = true;
    try {
      const url = await loadMedia(`${RECORDING_URL}/${encodeURIComponent(id)}/content`);
      if (audio.src) URL.revokeObjectURL(audio.src);
      audio.src = url;
      audio.dataset.recording = id;
      audio.hidden = false;
      audio.play().catch(() => {});
    } catch (err) {
      play.title = t('history.recordingFailed', { reason: errorText(err, RECORDING_ERROR_TEXT) });
    } finally {
      play.disabled = false;
    }
  }

  function renderRow(row, record, now) {
    const view = describeRecord(record, region());
    const start = Date.parse(record.startTime);
    row.dataset.kind = view.kind;
    row.dataset.number = view.number;
    row.dataset.id = record.id;
    const button = row.querySelector('.history-row__call');
    button.disabled = !view.number;
    const when = relativeTime(start, now);
    button.setAttribute('aria-label', t('history.rowLabel', { name: view.name, detail: view.detail, time: when }));
    button.title = view.number ? t('history.callTitle', { name: view.numberText || view.name }) : '';
    const recording = recordingOf(record);
    row.dataset.recording = recording;
    row.querySelector('.history-row__play').hidden = !recording;
    row.querySelector('.history-row__name').textContent = view.name;
    // A caller the host's CRM knows says so.
    row.querySelector('.history-row__detail').textContent = view.source ? `${view.detail} · ${view.source}` : view.detail;
    const log = row.querySelector('.history-row__log');
    log.hidden = !crm?.has('callLoggerPath');
    if (!log.hidden) {
      const done = crm.isLogged(record);
      // An icon: the row's room is the caller's. Its tooltip says it in
      // the service's words (Log to Demo CRM).
      log.querySelector('.history-row__log-text').textContent = t(done ? 'history.logged' : 'history.log');
      log.title = done ? t('history.logged') : crm.labels().logCall;
      log.dataset.logged = String(done);
      log.disabled = done;
      log.setAttribute('aria-label', done ? t('history.loggedLabel', { name: view.name })
        : t('history.logLabel', { action: crm.labels().logCall, name: view.name, time: when }));
    }
    const time = row.querySelector('.history-row__time');
    time.textContent = when;
    time.dateTime = new Date(start).toISOString();
    time.title = formatDate(start);
  }

  function renderList() {
    const now = Date.now();
    const keep = new Set(records.map((record) => record.id));
    for (const [id, row] of rows) {
      if (!keep.has(id)) {
        row.remove();
        rows.delete(id);
      }
    }
    records.forEach((record, index) => {
      let row = rows.get(record.id);
      if (!row) {
        row = newRow();
        rows.set(record.id, row);
      }
      renderRow(row, record, now);
      if (ui.list.children[index] !== row) ui.list.insertBefore(row, ui.list.children[index] ?? null);
    });
  }

  function renderStatus() {
    const text = phase === 'loading' ? t('history.loading')
      : phase === 'failed' ? t('history.loadFailed', { reason: error }) : '';
    ui.status.hidden = text === '';
    ui.status.dataset.phase = phase;
    ui.statusText.textContent = text;
    ui.retry.hidden = phase !== 'failed';
    ui.empty.hidden = phase !== 'ready' || records.length > 0;
    ui.refresh.disabled = phase === 'loading';
  }

  // The relative times tick while there are calls to show.
  function renderClock() {
    const ticking = records.length > 0;
    if (ticking && !clockTimer) clockTimer = setInterval(renderList, CLOCK_INTERVAL_MS);
    if (!ticking && clockTimer) {
      clearInterval(clockTimer);
      clockTimer = 0;
    }
  }

  // -------------------------------------------------------------------------
  // The missed-call badge

  const seenKey = () => SEEN_KEY + user;
  function readSeen() {
    try {
      const kept = Number(localStorage.getItem(seenKey()));
      return localStorage.getItem(seenKey()) !== null && Number.isFinite(kept) ? kept : null;
    } catch {
      return null;
    }
  }

  // markSeen counts the calls on the page as seen by the user.
  function markSeen() {
    seen = Math.max(seen ?? 0, newestStart(records));
    try {
      localStorage.setItem(seenKey(), String(seen));
    } catch {
      // storage refused: the badge counts from this load on
    }
  }

  function renderBadge() {
    const missed = user && seen !== null ? countMissed(records, seen) : 0;
    ui.badge.hidden = missed === 0;
    ui.badge.textContent = missedBadge(missed);
    ui.badge.setAttribute('aria-label', t('history.missedLabel', { count: missed }));
    store.update({ missedCalls: missed });
  }

  function render() {
    renderList();
    renderStatus();
    renderClock();
    renderBadge();
  }

  // stateChanged loads the history of a user who signed in, forgets it at
  // sign-out, and reloads it each time the page shows: calls the user made
  // elsewhere (another browser, a RingOut, the API) end without an event
  // here.
  let route = '';
  function stateChanged(state) {
    const next = state.session.loggedIn ? state.session.loginNumber : '';
    const shown = state.route === '/history' && route !== '/history';
    route = state.route;
    if (next === user) {
      if (shown && user) {
        // Opening the page clears the badge; the reload marks what it brings.
        markSeen();
        renderBadge();
        reload();
      }
      return;
    }
    user = next;
    seen = user ? readSeen() : null;
    loads += 1;
    records = [];
    awaited.clear();
    clearTimeout(retryTimer);
    phase = 'idle';
    error = '';
    render();
    if (user) reload();
  }

  ui.retry.addEventListener('click', reload);
  ui.refresh.addEventListener('click', reload);
  store.subscribe(stateChanged);
  stateChanged(store.get());

  return { handleEvent, reload, callLog, render };
}
