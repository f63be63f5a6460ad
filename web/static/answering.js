// The settings page's answering rule and voicemail greeting: how long the
// user's phones ring, what happens to a call nobody answers and to one that
// comes while the user is on a call, and whether calls are recorded
// (docs/api-answering-rules.md); the greeting plays here, and Record
// greeting dials *86, which the server routes to recording a new one.
//
// readRule, formProblem, saveProblem and ruleBody are pure and tested under
// `node --test` (web/test/answering.test.js).

import { asString, isPlainObject } from './fields.js';
import { t } from './i18n.js';

const LOG_PREFIX = '[callbridge]';
const RULE_URL = '/widget/answering-rule';
const GREETING_URL = '/widget/greeting';
// What Record greeting dials.
export const GREETING_NUMBER = '*86';

export const MIN_RING_SECONDS = 5;
export const MAX_RING_SECONDS = 120;
export const RULE_ACTIONS = Object.freeze(['Voicemail', 'Forward', 'Disconnect']);
const MAX_TARGET_LENGTH = 64;

// The form's fields by the rule's fields they edit, for the server's errors.
export const FIELD_INPUTS = Object.freeze({
  ringSeconds: 'cb-ring-seconds',
  'noAnswer.action': 'cb-no-answer',
  'noAnswer.target': 'cb-no-answer-target',
  'busy.action': 'cb-busy',
  'busy.target': 'cb-busy-target',
  callWaiting: 'cb-call-waiting',
  autoRecord: 'cb-auto-record',
});

// The server's refusal of a forward's target (the form checks the rest of
// what the server does).
const TARGET_FIELDS = Object.freeze(['noAnswer.target', 'busy.target']);

const readAction = (raw) => ({
  action: RULE_ACTIONS.includes(raw?.action) ? raw.action : 'Voicemail',
  target: asString(raw?.target),
});

// readRule reads the server's rule as the form shows it; what is missing
// or not understood is the default rule's.
export function readRule(raw) {
  const rule = isPlainObject(raw) ? raw : {};
  const secs = Number.isInteger(rule.ringSeconds) ? rule.ringSeconds : 20;
  return {
    ringSeconds: String(secs),
    noAnswer: readAction(rule.noAnswer),
    busy: readAction(rule.busy),
    callWaiting: rule.callWaiting !== false,
    autoRecord: rule.autoRecord === true,
  };
}

const ringSecondsRange = () => t('answering.ringSecondsRange', { min: MIN_RING_SECONDS, max: MAX_RING_SECONDS });

// formProblem is the first thing wrong with the form, {field, message} in
// the rule's field names, or null.
export function formProblem(form) {
  const text = form.ringSeconds.trim();
  const secs = Number(text);
  if (!/^\d+$/.test(text) || secs < MIN_RING_SECONDS || secs > MAX_RING_SECONDS) {
    return { field: 'ringSeconds', message: ringSecondsRange() };
  }
  // A busy action matters only without call waiting.
  const cases = form.callWaiting ? ['noAnswer'] : ['noAnswer', 'busy'];
  for (const name of cases) {
    const { action, target } = form[name];
    if (action !== 'Forward') continue;
    if (target.trim() === '') return { field: `${name}.target`, message: t('answering.targetMissing') };
    if (target.trim().length > MAX_TARGET_LENGTH) {
      return { field: `${name}.target`, message: t('answering.targetTooLong', { max: MAX_TARGET_LENGTH }) };
    }
  }
  return null;
}

// saveProblem is what the form says of a save the server refused (err: a
// request's error, with the server's code and the field at fault as param),
// as {field, message}; field is 'form' when no field is at fault.
export function saveProblem(err) {
  const field = Object.hasOwn(FIELD_INPUTS, err?.param) ? err.param : '';
  let message = t(err?.code === 'network' ? 'answering.saveFailedOffline' : 'answering.saveFailed');
  if (field === 'ringSeconds') message = ringSecondsRange();
  else if (TARGET_FIELDS.includes(field)) message = t('answering.targetInvalid');
  return { field: field || 'form', message };
}

// ruleBody is the PUT of the form: the rule's fields, a target only with
// a forward, the busy action only without call waiting.
export function ruleBody(form) {
  const action = ({ action: a, target }) => (a === 'Forward' ? { action: a, target: target.trim() } : { action: a });
  const body = {
    ringSeconds: Number(form.ringSeconds.trim()),
    noAnswer: action(form.noAnswer),
    callWaiting: form.callWaiting,
    autoRecord: form.autoRecord,
  };
  if (!form.callWaiting) body.busy = action(form.busy);
  return body;
}

const byId = (id) => document.getElementById(id);

