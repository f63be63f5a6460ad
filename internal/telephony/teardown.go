package telephony

import (
	"context"
	"fmt"
	"slices"
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
	reasonInternal               = "Server Internal Error"
)

// ReasonNodeLost is the reason the calls of a cluster's node that was lost
// end with, code 503 (Forget, and internal/cluster).
const ReasonNodeLost = "Node lost"

// ending is how a session ends: the code and reason of a failure (0 and ""
// after a normal hangup), the call-log result of the caller, and that of
// every other party.
type ending struct {
	code           int
	reason         string
	caller, callee string
}

// Hangup ends the call from either side. The caller hanging up before the
// answer cancels it (487); a ringing callee device hanging up rejects it.
func (s *Switch) Hangup(ctx context.Context, device, sessionID string) error {
	var fx effects
	s.mu.Lock()
	c, err := s.callLocked(device, sessionID)
	if err == nil {
		switch {
		case c.partyOfDevice(device) != nil:
			s.hangupLocked(c, device, &fx)
		case c.ringingParty(device) != nil:
			err = s.rejectLocked(c, device, &fx)
		case c.offeredParty(device) != nil:
			s.declineOfferLocked(c, c.offeredParty(device), device) // move.go
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
	if c.xfer != nil { // the transferee, while the target or the recall rings
		s.endLocked(c, ending{code: 487, reason: reasonTerminated, caller: ResultConnected, callee: ResultMissed},
			CauseHangup, device, fx)
		return
	}
	if c.s.Connected.IsZero() {
		s.endLocked(c, ending{code: 487, reason: reasonTerminated, caller: ResultCanceled, callee: ResultMissed},
			CauseCancel, device, fx)
		return
	}
	s.endLocked(c, ending{caller: ResultConnected, callee: ResultConnected}, CauseHangup, device, fx)
}

// LegFailed ends the call whose media leg was lost (503 "Media failed"). The
// media gateway reports it; unknown legs are ignored.
func (s *Switch) LegFailed(legID string) {
	var fx effects
	s.mu.Lock()
	for _, c := range s.sortedCallsLocked() {
		p := c.partyOfLeg(legID)
		if p == nil || !slices.Contains(c.legs, legID) {
			continue
		}
		e := ending{code: 503, reason: reasonMediaFailed, caller: ResultFailed, callee: ResultMissed}
		if !c.s.Connected.IsZero() {
			e.caller, e.callee = ResultConnected, ResultConnected
		}
		s.endLocked(c, e, CauseMediaFailed, p.Device, &fx)
		break
	}
	s.mu.Unlock()
	s.finish(&fx)
}

// endLocked ends the call: every party Disconnected with e's code, reason
// and result, one event per extension, then the session leaves the active
// set, its legs are closed and its call-log records written (by finish).
func (s *Switch) endLocked(c *call, e ending, cause Cause, device string, fx *effects) {
	s.invitationEndedLocked(c, device)
	if c.conf != nil && s.leaveConferenceLocked(c, cause, device, fx) {
		return // the call goes on in its conference (conference.go)
	}
	if c.s.Recording != nil && s.calls[c.s.ID] == c {
		s.stopRecordingLocked(c, device, fx)
	}
	s.stopTimersLocked(c)
	c.s.Ended = s.cfg.Now()
	for i := range c.s.Parties {
		p := &c.s.Parties[i]
		if !p.active() {
			continue
		}
		ringing := p.Status == StatusProceeding
		s.disconnectLocked(c, p)
		p.Code = e.code
		p.Result = e.callee
		switch {
		case p.ID == c.caller().ID:
			p.Result = e.caller
		case ringing && !c.s.Connected.IsZero(): // the target of a transfer
			p.Result = ResultMissed
		}
		p.Reason = e.reason
		if p.Reason == "" {
			p.Reason = p.Result
		}
		p.Ringing, p.Offered = nil, nil
	}
	if c.offerTimer != nil {
		c.offerTimer.Stop()
		c.offerTimer = nil
	}
	c.endTrunkLocked(e, fx)
	if c.ro != nil {
		s.ringOutEndedLocked(c, e)
	}
	s.noteEndedLocked(c, e, cause, device)
	s.emitLocked(c, cause, device)
	if x := c.xfer; x != nil && !slices.ContainsFunc(c.s.Parties, func(p Party) bool { return p.Owner == x.transferor }) {
		// The transferor left and hears of the end of its transfer: it failed.
		s.emitToLocked(x.transferor, c, CauseTransferFailed, "")
	}
	if s.calls[c.s.ID] == c && s.cfg.OnCallEnded != nil {
		s.cfg.OnCallEnded(e.caller)
	}
	delete(s.calls, c.s.ID)
	fx.closeLegs = append(fx.closeLegs, c.legs...)
	c.legs = nil
	if !c.quiet {
		s.writeRecordsLocked(c.records(), fx)
	}
	s.resumeHeldLocked(c.s.ID, "", fx)
	if l := c.link; l != nil { // its remote party's side ends too (bridge.go)
		c.link, l.link = nil, nil
		if s.calls[l.s.ID] == l {
			s.endLocked(l, ending{caller: ResultConnected, callee: ResultConnected}, CauseHangup, "", fx)
		}
	}
}

// writeRecordsLocked has finish write call-log records.
func (s *Switch) writeRecordsLocked(recs []CallRecord, fx *effects) {
	if len(recs) > 0 && s.log != nil {
		s.logs.Add(1) // under the lock, so Close waits for it
		fx.records = append(fx.records, recs)
	}
}

// Forget ends the calls ids, which another node of a cluster already ended
// for everyone while this switch's node was stalled and counted as lost:
// their legs close and their carriers' and desk phones' sides hang up, but
// their events are Quiet and no call-log record is written, since the
// other node told everyone and wrote the records. It returns the number of
// calls it ended.
func (s *Switch) Forget(ids []string) int {
	var fx effects
	s.mu.Lock()
	var gone []*call
	for _, id := range ids {
		if c, ok := s.calls[id]; ok {
			c.quiet = true
			gone = append(gone, c)
		}
	}
	e := ending{code: 503, reason: ReasonNodeLost, caller: ResultConnected, callee: ResultConnected}
	for _, c := range gone {
		switch cf := c.conf; {
		case s.calls[c.s.ID] != c: // ended with a call it is linked to
		case cf != nil:
			s.endConferenceLocked(cf, CauseFailed, "", &fx)
		default:
			s.endLocked(c, e, CauseFailed, "", &fx)
		}
	}
	s.mu.Unlock()
	s.finish(&fx)
	return len(gone)
}
