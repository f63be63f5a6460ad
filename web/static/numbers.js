// Phone numbers in the widget: the one place that reads a number as a user
// types it or the server sends it, and writes one for the eye. The dialer,
// the history, the messages and the calling settings all go through it.
//
// Every function here is pure (no DOM, no state) and tested under
// `node --test` (web/test/numbers.test.js). The server owns what a number
// means (normalising, test numbers); the widget only strips what a person
// types around the digits and shows numbers of the North American plan the
// way people there write them.

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

// formatTyped formats a number as it is typed: (650) 555-0100 in the North
// American plan when it is all digits, else as typed.
export function formatTyped(value, region) {
  const digits = stripFormatting(value);
  if (!isNanp(region) || !/^\d+$/.test(digits)) return value;
  const n = digits.length;
  if (n === 7) return `${digits.slice(0, 3)}-${digits.slice(3)}`;
  if (n >= 8 && n <= 10) return `(${digits.slice(0, 3)}) ${digits.slice(3, 6)}-${digits.slice(6)}`;
  if (n === 11 && digits[0] === '1') return `1 (${digits.slice(1, 4)}) ${digits.slice(4, 7)}-${digits.slice(7)}`;
  return digits;
}

// formatNumber shows a number of a call: +16505550100 as (650) 555-0100 in
// the North American plan and +1 (650) 555-0100 elsewhere; other numbers as
// they would be typed.
export function formatNumber(number, region) {
  const m = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(number);
  if (!m) return formatTyped(number, region);
  return `${isNanp(region) ? '' : '+1 '}(${m[1]}) ${m[2]}-${m[3]}`;
}

// formatParty shows the number of a party of a message: "Ext. 101" for an
// extension number, else the number formatted; '' for none.
export function formatParty(number, region) {
  if (!number) return '';
  return isExtensionNumber(number) ? `Ext. ${number}` : formatNumber(number, region);
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
