package phonenumber

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Emergency numbers are routed to a SIP trunk whatever the trunks' dial
// rules say (docs/sip.md "Emergency numbers"). 911 and 112 are emergency
// numbers everywhere: the GSM standard makes 112 work on every mobile
// network, and 911 is what people from North America dial abroad. A region
// adds its own below. The short-number data of nyaruka/phonenumbers has no
// emergency numbers, hence this table.
var emergencyEverywhere = []string{"911", "112"}

// emergencyByRegion holds the national emergency numbers of regions beyond
// 911 and 112 (police, fire, ambulance, coast guard).
var emergencyByRegion = map[string][]string{
	"AT": {"122", "133", "144"},
	"AU": {"000", "106"},
	"BE": {"100", "101"},
	"BR": {"190", "192", "193"},
	"CH": {"117", "118", "144"},
	"CN": {"110", "119", "120", "122"},
	"DE": {"110"},
	"ES": {"061", "062", "091", "092"},
	"FR": {"15", "17", "18", "114"},
	"GB": {"999"},
	"HK": {"999"},
	"IE": {"999"},
	"IN": {"100", "101", "102", "108"},
	"IT": {"113", "115", "118"},
	"JP": {"110", "118", "119"},
	"NZ": {"111"},
	"RU": {"101", "102", "103", "104"},
	"SG": {"995", "999"},
	"ZA": {"10111", "10177"},
}

// EmergencyNumbers lists the emergency numbers of region (ISO country code):
// 911, 112 and the region's own, as dialled there.
func EmergencyNumbers(region string) []string {
	out := append([]string(nil), emergencyEverywhere...)
	return append(out, emergencyByRegion[strings.ToUpper(region)]...)
}

// Emergency reports whether a dialled number is an emergency number of
// region: one of EmergencyNumbers(region) as dialled ("911", "1-1-2"), or
// its E.164 form with the region's country calling code ("+1911" in US,
// "+49110" in DE). short is the number as dialled in the region, which is
// what carriers expect in the Request-URI of an emergency call.
func Emergency(dialled, region string) (short string, ok bool) {
	_, digits, plus, err := scan(dialled, false)
	if err != nil || digits == "" {
		return "", false
	}
	if plus {
		cc := phonenumbers.GetCountryCodeForRegion(strings.ToUpper(region))
		if cc == 0 || !strings.HasPrefix(digits, strconv.Itoa(cc)) {
			return "", false
		}
		digits = digits[len(strconv.Itoa(cc)):]
	}
	for _, n := range EmergencyNumbers(region) {
		if digits == n {
			return n, true
		}
	}
	return "", false
}

// e164Prefix is the start of an E.164 number: '+' and 1-15 digits.
var e164Prefix = regexp.MustCompile(`^\+[0-9]{1,15}$`)

// Prefix turns the start of an E.164 number as people write it ("+1 (415)",
// "+44-20") into its canonical form ("+1415", "+4420"), for the dial rules of
// trunks. It must begin with '+' (a country calling code): a national prefix
// would mean another thing in every country. Anything else fails with
// ErrBadNumber.
func Prefix(written string) (string, error) {
	s, digits, plus, err := scan(written, false)
	if err != nil {
		return "", err
	}
	p := "+" + digits
	if !plus || !e164Prefix.MatchString(p) {
		return "", fmt.Errorf("prefix %q: want '+' and the first digits of E.164 numbers, such as +1 or +4420: %w", s, ErrBadNumber)
	}
	return p, nil
}
