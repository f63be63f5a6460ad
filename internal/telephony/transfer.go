package telephony

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
)

// Blind transfer and forward.
//
// Transfer: a party of a connected call hands it to another number. The
// transferor leaves at once (Disconnected, result Transferred, its own
// call-log record, its leg closed); the other party, the transferee, stays
// and becomes the session's caller (Parties[0]); the target rings as the
// callee, routed as a dial from the transferor's extension. While it rings
// the transferee's leg forwards nothing. When the target answers its leg is
// connected to the transferee's ("answer", then "transferCompleted" for the
// transferor's extension). When the target is busy, rejects, loses its
// devices or does not answer within the ring timeout, the call comes back:
// a new party of the transferor's extension rings all its devices (a
// recall: "transferFailed", then "ring" for that extension); if the recall
// is not answered the call ends. The transferee hanging up ends the call
// (487 for the ringing party).
//
// Forward: a ringing party hands the call to another number before it is
// answered: it leaves (result Forwarded, its own record) and the target
// rings in its place ("forward", and "ring" for the target's extension);
// the call then goes on as a dialled call.
//
// A target that cannot be reached at once (no such number, unavailable,
// do-not-disturb, no device, a test line that fails at once) is refused
// with ErrUnreachable and nothing changes. A test line that answers with a
// tone or an echo cannot be a target: the gateway cannot turn an open
// phone leg into one (ErrInvalidState); one that rings or is busy can.

// ErrUnreachable: the transfer or forward target cannot be reached now.
var ErrUnreachable = errors.New("target unreachable")

// Log lines of transfers and forwards (lifecycle.go).
const (
	logTransferStarted   = "call transfer started"
	logTransferCompleted = "call transfer completed"
	logTransferFailed    = "call transfer failed" // the target did not answer: the transferor's devices ring
	logForwarded         = "call forwarded"
)

// transfer is the state of a call while its transfer target, or the
// recall to the transferor, rings.
type transfer struct {
	transferor   int64    // the extension that transferred
	transferorEP Endpoint // as its party showed it
	recall       bool     // the target failed: the transferor's devices ring
}

// endpointOf is how party p appears to the others: its From when it placed the call, else its To.
func endpointOf(p *Party) Endpoint {
	if p.Direction == Outbound {
		return p.From
	}
	return p.To
}

// target is a routed transfer or forward target, checked before the lock.
func (s *Switch) target(ctx context.Context, ext int64, to string) (route, error) {
	if to == "" {
		return route{}, fmt.Errorf("empty number: %w", ErrBadNumber)
	}
	rt, err := s.route(ctx, ext, to)
	if err != nil {
		return route{}, err
	}
	if rt.code != 0 {
		return route{}, fmt.Errorf("%s: %d %s: %w", to, rt.code, rt.reason, ErrUnreachable)
	}
	if tn := rt.test; tn != nil {
		switch tn.mode {
		case testFail:
			return route{}, fmt.Errorf("%s: %d %s: %w", to, tn.Code, tn.Reason, ErrUnreachable)
		case testTone, testEcho:
			return route{}, fmt.Errorf("%s: a tone or echo test line cannot take a connected leg: %w", to, ErrInvalidState)
		}
	}
	return rt, nil
}

