package telephony

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/callbridge/widget-server/internal/logctx"
)

// Dial places a call from a device to what it dialled: to is routed (see
// Normalize), the caller's media leg answers offerSDP, and the callee rings.
// A number that cannot be routed still makes a session, ended at once with
// its failure code (404, 480 …), and an empty SDP answer. Errors are for
// malformed input (ErrBadNumber for an empty number, ErrNoDevice), directory
// and media failures, and ErrClosed.
//
// A call the device carries live is held first, for the new call
// (second.go): it resumes when the new call fails, is refused, or ends.
func (s *Switch) Dial(ctx context.Context, device, to, offerSDP string) (Session, string, error) {
	if strings.TrimSpace(to) == "" {
		return Session{}, "", fmt.Errorf("dial: empty number: %w", ErrBadNumber)
	}
	id := newID("s-")
	snap, answer, err := s.dial(ctx, id, device, to, offerSDP)
	if err != nil {
		s.resumeHeld(id)
	}
	return snap, answer, err
}

// dial places the call id for Dial.
func (s *Switch) dial(ctx context.Context, id, device, to, offerSDP string) (Session, string, error) {
	var hfx effects
	s.mu.Lock()
	dev, ok := s.devices[device]
	closed := s.closed
	var capErr error
	if ok {
		capErr = s.checkCapLocked(device, dev.ExtensionID)
	}
	if ok && !closed && capErr == nil {
		s.holdLiveLocked(device, "", id, &hfx)
	}
	s.mu.Unlock()
	s.finishStep(&hfx)
	if closed {
		return Session{}, "", fmt.Errorf("dial %s: %w", to, ErrClosed)
	}
	if !ok {
		return Session{}, "", fmt.Errorf("dial %s from device %s: %w", to, device, ErrNoDevice)
	}
	if capErr != nil {
		return Session{}, "", fmt.Errorf("dial %s: %w", to, capErr)
	}
	from, err := s.dir.Describe(ctx, dev.ExtensionID)
	if err != nil {
		return Session{}, "", fmt.Errorf("dial %s: describe extension %d: %w", to, dev.ExtensionID, err)
	}
	from.ExtensionID = dev.ExtensionID
	rt, err := s.route(ctx, dev.ExtensionID, to)
	if err != nil {
		return Session{}, "", fmt.Errorf("dial %s: %w", to, err)
	}

	fail := ending{code: rt.code, reason: rt.reason, caller: ResultFailed, callee: ResultFailed}
	kind := LegPhone
	if rt.trunk != "" {
		kind = LegTrunkPhone
	}
	if tn := rt.test; tn != nil {
		switch tn.mode {
		case testFail:
			fail = ending{code: tn.Code, reason: tn.Reason, caller: tn.Result, callee: tn.Result}
		case testTone:
			kind = LegTone
		case testEcho:
			kind = LegEcho
		}
	}
	k := s.calledFor(ctx, rt)
	autoRecord := s.autoRecorder(ctx, k, dev.ExtensionID)
	if rt.owner != 0 {
		s.mu.Lock()
		targets, ringFail := s.ringTargetsLocked(rt, dev.ExtensionID, device)
		if w, e, ok := s.unreachedLocked(k, targets, ringFail); ok && !s.divertsLocked(k, w) {
			fail = e
		}
		if kind == LegPhone && s.ringsRTPLocked(targets) {
			kind = LegTrunkPhone // a desk phone may answer: G.711, which it speaks too
		}
		s.mu.Unlock()
	}
	if rt.greeting && !s.hasMailbox() {
		fail = ending{code: 404, reason: reasonNotFound, caller: ResultFailed, callee: ResultFailed}
	}
	if dev.RTP && (kind == LegTone || kind == LegEcho) {
		fail = ending{code: 488, reason: reasonNotAcceptable, caller: ResultFailed, callee: ResultFailed}
	}
	if fail.code != 0 {
		return s.failDial(id, dev, from, rt, fail)
	}

	callerLeg := newID("p-")
	// The gateway's lines about the leg name the call.
	ctx = logctx.With(ctx, slog.String("telephonySessionId", id))
	answer, err := s.openLeg(ctx, callerLeg, offerSDP, kind, "", dev.RTP)
	if err != nil {
		return Session{}, "", fmt.Errorf("dial %s: open media leg: %w", to, err)
	}

	var fx effects
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.media.CloseLeg(callerLeg)
		return Session{}, "", fmt.Errorf("dial %s: %w", to, ErrClosed)
	}
	if _, ok := s.devices[device]; !ok {
		s.mu.Unlock()
		s.media.CloseLeg(callerLeg)
		return Session{}, "", fmt.Errorf("dial %s from device %s: %w", to, device, ErrNoDevice)
	}
	if err := s.checkCapLocked(device, dev.ExtensionID); err != nil { // another call began while the leg opened
		s.mu.Unlock()
		s.media.CloseLeg(callerLeg)
		return Session{}, "", fmt.Errorf("dial %s: %w", to, err)
	}
	c := s.newCallLocked(id, dev, callerLeg, from, rt)
	c.legs = []string{callerLeg}
	c.caller().rtp, c.caller().g711 = dev.RTP, dev.RTP || kind == LegTrunkPhone
	c.called = k
	c.autoRecord = autoRecord
	var targets []ringTarget
	if rt.owner != 0 {
		var ringFail ending
		targets, ringFail = s.ringTargetsLocked(rt, dev.ExtensionID, device)
		if w, e, ok := s.unreachedLocked(k, targets, ringFail); ok && s.divertsLocked(k, w) {
			snap, err := s.divertAtOnceLocked(c, w, e, &fx)
			s.mu.Unlock()
			s.finish(&fx)
			if err != nil {
				s.media.CloseLeg(callerLeg)
				return Session{}, "", fmt.Errorf("dial %s: %w", to, err)
			}
			return snap, answer, nil
		}
		if len(targets) == 0 { // gone while the leg opened
			s.noteDialledLocked(c)
			s.emitToLocked(c.caller().Owner, c, CauseDial, device)
			s.endLocked(c, ringFail, CauseFailed, "", &fx)
			snap := c.s.clone()
			s.mu.Unlock()
			s.finish(&fx)
			return snap, "", nil
		}
	}
	if err := s.moveLocked(c, &fx, move{c.caller(), StatusProceeding}, move{c.callee(), StatusProceeding}); err != nil {
		s.mu.Unlock()
		s.finish(&fx)
		s.media.CloseLeg(callerLeg)
		return Session{}, "", fmt.Errorf("dial %s: %w", to, err)
	}
	s.calls[c.s.ID] = c
	targets = k.sequentialLocked(targets)
	c.ring(targets)
	var trunkParty string
	if rt.trunk != "" {
		trunkParty = c.addTrunkLocked(c.callee(), rt.trunk).party
	}
	devices := 0
	for _, t := range targets {
		devices += len(t.devices)
	}
	s.noteDialledLocked(c)
	s.noteRingingLocked(c, c.callee(), rt.owner, devices)
	s.emitToLocked(c.caller().Owner, c, CauseDial, device)
	for _, p := range c.s.Parties[1:] {
		if p.Owner != 0 {
			s.emitToLocked(p.Owner, c, CauseRing, "")
		}
	}
	switch {
	case rt.greeting:
		s.greetingAnsweredLocked(c, &fx)
	case rt.test == nil || rt.test.mode == testRing:
		s.startTimerLocked(c, s.ringTimeout(c), s.ringTimeoutLocked)
	case rt.test.mode == testTone || rt.test.mode == testEcho:
		s.startTimerLocked(c, s.answerDelay, s.testAnswerLocked)
	case rt.test.mode == testBusy:
		tn := *rt.test
		s.startTimerLocked(c, s.busyDelay, func(c *call, fx *effects) {
			s.targetFailedLocked(c, ending{code: tn.Code, reason: tn.Reason, caller: tn.Result, callee: tn.Result}, CauseFailed, "", fx)
		})
	}
	snap := c.s.clone()
	s.mu.Unlock()
	s.finish(&fx)
	if rt.trunk != "" {
		// The INVITE goes out after the caller has its answer; its request
		// may end before the carrier answers.
		go s.placeTrunkCall(context.WithoutCancel(ctx), id, trunkParty, rt.trunk, from, rt.dial)
	}
	return snap, answer, nil
}

