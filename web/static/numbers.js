// Phone numbers in the widget: the one place that reads a number as a user
// types it or the server sends it, and writes one for the eye. The dialer,
// the history, the messages and the calling settings all go through it.
//
// Every function here is pure (no DOM, no state) and tested under
// `node --test` (web/test/numbers.test.js). The server owns what a number
// means (normalising, what a test number does); the widget only strips what
// a person types around the digits, shows numbers of the North American plan
// the way people there write them, and names the test numbers.
//
// One rule shows a party everywhere (showParty): a user of the account by
// name and "Ext. 101"; a test number by what it does ("Tone line") and as the
// docs write it ("+1 555 0100"); another number by the name the host's CRM
// has for it, else its own name, if any, and in the national format of the
// user's region, else as the server sent it.

import { t } from './i18n.js';

// The most characters a number may have, typed or sent by the host.
export const MAX_NUMBER_LENGTH = 64;

// Regions of the North American numbering plan: numbers show as (650) 555-0100.
export const NANP_REGIONS = Object.freeze(['US', 'CA', 'PR', 'VI', 'GU', 'AS', 'MP']);

// Characters a number is written with that are not dialled.
const FORMATTING = /[\s().-]/g;
// An extension number, as the switch reads one: 2 to 8 digits, no +.
const EXTENSION_NUMBER = /^\d{2,8}$/;
// A phone to ring: a number (+ and digits), an extension number, or the
// company's number and an extension (+16505550100*101).
const LOCATION = /^\+?\d{2,15}(\*\d{2,8})?$/;

// The built-in test numbers by what they do: first and last number of each
// row (E.164) and its name. The rows are the switch's (internal/telephony
// testnumbers.go); web/static/numbers_test.go keeps them in step. The
// widget shows each name in its own language (TEST_LINE_NAMES), whatever
// name the server gives the party.
export const TEST_LINES = Object.freeze([
  ['+15550100', '+15550100', 'Tone line'],
  ['+15550101', '+15550101', 'Echo line'],
  ['+15550102', '+15550102', 'Busy line'],
  ['+15550103', '+15550103', 'Unavailable line'],
  ['+15550104', '+15550104', 'Invalid number'],
  ['+15550105', '+15550105', 'Declining line'],
  ['+15550106', '+15550106', 'No-funds line'],
  ['+15550107', '+15550107', 'Ringing line'],
  ['+15550108', '+15550199', 'Invalid number'],
].map(Object.freeze));
// The message key of each test line's name.
const TEST_LINE_NAMES = Object.freeze({
  'Tone line': 'numbers.toneLine',
  'Echo line': 'numbers.echoLine',
  'Busy line': 'numbers.busyLine',
  'Unavailable line': 'numbers.unavailableLine',
  'Invalid number': 'numbers.invalidNumber',
  'Declining line': 'numbers.decliningLine',
  'No-funds line': 'numbers.noFundsLine',
  'Ringing line': 'numbers.ringingLine',
});
// A test number as E.164: +1 555 0100 to 0199.
const TEST_NUMBER = /^\+155501\d\d$/;

const asString = (value) => (typeof value === 'string' ? value : '');

export const isNanp = (region) => NANP_REGIONS.includes(region);

// isFormatting says whether the character ch is formatting, not dialled.
export const isFormatting = (ch) => /[\s().-]/.test(ch);

// stripFormatting drops the formatting characters of a number as written.
export const stripFormatting = (value) => value.replace(FORMATTING, '');

// cleanNumber is a number as typed, without its formatting ('' for what is
// not a string).
export const cleanNumber = (value) => stripFormatting(asString(value).trim());

// countSignificant counts the characters of text that are dialled.
export const countSignificant = (text) => stripFormatting(text).length;

// isExtensionNumber says whether a number (without formatting) is an
// extension number of the company.
export const isExtensionNumber = (number) => EXTENSION_NUMBER.test(number);

// isLocation says whether a number (without formatting) is a phone a
// RingOut can ring: a number, an extension number, or mainNumber*extension.
export const isLocation = (number) => LOCATION.test(number);

// regionOf is the region numbers are shown for: the signed-in user's, else
// the account's, else fallback (the widget's configured region).
export function regionOf(session, fallback = '') {
  return session.region.countryCode || session.contractedCountryCode || fallback;
}

// readDialled reads a number to call: the number without its formatting,
// and the problem that keeps it from being called: '' when none, 'empty' or
// 'tooLong'.
export function readDialled(value) {
  const number = cleanNumber(value);
  if (!number) return { number, problem: 'empty' };
  if (number.length > MAX_NUMBER_LENGTH) return { number, problem: 'tooLong' };
  return { number, problem: '' };
}