// addTargetsLocked adds the parties that ring for rt (from, as the target
// sees the call) and starts their timers; the owners of the parties that
// ring devices are returned, and a function that logs the ringing. It
// fails, changing nothing, when nothing rings.
func (s *Switch) addTargetsLocked(c *call, rt route, ext int64, from Endpoint, except string, fx *effects) ([]int64, func(), error) {
	targets := []ringTarget{{}}
	if rt.owner != 0 {
		var fail ending
		if targets, fail = s.ringTargetsLocked(rt, ext, except); len(targets) == 0 {
			return nil, nil, fmt.Errorf("%d %s: %w", fail.code, fail.reason, ErrUnreachable)
		}
	}
	var owners []int64
	for _, t := range targets {
		c.s.Parties = append(c.s.Parties, Party{ID: newID("p-"), Direction: Inbound, From: from, To: rt.callee,
			Status: StatusSetup, Owner: t.owner, Ringing: t.devices})
		if t.owner != 0 {
			owners = append(owners, t.owner)
		}
	}
	var moves []move
	for i := len(c.s.Parties) - len(targets); i < len(c.s.Parties); i++ {
		moves = append(moves, move{&c.s.Parties[i], StatusProceeding})
	}
	if err := s.moveLocked(c, fx, moves...); err != nil {
		return nil, nil, err
	}
	s.stopTimersLocked(c)
	if tn := rt.test; tn != nil && tn.mode == testBusy {
		line := *tn
		s.startTimerLocked(c, s.busyDelay, func(c *call, fx *effects) {
			s.targetFailedLocked(c, ending{code: line.Code, reason: line.Reason, caller: line.Result, callee: line.Result}, CauseFailed, "", fx)
		})
	} else {
		s.startTimerLocked(c, s.ringTimeout(c), s.ringTimeoutLocked)
	}
	devices := 0
	for _, t := range targets {
		devices += len(t.devices)
	}
	first := c.s.Parties[len(c.s.Parties)-len(targets)].ID
	return owners, func() { s.noteRingingLocked(c, c.party(first), rt.owner, devices) }, nil
}

// leaveLocked makes party p leave call c, which goes on: Disconnected with
// result, its own call-log record now, its leg closed. It is dropped from
// the session once its leaving has been published (dropLeft).
func (s *Switch) leaveLocked(c *call, p *Party, result string, fx *effects) {
	s.disconnectLocked(c, p)
	p.Code, p.Reason, p.Result, p.Ringing, p.Offered = 0, result, result, nil, nil
	s.writeRecordsLocked([]CallRecord{c.record(p, s.cfg.Now())}, fx)
	if leg := legOf(p); c.hasLeg(p) {
		c.legs = slices.DeleteFunc(c.legs, func(l string) bool { return l == leg })
		fx.closeLegs = append(fx.closeLegs, leg)
	}
}

// emitCauseLocked queues cause for every extension of the call, but "ring"
// for the extensions in ring.
func (s *Switch) emitCauseLocked(c *call, cause Cause, device string, ring []int64) {
	var seen []int64
	for _, p := range c.s.Parties {
		if p.Owner == 0 || slices.Contains(seen, p.Owner) {
			continue
		}
		seen = append(seen, p.Owner)
		if slices.Contains(ring, p.Owner) {
			s.emitToLocked(p.Owner, c, CauseRing, "")
		} else {
			s.emitToLocked(p.Owner, c, cause, device)
		}
	}
}

