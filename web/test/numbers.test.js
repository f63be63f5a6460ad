// Tests of numbers.js, the widget's one reader and writer of phone numbers,
// under `node --test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  caretAfter, cleanNumber, countSignificant, formatNumber, formatParty, formatTyped, isExtensionNumber, isLocation,
  MAX_NUMBER_LENGTH, readDialled, regionOf, stripFormatting,
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
