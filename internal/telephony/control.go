package telephony

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// PartyAction is what call control through the platform API does to a party.
type PartyAction string

// Party actions.
const (
	ActionHold   PartyAction = "hold"   // an answered party: no audio either way until unhold
	ActionUnhold PartyAction = "unhold" // a held party resumes
	ActionMute   PartyAction = "mute"   // the party's audio stops reaching the others
	ActionUnmute PartyAction = "unmute" // and resumes
	ActionReject PartyAction = "reject" // a ringing party declines: the call ends (603)
	ActionDrop   PartyAction = "drop"   // the party leaves: the call ends
)

// PartyActions lists every party action.
var PartyActions = []PartyAction{ActionHold, ActionUnhold, ActionMute, ActionUnmute, ActionReject, ActionDrop}

// ErrNoSuchParty: the session has no party with that id.
var ErrNoSuchParty = errors.New("no such party")

// ControlParty carries out action on a party of an active session for the
// extension that owns the party, with the same rules and events as the
// widget's own buttons: the party's device hears of a hold, a mute or the end
// as if it had pressed them. It returns the session after the action (ended,
// after reject and drop).
//
// Errors: ErrNoSuchCall, ErrNoSuchParty; ErrNotYourCall when owner does not
// own the party (parties of test lines and outside numbers have no owner);
// ErrInvalidState when the party's state does not allow the action — hold,
// unhold and mute need an answered party (a dialling caller may mute),
// reject a ringing one.
func (s *Switch) ControlParty(ctx context.Context, owner int64, sessionID, partyID string, action PartyAction) (Session, error) {
	var fx effects
	s.mu.Lock()
	c, ok := s.calls[sessionID]
	if !ok {
		s.mu.Unlock()
		return Session{}, fmt.Errorf("call %s: %w", sessionID, ErrNoSuchCall)
	}
	var err error
	switch p := c.party(partyID); {
	case p == nil:
		err = fmt.Errorf("call %s: party %s: %w", sessionID, partyID, ErrNoSuchParty)
	case p.Owner == 0 || p.Owner != owner:
		err = fmt.Errorf("call %s: party %s is not extension %d's: %w", sessionID, partyID, owner, ErrNotYourCall)
	default:
		err = s.controlLocked(c, p, action, &fx)
	}
	snap := c.s.clone()
	s.mu.Unlock()
	s.finish(&fx)
	if err != nil {
		return Session{}, err
	}
	return snap, nil
}

// controlLocked applies action to party p of call c.
func (s *Switch) controlLocked(c *call, p *Party, action PartyAction, fx *effects) error {
	ringing := p.Status == StatusProceeding && slices.Contains(c.ringable(), p)
	var cause Cause
	var change func(*Party) error
	switch action {
	case ActionHold:
		cause, change = CauseHold, hold
	case ActionUnhold:
		if ringing {
			return fmt.Errorf("%s party %s: still ringing: %w", CauseUnhold, p.ID, ErrInvalidState)
		}
		return s.switchLocked(c, p, fx)
	case ActionMute, ActionUnmute:
		cause, change = muteChange(action == ActionMute)
	case ActionReject:
		if !ringing {
			return fmt.Errorf("reject party %s: %s, not ringing: %w", p.ID, p.Status, ErrInvalidState)
		}
		return s.declineLocked(c, p, fx)
	case ActionDrop:
		if ringing {
			return s.declineLocked(c, p, fx)
		}
		s.hangupLocked(c, p.Device, fx)
		return nil
	default:
		return fmt.Errorf("party %s: unknown action %q", p.ID, action)
	}
	if ringing {
		return fmt.Errorf("%s party %s: still ringing: %w", cause, p.ID, ErrInvalidState)
	}
	if err := change(p); err != nil {
		if err == errUnchanged {
			return nil
		}
		return fmt.Errorf("%s party %s: %w", cause, p.ID, err)
	}
	s.applyForwardLocked(c)
	s.emitLocked(c, cause, p.Device)
	return nil
}