// Transfer hands the connected call of device to the number to (an
// extension, a number of the account or a test number): a blind transfer.
// The device's party must be Answered or Hold, in a dialled call with one
// other party that has a leg of its own. It returns the session after the
// transfer started.
func (s *Switch) Transfer(ctx context.Context, device, sessionID, to string) (Session, error) {
	s.mu.Lock()
	c, err := s.callLocked(device, sessionID)
	var ext int64
	var pid string
	if err == nil {
		var p *Party
		p, err = s.transferableLocked(c, device)
		if err == nil {
			ext, pid = p.Owner, p.ID
		}
	}
	s.mu.Unlock()
	if err != nil {
		return Session{}, fmt.Errorf("transfer: %w", err)
	}
	rt, err := s.target(ctx, ext, to)
	if err != nil {
		return Session{}, fmt.Errorf("transfer call %s: %w", sessionID, err)
	}

	var fx effects
	s.mu.Lock()
	if s.calls[sessionID] != c {
		s.mu.Unlock()
		return Session{}, fmt.Errorf("transfer call %s: call ended: %w", sessionID, ErrNoSuchCall)
	}
	p, err := s.transferableLocked(c, device)
	if err == nil && p.ID != pid {
		err = fmt.Errorf("call %s: device %s carries another party: %w", sessionID, device, ErrInvalidState)
	}
	if err != nil {
		s.mu.Unlock()
		return Session{}, fmt.Errorf("transfer: %w", err)
	}
	transferee, before := c.otherActive(p), c.s.Parties
	if err := outOnTrunk(rt, transferee); err != nil {
		s.mu.Unlock()
		return Session{}, fmt.Errorf("transfer call %s: %w", sessionID, err)
	}
	// Parties: the transferee (the caller from now), the transferor (until its leaving is published), the targets.
	c.s.Parties = []Party{*transferee, *p}
	transferee = &c.s.Parties[0]
	k := c.called
	c.called = nil // the target rings for the switch's ring time; unanswered, the transferor is recalled
	ring, noteRinging, err := s.addTargetsLocked(c, rt, ext, endpointOf(transferee), transferee.Device, &fx)
	if err != nil {
		c.s.Parties, c.called = before, k
		s.mu.Unlock()
		s.finish(&fx)
		return Session{}, fmt.Errorf("transfer call %s: %w", sessionID, err)
	}
	p = &c.s.Parties[1] // the targets were appended: the slice may have moved
	place := s.trunkTargetLocked(c, rt, endpointOf(p))
	c.xfer = &transfer{transferor: p.Owner, transferorEP: endpointOf(p)}
	c.noteLeg(legsTransfer, p, s.cfg.Now(), c.s.Parties[2:]...)
	s.leaveLocked(c, p, ResultTransferred, &fx)
	s.recordingLegsLocked(c, &fx)
	s.noteLocked(c, logTransferStarted, partyAttrs(p, deviceAttr(device)...)...)
	noteRinging()
	s.applyForwardLocked(c)
	s.emitCauseLocked(c, CauseTransferStarted, device, ring)
	c.dropLeft()
	s.resumeHeldLocked(c.s.ID, device, &fx)
	snap := c.s.clone()
	s.mu.Unlock()
	s.finish(&fx)
	place(ctx)
	return snap, nil
}

// outOnTrunk refuses a target that goes out on a trunk when party stays
// (the transferee, or a forwarded call's caller), which would be connected
// to it, does not carry G.711 (a carrier, a desk phone, a browser answered
// in G.711): the gateway does not transcode a browser's Opus.
func outOnTrunk(rt route, stays *Party) error {
	if rt.trunk == "" || stays == nil || stays.g711 {
		return nil
	}
	return fmt.Errorf("%s is outside the account and the call's audio is not G.711: %w",
		rt.callee.PhoneNumber, ErrInvalidState)
}

// trunkTargetLocked makes the target that rt added to call c (its last
// party) a trunk side when rt goes out on a trunk, and returns what sends
// its INVITE, presenting from, once the lock is released.
func (s *Switch) trunkTargetLocked(c *call, rt route, from Endpoint) func(ctx context.Context) {
	if rt.trunk == "" {
		return func(context.Context) {}
	}
	t := c.addTrunkLocked(&c.s.Parties[len(c.s.Parties)-1], rt.trunk)
	id, pid := c.s.ID, t.party
	return func(ctx context.Context) {
		go s.placeTrunkCall(context.WithoutCancel(ctx), id, pid, rt.trunk, from, rt.dial)
	}
}

// transferableLocked returns the party of device in call c if it may transfer the call.
func (s *Switch) transferableLocked(c *call, device string) (*Party, error) {
	p := c.partyOfDevice(device)
	switch {
	case p == nil:
		return nil, s.notPartyLocked(c, device)
	case c.ro != nil:
		return nil, fmt.Errorf("call %s is a RingOut: %w", c.s.ID, ErrInvalidState)
	case c.xfer != nil:
		return nil, fmt.Errorf("call %s is being transferred: %w", c.s.ID, ErrInvalidState)
	case c.link != nil:
		return nil, fmt.Errorf("call %s is bridged to call %s: %w", c.s.ID, c.link.s.ID, ErrInvalidState)
	case c.conf != nil:
		return nil, inConferenceLocked(c, "transfer")
	case p.Status != StatusAnswered && p.Status != StatusHold:
		return nil, fmt.Errorf("call %s: party %s is %s: %w", c.s.ID, p.ID, p.Status, ErrInvalidState)
	}
	o := c.otherActive(p)
	if o == nil || !c.hasLeg(o) {
		return nil, fmt.Errorf("call %s: the other party has no leg of its own to transfer: %w", c.s.ID, ErrInvalidState)
	}
	return p, nil
}

