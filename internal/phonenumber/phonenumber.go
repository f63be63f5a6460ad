// Package phonenumber is the only place phone numbers are parsed: what a user
// dialled (an extension number, a phone number in any common format, vanity
// letters, a built-in test number), a number written down for an account
// (E.164 or the national format of its country), the sign-in names
// "mainNumber*ext", the range of the built-in test numbers, emergency
// numbers and the E.164 prefixes of trunks' dial rules, and how a number is
// shown to a person. It stands on github.com/nyaruka/phonenumbers for the
// numbering plans of every country.
//
// It holds rules about numbers only: what a test number does, which
// extension or account a number reaches, and how a sign-in is checked belong
// to the switch and to identity. It must not import any package of this
// module.
package phonenumber

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// ErrBadNumber: the string is empty or cannot be a phone (or, where one is
// allowed, extension) number.
var ErrBadNumber = errors.New("bad phone number")

// MaxLength bounds what Normalize and E164 read: no phone number, however
// written, is longer.
const MaxLength = 64

// vanity maps keypad letters to their digit (ABC→2 … WXYZ→9).
var vanity = [26]byte{
	'2', '2', '2', '3', '3', '3', '4', '4', '4', '5', '5', '5', '6',
	'6', '6', '7', '7', '7', '7', '8', '8', '8', '9', '9', '9', '9',
}

// Normalize turns what a user dialled into an extension number (2-8 digits,
// no "+") or an E.164 number, parsing national numbers in region (ISO
// country code, e.g. "US"). It drops spaces, dashes, dots and parentheses and
// maps vanity letters to digits when the string has letters and at least 7
// characters ("1800CALFEDE" → "+18002253333"). Test numbers (+15550100 to
// +15550199) are returned although they are not valid numbers, and are read
// as the docs write them with or without the "+" ("1 555 0100" → "+15550100",
// in any region): eight digits that make a test number are one, not an
// extension number. Anything else that is not a valid number fails with
// ErrBadNumber.
func Normalize(dialled, region string) (string, error) {
	s, digits, plus, err := scan(dialled, true)
	if err != nil {
		return "", err
	}
	if !plus && IsTest("+"+digits) {
		return "+" + digits, nil
	}
	if !plus && len(digits) >= minExtension && len(digits) <= maxExtension {
		return digits, nil
	}
	if len(digits) < minExtension {
		return "", fmt.Errorf("number %q: too short: %w", s, ErrBadNumber)
	}
	if plus {
		digits = "+" + digits
	}
	num, err := phonenumbers.Parse(digits, strings.ToUpper(region))
	if err != nil {
		return "", fmt.Errorf("number %q: %v: %w", s, err, ErrBadNumber)
	}
	e164 := phonenumbers.Format(num, phonenumbers.E164)
	if IsTest(e164) {
		return e164, nil
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", fmt.Errorf("number %q is not a valid number in %s: %w", s, region, ErrBadNumber)
	}
	return e164, nil
}

// E164 turns a phone number as people write it down into E.164
// ("+16505550100"): an account's main number, a direct number, the number of
// a sign-in name. Spaces, dashes, dots and parentheses are dropped. A number
// with a leading "+" is international; without one it is read in the
// national format of region (ISO country code, e.g. "US": "(650) 555-0100",
// "1 650 555 0100"; "DE": "030 123456"). Unlike Normalize it takes no
// extension numbers, letters or test numbers: what it returns is a valid
// number of a real numbering plan. Anything else fails with ErrBadNumber.
func E164(written, region string) (string, error) {
	s, digits, plus, err := scan(written, false)
	if err != nil {
		return "", err
	}
	if digits == "" {
		return "", fmt.Errorf("number %q: no digits: %w", s, ErrBadNumber)
	}
	if plus {
		digits = "+" + digits
	}
	num, err := phonenumbers.Parse(digits, strings.ToUpper(region))
	if err != nil {
		return "", fmt.Errorf("number %q: %v: %w", s, err, ErrBadNumber)
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", fmt.Errorf("number %q is not a valid number in %s: %w", s, region, ErrBadNumber)
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// scan reads a number as written: it trims it, drops the separators people
// write (spaces, dashes, dots, parentheses) and returns its ASCII digits and
// whether it began with "+". With letters, keypad letters are read as their
// digits when the string has at least 7 characters; without, a letter is an
// error. s is the trimmed input, for messages.
func scan(written string, letters bool) (s, digits string, plus bool, err error) {
	s = strings.TrimSpace(written)
	if s == "" {
		return "", "", false, fmt.Errorf("empty number: %w", ErrBadNumber)
	}
	if len(s) > MaxLength {
		return "", "", false, fmt.Errorf("number longer than %d characters: %w", MaxLength, ErrBadNumber)
	}
	clean := make([]byte, 0, len(s))
	hasLetters := false
	for _, r := range s {
		switch {
		case r == '-' || r == '.' || r == '(' || r == ')' || unicode.IsSpace(r):
		case r == '+' && len(clean) == 0 && !plus:
			plus = true
		case r >= '0' && r <= '9':
			clean = append(clean, byte(r))
		case letters && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'):
			hasLetters = true
			clean = append(clean, byte(unicode.ToUpper(r)))
		default:
			return "", "", false, fmt.Errorf("number %q: unexpected %q: %w", s, r, ErrBadNumber)
		}
	}
	if hasLetters {
		if len(clean) < 7 {
			return "", "", false, fmt.Errorf("number %q: letters in a short number: %w", s, ErrBadNumber)
		}
		for i, c := range clean {
			if c >= 'A' && c <= 'Z' {
				clean[i] = vanity[c-'A']
			}
		}
	}
	return s, string(clean), plus, nil
}

// AreaCode is the area code an account in region takes from its main number
// when it gives none: the three digits after +1 of a North American number
// in a country of that plan ("+16505550100" in US or CA → "650"), else "".
// Other plans' area codes vary in length and are not derived.
func AreaCode(e164, region string) string {
	if phonenumbers.GetCountryCodeForRegion(strings.ToUpper(region)) != 1 ||
		!strings.HasPrefix(e164, "+1") || len(e164) != len("+16505550100") {
		return ""
	}
	return e164[2:5]
}
