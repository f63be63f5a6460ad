package telephony

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	"github.com/callbridge/widget-server/internal/logctx"
)

// Answer picks up a ringing call on device: its leg answers offerSDP and is
// connected to the caller's, and the call stops ringing elsewhere (the
// "answer" event's snapshot has Ringing cleared and the answering party's
// Device set). The party that rings is the callee of a dialled call, or
// either leg of a RingOut (ringout.go).
//
// The leg is opened and connected outside the switch's lock, while the
// call is marked as being answered on device; the answer takes effect once
// the lock is held again, if the call still rings there.
//
// A call the device carries live is held first, for this one (second.go):
// it resumes if the answer fails, or when this call ends.
func (s *Switch) Answer(ctx context.Context, device, sessionID string, offerSDP string) (Session, string, error) {
	return s.AnswerWith(ctx, device, sessionID, offerSDP, AnswerOptions{})
}

// AnswerWith answers as Answer does, doing first what opt says to the call
// the device carries live: hold it (AnswerHold, the default) or end it
// (AnswerEnd, a hangup). Another action fails with ErrInvalidState.
func (s *Switch) AnswerWith(ctx context.Context, device, sessionID string, offerSDP string, opt AnswerOptions) (Session, string, error) {
	if opt.Action != "" && opt.Action != AnswerHold && opt.Action != AnswerEnd {
		return Session{}, "", fmt.Errorf("answer call %s: action %q: %w", sessionID, opt.Action, ErrInvalidState)
	}
	var hfx effects
	s.mu.Lock()
	c, err := s.callLocked(device, sessionID)
	if err == nil && c.ringingParty(device) == nil && c.offeredParty(device) != nil {
		s.mu.Unlock()
		return s.take(ctx, device, sessionID, offerSDP, opt, true) // move.go
	}
	var p *Party
	if err == nil {
		p = c.ringingParty(device)
		switch {
		case p == nil:
			err = s.notRingingLocked(c, device)
		case c.answering != "":
			err = fmt.Errorf("answer call %s: being answered on device %s: %w", sessionID, c.answering, ErrInvalidState)
		default:
			err = s.checkCapLocked(device, s.devices[device].ExtensionID)
		}
	}
	if err != nil {
		s.mu.Unlock()
		return Session{}, "", err
	}
	c.answering = device
	if opt.Action == AnswerEnd {
		if other, _ := s.liveLocked(device, c.s.ID); other != nil {
			s.hangupLocked(other, device, &hfx)
		}
	} else {
		s.holdLiveLocked(device, c.s.ID, c.s.ID, &hfx)
	}
	leg, kind, peer := p.ID, c.answerKind(p.ID), c.answerPeer(p)
	like, rtp := c.g711Leg(peer), s.devices[device].RTP
	ctx = logctx.With(ctx, slog.String("telephonySessionId", c.s.ID)) // for the gateway's lines about the leg
	s.mu.Unlock()
	s.finishStep(&hfx)

	answer, err := s.openLeg(ctx, leg, offerSDP, kind, like, rtp)
	var connectErr error
	if err == nil && peer != "" {
		connectErr = s.media.Connect(peer, leg)
	}

	var fx effects
	s.mu.Lock()
	if s.calls[sessionID] != c { // ended while the leg opened
		s.mu.Unlock()
		if err == nil {
			s.media.CloseLeg(leg)
		}
		return Session{}, "", fmt.Errorf("answer call %s: call ended: %w", sessionID, ErrNoSuchCall)
	}
	c.answering = ""
	p = c.party(leg) // nil when its department call went on without it
	if err != nil || p == nil || !slices.Contains(p.Ringing, device) {
		if err == nil {
			fx.closeLegs = append(fx.closeLegs, leg)
			err = fmt.Errorf("answer call %s: device %s stopped ringing: %w", sessionID, device, ErrNotYourCall)
		} else {
			if p != nil {
				s.noteLocked(c, logAnswerFailed, partyAttrs(p, slog.String("device", device), slog.Any("err", err))...)
			}
			err = fmt.Errorf("answer call %s: open media leg: %w", sessionID, err)
		}
		s.resumeHeldLocked(c.s.ID, device, &fx)
		if p == nil || len(p.Ringing) == 0 {
			s.stoppedRingingLocked(c, p, ending{code: 480, reason: reasonTemporarilyUnavailable, caller: ResultFailed, callee: ResultMissed},
				CauseFailed, device, &fx)
		}
		s.mu.Unlock()
		s.finish(&fx)
		return Session{}, "", err
	}
	c.legs = append(c.legs, leg)
	p.joinedLocked(rtp, like)
	if connectErr != nil {
		s.endLocked(c, ending{code: 503, reason: reasonMediaFailed, caller: ResultFailed, callee: ResultMissed},
			CauseMediaFailed, device, &fx)
		s.mu.Unlock()
		s.finish(&fx)
		return Session{}, "", fmt.Errorf("answer call %s: connect media: %w", sessionID, connectErr)
	}
	switch {
	case c.ro != nil:
		err = s.ringOutAnsweredLocked(c, p, device, &fx)
	case c.xfer != nil:
		err = s.transferAnsweredLocked(c, p, device, &fx)
	default:
		err = s.calleeAnsweredLocked(c, p, device, &fx)
	}
	if err == nil {
		c.answerTrunkLocked(&fx)
	}
	snap := c.s.clone()
	s.mu.Unlock()
	s.finish(&fx)
	if err != nil {
		return Session{}, "", fmt.Errorf("answer on device %s: %w", device, err) // err names the call
	}
	return snap, answer, nil
}

