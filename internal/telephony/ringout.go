package telephony

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/callbridge/widget-server/internal/phonenumber"
)

// Origins of sessions: how a call began (telephonySession origin.type).
const (
	OriginCall    = "Call"    // dialled from a widget
	OriginRingOut = "RingOut" // placed by RingOut: the switch rings from, then to
)

// ActionRingOutWeb is the call-log action of the record a RingOut leaves its
// owner, as the platform names RingOuts placed through its API.
const ActionRingOutWeb = "RingOut Web"

// RingOutRetention is how long an ended RingOut is still found by FindRingOut,
// so that a client polling its status sees how it ended.
const RingOutRetention = 10 * time.Minute

// ErrForeignNumber: a RingOut's from number belongs to another extension.
// The from leg is the owner's own side of the call, so it may ring only the
// owner's devices or a number outside the account.
var ErrForeignNumber = errors.New("number of another extension")

// RingOutState is the status of a RingOut or of one of its legs (seeds/001
// "Making Calls (RingOut)": a client polls until it leaves InProgress).
type RingOutState string

// RingOut states. InProgress and Success are the platform's; the failures
// name what the leg met.
const (
	RingOutInProgress     RingOutState = "InProgress"     // ringing, or not started yet
	RingOutSuccess        RingOutState = "Success"        // answered
	RingOutBusy           RingOutState = "Busy"           // 486
	RingOutNoAnswer       RingOutState = "NoAnswer"       // 408: rang until the ring timeout
	RingOutRejected       RingOutState = "Rejected"       // 603
	RingOutCannotReach    RingOutState = "CannotReach"    // 404, 480: unroutable, unavailable, no device
	RingOutNotEnoughFunds RingOutState = "NotEnoughFunds" // 402
	RingOutCanceled       RingOutState = "Canceled"       // 487: cancelled, or never started because the other leg failed
	RingOutError          RingOutState = "Error"          // media failure, shutdown
)

// RingOutStatus is the status of the whole call and of each leg. Once Call
// is Success it stays so: the rest of the call shows in its session.
type RingOutStatus struct {
	Call   RingOutState
	Caller RingOutState // the from leg
	Callee RingOutState // the to leg
}

// RingOut is a two-legged call the switch places for an extension: it rings
// From, and once From answers it rings To and bridges the two.
type RingOut struct {
	ID                 string // digits; the session's SessionID
	Extension          int64  // the owner
	TelephonySessionID string
	From, To           Endpoint
	PlayPrompt         bool // asked for; no prompt is played (docs/api-calls.md)
	Status             RingOutStatus
	Created, Ended     time.Time
}

// ringOut is the switch's state of a RingOut: its public view and where each
// leg goes.
type ringOut struct {
	info     RingOut
	from, to route // from.owner is the owner when from rings its devices
}

// legKind is the kind of media leg a browser answering the other leg needs.
func (rt route) legKind() LegKind {
	if rt.test != nil {
		switch rt.test.mode {
		case testTone:
			return LegTone
		case testEcho:
			return LegEcho
		}
	}
	return LegPhone
}

// stateOf is the RingOut state of a leg that ended with a failure code.
func stateOf(code int) RingOutState {
	switch code {
	case 486:
		return RingOutBusy
	case 603:
		return RingOutRejected
	case 408:
		return RingOutNoAnswer
	case 404, 480:
		return RingOutCannotReach
	case 402:
		return RingOutNotEnoughFunds
	case 487:
		return RingOutCanceled
	}
	return RingOutError
}

