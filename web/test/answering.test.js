// Tests of answering.js, the settings page's answering rule, under `node --test`.
import './english.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { catalogue } from './english.js';
import { FIELD_INPUTS, formProblem, readRule, ruleBody, saveProblem } from '../static/answering.js';
import { setCatalogue } from '../static/i18n.js';

const form = (fields = {}) => ({
  ringSeconds: '20',
  noAnswer: { action: 'Voicemail', target: '' },
  busy: { action: 'Voicemail', target: '' },
  callWaiting: true,
  autoRecord: false,
  ...fields,
});

test('the server\'s rule reads as the form shows it; what is missing is the default', () => {
  assert.deepEqual(readRule({
    ringSeconds: 45, noAnswer: { action: 'Forward', target: '103' }, busy: { action: 'Disconnect' },
    callWaiting: false, ringMode: 'Simultaneous', autoRecord: true,
  }), form({
    ringSeconds: '45', noAnswer: { action: 'Forward', target: '103' }, busy: { action: 'Disconnect', target: '' },
    callWaiting: false, autoRecord: true,
  }));
  for (const raw of [null, undefined, 'rule', [], {}, { ringSeconds: '20', noAnswer: { action: 'toString' }, callWaiting: 'no' }]) {
    assert.deepEqual(readRule(raw), form(), JSON.stringify(raw));
  }
});

test('the form is checked before it is saved, naming the field at fault', () => {
  assert.equal(formProblem(form()), null);
  assert.equal(formProblem(form({ ringSeconds: ' 120 ' })), null);
  for (const secs of ['4', '121', '', '20.5', '-5', 'abc', '1e2']) {
    assert.equal(formProblem(form({ ringSeconds: secs }))?.field, 'ringSeconds', secs);
  }
  assert.equal(formProblem(form({ noAnswer: { action: 'Forward', target: '  ' } }))?.field, 'noAnswer.target');
  assert.equal(formProblem(form({ noAnswer: { action: 'Forward', target: '1'.repeat(65) } }))?.field, 'noAnswer.target');
  assert.equal(formProblem(form({ noAnswer: { action: 'Forward', target: '103' } })), null);
  // The busy action counts only without call waiting.
  const busyForward = { action: 'Forward', target: '' };
  assert.equal(formProblem(form({ busy: busyForward })), null);
  assert.equal(formProblem(form({ busy: busyForward, callWaiting: false }))?.field, 'busy.target');
  for (const field of ['ringSeconds', 'noAnswer.target', 'busy.target']) assert.ok(FIELD_INPUTS[field], field);
});

test('the saved rule carries a target only with a forward, and busy only without call waiting', () => {
  assert.deepEqual(ruleBody(form({ ringSeconds: ' 30 ', noAnswer: { action: 'Forward', target: ' 103 ' }, autoRecord: true })), {
    ringSeconds: 30, noAnswer: { action: 'Forward', target: '103' }, callWaiting: true, autoRecord: true,
  });
  assert.deepEqual(ruleBody(form({ noAnswer: { action: 'Disconnect', target: '103' }, callWaiting: false, busy: { action: 'Voicemail', target: 'x' } })), {
    ringSeconds: 20, noAnswer: { action: 'Disconnect' }, callWaiting: false, busy: { action: 'Voicemail' }, autoRecord: false,
  });
});

test('the form says what is wrong in the widget\'s language', (t) => {
  t.after(() => setCatalogue('en-US', catalogue('en')));
  assert.equal(formProblem(form({ ringSeconds: '4' })).message, 'Ring for 5 to 120 seconds.');
  assert.equal(formProblem(form({ noAnswer: { action: 'Forward', target: '' } })).message, 'Enter the extension or number to forward to.');
  assert.equal(formProblem(form({ noAnswer: { action: 'Forward', target: '1'.repeat(65) } })).message, 'A number has at most 64 characters.');
  setCatalogue('fr-FR', catalogue('fr'));
  assert.equal(formProblem(form({ ringSeconds: '4' })).message, 'Sonnerie de 5 à 120 secondes.');
  setCatalogue('de', catalogue('de'));
  assert.equal(formProblem(form({ ringSeconds: '4' })).message, 'Klingeldauer: 5 bis 120 Sekunden.');
});

test('a save the server refused says so in the catalogue\'s words, never the server\'s', () => {
  const refused = (code, param = '') => Object.assign(new Error('Parameter [x] value is invalid'), { code, param });
  assert.deepEqual(saveProblem(refused('InvalidParameter', 'ringSeconds')), { field: 'ringSeconds', message: 'Ring for 5 to 120 seconds.' });
  assert.deepEqual(saveProblem(refused('InvalidParameter', 'busy.target')),
    { field: 'busy.target', message: 'Enter a valid extension or number to forward to.' });
  assert.deepEqual(saveProblem(refused('InvalidParameter', 'noAnswer.action')), { field: 'noAnswer.action', message: 'Not saved. Try again.' });
  assert.deepEqual(saveProblem(refused('InvalidParameter', 'toString')), { field: 'form', message: 'Not saved. Try again.' });
  assert.deepEqual(saveProblem(refused('StorageUnavailable')), { field: 'form', message: 'Not saved. Try again.' });
  assert.deepEqual(saveProblem(refused('network')), { field: 'form', message: 'Not saved: the server cannot be reached.' });
});