// calleeAnsweredLocked connects a dialled call whose ringing party p was
// answered on device (its leg is open and connected to the caller's): p
// becomes the callee, both sides are answered, and a department's other
// members stop ringing — they hear of the answer, then leave the call, with
// no call-log record of it.
func (s *Switch) calleeAnsweredLocked(c *call, p *Party, device string, fx *effects) error {
	c.takeBy(p.ID)
	callee := c.callee()
	others := c.othersRinging(callee)
	moves := []move{{c.caller(), StatusAnswered}, {callee, StatusAnswered}}
	for _, q := range others {
		moves = append(moves, move{q, StatusDisconnected})
	}
	if err := s.moveLocked(c, fx, moves...); err != nil {
		return err
	}
	s.stopTimersLocked(c)
	callee.Device, callee.Ringing = device, nil
	for _, q := range others {
		q.Result, q.Reason, q.Ringing = ResultMissed, reasonAnsweredElsewhere, nil
	}
	c.s.Connected = s.cfg.Now()
	s.noteAnsweredLocked(c, callee, device)
	s.applyForwardLocked(c)
	s.emitLocked(c, CauseAnswer, device)
	c.dropLeft()
	if _, ok := s.invites[c.s.ID]; ok {
		s.invitationAnsweredLocked(c, fx) // it joins a conference (conference.go)
		return nil
	}
	s.autoRecordLocked(c, fx)
	return nil
}

// g711Leg is leg when its party's leg carries G.711 (an RTP leg, or a
// browser's answered in G.711), else "": a leg connected to it is answered
// in its codec.
func (c *call) g711Leg(leg string) string {
	if p := c.partyOfLeg(leg); p != nil && p.g711 {
		return leg
	}
	return ""
}

// openLeg opens the leg of a party joining a call: for a device that
// speaks RTP an RTP leg answering its offer, else a browser leg; answered
// like leg like when set (trunk.go), else of kind.
func (s *Switch) openLeg(ctx context.Context, leg, offerSDP string, kind LegKind, like string, rtp bool) (string, error) {
	tm, ok := s.media.(TrunkMedia)
	switch {
	case rtp && !ok:
		return "", fmt.Errorf("a device that speaks RTP: %w", ErrNoTrunkMedia)
	case rtp:
		return tm.AnswerRTP(ctx, leg, offerSDP, like, false)
	case like != "" && ok:
		return tm.OpenLegLike(ctx, leg, offerSDP, like)
	}
	return s.media.OpenLeg(ctx, leg, offerSDP, kind)
}

// joinedLocked records what leg party p joined on: of a device that speaks
// RTP, or answered like another leg (like set).
func (p *Party) joinedLocked(rtp bool, like string) {
	p.rtp, p.g711 = rtp, rtp || like != ""
}

