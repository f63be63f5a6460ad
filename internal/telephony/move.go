package telephony

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/callbridge/widget-server/internal/logctx"
)

// Moving a call between the devices of its user (seeds/004 move()).
//
// Move offers a connected (or held) party's call to other devices of its
// owner: they ring it (the party's Offered, a "moveOffer" event for the
// owner) while the call goes on where it is. Answering it on one of them
// (Answer) takes the party there: a leg opens on the new device and is
// connected to the remote party's, the old device's leg closes, and the
// party's Device is the new device ("moved", with Event.Device the device
// it left); the other offered devices stop ringing. Rejecting or ignoring
// the offer on a device takes that device out of it; when no device is left,
// or nobody answers within the ring timeout, the offer ends ("moveEnd").
//
// Pickup takes a party at once to the device that asks, with no ringing:
// "Move here" on another of the owner's devices.
//
// The remote party notices nothing: its leg stays and only its peer
// changes. Only the owner's extension hears of a move. RingOuts, calls being
// transferred and parties without a leg of their own cannot move.

// Log lines of moves (lifecycle.go).
const (
	logMoveOffered = "call move offered"
	logMoved       = "call moved"
)

// Move offers the owner's connected party partyID of session sessionID to
// other devices of the owner: devices, or every other registered device
// when devices is empty. Errors: ErrNoSuchCall, ErrNoSuchParty,
// ErrNotYourCall, ErrNoDevice for a device that is not one of the owner's,
// ErrUnreachable when there is no other device, ErrInvalidState when the
// party cannot move now.
func (s *Switch) Move(ctx context.Context, owner int64, sessionID, partyID string, devices []string) error {
	var fx effects
	s.mu.Lock()
	err := s.moveOfferLocked(owner, sessionID, partyID, devices, &fx)
	s.mu.Unlock()
	s.finish(&fx)
	if err != nil {
		return fmt.Errorf("move call %s: %w", sessionID, err)
	}
	return nil
}

func (s *Switch) moveOfferLocked(owner int64, sessionID, partyID string, devices []string, fx *effects) error {
	c, ok := s.calls[sessionID]
	if !ok {
		return ErrNoSuchCall
	}
	p := c.party(partyID)
	switch {
	case p == nil:
		return fmt.Errorf("party %s: %w", partyID, ErrNoSuchParty)
	case p.Owner == 0 || p.Owner != owner:
		return fmt.Errorf("party %s is not extension %d's: %w", partyID, owner, ErrNotYourCall)
	}
	if err := s.movableLocked(c, p); err != nil {
		return err
	}
	var to []string
	if len(devices) == 0 {
		to = s.ringDevicesLocked(owner, p.Device)
	}
	for _, d := range devices {
		dev, ok := s.devices[d]
		switch {
		case !ok || dev.ExtensionID != owner:
			return fmt.Errorf("device %s: %w", d, ErrNoDevice)
		case d == p.Device:
			return fmt.Errorf("device %s carries the call already: %w", d, ErrInvalidState)
		case !slices.Contains(to, d):
			to = append(to, d)
		}
	}
	if len(to) == 0 {
		return fmt.Errorf("no other device of extension %d: %w", owner, ErrUnreachable)
	}
	p.Offered = to
	if c.offerTimer != nil {
		c.offerTimer.Stop()
	}
	id, pid := c.s.ID, p.ID
	c.offerTimer = time.AfterFunc(s.cfg.RingTimeout, func() {
		var fx effects
		s.mu.Lock()
		if cur := s.calls[id]; cur == c {
			if p := c.party(pid); p != nil && len(p.Offered) > 0 {
				s.endOfferLocked(c, p, "")
			}
		}
		s.mu.Unlock()
		s.finish(&fx)
	})
	s.noteLocked(c, logMoveOffered, partyAttrs(p, deviceAttr(p.Device)...)...)
	s.emitToLocked(owner, c, CauseMoveOffer, p.Device)
	return nil
}

