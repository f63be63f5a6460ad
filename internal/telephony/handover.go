package telephony

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// Handing a call over to another switch: in a cluster, two calls carried
// by different nodes are merged or bridged by one of them, which takes the
// other call over first (internal/cluster). Release takes a call out of
// this switch as it stands, without ending it; Adopt makes it a call of
// this switch, whose gateway carries its audio from then on. Nothing of
// the call changes for anyone: each party keeps its session, its status
// and its call-log record, and its device connects its audio again
// (Rejoin) when told so by a CauseRejoin event.
//
// Only a plain call between two devices moves: two parties answered or
// held on devices, and nothing else going on in it (no RingOut, transfer
// in progress, bridge, conference, voicemail, recording, carrier, or move
// to another device). A call with a desk phone moves only into a
// conference's mix (ReleaseOptions.IntoMix), where each leg has a codec of
// its own: the phone is asked for a new offer (its node sends it a
// re-INVITE without one) and answers in G.711 as before. Its call-log
// legs so far move with it.

// ErrCannotMove: the call cannot move to another switch in its state (it
// is also ErrInvalidState).
var ErrCannotMove = fmt.Errorf("the call cannot move to another node: %w", ErrInvalidState)

// CauseRejoin tells Event.Device that its call's audio moved to another
// gateway: it connects again (Rejoin).
const CauseRejoin Cause = "rejoin"

// Handover is a call as Release gives it and Adopt takes it.
type Handover struct {
	Session Session `json:"session"`
	// Legs are the call-log legs of the parties of a call handed on
	// before (transferred, forwarded), by party id (records.go).
	Legs map[string]HandedLegs `json:"legs,omitempty"`
}

// HandedLegs are one party's call-log legs so far, in a Handover.
type HandedLegs struct {
	Legs      []CallLeg `json:"legs"`
	Open      bool      `json:"open,omitempty"`
	Connected time.Time `json:"connected,omitzero"`
	Answers   []string  `json:"answers,omitempty"`
	First     time.Time `json:"first,omitzero"`
}

// ReleaseOptions says what a call released may take with it.
type ReleaseOptions struct {
	// IntoMix: the call is merged into a conference on the other switch
	// at once, so a party on a desk phone, and one whose audio is G.711
	// for a desk phone, may move too.
	IntoMix bool
}

// handableLocked checks that call c can move to another switch.
func (s *Switch) handableLocked(c *call, opt ReleaseOptions) error {
	busy := c.ro != nil || c.xfer != nil || c.link != nil || c.conf != nil || c.vm != nil || c.answering != "" ||
		c.s.Recording != nil || c.recorded != nil || c.autoRecord != 0 || len(c.trunks) > 0 ||
		c.offerTimer != nil || len(c.pending) > 0 || s.invites[c.s.ID] != nil
	if busy {
		return fmt.Errorf("call %s in its state: %w", c.s.ID, ErrCannotMove)
	}
	active := 0
	for i := range c.s.Parties {
		p := &c.s.Parties[i]
		if !p.active() {
			continue
		}
		active++
		if p.Status != StatusAnswered && p.Status != StatusHold || p.Device == "" || !c.hasLeg(p) || len(p.Offered) > 0 ||
			(p.rtp || p.g711) && !opt.IntoMix {
			return fmt.Errorf("call %s: party %s: %w", c.s.ID, p.ID, ErrCannotMove)
		}
	}
	if active != 2 {
		return fmt.Errorf("call %s has %d parties: %w", c.s.ID, active, ErrCannotMove)
	}
	return nil
}

// Release takes call sessionID out of the switch to hand it over: its legs
// close, and its events (Quiet, with the call as it stands) tell this
// switch's own parts that it is gone from here. It is not ended: no
// record is written and nobody hears of an end.
// Errors: ErrNoSuchCall, ErrCannotMove (a call that cannot move: also ErrInvalidState).
func (s *Switch) Release(ctx context.Context, sessionID string, opt ReleaseOptions) (Handover, error) {
	var fx effects
	s.mu.Lock()
	c, ok := s.calls[sessionID]
	if !ok {
		s.mu.Unlock()
		return Handover{}, fmt.Errorf("release call %s: %w", sessionID, ErrNoSuchCall)
	}
	if err := s.handableLocked(c, opt); err != nil {
		s.mu.Unlock()
		return Handover{}, fmt.Errorf("release: %w", err)
	}
	s.stopTimersLocked(c)
	h := Handover{Session: c.s.clone()}
	for id, pl := range c.book {
		if h.Legs == nil {
			h.Legs = map[string]HandedLegs{}
		}
		h.Legs[id] = HandedLegs{Legs: slices.Clone(pl.legs), Open: pl.open, Connected: pl.connected,
			Answers: slices.Clone(pl.answers), First: pl.first}
	}
	delete(s.calls, sessionID)
	delete(s.autoHeld, sessionID)
	for _, p := range c.s.Parties {
		s.forgetHeldLocked(p.ID)
	}
	fx.closeLegs = append(fx.closeLegs, c.legs...)
	c.legs = nil
	c.quiet = true
	s.noteLocked(c, "call handed over to another node")
	s.emitLocked(c, CauseRejoin, "")
	s.mu.Unlock()
	s.finish(&fx)
	return h, nil
}

