package telephony

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
)

// Failure reasons (seeds/002: SIP codes and their status messages).
const (
	reasonBusy                   = "Busy Here"
	reasonDeclined               = "Declined"
	reasonTerminated             = "Request Terminated"
	reasonTimeout                = "Request Timeout"
	reasonTemporarilyUnavailable = "Temporarily Unavailable"
	reasonNoDevice               = "Unavailable"
	reasonMediaFailed            = "Media failed"
	reasonAnsweredElsewhere      = "Answered elsewhere"
)

// ending is how a session ends: the code and reason of a failure (0 and ""
// after a normal hangup) and the call-log result of each party.
type ending struct {
	code           int
	reason         string
	caller, callee string
}

// Dial places a call from a device to what it dialled: to is routed (see
// Normalize), the caller's media leg answers offerSDP, and the callee rings.
// A number that cannot be routed still makes a session, ended at once with
// its failure code (404, 480 …), and an empty SDP answer. Errors are for
// malformed input (ErrBadNumber for an empty number, ErrNoDevice), directory
// and media failures, and ErrClosed.
func (s *Switch) Dial(ctx context.Context, device, to, offerSDP string) (Session, string, error) {
	if strings.TrimSpace(to) == "" {
		return Session{}, "", fmt.Errorf("dial: empty number: %w", ErrBadNumber)
	}
	s.mu.Lock()
	dev, ok := s.devices[device]
	closed := s.closed
	var capErr error
	if ok {
		capErr = s.checkCapLocked(device, dev.ExtensionID)
	}
	s.mu.Unlock()
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
	if rt.owner != 0 {
		s.mu.Lock()
		if _, ringFail := s.ringTargetsLocked(rt, dev.ExtensionID, device); ringFail.code != 0 {
			fail = ringFail
		}
		s.mu.Unlock()
	}
	if fail.code != 0 {
		return s.failDial(dev, from, rt, fail)
	}

	callerLeg := newID("p-")
	answer, err := s.media.OpenLeg(ctx, callerLeg, offerSDP, kind)
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
	c := s.newCallLocked(dev, callerLeg, from, rt)
	c.legs = []string{callerLeg}
	var targets []ringTarget
	if rt.owner != 0 {
		var ringFail ending
		if targets, ringFail = s.ringTargetsLocked(rt, dev.ExtensionID, device); len(targets) == 0 { // gone while the leg opened
			s.noteDialledLocked(c)
			s.emitToLocked(c.caller().Owner, c, CauseDial, device)
			s.endLocked(c, ringFail, CauseFailed, "", &fx)
			snap := c.s.clone()
			s.mu.Unlock()
			s.finish(&fx)
			return snap, "", nil
		}
	}
	s.calls[c.s.ID] = c
	c.caller().moveTo(StatusProceeding)
	c.callee().moveTo(StatusProceeding)
	c.ring(targets)
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
	case rt.test == nil || rt.test.mode == testRing:
		s.startTimerLocked(c, s.cfg.RingTimeout, s.ringTimeoutLocked)
	case rt.test.mode == testTone || rt.test.mode == testEcho:
		s.startTimerLocked(c, s.answerDelay, s.testAnswerLocked)
	case rt.test.mode == testBusy:
		tn := *rt.test
		s.startTimerLocked(c, s.busyDelay, func(c *call, fx *effects) {
			s.endLocked(c, ending{code: tn.Code, reason: tn.Reason, caller: tn.Result, callee: tn.Result}, CauseFailed, "", fx)
		})
	}
	snap := c.s.clone()
	s.mu.Unlock()
	s.finish(&fx)
	return snap, answer, nil
}

// failDial makes the session of a call that cannot be placed and ends it at once.
func (s *Switch) failDial(dev Device, from Endpoint, rt route, e ending) (Session, string, error) {
	var fx effects
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return Session{}, "", fmt.Errorf("dial %s: %w", rt.callee.PhoneNumber, ErrClosed)
	}
	c := s.newCallLocked(dev, newID("p-"), from, rt)
	s.noteDialledLocked(c)
	s.emitToLocked(c.caller().Owner, c, CauseDial, dev.ID)
	s.endLocked(c, e, CauseFailed, "", &fx)
	snap := c.s.clone()
	s.mu.Unlock()
	s.finish(&fx)
	return snap, "", nil
}