// movableLocked checks that party p of call c can move to another device.
func (s *Switch) movableLocked(c *call, p *Party) error {
	switch {
	case c.ro != nil:
		return fmt.Errorf("call %s is a RingOut: %w", c.s.ID, ErrInvalidState)
	case c.xfer != nil:
		return fmt.Errorf("call %s is being transferred: %w", c.s.ID, ErrInvalidState)
	case c.conf != nil:
		return inConferenceLocked(c, "move")
	case c.answering != "":
		return fmt.Errorf("call %s: being answered on device %s: %w", c.s.ID, c.answering, ErrInvalidState)
	case p.Status != StatusAnswered && p.Status != StatusHold || p.Device == "" || !c.hasLeg(p):
		return fmt.Errorf("call %s: party %s is %s on no device: %w", c.s.ID, p.ID, p.Status, ErrInvalidState)
	case s.peerLegLocked(c, p) == "":
		return fmt.Errorf("call %s: party %s has no remote phone leg: %w", c.s.ID, p.ID, ErrInvalidState)
	}
	return nil
}

// peerLegLocked is the leg party p's audio goes to: the other party's of
// its call, or of the call it is bridged to (bridge.go); "" when there is
// none (a tone or echo line, a party still ringing).
func (s *Switch) peerLegLocked(c *call, p *Party) string {
	if o := c.otherActive(p); o != nil && c.hasLeg(o) {
		return legOf(o)
	}
	if l := c.link; l != nil && c.otherActive(p) == nil {
		for i := range l.s.Parties {
			if q := &l.s.Parties[i]; q.active() && l.hasLeg(q) {
				return legOf(q)
			}
		}
	}
	return ""
}

// offeredParty returns the party whose call is offered to device, or nil.
func (c *call) offeredParty(device string) *Party {
	for i := range c.s.Parties {
		if slices.Contains(c.s.Parties[i].Offered, device) {
			return &c.s.Parties[i]
		}
	}
	return nil
}

// endOfferLocked ends party p's move offer: "moveEnd" for device (the
// device that declined it, or "").
func (s *Switch) endOfferLocked(c *call, p *Party, device string) {
	p.Offered = nil
	if c.offerTimer != nil {
		c.offerTimer.Stop()
		c.offerTimer = nil
	}
	s.emitToLocked(p.Owner, c, CauseMoveEnd, device)
}

// declineOfferLocked takes device out of party p's move offer.
func (s *Switch) declineOfferLocked(c *call, p *Party, device string) {
	p.Offered = slices.DeleteFunc(p.Offered, func(d string) bool { return d == device })
	if len(p.Offered) == 0 {
		s.endOfferLocked(c, p, device)
		return
	}
	s.emitToLocked(p.Owner, c, CauseMoveEnd, device)
}

// Pickup moves to device at once the party of device's extension that
// another of its devices carries, answered or held, in session sessionID:
// device's leg answers offerSDP. It returns the session after and the SDP
// answer.
func (s *Switch) Pickup(ctx context.Context, device, sessionID, offerSDP string) (Session, string, error) {
	return s.take(ctx, device, sessionID, offerSDP, AnswerOptions{}, false)
}