// failDial makes the session of a call that cannot be placed and ends it at once.
func (s *Switch) failDial(id string, dev Device, from Endpoint, rt route, e ending) (Session, string, error) {
	var fx effects
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return Session{}, "", fmt.Errorf("dial %s: %w", rt.callee.PhoneNumber, ErrClosed)
	}
	c := s.newCallLocked(id, dev, newID("p-"), from, rt)
	s.noteDialledLocked(c)
	s.emitToLocked(c.caller().Owner, c, CauseDial, dev.ID)
	s.endLocked(c, e, CauseFailed, "", &fx)
	snap := c.s.clone()
	s.mu.Unlock()
	s.finish(&fx)
	return snap, "", nil
}

func (s *Switch) newCallLocked(id string, dev Device, callerLeg string, from Endpoint, rt route) *call {
	s.nextSession++
	return &call{s: Session{
		ID:        id,
		SessionID: strconv.FormatUint(s.nextSession, 10),
		Origin:    OriginCall,
		Created:   s.cfg.Now(),
		Parties: []Party{
			{ID: callerLeg, Direction: Outbound, From: from, To: rt.callee, Status: StatusSetup,
				Owner: dev.ExtensionID, Device: dev.ID},
			{ID: newID("p-"), Direction: Inbound, From: from, To: rt.callee, Status: StatusSetup, Owner: rt.owner},
		},
	}}
}