func (s *Switch) newCallLocked(dev Device, callerLeg string, from Endpoint, rt route) *call {
	s.nextSession++
	return &call{s: Session{
		ID:        newID("s-"),
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

// ring makes the callee ring the targets' devices: one inbound party per
// target, the callee first, each owned by its target (a department call
// rings each member as a party of its own, until one answers).
func (c *call) ring(targets []ringTarget) {
	if len(targets) == 0 {
		return
	}
	callee := *c.callee()
	for i, t := range targets {
		p := callee
		if i > 0 {
			p.ID = newID("p-")
		}
		p.Owner, p.Ringing = t.owner, t.devices
		if i == 0 {
			c.s.Parties[1] = p
		} else {
			c.s.Parties = append(c.s.Parties, p)
		}
	}
}

// ringTimeoutLocked ends a call nobody answered in time (408).
func (s *Switch) ringTimeoutLocked(c *call, fx *effects) {
	if c.callee().Status != StatusProceeding {
		return
	}
	s.endLocked(c, ending{code: 408, reason: reasonTimeout, caller: ResultNoAnswer, callee: ResultMissed}, CauseTimeout, "", fx)
}

// testAnswerLocked answers a call to the tone or echo test line.
func (s *Switch) testAnswerLocked(c *call, fx *effects) {
	caller, callee := c.caller(), c.callee()
	if caller.Status != StatusProceeding || callee.Status != StatusProceeding {
		return
	}
	caller.moveTo(StatusAnswered)
	callee.moveTo(StatusAnswered)
	c.s.Connected = s.cfg.Now()
	s.noteAnsweredLocked(c, callee, "")
	s.applyForwardLocked(c)
	s.emitLocked(c, CauseAnswer, "")
}

// Answer picks up a ringing call on device: its leg answers offerSDP and is
// connected to the caller's, and the call stops ringing elsewhere (the
// "answer" event's snapshot has Ringing cleared and the answering party's
// Device set). The party that rings is the callee of a dialled call, or
// either leg of a RingOut (ringout.go).
func (s *Switch) Answer(ctx context.Context, device, sessionID string, offerSDP string) (Session, string, error) {
	s.mu.Lock()
	c, err := s.callLocked(device, sessionID)
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
	leg, kind := p.ID, c.answerKind(p.ID)
	s.mu.Unlock()

	answer, err := s.media.OpenLeg(ctx, leg, offerSDP, kind)

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
		if p == nil || len(p.Ringing) == 0 {
			s.stoppedRingingLocked(c, p, ending{code: 480, reason: reasonTemporarilyUnavailable, caller: ResultFailed, callee: ResultMissed},
				CauseFailed, device, &fx)
		}
		s.mu.Unlock()
		s.finish(&fx)
		return Session{}, "", err
	}
	c.legs = append(c.legs, leg)
	if c.ro != nil {
		err := s.ringOutAnsweredLocked(c, p, device, &fx)
		snap := c.s.clone()
		s.mu.Unlock()
		s.finish(&fx)
		if err != nil {
			return Session{}, "", fmt.Errorf("answer call %s: %w", sessionID, err)
		}
		return snap, answer, nil
	}
	c.takeBy(leg)
	callee := c.callee()
	if err := s.media.Connect(c.caller().ID, leg); err != nil {
		s.endLocked(c, ending{code: 503, reason: reasonMediaFailed, caller: ResultFailed, callee: ResultMissed},
			CauseMediaFailed, device, &fx)
		s.mu.Unlock()
		s.finish(&fx)
		return Session{}, "", fmt.Errorf("answer call %s: connect media: %w", sessionID, err)
	}
	s.stopTimersLocked(c)
	c.caller().moveTo(StatusAnswered)
	callee.moveTo(StatusAnswered)
	callee.Device = device
	callee.Ringing = nil
	// A department's other members stop ringing: they hear of the answer,
	// then leave the call, with no call-log record of it.
	for i := 2; i < len(c.s.Parties); i++ {
		q := &c.s.Parties[i]
		q.moveTo(StatusDisconnected)
		q.Result, q.Reason, q.Ringing = ResultMissed, reasonAnsweredElsewhere, nil
	}
	c.s.Connected = s.cfg.Now()
	s.noteAnsweredLocked(c, callee, device)
	s.applyForwardLocked(c)
	s.emitLocked(c, CauseAnswer, device)
	c.s.Parties = c.s.Parties[:2]
	snap := c.s.clone()
	s.mu.Unlock()
	s.finish(&fx)
	return snap, answer, nil
}

// Reject stops the call ringing on device. When no device rings any more
// the call ends: 603 "Declined", result Rejected for both parties.
func (s *Switch) Reject(ctx context.Context, device, sessionID string) error {
	var fx effects
	s.mu.Lock()
	c, err := s.callLocked(device, sessionID)
	if err == nil {
		err = s.rejectLocked(c, device, &fx)
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
func (s *Switch) stoppedRingingLocked(c *call, p *Party, e ending, cause, device string, fx *effects) {
	if !c.ringsElsewhere(p) {
		s.endLocked(c, e, cause, device, fx)
		return
	}
	if p == nil {
		return
	}
	p.moveTo(StatusDisconnected)
	p.Code, p.Reason, p.Result, p.Ringing = e.code, e.reason, e.callee, nil
	if p.Reason == "" {
		p.Reason = p.Result
	}
	owner, id := p.Owner, p.ID
	s.emitToLocked(owner, c, cause, device)
	c.s.Parties = slices.DeleteFunc(c.s.Parties, func(q Party) bool { return q.ID == id })
}

// ringsElsewhere reports whether a party of the call other than p (which
// may be nil) still rings a device.
func (c *call) ringsElsewhere(p *Party) bool {
	for _, q := range c.ringable() {
		if (p == nil || q.ID != p.ID) && len(q.Ringing) > 0 {
			return true
		}
	}
	return false
}

// takeBy makes the party with that id the callee (Parties[1]): of a
// department call's ringing parties, the one that answers.
func (c *call) takeBy(id string) {
	for i := 2; i < len(c.s.Parties); i++ {
		if c.s.Parties[i].ID == id {
			c.s.Parties[1], c.s.Parties[i] = c.s.Parties[i], c.s.Parties[1]
			return
		}
	}
}

// Hangup ends the call from either side. The caller hanging up before the
// answer cancels it (487); a ringing callee device hanging up rejects it.
func (s *Switch) Hangup(ctx context.Context, device, sessionID string) error {
	var fx effects
	s.mu.Lock()
	c, err := s.callLocked(device, sessionID)
	if err == nil {
		switch {
		case c.caller().Device == device || c.callee().Device == device:
			s.hangupLocked(c, device, &fx)
		case c.ringingParty(device) != nil:
			err = s.rejectLocked(c, device, &fx)
		default:
			err = fmt.Errorf("hang up call %s: no party on device %s: %w", sessionID, device, ErrNotYourCall)
		}
	}
	s.mu.Unlock()
	s.finish(&fx)
	return err
}

// hangupLocked ends the call as device, which carries one of its parties, hung up.
func (s *Switch) hangupLocked(c *call, device string, fx *effects) {
	if c.s.Connected.IsZero() {
		s.endLocked(c, ending{code: 487, reason: reasonTerminated, caller: ResultCanceled, callee: ResultMissed},
			CauseCancel, device, fx)
		return
	}
	s.endLocked(c, ending{caller: ResultConnected, callee: ResultConnected}, CauseHangup, device, fx)
}

// Hold puts the device's party on hold: no audio flows either way until it
// is resumed.
func (s *Switch) Hold(ctx context.Context, device, sessionID string) error {
	return s.changeParty(device, sessionID, CauseHold, hold)
}

// Unhold resumes the device's held party.
func (s *Switch) Unhold(ctx context.Context, device, sessionID string) error {
	return s.changeParty(device, sessionID, CauseUnhold, unhold)
}

// Mute stops (or resumes) forwarding the device's audio to the other side.
// Muting a muted party changes nothing and publishes nothing.
func (s *Switch) Mute(ctx context.Context, device, sessionID string, muted bool) error {
	cause, change := muteChange(muted)
	return s.changeParty(device, sessionID, cause, change)
}

func hold(p *Party) error { return p.moveTo(StatusHold) }

func unhold(p *Party) error {
	if p.Status != StatusHold {
		return fmt.Errorf("party %s: unhold when %s: %w", p.ID, p.Status, ErrInvalidState)
	}
	return p.moveTo(StatusAnswered)
}

// muteChange is the cause and the change of muting (or unmuting) a party.
func muteChange(muted bool) (string, func(*Party) error) {
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
func (s *Switch) changeParty(device, sessionID, cause string, change func(*Party) error) error {
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
// party holds, and nothing from a muted party.
func (s *Switch) applyForwardLocked(c *call) {
	held := slices.ContainsFunc(c.s.Parties, func(p Party) bool { return p.Status == StatusHold })
	for _, p := range c.s.Parties {
		if slices.Contains(c.legs, p.ID) {
			s.media.SetForward(p.ID, !p.Muted && !held)
		}
	}
}

// LegFailed ends the call whose media leg was lost (503 "Media failed"). The
// media gateway reports it; unknown legs are ignored.
func (s *Switch) LegFailed(legID string) {
	var fx effects
	s.mu.Lock()
	for _, c := range s.sortedCallsLocked() {
		if !slices.Contains(c.legs, legID) {
			continue
		}
		e := ending{code: 503, reason: reasonMediaFailed, caller: ResultFailed, callee: ResultMissed}
		if !c.s.Connected.IsZero() {
			e.caller, e.callee = ResultConnected, ResultConnected
		}
		p, _ := c.s.Party(legID)
		s.endLocked(c, e, CauseMediaFailed, p.Device, &fx)
		break
	}
	s.mu.Unlock()
	s.finish(&fx)
}

// callLocked finds an active call for a registered device.
func (s *Switch) callLocked(device, sessionID string) (*call, error) {
	if _, ok := s.devices[device]; !ok {
		return nil, fmt.Errorf("device %s: %w", device, ErrNoDevice)
	}
	c, ok := s.calls[sessionID]
	if !ok {
		return nil, fmt.Errorf("call %s: %w", sessionID, ErrNoSuchCall)
	}
	return c, nil
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

// notPartyLocked explains why device cannot act on a party of the call.
func (s *Switch) notPartyLocked(c *call, device string) error {
	if c.ringingParty(device) != nil {
		return fmt.Errorf("call %s still rings on device %s: %w", c.s.ID, device, ErrInvalidState)
	}
	return fmt.Errorf("call %s has no party on device %s: %w", c.s.ID, device, ErrNotYourCall)
}

func (c *call) partyOfDevice(device string) *Party {
	for i := range c.s.Parties {
		if c.s.Parties[i].Device == device {
			return &c.s.Parties[i]
		}
	}
	return nil
}

// party returns the party with that id, or nil.
func (c *call) party(id string) *Party {
	for i := range c.s.Parties {
		if c.s.Parties[i].ID == id {
			return &c.s.Parties[i]
		}
	}
	return nil
}

// ringable lists the parties that ring devices and are answered by one: the
// callee of a dialled call, or each ringing member of a department; both
// legs of a RingOut.
func (c *call) ringable() []*Party {
	if c.ro != nil {
		return []*Party{c.caller(), c.callee()}
	}
	out := make([]*Party, 0, len(c.s.Parties)-1)
	for i := 1; i < len(c.s.Parties); i++ {
		out = append(out, &c.s.Parties[i])
	}
	return out
}

// ringingParty returns the party that rings on device, or nil.
func (c *call) ringingParty(device string) *Party {
	for _, p := range c.ringable() {
		if slices.Contains(p.Ringing, device) {
			return p
		}
	}
	return nil
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

// endLocked ends the call: every party Disconnected with e's code, reason
// and result, one event per extension, then the session leaves the active
// set, its legs are closed and its call-log records written (by finish).
func (s *Switch) endLocked(c *call, e ending, cause, device string, fx *effects) {
	s.stopTimersLocked(c)
	c.s.Ended = s.cfg.Now()
	for i := range c.s.Parties {
		p := &c.s.Parties[i]
		if !p.active() {
			continue
		}
		p.moveTo(StatusDisconnected)
		p.Code = e.code
		p.Result = e.callee
		if i == 0 {
			p.Result = e.caller
		}
		p.Reason = e.reason
		if p.Reason == "" {
			p.Reason = p.Result
		}
		p.Ringing = nil
	}
	if c.ro != nil {
		s.ringOutEndedLocked(c, e)
	}
	s.noteEndedLocked(c, e, cause, device)
	s.emitLocked(c, cause, device)
	delete(s.calls, c.s.ID)
	fx.closeLegs = append(fx.closeLegs, c.legs...)
	c.legs = nil
	if recs := c.records(); len(recs) > 0 && s.log != nil {
		s.logs.Add(1) // under the lock, so Close waits for it
		fx.records = append(fx.records, recs)
	}
}

// records returns one call-log record per extension party of the ended call.
func (c *call) records() []CallRecord {
	action := "VoIP Call"
	if slices.ContainsFunc(c.s.Parties, func(p Party) bool { return p.Owner == 0 }) {
		action = "Phone Call"
	}
	var d = c.s.Ended.Sub(c.s.Connected)
	if c.s.Connected.IsZero() {
		d = 0
	}
	var recs []CallRecord
	for i, p := range c.s.Parties {
		if p.Owner == 0 {
			continue
		}
		act := action
		if c.ro != nil && i == 0 {
			act = ActionRingOutWeb
		}
		recs = append(recs, CallRecord{
			ID: p.ID, Extension: p.Owner, SessionID: c.s.SessionID, TelephonySessionID: c.s.ID, PartyID: p.ID,
			StartTime: c.s.Created, Duration: d, Direction: p.Direction, From: p.From, To: p.To,
			Type: "Voice", Action: act, Result: p.Result,
		})
	}
	return recs
}