// take moves a party of device's extension in session sessionID to device:
// the party whose call is offered to device (offered), or the one another
// of its devices carries (Pickup). The device's own live call is held or
// ended first, as for an answer (opt).
func (s *Switch) take(ctx context.Context, device, sessionID, offerSDP string, opt AnswerOptions, offered bool) (Session, string, error) {
	var hfx effects
	s.mu.Lock()
	c, err := s.callLocked(device, sessionID)
	var p *Party
	if err == nil {
		p, err = s.takableLocked(c, device, offered)
	}
	if err == nil {
		err = s.movableLocked(c, p)
	}
	if err == nil {
		err = s.checkCapLocked(device, s.devices[device].ExtensionID)
	}
	if err != nil {
		s.mu.Unlock()
		return Session{}, "", fmt.Errorf("move call %s to device %s: %w", sessionID, device, err)
	}
	c.answering = device
	if opt.Action == AnswerEnd {
		if other, _ := s.liveLocked(device, c.s.ID); other != nil {
			s.hangupLocked(other, device, &hfx)
		}
	} else {
		s.holdLiveLocked(device, c.s.ID, c.s.ID, &hfx)
	}
	pid, oldDevice, oldLeg, peer := p.ID, p.Device, legOf(p), s.peerLegLocked(c, p)
	like, rtp := c.g711Leg(peer), s.devices[device].RTP
	leg := newID(p.ID + ".")
	ctx = logctx.With(ctx, slog.String("telephonySessionId", c.s.ID))
	s.mu.Unlock()
	s.finishStep(&hfx)

	answer, err := s.openLeg(ctx, leg, offerSDP, LegPhone, like, rtp)
	opened, connected := err == nil, false
	if opened {
		if err = s.media.Connect(peer, leg); err == nil {
			connected = true
		}
	}

	var fx effects
	s.mu.Lock()
	current := s.calls[sessionID] == c
	if current {
		c.answering = ""
		p = c.party(pid)
	}
	still := current && p != nil && p.Device == oldDevice && legOf(p) == oldLeg && c.hasLeg(p) &&
		(p.Status == StatusAnswered || p.Status == StatusHold) && s.peerLegLocked(c, p) == peer &&
		(!offered || slices.Contains(p.Offered, device))
	if err != nil || !still {
		if opened {
			fx.closeLegs = append(fx.closeLegs, leg)
		}
		if connected && current && p != nil && c.hasLeg(p) && s.peerLegLocked(c, p) == peer {
			s.forwards = append(s.forwards, legForward{leg: peer, peer: legOf(p)}) // give the peer back
			s.applyForwardLocked(c)
		}
		if err == nil {
			err = fmt.Errorf("the call changed while its leg opened: %w", ErrInvalidState)
		} else {
			err = fmt.Errorf("open media leg: %w", err)
		}
		if current {
			if offered && p != nil && slices.Contains(p.Offered, device) {
				s.declineOfferLocked(c, p, device)
			}
			s.resumeHeldLocked(c.s.ID, device, &fx)
		} else {
			err = fmt.Errorf("call ended: %w", ErrNoSuchCall)
		}
		s.mu.Unlock()
		s.finish(&fx)
		return Session{}, "", fmt.Errorf("move call %s to device %s: %w", sessionID, device, err)
	}
	c.legs = slices.DeleteFunc(c.legs, func(l string) bool { return l == oldLeg })
	c.legs = append(c.legs, leg)
	fx.closeLegs = append(fx.closeLegs, oldLeg)
	p.leg, p.Device, p.Offered = leg, device, nil
	p.joinedLocked(rtp, like)
	if c.offerTimer != nil {
		c.offerTimer.Stop()
		c.offerTimer = nil
	}
	s.forgetHeldLocked(p.ID)
	s.applyForwardLocked(c)
	s.recordingLegsLocked(c, &fx)
	s.noteLocked(c, logMoved, partyAttrs(p, append([]slog.Attr{slog.String("from", oldDevice)}, deviceAttr(device)...)...)...)
	s.emitToLocked(p.Owner, c, CauseMoved, oldDevice)
	snap := c.s.clone()
	s.mu.Unlock()
	s.finish(&fx)
	return snap, answer, nil
}

// takableLocked returns the party that device may take in call c.
func (s *Switch) takableLocked(c *call, device string, offered bool) (*Party, error) {
	if offered {
		if p := c.offeredParty(device); p != nil {
			return p, nil
		}
		return nil, s.notRingingLocked(c, device)
	}
	ext := s.devices[device].ExtensionID
	ringing := false
	for i := range c.s.Parties {
		p := &c.s.Parties[i]
		if p.Owner != ext || !p.active() {
			continue
		}
		if p.Device == "" {
			ringing = true
			continue
		}
		if p.Device == device {
			return nil, fmt.Errorf("call %s is on device %s already: %w", c.s.ID, device, ErrInvalidState)
		}
		return p, nil
	}
	if ringing {
		return nil, fmt.Errorf("call %s still rings extension %d: answer it: %w", c.s.ID, ext, ErrInvalidState)
	}
	return nil, fmt.Errorf("call %s has no party of extension %d on another device: %w", c.s.ID, ext, ErrNotYourCall)
}
