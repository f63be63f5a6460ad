// Tests of numbers.js, the widget's one reader and writer of phone numbers,
// under `node --test`.
import { catalogue } from './english.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { setCatalogue } from '../static/i18n.js';

import {
  caretAfter, cleanNumber, countSignificant, formatNumber, formatParty, formatTyped, isExtensionNumber, isLocation,
  isTestNumber, MAX_NUMBER_LENGTH, readDialled, regionOf, showParty, stripFormatting, TEST_LINES, testLineName,
} from '../static/numbers.js';

test('formatTyped writes North American digits as they are typed, anything else as typed', () => {
  const cases = [
    ['', 'US', ''],
    ['6', 'US', '6'],
    ['650555', 'US', '650555'],
    ['5550100', 'US', '555-0100'],
    ['65055501', 'US', '(650) 555-01'],
    ['6505550100', 'US', '(650) 555-0100'],
    ['(650) 555-0100', 'CA', '(650) 555-0100'],
    ['16505550100', 'US', '1 (650) 555-0100'],
    ['26505550100', 'US', '26505550100'],
    ['650 555 0100 1', 'US', '65055501001'],
    ['+16505550100', 'US', '+16505550100'],
    ['*101', 'US', '*101'],
    ['6505550100', 'GB', '6505550100'],
    ['650 555-0100', 'DE', '650 555-0100'],
    ['6505550100', '', '6505550100'],
  ];
  for (const [typed, region, want] of cases) {
    assert.equal(formatTyped(typed, region), want, `${typed} in ${region}`);
  }
});

test('formatTyped shows each keypad press of a number the way it will be dialled', () => {
  // [what was typed so far, region, what the field shows]
  const cases = [
    // The README's tone line typed without +, in any region.
    ['1', 'US', '1'],
    ['15', 'US', '15'],
    ['155', 'US', '155'],
    ['1555', 'US', '1555'],
    ['15550', 'US', '1 555 0'],
    ['155501', 'US', '1 555 01'],
    ['1555010', 'US', '1 555 010'],
    ['15550100', 'US', '1 555 0100'],
    ['15550100', 'GB', '1 555 0100'],
    ['15550100', '', '1 555 0100'],
    ['1 555 0107', 'DE', '1 555 0107'],
    ['+15550101', 'US', '+1 555 0101'],
    ['+1555010', 'FR', '+1 555 010'],
    // Past a test number's length it is a North American number.
    ['155501001', 'US', '1 (555) 010-01'],
    // The trunk prefix 1 and a North American number.
    ['16', 'US', '16'],
    ['1650', 'US', '1650'],
    ['16505', 'US', '1 (650) 5'],
    ['1650555', 'US', '1 (650) 555'],
    ['16505550', 'US', '1 (650) 555-0'],
    ['16505550100', 'US', '1 (650) 555-0100'],
    ['165055501001', 'US', '165055501001'],
    // Extensions stay as typed.
    ['101', 'US', '101'],
    ['1001', 'US', '1001'],
    ['*101', 'US', '*101'],
  ];
  for (const [typed, region, want] of cases) {
    assert.equal(formatTyped(typed, region), want, `${typed} in ${region}`);
  }
});

test('test numbers are named by what they do, from one table', () => {
  const cases = [
    ['+15550100', 'Tone line'],
    ['+15550101', 'Echo line'],
    ['+15550102', 'Busy line'],
    ['+15550103', 'Unavailable line'],
    ['+15550104', 'Invalid number'],
    ['+15550105', 'Declining line'],
    ['+15550106', 'No-funds line'],
    ['+15550107', 'Ringing line'],
    ['+15550108', 'Invalid number'],
    ['+15550150', 'Invalid number'],
    ['+15550199', 'Invalid number'],
    ['+15550200', ''],
    ['+15550099', ''],
    ['15550100', ''],
    ['+16505550100', ''],
    ['', ''],
  ];
  for (const [number, want] of cases) {
    assert.equal(testLineName(number), want, number);
    assert.equal(isTestNumber(number), want !== '', number);
  }
  for (const [first, last, name] of TEST_LINES) {
    assert.ok(isTestNumber(first) && isTestNumber(last) && first <= last && name, `${first}…${last}`);
    // Every row's name is in the catalogue, in English as the switch names it.
    assert.equal(testLineName(first), name, first);
  }
});

