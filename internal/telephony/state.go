package telephony

import "fmt"

// transitions lists the legal moves of a party.
var transitions = map[PartyStatus][]PartyStatus{
	StatusSetup:      {StatusProceeding, StatusDisconnected},
	StatusProceeding: {StatusAnswered, StatusDisconnected},
	StatusAnswered:   {StatusHold, StatusDisconnected},
	StatusHold:       {StatusAnswered, StatusDisconnected},
}

// CanBecome reports whether a party in state s may move to state to.
func (s PartyStatus) CanBecome(to PartyStatus) bool {
	for _, t := range transitions[s] {
		if t == to {
			return true
		}
	}
	return false
}

// moveTo changes the party's state, or fails with ErrInvalidState.
func (p *Party) moveTo(to PartyStatus) error {
	if !p.Status.CanBecome(to) {
		return fmt.Errorf("party %s: %s to %s: %w", p.ID, p.Status, to, ErrInvalidState)
	}
	p.Status = to
	return nil
}

// active reports whether the party still takes part in the call.
func (p *Party) active() bool { return p.Status != StatusDisconnected }