// answerKind is the kind of media leg that answering party id opens: a
// phone leg, except in a RingOut whose other leg is a tone or echo line.
func (c *call) answerKind(id string) LegKind {
	if c.ro == nil {
		return LegPhone
	}
	other := c.ro.to
	if id == c.callee().ID {
		other = c.ro.from
	}
	return other.legKind()
}

// answerPeer is the open leg that the leg of answering party p is
// connected to: the caller's, but for a RingOut's from leg, which answers
// first, and a RingOut to leg answered against a tone or echo line, which
// the gateway plays itself.
func (c *call) answerPeer(p *Party) string {
	caller := c.caller()
	if p.ID == caller.ID || c.answerKind(p.ID) != LegPhone {
		return ""
	}
	return legOf(caller)
}

// Reject stops the call ringing on device. When no device rings any more
// the call ends: 603 "Declined", result Rejected for both parties.
func (s *Switch) Reject(ctx context.Context, device, sessionID string) error {
	var fx effects
	s.mu.Lock()
	c, err := s.callLocked(device, sessionID)
	if err == nil {
		if p := c.offeredParty(device); p != nil && c.ringingParty(device) == nil {
			s.declineOfferLocked(c, p, device) // move.go
		} else {
			err = s.rejectLocked(c, device, &fx)
		}
	}
	s.mu.Unlock()
	s.finish(&fx)
	return err
}

func (s *Switch) rejectLocked(c *call, device string, fx *effects) error {
	p := c.ringingParty(device)
	if p == nil {
		return s.notRingingLocked(c, device)
	}
	if c.answering == device {
		return fmt.Errorf("reject call %s: being answered on this device: %w", c.s.ID, ErrInvalidState)
	}
	p.Ringing = slices.DeleteFunc(p.Ringing, func(d string) bool { return d == device })
	if len(p.Ringing) == 0 && (c.answering == "" || c.ringsElsewhere(p)) {
		s.stoppedRingingLocked(c, p, declined, CauseReject, device, fx)
		return nil
	}
	s.emitLocked(c, CauseReject, device)
	return nil
}

// declined is how a call that every ringing device rejected ends.
var declined = ending{code: 603, reason: reasonDeclined, caller: ResultRejected, callee: ResultRejected}

// stoppedRingingLocked goes on after party p stopped ringing on its last
// device (p is nil when it already left): while another party still rings
// — another member of a department — p alone leaves the call with e's
// callee result; else the call ends with e.
func (s *Switch) stoppedRingingLocked(c *call, p *Party, e ending, cause Cause, device string, fx *effects) {
	if !c.ringsElsewhere(p) {
		s.unansweredLocked(c, whyNoAnswer, e, cause, device, fx)
		return
	}
	if p == nil {
		return
	}
	s.disconnectLocked(c, p)
	p.Code, p.Reason, p.Result, p.Ringing = e.code, e.reason, e.callee, nil
	if p.Reason == "" {
		p.Reason = p.Result
	}
	s.emitToLocked(p.Owner, c, cause, device)
	c.dropLeft()
}

// ringTimeoutLocked ends a call nobody answered in time (408).
func (s *Switch) ringTimeoutLocked(c *call, fx *effects) {
	if c.callee().Status != StatusProceeding {
		return
	}
	s.unansweredLocked(c, whyNoAnswer, ending{code: 408, reason: reasonTimeout, caller: ResultNoAnswer, callee: ResultMissed}, CauseTimeout, "", fx)
}

// notRingingLocked explains why device cannot answer or reject the call:
// the call is past ringing for it (ErrInvalidState) or was never its call
// (ErrNotYourCall).
func (s *Switch) notRingingLocked(c *call, device string) error {
	ext := s.devices[device].ExtensionID
	past := c.partyOfDevice(device) != nil
	for _, p := range c.ringable() {
		if p.Owner != 0 && p.Owner == ext && p.Status != StatusProceeding {
			past = true
		}
	}
	if past {
		return fmt.Errorf("call %s is not ringing on device %s: %w", c.s.ID, device, ErrInvalidState)
	}
	return fmt.Errorf("call %s does not ring on device %s: %w", c.s.ID, device, ErrNotYourCall)
}