test('showParty shows a party the same wherever it appears', () => {
  // [party, region, { name, number }]
  const cases = [
    // A user of the account: name and extension, whatever number comes with it.
    [{ name: 'Bob', phoneNumber: '102' }, 'US', { name: 'Bob', number: 'Ext. 102' }],
    [{ name: 'Bob', phoneNumber: '+16505550102', extensionNumber: '102' }, 'US', { name: 'Bob', number: 'Ext. 102' }],
    [{ name: 'Bob', extensionNumber: '102' }, 'DE', { name: 'Bob', number: 'Ext. 102' }],
    [{ phoneNumber: '102' }, 'US', { name: '', number: 'Ext. 102' }],
    // Outside numbers: national in the region's plan, international elsewhere.
    [{ name: 'Ann', phoneNumber: '+16505550100' }, 'US', { name: 'Ann', number: '(650) 555-0100' }],
    [{ phoneNumber: '+16505550100' }, 'CA', { name: '', number: '(650) 555-0100' }],
    [{ phoneNumber: '+16505550100' }, 'GB', { name: '', number: '+1 (650) 555-0100' }],
    [{ phoneNumber: '+442071234567' }, 'US', { name: '', number: '+442071234567' }],
    [{ phoneNumber: '6505550100' }, 'US', { name: '', number: '(650) 555-0100' }],
    // Test numbers by what they do, whatever name the server gives.
    [{ name: 'Test line', phoneNumber: '+15550100' }, 'US', { name: 'Tone line', number: '+1 555 0100' }],
    [{ phoneNumber: '+15550101' }, 'GB', { name: 'Echo line', number: '+1 555 0101' }],
    [{ phoneNumber: '15550100' }, 'US', { name: 'Tone line', number: '+1 555 0100' }],
    [{ phoneNumber: '1 555 0107' }, 'US', { name: 'Ringing line', number: '+1 555 0107' }],
    [{ name: 'Test line', phoneNumber: '+15550102' }, 'US', { name: 'Busy line', number: '+1 555 0102' }],
    // Nothing to show.
    [{}, 'US', { name: '', number: '' }],
    [null, 'US', { name: '', number: '' }],
    [{ name: 7, phoneNumber: {} }, 'US', { name: '', number: '' }],
  ];
  for (const [party, region, want] of cases) {
    assert.deepEqual(showParty(party, region), want, `${JSON.stringify(party)} in ${region}`);
  }
});

test('a test number and an extension show in the widget\'s language, whatever name the server gives', (ctx) => {
  ctx.after(() => setCatalogue('en-US', catalogue('en')));
  setCatalogue('fr-FR', catalogue('fr'));
  assert.deepEqual(showParty({ name: 'Tone line', phoneNumber: '+15550100' }, 'FR'), { name: 'Ligne de tonalité', number: '+1 555 0100' });
  assert.deepEqual(showParty({ name: 'Bob', extensionNumber: '102' }, 'FR'), { name: 'Bob', number: 'Poste 102' });
  assert.equal(testLineName('+15550150'), 'Numéro non valide');
  assert.equal(formatParty('12345678', 'FR'), 'Poste 12345678', 'an extension number is not a count');
  setCatalogue('de', catalogue('de'));
  assert.equal(testLineName('+15550102'), 'Besetzt-Test');
});