// isTestNumber says whether number (E.164) is a built-in test number.
export const isTestNumber = (number) => TEST_NUMBER.test(number);

// testLineName is the name of a test number by what it does, in the
// widget's language; '' for another number.
export function testLineName(number) {
  if (!isTestNumber(number)) return '';
  const row = TEST_LINES.find(([first, last]) => number >= first && number <= last);
  return row ? t(TEST_LINE_NAMES[row[2]]) : '';
}

// extensionText shows an extension number: "Ext. 101".
const extensionText = (number) => t('numbers.extension', { number });

// formatTyped formats a number as it is typed: a test number as the docs
// write it (1 555 0100, +1 555 0100) in any region; (650) 555-0100 and
// 1 (650) 555-0100 in the North American plan when it is all digits; else
// as typed.
export function formatTyped(value, region) {
  const digits = stripFormatting(value);
  const test = /^(\+?)1555(0\d{0,3})$/.exec(digits);
  if (test) return `${test[1]}1 555 ${test[2]}`;
  if (!isNanp(region) || !/^\d+$/.test(digits)) return value;
  const n = digits.length;
  if (n >= 5 && n <= 11 && digits[0] === '1') {
    const groups = [digits.slice(1, 4), digits.slice(4, 7), digits.slice(7)];
    if (n <= 7) return `1 (${groups[0]}) ${groups[1]}`;
    return `1 (${groups[0]}) ${groups[1]}-${groups[2]}`;
  }
  if (n === 7) return `${digits.slice(0, 3)}-${digits.slice(3)}`;
  if (n >= 8 && n <= 10) return `(${digits.slice(0, 3)}) ${digits.slice(3, 6)}-${digits.slice(6)}`;
  return digits;
}

// formatNumber shows a number of a call: a test number as the docs write it
// (+1 555 0100); +16505550100 as (650) 555-0100 in the North American plan
// and +1 (650) 555-0100 elsewhere; other numbers as they would be typed.
export function formatNumber(number, region) {
  if (isTestNumber(number)) return `+1 555 ${number.slice(-4)}`;
  const m = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(number);
  if (!m) return formatTyped(number, region);
  return `${isNanp(region) ? '' : '+1 '}(${m[1]}) ${m[2]}-${m[3]}`;
}

// formatParty shows the number of a party of a message: "Ext. 101" for an
// extension number, else the number formatted; '' for none.
export function formatParty(number, region) {
  if (!number) return '';
  return isExtensionNumber(number) ? extensionText(number) : formatNumber(number, region);
}

// showParty is how the widget shows a party of a call or message, the same
// on the incoming card, the call views, the history and the messages:
//   name:   the test line's name for a test number, else the party's name
//           ('' for none)
//   number: "Ext. 101" for a user of the account, else its number formatted
//           ('' for none)
// party is { name, phoneNumber, extensionNumber }; a phoneNumber that is an
// extension number counts as one, but a test number dialled without its +
// (15550100) is the test number, as the server reads it.
export function showParty(party, region) {
  const name = asString(party?.name).trim();
  const written = cleanNumber(party?.phoneNumber);
  const phone = isTestNumber(`+${written}`) ? `+${written}` : written;
  const extension = cleanNumber(party?.extensionNumber) || (isExtensionNumber(phone) ? phone : '');
  const testName = testLineName(phone);
  const match = !extension && !testName && phone ? hostNames(phone) : null;
  return {
    name: testName || match?.name || name,
    number: extension ? extensionText(extension) : (phone ? formatNumber(phone, region) : ''),
    ...(match ? { source: match.source, contact: match.contact } : {}),
  };
}

// The host's CRM names the other numbers (crm.js): hostNames(number) is
// {name, source, contact} or null.
let hostNames = () => null;
export function setHostNames(lookup) {
  hostNames = typeof lookup === 'function' ? lookup : () => null;
}

// hostName is the name the host's CRM has for number ('' for none, and for
// an extension or a test number).
export function hostName(number) {
  const phone = cleanNumber(number);
  return phone && !isExtensionNumber(phone) && !testLineName(phone) ? asString(hostNames(phone)?.name) : '';
}

// caretAfter is the position in text just after its n-th significant character.
export function caretAfter(text, n) {
  let seen = 0;
  for (let i = 0; i < text.length; i += 1) {
    if (seen === n) return i;
    if (!isFormatting(text[i])) seen += 1;
  }
  return text.length;
}
