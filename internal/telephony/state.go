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

// moveTo changes the party's state, or fails with ErrInvalidState and
// leaves it. It serves requests from outside (hold, unhold), which may ask
// for a move the state does not allow; the switch's own moves go through
// moveLocked.
func (p *Party) moveTo(to PartyStatus) error {
	if !p.Status.CanBecome(to) {
		return fmt.Errorf("party %s: %s to %s: %w", p.ID, p.Status, to, ErrInvalidState)
	}
	p.Status = to
	return nil
}

// active reports whether the party still takes part in the call.
func (p *Party) active() bool { return p.Status != StatusDisconnected }

// move is one change of a party's state that the switch makes on its own.
type move struct {
	p  *Party
	to PartyStatus
}

// internalError is how a call ends when the switch finds it in a state its
// table does not allow it to go on from.
var internalError = ending{code: 500, reason: reasonInternal, caller: ResultFailed, callee: ResultFailed}

// moveLocked makes the moves of call c, all of them or none. The switch
// checks the state of a call before it moves its parties, so a move the
// table refuses is a bug, never an outside request: it is logged as an error
// with the call's id, an active call ends (500, result Failed) so that
// nothing goes on from a state the table does not know, and the error
// (wrapping ErrInvalidState) is returned for the caller to stop at.
func (s *Switch) moveLocked(c *call, fx *effects, moves ...move) error {
	for _, m := range moves {
		if !m.p.Status.CanBecome(m.to) {
			err := fmt.Errorf("call %s: party %s: %s to %s: %w", c.s.ID, m.p.ID, m.p.Status, m.to, ErrInvalidState)
			s.noteRefusedLocked(c, err)
			if s.calls[c.s.ID] == c {
				s.endLocked(c, internalError, CauseFailed, "", fx)
			}
			return err
		}
	}
	for _, m := range moves {
		m.p.Status = m.to
	}
	return nil
}

// disconnectLocked moves party p of call c to Disconnected, which every
// other state may become. Should the table ever refuse it, the refusal is
// logged as an error with the call's id and p is disconnected all the same:
// a call that ends leaves no party behind.
func (s *Switch) disconnectLocked(c *call, p *Party) {
	if err := p.moveTo(StatusDisconnected); err != nil {
		s.noteRefusedLocked(c, err)
		p.Status = StatusDisconnected
	}
}
