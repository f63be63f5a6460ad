package sip

import (
	"cmp"
	"slices"
	"strings"

	"github.com/callbridge/widget-server/internal/phonenumber"
)

// maxPriority bounds TrunkConfig.Priority.
const maxPriority = 1000

// Route is the trunk a call to a number goes out on, and what it dials.
type Route struct {
	Trunk string
	// Number is the Request-URI's user part: the number in E.164, or for
	// an emergency call the short number as dialled in the region ("911",
	// "112"), which is what carriers take for emergency calls.
	Number string
	// Emergency: the number is an emergency number of the region.
	Emergency bool
}

// Route picks the trunk for a call to number (E.164, or an emergency
// number as dialled) from an account in region (ISO country code). An
// emergency number (phonenumber.Emergency: 911, 112, the region's own and
// their E.164 forms) goes out on the first trunk that is up, in priority
// order, whatever the dial rules say. Any other number is normalised to
// E.164 (a national number is read in region) and goes out on the trunk of lowest priority that is up and whose
// dial rules take it. ok is false when no trunk may carry the call: none is
// up, none takes the number, or the number is not a valid E.164 number.
func (u *UA) Route(number, region string) (r Route, ok bool) {
	cfgs := make([]TrunkConfig, len(u.trunks))
	for i, t := range u.trunks {
		cfgs[i] = t.cfg
	}
	return route(cfgs, func(name string) bool {
		st, _ := u.TrunkStatus(name)
		return st.Up
	}, number, region)
}

// route is Route over trunks, in configuration order, with up telling
// which are up.
func route(trunks []TrunkConfig, up func(name string) bool, number, region string) (Route, bool) {
	order := make([]TrunkConfig, len(trunks))
	for i, t := range trunks {
		order[i] = t.withDefaults()
	}
	slices.SortStableFunc(order, func(a, b TrunkConfig) int { return cmp.Compare(a.Priority, b.Priority) })
	if short, ok := phonenumber.Emergency(number, region); ok {
		for _, t := range order {
			if up(t.Name) {
				return Route{Trunk: t.Name, Number: short, Emergency: true}, true
			}
		}
		return Route{}, false
	}
	e164, err := phonenumber.E164(number, region)
	if err != nil {
		return Route{}, false
	}
	for _, t := range order {
		if t.takes(e164) && up(t.Name) {
			return Route{Trunk: t.Name, Number: e164}, true
		}
	}
	return Route{}, false
}

// takes reports whether the trunk's dial rules admit an E.164 number: no
// deny prefix starts it, and a prefix does (or there are none).
func (c TrunkConfig) takes(e164 string) bool {
	for _, p := range c.DenyPrefixes {
		if strings.HasPrefix(e164, p) {
			return false
		}
	}
	if len(c.Prefixes) == 0 {
		return true
	}
	for _, p := range c.Prefixes {
		if strings.HasPrefix(e164, p) {
			return true
		}
	}
	return false
}

// canonicalPrefixes writes each prefix canonically ("+1 (415)" → "+1415");
// one that is not a prefix stays as it is, for Validate to name.
func canonicalPrefixes(list []string) []string {
	if len(list) == 0 {
		return nil
	}
	out := make([]string, len(list))
	for i, p := range list {
		if c, err := phonenumber.Prefix(p); err == nil {
			p = c
		}
		out[i] = p
	}
	return out
}

// validateDialRules checks the prefixes and the priority.
func (c TrunkConfig) validateDialRules() error {
	for _, l := range []struct {
		what string
		list []string
	}{{"prefix", c.Prefixes}, {"deny prefix", c.DenyPrefixes}} {
		for _, p := range l.list {
			if _, err := phonenumber.Prefix(p); err != nil {
				return cfgErr("trunk %s: %s %q: want '+' and the first digits of E.164 numbers, such as +1 or +4420", c.Name, l.what, p)
			}
		}
	}
	if c.Priority < 0 || c.Priority > maxPriority {
		return cfgErr("trunk %s: priority %d is not between 0 and %d", c.Name, c.Priority, maxPriority)
	}
	return nil
}