// otherActive returns the one active party of the call besides p, or nil
// when there is not exactly one.
func (c *call) otherActive(p *Party) *Party {
	var o *Party
	for i := range c.s.Parties {
		q := &c.s.Parties[i]
		if q.ID == p.ID || !q.active() {
			continue
		}
		if o != nil {
			return nil
		}
		o = q
	}
	return o
}

// transferAnsweredLocked connects a transferred call whose target, or
// recall, party p was answered on device (its leg is open and connected to
// the transferee's).
func (s *Switch) transferAnsweredLocked(c *call, p *Party, device string, fx *effects) error {
	c.takeBy(p.ID)
	callee := c.callee()
	others := c.othersRinging(callee)
	moves := []move{{callee, StatusAnswered}}
	for _, q := range others {
		moves = append(moves, move{q, StatusDisconnected})
	}
	if err := s.moveLocked(c, fx, moves...); err != nil {
		return err
	}
	s.stopTimersLocked(c)
	callee.Device, callee.Ringing = device, nil
	c.noteLeg(legsAnswered, callee, s.cfg.Now())
	for _, q := range others {
		q.Result, q.Reason, q.Ringing = ResultMissed, reasonAnsweredElsewhere, nil
	}
	x := c.xfer
	c.xfer = nil
	s.noteAnsweredLocked(c, callee, device)
	s.applyForwardLocked(c)
	s.emitLocked(c, CauseAnswer, device)
	if !x.recall {
		s.noteLocked(c, logTransferCompleted, partyAttrs(callee, deviceAttr(device)...)...)
		s.emitToLocked(x.transferor, c, CauseTransferCompleted, "")
	}
	c.dropLeft()
	s.recordingLegsLocked(c, fx)
	return nil
}

// targetFailedLocked goes on after the callee side of call c stopped
// ringing for good with e: a transfer recalls its transferor, else the call ends.
func (s *Switch) targetFailedLocked(c *call, e ending, cause Cause, device string, fx *effects) {
	if c.xfer == nil {
		s.endLocked(c, e, cause, device, fx)
		return
	}
	if c.xfer.recall { // the recall was not answered either
		s.endLocked(c, ending{code: e.code, reason: e.reason, caller: ResultConnected, callee: e.callee}, cause, device, fx)
		return
	}
	if len(s.ringDevicesLocked(c.xfer.transferor, "")) == 0 { // nowhere to recall
		s.endLocked(c, ending{code: e.code, reason: e.reason, caller: ResultConnected, callee: e.callee}, CauseTransferFailed, device, fx)
		return
	}
	x := c.xfer
	x.recall = true
	for _, q := range c.ringable() {
		if q.active() {
			c.dropTrunkLocked(q.ID, fx)
			s.disconnectLocked(c, q)
			q.Code, q.Reason, q.Result, q.Ringing = e.code, e.reason, e.callee, nil
			if q.Reason == "" {
				q.Reason = q.Result
			}
			if q.Owner != 0 {
				s.writeRecordsLocked([]CallRecord{c.record(q, s.cfg.Now())}, fx)
			}
		}
	}
	transferee := c.caller()
	rt := route{callee: x.transferorEP, owner: x.transferor}
	s.noteLocked(c, logTransferFailed, slog.String("cause", string(cause)), slog.Int("code", e.code))
	c.s.Parties = append(c.s.Parties, Party{ID: newID("p-"), Direction: Inbound, From: endpointOf(transferee),
		To: rt.callee, Status: StatusSetup, Owner: x.transferor, Ringing: s.ringDevicesLocked(x.transferor, "")})
	recall := &c.s.Parties[len(c.s.Parties)-1]
	if s.moveLocked(c, fx, move{recall, StatusProceeding}) != nil {
		return
	}
	c.noteLeg(legsRecall, nil, s.cfg.Now(), *recall)
	s.stopTimersLocked(c)
	s.startTimerLocked(c, s.cfg.RingTimeout, s.ringTimeoutLocked)
	s.noteRingingLocked(c, recall, x.transferor, len(recall.Ringing))
	s.emitLocked(c, CauseTransferFailed, device)
	s.emitToLocked(x.transferor, c, CauseRing, "")
	c.dropLeft()
}

