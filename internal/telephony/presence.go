package telephony

// PresenceKeeper owns extensions' presence (internal/presence implements
// it): the switch reports to it, with every event of an extension, the
// states of that extension's parties, and takes from it the event's
// sequence and the extension's telephony presence; it asks it which calls
// ring an extension (do-not-disturb, dnd.go). The switch calls it while
// holding its own lock, so an implementation must never call the switch.
type PresenceKeeper interface {
	// CallsChanged takes the states of the extension's parties, one list
	// per session it takes part in, and returns its telephony presence and
	// its next sequence: larger than every one before, also across
	// restarts.
	CallsChanged(extension int64, sessions [][]PartyStatus) (Presence, uint64)
	// TakesDirectCalls reports whether calls to the extension ring it.
	TakesDirectCalls(extension int64) bool
	// TakesDepartmentCalls reports whether calls to its departments ring it.
	TakesDepartmentCalls(extension int64) bool
}

// partyStatesLocked lists the states of an extension's live parties, one
// list per session in which it has one.
func (s *Switch) partyStatesLocked(ext int64) [][]PartyStatus {
	var out [][]PartyStatus
	for _, c := range s.calls {
		var states []PartyStatus
		for _, party := range c.s.Parties {
			if party.Owner == ext && party.active() {
				states = append(states, party.Status)
			}
		}
		if states != nil {
			out = append(out, states)
		}
	}
	return out
}