// Adopt makes the call h, released by another switch, a call of this one.
// Its parties have no leg here yet: each one's device is told to connect
// again (CauseRejoin), and meanwhile hears and sends nothing.
// Errors: ErrInvalidState (a call of that id here already, or one that
// cannot move), ErrNoDevice (a party's device is not registered).
func (s *Switch) Adopt(ctx context.Context, h Handover) error {
	var fx effects
	s.mu.Lock()
	err := func() error {
		id := h.Session.ID
		if _, ok := s.calls[id]; ok || id == "" {
			return fmt.Errorf("adopt call %q: %w", id, ErrInvalidState)
		}
		c := &call{s: h.Session.clone(), pending: map[string]bool{}}
		for i := range c.s.Parties {
			p := &c.s.Parties[i]
			p.leg, p.rtp, p.g711 = "", false, false
			if !p.active() {
				continue
			}
			if _, ok := s.devices[p.Device]; !ok || p.Status != StatusAnswered && p.Status != StatusHold {
				return fmt.Errorf("adopt call %s: party %s on device %q: %w", id, p.ID, p.Device, ErrNoDevice)
			}
			c.legs = append(c.legs, p.ID)
			c.pending[p.ID] = true
		}
		if len(c.legs) != 2 {
			return fmt.Errorf("adopt call %s: %d parties: %w", id, len(c.legs), ErrInvalidState)
		}
		for pid, hl := range h.Legs {
			if c.book == nil {
				c.book = legBook{}
			}
			c.book[pid] = &partyLegs{legs: slices.Clone(hl.Legs), open: hl.Open, connected: hl.Connected,
				answers: slices.Clone(hl.Answers), first: hl.First}
		}
		s.calls[id] = c
		s.noteLocked(c, "call handed over from another node")
		for i := range c.s.Parties {
			if p := &c.s.Parties[i]; p.active() {
				s.emitToLocked(p.Owner, c, CauseRejoin, p.Device)
			}
		}
		return nil
	}()
	s.mu.Unlock()
	s.finish(&fx)
	return err
}

// rejoinKindLocked is the leg party p of call c connects again with. In a
// conference's mix, each leg has its own codec. Forwarded to the other
// party as it is, p speaks that party's codec: like its leg when it is
// G.711 and connected, else G.711 (LegTrunkPhone) from a browser to a
// desk phone that connects later.
func (s *Switch) rejoinKindLocked(c *call, p *Party, rtp bool) (LegKind, string) {
	if c.conf != nil {
		return LegPhone, ""
	}
	peer := s.peerLegLocked(c, p)
	o := c.partyOfLeg(peer)
	switch {
	case o == nil:
	case o.g711 && !c.waiting(peer):
		return LegPhone, peer
	case !rtp && s.devices[o.Device].RTP:
		return LegTrunkPhone, ""
	}
	return LegPhone, ""
}

// waiting reports whether leg, of this call or of the call it is linked
// to, waits for its device to connect (Rejoin).
func (c *call) waiting(leg string) bool {
	return c.pending[leg] || c.link != nil && c.link.pending[leg]
}

// Rejoin connects the device's party of a call that this switch adopted
// with a new leg answering offerSDP, and puts it back where the call is:
// with the other party, the party its call is bridged to, or in the
// conference's mix. It returns the session and the SDP answer.
// Errors: ErrNoDevice, ErrNoSuchCall, ErrNotYourCall, ErrInvalidState (the
// device's party is connected already), and the gateway's.
func (s *Switch) Rejoin(ctx context.Context, device, sessionID, offerSDP string) (Session, string, error) {
	s.mu.Lock()
	c, err := s.callLocked(device, sessionID)
	var p *Party
	if err == nil {
		switch p = c.partyOfDevice(device); {
		case p == nil || !p.active():
			err = s.notPartyLocked(c, device)
		case !c.pending[legOf(p)] || slices.Contains(s.rejoining, legOf(p)):
			err = fmt.Errorf("call %s: device %s is connected already: %w", sessionID, device, ErrInvalidState)
		}
	}
	if err != nil {
		s.mu.Unlock()
		return Session{}, "", fmt.Errorf("rejoin: %w", err)
	}
	pid, leg := p.ID, legOf(p)
	rtp := s.devices[device].RTP // a desk phone: offerSDP is its offer to a re-INVITE
	kind, like := s.rejoinKindLocked(c, p, rtp)
	s.rejoining = append(s.rejoining, leg)
	s.mu.Unlock()

	answer, err := s.openLeg(ctx, leg, offerSDP, kind, like, rtp)

	var fx effects
	s.mu.Lock()
	s.rejoining = slices.DeleteFunc(s.rejoining, func(l string) bool { return l == leg })
	p = nil
	if s.calls[sessionID] == c {
		p = c.party(pid)
	}
	if err != nil || p == nil || !p.active() || !c.pending[leg] {
		if err == nil {
			fx.closeLegs = append(fx.closeLegs, leg)
			err = fmt.Errorf("call %s: the party left while its leg opened: %w", sessionID, ErrNoSuchCall)
		}
		s.mu.Unlock()
		s.finish(&fx)
		return Session{}, "", fmt.Errorf("rejoin: %w", err)
	}
	delete(c.pending, leg)
	p.joinedLocked(rtp, like)
	p.g711 = p.g711 || kind == LegTrunkPhone
	if c.conf != nil {
		s.mixLocked(c.conf)
	} else {
		if peer := s.peerLegLocked(c, p); peer != "" && !c.waiting(peer) {
			s.forwards = append(s.forwards, legForward{leg: leg, peer: peer})
		}
		s.applyForwardLocked(c)
	}
	s.noteLocked(c, "party connected again", partyAttrs(p, slog.String("device", device))...)
	snap := c.s.clone()
	s.mu.Unlock()
	s.finish(&fx)
	return snap, answer, nil
}
