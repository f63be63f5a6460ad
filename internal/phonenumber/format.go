package phonenumber

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Format shows a number to a person in region (ISO country code): a number
// of region's own country calling code in its national format
// ("+16505550100" in US or CA → "(650) 555-0100"), another in international
// format ("+442079460000" in US → "+44 20 7946 0000"); a test number as the
// docs write it ("+1 555 0100"). Anything else — an extension number, a
// number that is not valid — is returned unchanged.
func Format(n, region string) string {
	if IsTest(n) {
		return "+1 555 " + n[len(n)-4:]
	}
	if !strings.HasPrefix(n, "+") {
		return n
	}
	num, err := phonenumbers.Parse(n, "")
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return n
	}
	if int(num.GetCountryCode()) == phonenumbers.GetCountryCodeForRegion(strings.ToUpper(region)) {
		return phonenumbers.Format(num, phonenumbers.NATIONAL)
	}
	return phonenumbers.Format(num, phonenumbers.INTERNATIONAL)
}