// RingOut places a call for extension ext: the switch first rings from —
// the extension's own number (its extension number, a direct number, or the
// number it shows), which rings its registered devices as an inbound call,
// or a test number, which behaves as when dialled — and once from answers it
// rings to, routed as Dial routes it, and bridges the two legs when to
// answers. callerID, when not empty, is the number to sees; else it sees the
// extension's own. The session's Origin is "RingOut"; its parties[0] is the
// owner's from leg (Outbound from → to), parties[1] the to leg.
//
// Numbers that are not numbers fail with ErrBadNumber, another extension's
// number as from with ErrForeignNumber; a from or to that cannot be reached
// makes a RingOut that ends at once with its status.
func (s *Switch) RingOut(ctx context.Context, ext int64, from, to, callerID string, playPrompt bool) (RingOut, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return RingOut{}, fmt.Errorf("ringout: %w", ErrClosed)
	}
	region, err := s.dir.Region(ctx, ext)
	if err != nil {
		return RingOut{}, fmt.Errorf("ringout: region of extension %d: %w", ext, err)
	}
	fromN, err := phonenumber.Normalize(from, region)
	if err != nil {
		return RingOut{}, fmt.Errorf("ringout from: %w", err)
	}
	if _, err := phonenumber.Normalize(to, region); err != nil {
		return RingOut{}, fmt.Errorf("ringout to: %w", err)
	}
	owner, err := s.dir.Describe(ctx, ext)
	if err != nil {
		return RingOut{}, fmt.Errorf("ringout: describe extension %d: %w", ext, err)
	}
	owner.ExtensionID = ext
	shown := owner
	if strings.TrimSpace(callerID) != "" {
		if shown.PhoneNumber, err = phonenumber.Normalize(callerID, region); err != nil {
			return RingOut{}, fmt.Errorf("ringout caller id: %w", err)
		}
	}
	fromRt, err := s.route(ctx, ext, fromN)
	if err != nil {
		return RingOut{}, fmt.Errorf("ringout from %s: %w", fromN, err)
	}
	switch {
	case fromRt.owner == ext, fromRt.owner != 0 && fromN == owner.PhoneNumber: // also the main number it shows
		fromRt.owner = ext
		fromRt.callee = owner
		if strings.HasPrefix(fromN, "+") {
			fromRt.callee.PhoneNumber = fromN
		}
	case fromRt.owner != 0:
		return RingOut{}, fmt.Errorf("ringout from %s: %w", fromN, ErrForeignNumber)
	}
	toRt, err := s.route(ctx, ext, to)
	if err != nil {
		return RingOut{}, fmt.Errorf("ringout to %s: %w", to, err)
	}
	k := s.calledFor(ctx, toRt) // the to leg rings for its extension's ring time

	var fx effects
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return RingOut{}, fmt.Errorf("ringout: %w", ErrClosed)
	}
	s.sweepRingOutsLocked()
	s.nextSession++
	now := s.cfg.Now()
	c := &call{s: Session{
		ID:        newID("s-"),
		SessionID: strconv.FormatUint(s.nextSession, 10),
		Origin:    OriginRingOut,
		Created:   now,
		Parties: []Party{
			{ID: newID("p-"), Direction: Outbound, From: fromRt.callee, To: toRt.callee, Status: StatusSetup, Owner: ext},
			{ID: newID("p-"), Direction: Inbound, From: shown, To: toRt.callee, Status: StatusSetup},
		},
	}}
	c.ro = &ringOut{from: fromRt, to: toRt, info: RingOut{
		ID: c.s.SessionID, Extension: ext, TelephonySessionID: c.s.ID, From: fromRt.callee, To: toRt.callee,
		PlayPrompt: playPrompt, Created: now,
		Status: RingOutStatus{Call: RingOutInProgress, Caller: RingOutInProgress, Callee: RingOutInProgress},
	}}
	c.called = k
	s.calls[c.s.ID] = c
	s.ringOuts[c.ro.info.ID] = c.ro
	s.noteDialledLocked(c)
	s.ringCallerLocked(c, &fx)
	info := c.ro.info
	s.mu.Unlock()
	s.finish(&fx)
	return info, nil
}

// FindRingOut returns a RingOut of the extension, active or ended within
// RingOutRetention.
func (s *Switch) FindRingOut(ext int64, id string) (RingOut, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepRingOutsLocked()
	ro, ok := s.ringOuts[id]
	if !ok || ro.info.Extension != ext {
		return RingOut{}, false
	}
	return ro.info, true
}

// KeepsRingOut reports whether the switch still answers for the RingOut
// (FindRingOut): in progress, or ended within RingOutRetention.
func (s *Switch) KeepsRingOut(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepRingOutsLocked()
	_, ok := s.ringOuts[id]
	return ok
}