// testAnswerLocked answers a call to the tone or echo test line.
func (s *Switch) testAnswerLocked(c *call, fx *effects) {
	caller, callee := c.caller(), c.callee()
	if caller.Status != StatusProceeding || callee.Status != StatusProceeding {
		return
	}
	if s.moveLocked(c, fx, move{caller, StatusAnswered}, move{callee, StatusAnswered}) != nil {
		return
	}
	c.s.Connected = s.cfg.Now()
	s.noteAnsweredLocked(c, callee, "")
	s.applyForwardLocked(c)
	s.emitLocked(c, CauseAnswer, "")
	if _, ok := s.invites[c.s.ID]; ok {
		s.invitationAnsweredLocked(c, fx) // a test line cannot join: it says so (conference.go)
	}
}

// ringsRTPLocked reports whether one of the devices of targets speaks RTP.
func (s *Switch) ringsRTPLocked(targets []ringTarget) bool {
	for _, t := range targets {
		for _, d := range t.devices {
			if s.devices[d].RTP {
				return true
			}
		}
	}
	return false
}

// DeviceOffer answers a new offer of a device that speaks RTP (a desk
// phone's re-INVITE: its hold, its resume, a session refresh) on the leg of
// its party in the call. Whether the party is then held is the caller's to
// say with Hold or Unhold.
func (s *Switch) DeviceOffer(ctx context.Context, device, sessionID, offerSDP string) (string, error) {
	s.mu.Lock()
	c, err := s.callLocked(device, sessionID)
	var leg string
	if err == nil {
		switch p := c.partyOfDevice(device); {
		case p == nil:
			err = s.notPartyLocked(c, device)
		case !p.rtp || !c.hasLeg(p):
			err = fmt.Errorf("call %s: device %s has no RTP leg: %w", sessionID, device, ErrInvalidState)
		default:
			leg = legOf(p)
		}
	}
	tm, ok := s.media.(TrunkMedia)
	s.mu.Unlock()
	if err != nil {
		return "", fmt.Errorf("new offer: %w", err)
	}
	if !ok {
		return "", fmt.Errorf("new offer in call %s: %w", sessionID, ErrNoTrunkMedia)
	}
	return tm.AnswerRTP(ctx, leg, offerSDP, "", false)
}