// declineLocked ends a call whose ringing party p declines it on every
// device at once (603); of a department call that still rings other
// members, only p leaves.
func (s *Switch) declineLocked(c *call, p *Party, fx *effects) error {
	if c.answering != "" && (slices.Contains(p.Ringing, c.answering) || !c.ringsElsewhere(p)) {
		return fmt.Errorf("reject party %s: being answered on device %s: %w", p.ID, c.answering, ErrInvalidState)
	}
	p.Ringing = nil
	s.stoppedRingingLocked(c, p, declined, CauseReject, "", fx)
	return nil
}

// Hold puts the device's party on hold: no audio flows either way until it
// is resumed.
func (s *Switch) Hold(ctx context.Context, device, sessionID string) error {
	return s.changeParty(device, sessionID, CauseHold, hold)
}

// Unhold resumes the device's held party; the call the device carries live,
// if any, is held (SwitchCall).
func (s *Switch) Unhold(ctx context.Context, device, sessionID string) error {
	return s.SwitchCall(ctx, device, sessionID)
}

// Mute stops (or resumes) forwarding the device's audio to the other side.
// Muting a muted party changes nothing and publishes nothing.
func (s *Switch) Mute(ctx context.Context, device, sessionID string, muted bool) error {
	cause, change := muteChange(muted)
	return s.changeParty(device, sessionID, cause, change)
}

func hold(p *Party) error { return p.moveTo(StatusHold) }

// muteChange is the cause and the change of muting (or unmuting) a party.
func muteChange(muted bool) (Cause, func(*Party) error) {
	cause := CauseMute
	if !muted {
		cause = CauseUnmute
	}
	return cause, func(p *Party) error {
		if p.Muted == muted {
			return errUnchanged
		}
		p.Muted = muted
		return nil
	}
}

// errUnchanged tells changeParty that nothing changed.
var errUnchanged = errors.New("unchanged")

// changeParty applies change to the party whose media device carries, then
// re-applies forwarding and publishes cause.
func (s *Switch) changeParty(device, sessionID string, cause Cause, change func(*Party) error) error {
	var fx effects
	s.mu.Lock()
	c, err := s.callLocked(device, sessionID)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	p := c.partyOfDevice(device)
	if p == nil {
		err := s.notPartyLocked(c, device)
		s.mu.Unlock()
		return err
	}
	if err := change(p); err != nil {
		s.mu.Unlock()
		if err == errUnchanged {
			return nil
		}
		return fmt.Errorf("%s call %s: %w", cause, sessionID, err)
	}
	s.applyForwardLocked(c)
	s.emitLocked(c, cause, device)
	s.mu.Unlock()
	s.finish(&fx)
	return nil
}

// applyForwardLocked sets what each open leg forwards: nothing while any
// party holds, nothing from a muted party, and nothing while a transfer's
// target or recall rings (transfer.go): no leg forwards to a held or
// departed party. A call bridged to another is one conversation with it:
// a hold in either stops both. The media hears of it once
// the lock is released (effects.go).
func (s *Switch) applyForwardLocked(c *call) {
	if c.conf != nil { // mixed, not forwarded (conference.go)
		s.confChangedLocked(c, "")
		return
	}
	calls := []*call{c}
	if c.link != nil { // one conversation across two calls (bridge.go)
		calls = append(calls, c.link)
	}
	held := false
	for _, k := range calls {
		held = held || slices.ContainsFunc(k.s.Parties, func(p Party) bool { return p.Status == StatusHold })
	}
	for _, k := range calls {
		s.trunkHoldLocked(k, held)
		for _, p := range k.s.Parties {
			if k.hasLeg(&p) {
				s.forwards = append(s.forwards, legForward{leg: legOf(&p), on: !p.Muted && !held && k.xfer == nil && !k.earlyLocked(&p)})
			}
		}
	}
}

// notPartyLocked explains why device cannot act on a party of the call.
func (s *Switch) notPartyLocked(c *call, device string) error {
	if c.ringingParty(device) != nil {
		return fmt.Errorf("call %s still rings on device %s: %w", c.s.ID, device, ErrInvalidState)
	}
	return fmt.Errorf("call %s has no party on device %s: %w", c.s.ID, device, ErrNotYourCall)
}