// CancelRingOut ends a RingOut of the extension that is still in progress:
// every leg ends with 487 "Request Terminated" and the legs not yet answered
// become Canceled. A RingOut that succeeded or ended fails with
// ErrInvalidState (its call is ended through its session's parties), an
// unknown one with ErrNoSuchCall.
func (s *Switch) CancelRingOut(ctx context.Context, ext int64, id string) (RingOut, error) {
	var fx effects
	s.mu.Lock()
	s.sweepRingOutsLocked()
	ro, ok := s.ringOuts[id]
	if !ok || ro.info.Extension != ext {
		s.mu.Unlock()
		return RingOut{}, fmt.Errorf("ringout %s: %w", id, ErrNoSuchCall)
	}
	c := s.calls[ro.info.TelephonySessionID]
	if ro.info.Status.Call != RingOutInProgress || c == nil {
		info := ro.info
		s.mu.Unlock()
		return info, fmt.Errorf("cancel ringout %s: status %s: %w", id, info.Status.Call, ErrInvalidState)
	}
	s.endLocked(c, ending{code: 487, reason: reasonTerminated, caller: ResultCanceled, callee: ResultMissed},
		CauseCancel, "", &fx)
	info := ro.info
	s.mu.Unlock()
	s.finish(&fx)
	return info, nil
}

// sweepRingOutsLocked forgets RingOuts that ended more than RingOutRetention ago.
func (s *Switch) sweepRingOutsLocked() {
	now := s.cfg.Now()
	for id, ro := range s.ringOuts {
		if !ro.info.Ended.IsZero() && now.Sub(ro.info.Ended) > RingOutRetention {
			delete(s.ringOuts, id)
		}
	}
}

// ringCallerLocked starts the from leg: the owner's devices ring, or the
// test line or unreachable number does what it does.
func (s *Switch) ringCallerLocked(c *call, fx *effects) {
	p := c.caller()
	if s.moveLocked(c, fx, move{p, StatusProceeding}) != nil {
		return
	}
	rt := c.ro.from
	if rt.owner != 0 {
		p.Ringing = s.ringDevicesLocked(rt.owner, "")
		s.emitLocked(c, CauseRing, "")
		if len(p.Ringing) == 0 {
			s.endLocked(c, ending{code: 480, reason: reasonNoDevice, caller: ResultFailed, callee: ResultFailed},
				CauseFailed, "", fx)
			return
		}
		s.noteRingingLocked(c, p, rt.owner, len(p.Ringing))
		s.startTimerLocked(c, s.cfg.RingTimeout, s.ringOutTimeoutLocked)
		return
	}
	s.emitLocked(c, CauseRing, "")
	s.ringLineLocked(c, p, rt, s.callerLineAnsweredLocked, fx)
}

// ringCalleeLocked starts the to leg once the from leg answered: the
// extension's devices ring (but the one that answered from), or the test
// line or unreachable number does what it does.
func (s *Switch) ringCalleeLocked(c *call, fx *effects) {
	s.stopTimersLocked(c)
	p := c.callee()
	if s.moveLocked(c, fx, move{p, StatusProceeding}) != nil {
		return
	}
	rt := c.ro.to
	if rt.owner == 0 {
		s.emitLocked(c, CauseRing, "")
		s.ringLineLocked(c, p, rt, s.calleeLineAnsweredLocked, fx)
		return
	}
	p.Owner = rt.owner
	dnd := !s.takesDirectLocked(rt.owner)
	if !dnd {
		p.Ringing = s.ringDevicesLocked(rt.owner, c.caller().Device)
	}
	s.emitLocked(c, CauseRing, "")
	switch {
	case dnd:
		s.endLocked(c, dndEnding, CauseFailed, "", fx)
	case len(p.Ringing) == 0:
		s.endLocked(c, ending{code: 480, reason: reasonNoDevice, caller: ResultFailed, callee: ResultMissed}, CauseFailed, "", fx)
	default:
		s.noteRingingLocked(c, p, rt.owner, len(p.Ringing))
		s.startTimerLocked(c, s.ringTimeout(c), s.ringOutTimeoutLocked)
	}
}

// ringLineLocked rings party p, a leg that is not an extension: a test line
// answers, fails or rings as its row says; an unroutable number fails at once.
func (s *Switch) ringLineLocked(c *call, p *Party, rt route, answered func(*call, *effects), fx *effects) {
	tn := rt.test
	if rt.code == 0 && tn != nil && tn.mode != testFail {
		s.noteRingingLocked(c, p, 0, 0)
	}
	switch {
	case rt.code != 0 || tn == nil:
		e := ending{code: rt.code, reason: rt.reason, caller: ResultFailed, callee: ResultFailed}
		if e.code == 0 {
			e.code, e.reason = 480, reasonUnavailable
		}
		s.endLocked(c, e, CauseFailed, "", fx)
	case tn.mode == testFail:
		s.endLocked(c, ending{code: tn.Code, reason: tn.Reason, caller: tn.Result, callee: tn.Result}, CauseFailed, "", fx)
	case tn.mode == testTone || tn.mode == testEcho:
		s.startTimerLocked(c, s.answerDelay, answered)
	case tn.mode == testBusy:
		line := *tn
		s.startTimerLocked(c, s.busyDelay, func(c *call, fx *effects) {
			s.endLocked(c, ending{code: line.Code, reason: line.Reason, caller: line.Result, callee: line.Result}, CauseFailed, "", fx)
		})
	default: // testRing
		s.startTimerLocked(c, s.cfg.RingTimeout, s.ringOutTimeoutLocked)
	}
}