test('formatNumber shows +1 numbers in the plan\'s own way, with +1 outside it', () => {
  const cases = [
    ['+16505550100', 'US', '(650) 555-0100'],
    ['+16505550100', 'PR', '(650) 555-0100'],
    ['+16505550100', 'GB', '+1 (650) 555-0100'],
    ['+16505550100', '', '+1 (650) 555-0100'],
    ['+442071234567', 'US', '+442071234567'],
    ['+442071234567', 'GB', '+442071234567'],
    ['6505550100', 'US', '(650) 555-0100'],
    ['101', 'US', '101'],
    ['+15550100', 'US', '+1 555 0100'],
    ['+15550199', 'GB', '+1 555 0199'],
    ['', 'US', ''],
  ];
  for (const [number, region, want] of cases) {
    assert.equal(formatNumber(number, region), want, `${number} in ${region}`);
  }
});

test('formatParty writes extension numbers as Ext. and other numbers formatted', () => {
  assert.equal(formatParty('', 'US'), '');
  assert.equal(formatParty('101', 'US'), 'Ext. 101');
  assert.equal(formatParty('12345678', 'US'), 'Ext. 12345678');
  assert.equal(formatParty('+16505550100', 'US'), '(650) 555-0100');
  assert.equal(formatParty('+16505550100', 'FR'), '+1 (650) 555-0100');
});

test('cleanNumber drops spaces, dots, dashes and parentheses, and what is not a string', () => {
  assert.equal(cleanNumber(' (650) 555-0100 '), '6505550100');
  assert.equal(cleanNumber('+1.650.555.0100'), '+16505550100');
  assert.equal(cleanNumber('*101#'), '*101#');
  for (const value of [undefined, null, 7, {}, ['1']]) {
    assert.equal(cleanNumber(value), '', String(value));
  }
  assert.equal(stripFormatting('1 (2) 3-4.5'), '12345');
  assert.equal(countSignificant('(650) 5'), 4);
});

test('caretAfter finds the place after the n-th significant character', () => {
  const text = '(650) 555-0100';
  assert.equal(caretAfter(text, 0), 0);
  assert.equal(caretAfter(text, 1), 2);
  assert.equal(caretAfter(text, 3), 4);
  assert.equal(caretAfter(text, 4), 7);
  assert.equal(caretAfter(text, 6), 9);
  assert.equal(caretAfter(text, 7), 11);
  assert.equal(caretAfter(text, 10), text.length);
  assert.equal(caretAfter(text, 99), text.length);
  assert.equal(caretAfter('', 1), 0);
});

test('extension numbers have 2 to 8 digits; a RingOut location is a number, an extension or both', () => {
  for (const [number, want] of [['10', true], ['101', true], ['12345678', true], ['1', false], ['123456789', false], ['+101', false], ['10a', false]]) {
    assert.equal(isExtensionNumber(number), want, number);
  }
  for (const [number, want] of [
    ['+16505550100', true], ['6505550100', true], ['101', true], ['+16505550100*101', true],
    ['1', false], ['+1234567890123456', false], ['+16505550100*1', false], ['+16505550100*', false], ['abc', false], ['', false],
  ]) {
    assert.equal(isLocation(number), want, number);
  }
});

test('readDialled reads a number to call and says what keeps it from being called', () => {
  assert.deepEqual(readDialled(' (650) 555-0100 '), { number: '6505550100', problem: '' });
  assert.deepEqual(readDialled('  - '), { number: '', problem: 'empty' });
  assert.deepEqual(readDialled('1'.repeat(MAX_NUMBER_LENGTH)), { number: '1'.repeat(MAX_NUMBER_LENGTH), problem: '' });
  assert.equal(readDialled(`${'1'.repeat(MAX_NUMBER_LENGTH)}2`).problem, 'tooLong');
  // Formatting does not count towards the limit.
  assert.equal(readDialled(`(${'1'.repeat(MAX_NUMBER_LENGTH)})`).problem, '');
});

test('regionOf takes the user\'s region, else the account\'s, else the fallback', () => {
  const session = (countryCode, contracted) => ({ region: { countryCode }, contractedCountryCode: contracted });
  assert.equal(regionOf(session('CA', 'US'), 'GB'), 'CA');
  assert.equal(regionOf(session('', 'US'), 'GB'), 'US');
  assert.equal(regionOf(session('', ''), 'GB'), 'GB');
  assert.equal(regionOf(session('', '')), '');
});