// createAnswering starts the settings page's Answering and Greeting parts.
//   store:     the widget's store (whether a user is signed in)
//   request:   request(method, url, body) → Promise of the server's JSON
//              answer, rejecting with an Error that carries the server's
//              code and the parameter at fault (param)
//   loadMedia: loadMedia(url) → Promise of an object URL of the audio at url
//   dial:      dial(number) places a call as the dial pad does
//   showAlert: showAlert({message, level}) shows a banner
export function createAnswering({ store, request, loadMedia, dial, showAlert }) {
  const ui = {
    section: byId('cb-answering'), form: byId('cb-answering-form'), status: byId('cb-answering-status'),
    save: byId('cb-answering-save'), ringSeconds: byId('cb-ring-seconds'), ringError: byId('cb-ring-seconds-error'),
    noAnswer: byId('cb-no-answer'), noAnswerRow: byId('cb-no-answer-target-row'), noAnswerTarget: byId('cb-no-answer-target'),
    noAnswerError: byId('cb-no-answer-target-error'), busyRows: byId('cb-busy-rows'), busy: byId('cb-busy'),
    busyRow: byId('cb-busy-target-row'), busyTarget: byId('cb-busy-target'), busyError: byId('cb-busy-target-error'),
    callWaiting: byId('cb-call-waiting'), autoRecord: byId('cb-auto-record'),
    player: byId('cb-greeting-player'), record: byId('cb-greeting-record'),
  };
  const errors = { ringSeconds: ui.ringError, 'noAnswer.target': ui.noAnswerError, 'busy.target': ui.busyError };
  let user = '';
  let loads = 0;
  let saving = false;
  // The object URL the greeting's player plays ('' for none).
  let greeting = '';

  function readForm() {
    return {
      ringSeconds: ui.ringSeconds.value,
      noAnswer: { action: ui.noAnswer.value, target: ui.noAnswerTarget.value },
      busy: { action: ui.busy.value, target: ui.busyTarget.value },
      callWaiting: ui.callWaiting.checked,
      autoRecord: ui.autoRecord.checked,
    };
  }

  function fill(form) {
    ui.ringSeconds.value = form.ringSeconds;
    ui.noAnswer.value = form.noAnswer.action;
    ui.noAnswerTarget.value = form.noAnswer.target;
    ui.busy.value = form.busy.action;
    ui.busyTarget.value = form.busy.target;
    ui.callWaiting.checked = form.callWaiting;
    ui.autoRecord.checked = form.autoRecord;
    layout();
  }

  // layout shows the fields that count: a target for a forward, the busy
  // action without call waiting.
  function layout() {
    ui.noAnswerRow.hidden = ui.noAnswer.value !== 'Forward';
    ui.busyRows.hidden = ui.callWaiting.checked;
    ui.busyRow.hidden = ui.busy.value !== 'Forward';
    ui.save.disabled = saving;
  }

  // showProblem marks the field at fault and says why; none clears them.
  function showProblem(problem) {
    for (const [field, element] of Object.entries(errors)) {
      const own = problem?.field === field;
      element.textContent = own ? problem.message : '';
      byId(FIELD_INPUTS[field]).setAttribute('aria-invalid', String(own));
    }
    ui.status.dataset.error = String(Boolean(problem) && !Object.hasOwn(errors, problem.field));
    ui.status.textContent = problem && !Object.hasOwn(errors, problem.field) ? problem.message : '';
  }

  async function load() {
    const load = ++loads;
    try {
      const rule = await request('GET', RULE_URL);
      if (load !== loads) return;
      fill(readRule(rule));
      showProblem(null);
      ui.section.hidden = false;
    } catch (err) {
      // A server that keeps no rules has no Answering part.
      if (load === loads) ui.section.hidden = true;
      if (err.code !== 'NotImplemented') {
        console.warn(LOG_PREFIX, `could not load the answering rule: ${err.message}`);
        showAlert({ message: t('answering.loadFailed'), level: 'warning' });
      }
    }
  }

  async function save(event) {
    event.preventDefault();
    const form = readForm();
    const problem = formProblem(form);
    showProblem(problem);
    if (problem) {
      byId(FIELD_INPUTS[problem.field]).focus();
      return;
    }
    saving = true;
    layout();
    try {
      fill(readRule(await request('PUT', RULE_URL, ruleBody(form))));
      ui.status.dataset.error = 'false';
      ui.status.textContent = t('answering.saved');
    } catch (err) {
      console.warn(LOG_PREFIX, `the answering rule was not saved: ${err.message}`);
      const problem = saveProblem(err);
      showProblem(problem);
      if (problem.field !== 'form') byId(FIELD_INPUTS[problem.field]).focus();
    } finally {
      saving = false;
      layout();
    }
  }

  // The greeting plays once the server has one; the player stays hidden
  // otherwise (none yet, or a server without voicemail).
  function dropGreeting() {
    ui.player.hidden = true;
    ui.player.removeAttribute('src');
    if (greeting) URL.revokeObjectURL(greeting);
    greeting = '';
  }

  async function loadGreeting() {
    const load = loads;
    dropGreeting();
    try {
      const url = await loadMedia(GREETING_URL);
      if (load !== loads) {
        URL.revokeObjectURL(url);
        return;
      }
      greeting = url;
      ui.player.src = url;
      ui.player.hidden = false;
    } catch {
      // No greeting of the user's: the player stays hidden.
    }
  }

  function bind() {
    ui.form.addEventListener('submit', save);
    for (const control of [ui.noAnswer, ui.busy, ui.callWaiting]) control.addEventListener('change', layout);
    ui.form.addEventListener('input', () => {
      if (ui.status.textContent === t('answering.saved')) ui.status.textContent = '';
    });
    ui.player.addEventListener('error', dropGreeting);
    ui.record.addEventListener('click', () => dial(GREETING_NUMBER));
  }

  // stateChanged loads the rule and the greeting of a user who signs in,
  // forgets them at sign-out, and loads the greeting again each time the
  // page shows (a new one may have been recorded meanwhile).
  let route = '';
  function stateChanged(state) {
    const next = state.session.loggedIn ? asString(state.session.loginNumber) : '';
    const shown = state.route === '/settings' && route !== '/settings';
    route = state.route;
    if (next !== user) {
      user = next;
      loads += 1;
      ui.section.hidden = true;
      if (!user) {
        dropGreeting();
        return;
      }
      load();
      loadGreeting();
      return;
    }
    if (user && shown) loadGreeting();
  }

  bind();
  store.subscribe(stateChanged);
  stateChanged(store.get());
}