// ringOutTimeoutLocked ends a RingOut whose ringing leg was not answered in
// time (408).
func (s *Switch) ringOutTimeoutLocked(c *call, fx *effects) {
	if c.caller().Status != StatusProceeding && c.callee().Status != StatusProceeding {
		return
	}
	s.endLocked(c, ending{code: 408, reason: reasonTimeout, caller: ResultNoAnswer, callee: ResultMissed}, CauseTimeout, "", fx)
}

// callerLineAnsweredLocked: the test line of the from leg answered.
func (s *Switch) callerLineAnsweredLocked(c *call, fx *effects) {
	p := c.caller()
	if p.Status != StatusProceeding {
		return
	}
	if s.moveLocked(c, fx, move{p, StatusAnswered}) != nil {
		return
	}
	c.ro.info.Status.Caller = RingOutSuccess
	s.noteAnsweredLocked(c, p, "")
	s.emitLocked(c, CauseAnswer, "")
	s.ringCalleeLocked(c, fx)
}

// calleeLineAnsweredLocked: the test line of the to leg answered.
func (s *Switch) calleeLineAnsweredLocked(c *call, fx *effects) {
	p := c.callee()
	if p.Status != StatusProceeding {
		return
	}
	if s.moveLocked(c, fx, move{p, StatusAnswered}) != nil {
		return
	}
	s.noteAnsweredLocked(c, p, "")
	s.connectedLocked(c, "")
}

// ringOutAnsweredLocked goes on with a RingOut whose ringing party p was
// answered on device (its leg is open, and connected to the from leg's when
// p is the to leg and both are phones): after the from leg the to leg rings;
// after the to leg the call is connected.
func (s *Switch) ringOutAnsweredLocked(c *call, p *Party, device string, fx *effects) error {
	s.stopTimersLocked(c)
	caller := c.caller()
	if p == caller {
		if err := s.moveLocked(c, fx, move{p, StatusAnswered}); err != nil {
			return err
		}
		p.Device, p.Ringing = device, nil
		c.ro.info.Status.Caller = RingOutSuccess
		s.noteAnsweredLocked(c, p, device)
		s.applyForwardLocked(c)
		s.emitLocked(c, CauseAnswer, device)
		s.ringCalleeLocked(c, fx)
		return nil
	}
	if err := s.moveLocked(c, fx, move{p, StatusAnswered}); err != nil {
		return err
	}
	p.Device, p.Ringing = device, nil
	s.noteAnsweredLocked(c, p, device)
	s.connectedLocked(c, device)
	return nil
}

// connectedLocked marks a RingOut whose both legs answered as connected.
func (s *Switch) connectedLocked(c *call, device string) {
	c.s.Connected = s.cfg.Now()
	c.ro.info.Status = RingOutStatus{Call: RingOutSuccess, Caller: RingOutSuccess, Callee: RingOutSuccess}
	s.applyForwardLocked(c)
	s.emitLocked(c, CauseAnswer, device)
}

// ringOutEndedLocked sets the final status of a RingOut ending with e: the
// leg that was ringing takes the state of e's code, a leg that never started
// is Canceled. A RingOut that succeeded keeps its status.
func (s *Switch) ringOutEndedLocked(c *call, e ending) {
	ro := c.ro
	ro.info.Ended = s.cfg.Now()
	if ro.info.Status.Call != RingOutInProgress {
		return
	}
	st := stateOf(e.code)
	if ro.info.Status.Caller != RingOutSuccess {
		ro.info.Status = RingOutStatus{Call: st, Caller: st, Callee: RingOutCanceled}
		return
	}
	ro.info.Status.Call, ro.info.Status.Callee = st, st
}