// Forward hands a call that rings on device to the number to before it is
// answered: the device's ringing party stops ringing on all its devices and
// leaves, and the target rings instead. It returns the session after.
func (s *Switch) Forward(ctx context.Context, device, sessionID, to string) (Session, error) {
	s.mu.Lock()
	c, err := s.callLocked(device, sessionID)
	var ext int64
	var pid string
	if err == nil {
		var p *Party
		if p, err = s.forwardableLocked(c, device); err == nil {
			ext, pid = p.Owner, p.ID
		}
	}
	s.mu.Unlock()
	if err != nil {
		return Session{}, fmt.Errorf("forward: %w", err)
	}
	rt, err := s.target(ctx, ext, to)
	if err != nil {
		return Session{}, fmt.Errorf("forward call %s: %w", sessionID, err)
	}
	next := s.calledFor(ctx, rt)

	var fx effects
	s.mu.Lock()
	if s.calls[sessionID] != c {
		s.mu.Unlock()
		return Session{}, fmt.Errorf("forward call %s: call ended: %w", sessionID, ErrNoSuchCall)
	}
	p, err := s.forwardableLocked(c, device)
	if err == nil && p.ID != pid {
		err = fmt.Errorf("call %s: device %s rings for another party: %w", sessionID, device, ErrInvalidState)
	}
	if err != nil {
		s.mu.Unlock()
		return Session{}, fmt.Errorf("forward: %w", err)
	}
	if err := outOnTrunk(rt, c.caller()); err != nil {
		s.mu.Unlock()
		return Session{}, fmt.Errorf("forward call %s: %w", sessionID, err)
	}
	n, k := len(c.s.Parties), c.called
	if next != nil && k != nil {
		next.visited = append(slices.Clone(k.visited), next.ext)
	}
	c.called = next
	ring, noteRinging, err := s.addTargetsLocked(c, rt, ext, c.caller().From, c.caller().Device, &fx)
	if err != nil {
		c.s.Parties, c.called = c.s.Parties[:n], k
		s.mu.Unlock()
		s.finish(&fx)
		return Session{}, fmt.Errorf("forward call %s: %w", sessionID, err)
	}
	p = c.party(pid)
	place := s.trunkTargetLocked(c, rt, p.To)
	c.noteLeg(legsForward, p, s.cfg.Now(), c.s.Parties[n:]...)
	s.leaveLocked(c, p, ResultForwarded, &fx)
	s.noteLocked(c, logForwarded, partyAttrs(p, deviceAttr(device)...)...)
	noteRinging()
	s.emitCauseLocked(c, CauseForward, device, ring)
	c.dropLeft()
	snap := c.s.clone()
	s.mu.Unlock()
	s.finish(&fx)
	place(ctx)
	return snap, nil
}

// forwardableLocked returns the party that rings on device in call c if it may forward the call.
func (s *Switch) forwardableLocked(c *call, device string) (*Party, error) {
	p := c.ringingParty(device)
	switch {
	case p == nil:
		return nil, s.notRingingLocked(c, device)
	case c.ro != nil:
		return nil, fmt.Errorf("call %s is a RingOut: %w", c.s.ID, ErrInvalidState)
	case c.answering != "":
		return nil, fmt.Errorf("call %s: being answered on device %s: %w", c.s.ID, c.answering, ErrInvalidState)
	}
	return p, nil
}
