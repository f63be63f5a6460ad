package telephony

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// maxDialled bounds what Normalize reads: no phone number is longer.
const maxDialled = 64

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
// +15550199) are returned although they are not valid numbers. Anything else
// that is not a valid number fails with ErrBadNumber.
func Normalize(dialled, region string) (string, error) {
	s := strings.TrimSpace(dialled)
	if s == "" {
		return "", fmt.Errorf("empty number: %w", ErrBadNumber)
	}
	if len(s) > maxDialled {
		return "", fmt.Errorf("number longer than %d characters: %w", maxDialled, ErrBadNumber)
	}
	clean := make([]byte, 0, len(s))
	letters, plus := false, false
	for _, r := range s {
		switch {
		case r == '-' || r == '.' || r == '(' || r == ')' || unicode.IsSpace(r):
		case r == '+' && len(clean) == 0 && !plus:
			plus = true
		case r >= '0' && r <= '9':
			clean = append(clean, byte(r))
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
			letters = true
			clean = append(clean, byte(unicode.ToUpper(r)))
		default:
			return "", fmt.Errorf("number %q: unexpected %q: %w", s, r, ErrBadNumber)
		}
	}
	if letters {
		if len(clean) < 7 {
			return "", fmt.Errorf("number %q: letters in a short number: %w", s, ErrBadNumber)
		}
		for i, c := range clean {
			if c >= 'A' && c <= 'Z' {
				clean[i] = vanity[c-'A']
			}
		}
	}
	digits := string(clean)
	if !plus && len(digits) >= 2 && len(digits) <= 8 {
		return digits, nil
	}
	if len(digits) < 2 {
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
	if _, ok := lookupTestNumber(e164); ok {
		return e164, nil
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", fmt.Errorf("number %q is not a valid number in %s: %w", s, region, ErrBadNumber)
	}
	return e164, nil
}

// route is where a dialled number goes.
type route struct {
	callee Endpoint
	owner  int64       // callee extension, 0 when none
	test   *TestNumber // the test line dialled, if any
	code   int         // failure code when the number cannot be routed; 0 = routable
	reason string
	// department is set when owner is a department, whose members ring.
	department bool
	members    []int64
}

// Reasons of routing failures.
const (
	reasonNotFound    = "Not Found"
	reasonUnavailable = "Destination unavailable"
)

// route resolves what callerExt dialled: an extension of its account, a test
// number or a number of its account. Only directory errors are errors.
func (s *Switch) route(ctx context.Context, callerExt int64, dialled string) (route, error) {
	region, err := s.dir.Region(ctx, callerExt)
	if err != nil {
		return route{}, fmt.Errorf("region of extension %d: %w", callerExt, err)
	}
	n, err := Normalize(dialled, region)
	if err != nil {
		return route{callee: Endpoint{PhoneNumber: strings.TrimSpace(dialled)}, code: 404, reason: reasonNotFound}, nil
	}
	if strings.HasPrefix(n, "+") {
		if tn, ok := lookupTestNumber(n); ok {
			return route{callee: Endpoint{PhoneNumber: n, Name: testLineName}, test: &tn}, nil
		}
	}
	ep, ok, err := s.dir.Lookup(ctx, callerExt, n)
	if err != nil {
		return route{}, fmt.Errorf("look up %s for extension %d: %w", n, callerExt, err)
	}
	if !ok || ep.ExtensionID == 0 {
		return route{callee: Endpoint{PhoneNumber: n}, code: 480, reason: reasonUnavailable}, nil
	}
	if strings.HasPrefix(n, "+") {
		ep.PhoneNumber = n // the number dialled, not the extension's first one
	}
	rt := route{callee: ep, owner: ep.ExtensionID}
	if deps, ok := s.dir.(Departments); ok {
		if rt.members, rt.department, err = deps.Members(ctx, ep.ExtensionID); err != nil {
			return route{}, fmt.Errorf("members of extension %d: %w", ep.ExtensionID, err)
		}
	}
	return rt, nil
}

// ringTarget is one extension that a call rings and its devices.
type ringTarget struct {
	owner   int64
	devices []string
}

// ringTargetsLocked lists what a call along rt rings, but the dialling
// device: the callee extension's devices, or for a department those of each
// member that takes department calls, but the caller. When nothing rings,
// fail says how the call ends.
func (s *Switch) ringTargetsLocked(rt route, caller int64, except string) (targets []ringTarget, fail ending) {
	noDevice := ending{code: 480, reason: reasonNoDevice, caller: ResultFailed, callee: ResultMissed}
	if !rt.department {
		if !s.takesDirectLocked(rt.owner) {
			return nil, dndEnding
		}
		devices := s.ringDevicesLocked(rt.owner, except)
		if len(devices) == 0 {
			return nil, noDevice
		}
		return []ringTarget{{rt.owner, devices}}, ending{}
	}
	fail = dndEnding
	for _, m := range rt.members {
		if m == caller || !s.takesDepartmentLocked(m) || slices.ContainsFunc(targets, func(t ringTarget) bool { return t.owner == m }) {
			continue
		}
		fail = noDevice // someone takes the call, but has no device
		if devices := s.ringDevicesLocked(m, except); len(devices) > 0 {
			targets = append(targets, ringTarget{m, devices})
		}
	}
	if len(targets) > 0 {
		return targets, ending{}
	}
	return nil, fail
}
