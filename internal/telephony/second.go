package telephony

import (
	"context"
	"fmt"
	"slices"
)

// A device carries at most one live call: one whose party on it is
// Answered. Dialling or answering while one is live holds it first, at the
// gateway (forwarding off both ways, the party Hold, a "hold" event): the
// held call is then held for the new one and resumes when the new one
// fails or ends, unless it is live again or ended by then. A call the user
// held before, or that SwitchCall held, stays held. SwitchCall, and Unhold
// on a device with another live call, make one held call live and hold the
// other.

// heldRef names a party held for another call.
type heldRef struct{ call, party string }

// Answer actions (AnswerOptions.Action) for a device that carries a live call.
const (
	AnswerHold = "hold" // hold the live call, then answer; the default
	AnswerEnd  = "end"  // end the live call, then answer
)

// AnswerOptions says what answering does to the device's live call.
type AnswerOptions struct {
	Action string // AnswerHold ("" too) or AnswerEnd
}

// liveLocked returns the call and party that device carries Answered, but
// in call except, or nils.
func (s *Switch) liveLocked(device, except string) (*call, *Party) {
	for _, c := range s.sortedCallsLocked() {
		if c.s.ID == except {
			continue
		}
		if p := c.partyOfDevice(device); p != nil && p.Status == StatusAnswered {
			return c, p
		}
	}
	return nil, nil
}

// holdLiveLocked holds the call that device carries live, but call except:
// held for the call forID, or for good when forID is "".
func (s *Switch) holdLiveLocked(device, except, forID string, fx *effects) {
	c, p := s.liveLocked(device, except)
	if c == nil || s.moveLocked(c, fx, move{p, StatusHold}) != nil {
		return
	}
	if forID != "" {
		s.autoHeld[forID] = append(s.autoHeld[forID], heldRef{c.s.ID, p.ID})
	}
	s.applyForwardLocked(c)
	s.emitLocked(c, CauseHold, device)
}

// resumeHeldLocked resumes the parties held for the call forID, those on
// device only unless device is "": each that is still held, on a device
// that carries no other live call.
func (s *Switch) resumeHeldLocked(forID, device string, fx *effects) {
	refs := s.autoHeld[forID]
	var keep []heldRef
	for _, ref := range refs {
		c := s.calls[ref.call]
		var p *Party
		if c != nil {
			p = c.party(ref.party)
		}
		if p != nil && device != "" && p.Device != device {
			keep = append(keep, ref)
			continue
		}
		if p == nil || p.Status != StatusHold || p.Device == "" || s.closed {
			continue
		}
		if _, ok := s.devices[p.Device]; !ok { // signing out: its calls end
			continue
		}
		if other, _ := s.liveLocked(p.Device, c.s.ID); other != nil {
			continue
		}
		if s.moveLocked(c, fx, move{p, StatusAnswered}) != nil {
			continue
		}
		s.applyForwardLocked(c)
		s.emitLocked(c, CauseUnhold, p.Device)
	}
	if len(keep) > 0 {
		s.autoHeld[forID] = keep
	} else {
		delete(s.autoHeld, forID)
	}
}

// resumeHeld resumes, outside the lock, the parties held for call forID.
func (s *Switch) resumeHeld(forID string) {
	var fx effects
	s.mu.Lock()
	s.resumeHeldLocked(forID, "", &fx)
	s.mu.Unlock()
	s.finish(&fx)
}

// forgetHeldLocked: party id is no longer held for any call (the user made it live).
func (s *Switch) forgetHeldLocked(id string) {
	for k, refs := range s.autoHeld {
		refs = slices.DeleteFunc(refs, func(r heldRef) bool { return r.party == id })
		if len(refs) == 0 {
			delete(s.autoHeld, k)
		} else {
			s.autoHeld[k] = refs
		}
	}
}

// SwitchCall makes the device's held party of the session live: the call
// the device carries live, if any, is held first (for good: it does not
// resume when this one ends). Events: "hold" for that call, "unhold" for
// this one. A party that is not held fails with ErrInvalidState.
func (s *Switch) SwitchCall(ctx context.Context, device, sessionID string) error {
	var fx effects
	s.mu.Lock()
	c, err := s.callLocked(device, sessionID)
	if err == nil {
		if p := c.partyOfDevice(device); p == nil {
			err = s.notPartyLocked(c, device)
		} else {
			err = s.switchLocked(c, p, &fx)
		}
	}
	s.mu.Unlock()
	s.finish(&fx)
	return err
}

// switchLocked makes held party p of call c live, holding the live call of its device.
func (s *Switch) switchLocked(c *call, p *Party, fx *effects) error {
	if p.Status != StatusHold {
		return fmt.Errorf("unhold call %s: party %s: unhold when %s: %w", c.s.ID, p.ID, p.Status, ErrInvalidState)
	}
	if p.Device != "" {
		s.holdLiveLocked(p.Device, c.s.ID, "", fx)
	}
	if err := s.moveLocked(c, fx, move{p, StatusAnswered}); err != nil {
		return err
	}
	s.forgetHeldLocked(p.ID)
	s.applyForwardLocked(c)
	s.emitLocked(c, CauseUnhold, p.Device)
	return nil
}

// Ignore stops the call ringing on device; the call goes on ringing the
// party's other devices, and rings for the caller until it is answered,
// cancelled or times out (408), also once no device rings any more. Event:
// "ignore", with the party's Ringing without device.
func (s *Switch) Ignore(ctx context.Context, device, sessionID string) error {
	var fx effects
	s.mu.Lock()
	c, err := s.callLocked(device, sessionID)
	if err == nil {
		p := c.ringingParty(device)
		switch {
		case p == nil && c.offeredParty(device) != nil:
			s.declineOfferLocked(c, c.offeredParty(device), device) // move.go
		case p == nil:
			err = s.notRingingLocked(c, device)
		case c.answering == device:
			err = fmt.Errorf("ignore call %s: being answered on this device: %w", c.s.ID, ErrInvalidState)
		default:
			p.Ringing = slices.DeleteFunc(p.Ringing, func(d string) bool { return d == device })
			s.emitLocked(c, CauseIgnore, device)
		}
	}
	s.mu.Unlock()
	s.finish(&fx)
	return err
}
