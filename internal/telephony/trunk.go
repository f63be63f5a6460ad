package telephony

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Calls that leave the account through a SIP trunk (DESIGN.md "Calls that
// leave the account").
//
// A number that is no extension, number or test line of the account goes to
// the trunk that Trunks.Route picks for it; none (no trunk takes it, or
// every one that would is down) fails the call at once with 503. The
// caller's browser leg is answered in G.711 (LegTrunkPhone) and the callee
// is a party with no owner whose media leg is an RTP leg of the gateway
// toward the carrier (TrunkMedia.OfferRTP), whose SDP offer the trunk sends
// in its INVITE. The carrier's answers drive the call:
//
//   - early media (183 with SDP): the caller hears the carrier (ringback,
//     announcements) and the carrier hears nothing yet;
//   - an answer (200): both parties are answered and audio flows both ways;
//   - a final failure: the call ends with the carrier's code, reason and
//     result, mapped by the trunk (486 Busy, 480/408 No Answer, 603
//     Rejected, 404 Failed, 402 Failed, 503 Failed);
//   - a hangup (BYE) ends the call.
//
// The switch ending the call first cancels the INVITE (before the answer)
// or hangs the call up (after); what the carrier already ended is left.

// Trunks reaches numbers outside the account. The server adapts the SIP
// user agent to it.
type Trunks interface {
	// Route names the trunk that takes the E.164 number now; ok is false
	// when none does (no trunk takes it, or those that would are down).
	Route(number string) (trunk string, ok bool)
	// Dial sends the INVITE of c through trunk; ev reports what the carrier
	// answers until the call ends, also from other goroutines.
	Dial(ctx context.Context, trunk string, c TrunkCall, ev TrunkEvents) (TrunkLeg, error)
}

// TrunkCall is an outbound call through a trunk.
type TrunkCall struct {
	To         string // E.164
	CallerID   string // the number presented
	CallerName string
	SDP        string // the offer of the gateway's RTP leg
}

// TrunkEvents are what a trunk reports of an outbound call.
type TrunkEvents struct {
	Progress func(code int, sdp string)            // 180, or 183 with the carrier's SDP
	Answered func(sdp string)                      // 200 with the answer
	Failed   func(code int, reason, result string) // a final failure, mapped to the documented codes
	Ended    func()                                // the carrier hung up a connected call
}

// TrunkLeg is the signalling of one call through a trunk.
type TrunkLeg interface {
	Cancel()                       // before the answer
	Bye(ctx context.Context) error // after it
}

// TrunkMedia is what the media gateway also does for trunk calls: the RTP
// leg toward the carrier, offered and then answered.
type TrunkMedia interface {
	OfferRTP(ctx context.Context, legID string) (offerSDP string, err error)
	ApplyRTPAnswer(legID, answerSDP string) error
	// AnswerRTP opens an RTP leg that answers a carrier's offer.
	AnswerRTP(ctx context.Context, legID, offerSDP string) (answerSDP string, err error)
	// OpenLegLike opens a browser leg answered in the codec of the RTP leg
	// like, to be connected to it.
	OpenLegLike(ctx context.Context, legID, offerSDP, like string) (answerSDP string, err error)
}

// ErrNoTrunkMedia: SetTrunks was given a switch whose media cannot carry trunk calls.
var ErrNoTrunkMedia = errors.New("the media gateway does not carry trunk calls")

// Failure of a call no trunk takes.
const reasonNoTrunk = "Service Unavailable"

// Log lines of trunk calls (lifecycle.go).
const logTrunkFailed = "trunk call not placed"

// trunkCall is the state of the trunk side of a call.
type trunkCall struct {
	name  string   // the trunk
	party string   // the party whose leg is the RTP leg: the callee, or the caller of a call sent in
	leg   TrunkLeg // nil until Dial returns
	early bool     // the carrier's early media is connected
	done  bool     // the carrier ended it, or the switch told it to

	in       InboundTrunkLeg // set for a call the carrier sent in (trunkin.go)
	answer   string          // the RTP leg's SDP answer to the carrier's offer
	answered bool            // the carrier was sent the answer
}

// SetTrunks lets the switch route numbers outside the account to t. It
// must be called before the switch carries calls; the media must implement
// TrunkMedia.
func (s *Switch) SetTrunks(t Trunks) error {
	if _, ok := s.media.(TrunkMedia); !ok {
		return ErrNoTrunkMedia
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trunks = t
	return nil
}

// trunkRoute is the route of an outside E.164 number n.
func (s *Switch) trunkRoute(n string) route {
	name, ok := s.trunks.Route(n)
	if !ok {
		return route{callee: Endpoint{PhoneNumber: n}, code: 503, reason: reasonNoTrunk}
	}
	return route{callee: Endpoint{PhoneNumber: n}, trunk: name}
}

// placeTrunkCall sends the INVITE of the new call c (session id, callee
// party pid) after Dial made it: the RTP leg's offer, then the trunk's
// Dial. A failure ends the call (503).
func (s *Switch) placeTrunkCall(ctx context.Context, id, pid, name string, from Endpoint, to string) {
	tm := s.media.(TrunkMedia)
	offer, err := tm.OfferRTP(ctx, pid)
	var fx effects
	s.mu.Lock()
	c := s.calls[id]
	if c == nil || c.trunk == nil || c.trunk.done {
		s.mu.Unlock()
		if err == nil {
			s.media.CloseLeg(pid)
		}
		return
	}
	if err != nil {
		s.trunkFailedLocked(c, err, &fx)
		s.mu.Unlock()
		s.finish(&fx)
		return
	}
	c.legs = append(c.legs, pid)
	s.mu.Unlock()

	leg, err := s.trunks.Dial(ctx, name, TrunkCall{To: to, CallerID: from.PhoneNumber, CallerName: from.Name, SDP: offer}, s.trunkEvents(id, pid))
	s.mu.Lock()
	c = s.calls[id]
	switch {
	case c == nil || c.trunk == nil: // ended meanwhile: the carrier hears of it
		if err == nil {
			fx.trunkEnds = append(fx.trunkEnds, trunkEnd{leg: leg})
		}
	case err != nil:
		s.trunkFailedLocked(c, err, &fx)
	case c.trunk.done:
		fx.trunkEnds = append(fx.trunkEnds, trunkEnd{leg: leg})
	default:
		c.trunk.leg = leg
	}
	s.mu.Unlock()
	s.finish(&fx)
}

// trunkFailedLocked ends call c whose INVITE could not be sent.
func (s *Switch) trunkFailedLocked(c *call, err error, fx *effects) {
	c.trunk.done = true
	s.noteLocked(c, logTrunkFailed, slog.String("trunk", c.trunk.name), slog.Any("err", err))
	s.endLocked(c, ending{code: 503, reason: reasonNoTrunk, caller: ResultFailed, callee: ResultFailed}, CauseFailed, "", fx)
}

// trunkEvents are the events of the trunk side of call id, whose callee is
// party pid.
func (s *Switch) trunkEvents(id, pid string) TrunkEvents {
	with := func(fn func(c *call, fx *effects)) { s.onTrunkCall(id, pid, fn) }
	tm := s.media.(TrunkMedia)
	return TrunkEvents{
		Progress: func(code int, sdp string) {
			if sdp == "" {
				return
			}
			if err := tm.ApplyRTPAnswer(pid, sdp); err != nil {
				return // no early media: the caller goes on hearing its own ringback
			}
			var caller string
			with(func(c *call, fx *effects) { caller = legOf(c.caller()) })
			if caller == "" || s.media.Connect(caller, pid) != nil {
				return
			}
			with(func(c *call, fx *effects) {
				if c.callee().Status == StatusProceeding {
					c.trunk.early = true
					s.applyForwardLocked(c)
				}
			})
		},
		Answered: func(sdp string) {
			err := tm.ApplyRTPAnswer(pid, sdp)
			var caller string
			with(func(c *call, fx *effects) { caller = legOf(c.caller()) })
			if err == nil && caller != "" {
				err = s.media.Connect(caller, pid)
			}
			with(func(c *call, fx *effects) {
				if err != nil {
					s.endLocked(c, ending{code: 503, reason: reasonMediaFailed, caller: ResultFailed, callee: ResultFailed}, CauseMediaFailed, "", fx)
					return
				}
				s.trunkAnsweredLocked(c, fx)
			})
		},
		Failed: func(code int, reason, result string) {
			with(func(c *call, fx *effects) {
				s.carrierEndedLocked(c, ending{code: code, reason: reason, caller: result, callee: result}, CauseFailed, fx)
			})
		},
		Ended: func() {
			with(func(c *call, fx *effects) { s.carrierEndedLocked(c, hungUp, CauseHangup, fx) })
		},
	}
}

// onTrunkCall runs fn on call id, under the lock, while it is the same call
// with the trunk party pid and the carrier has not ended it.
func (s *Switch) onTrunkCall(id, pid string, fn func(c *call, fx *effects)) {
	var fx effects
	s.mu.Lock()
	if c := s.calls[id]; c != nil && c.trunk != nil && c.trunk.party == pid && !c.trunk.done {
		fn(c, &fx)
	}
	s.mu.Unlock()
	s.finish(&fx)
}

// hungUp is how a connected call ends when a side hangs up.
var hungUp = ending{caller: ResultConnected, callee: ResultConnected}

// carrierEndedLocked ends call c, which the carrier ended: it is told nothing back.
func (s *Switch) carrierEndedLocked(c *call, e ending, cause Cause, fx *effects) {
	c.trunk.done = true
	s.endLocked(c, e, cause, "", fx)
}

// trunkAnsweredLocked connects call c, which the carrier answered.
func (s *Switch) trunkAnsweredLocked(c *call, fx *effects) {
	caller, callee := c.caller(), c.callee()
	if callee.Status != StatusProceeding {
		return
	}
	if s.moveLocked(c, fx, move{caller, StatusAnswered}, move{callee, StatusAnswered}) != nil {
		return
	}
	s.stopTimersLocked(c)
	c.trunk.early = false
	c.s.Connected = s.cfg.Now()
	s.noteAnsweredLocked(c, callee, "")
	s.applyForwardLocked(c)
	s.emitLocked(c, CauseAnswer, "")
}

// trunkEnd is what the carrier hears of a trunk call once the lock is
// released: that the switch ended it, or (sdp set) that a device answered
// a call it sent in.
type trunkEnd struct {
	leg      TrunkLeg        // an outbound call
	in       InboundTrunkLeg // a call sent in
	answered bool            // it was connected: a BYE, else a CANCEL or a failure response
	code     int             // the failure response of a call sent in and not answered
	reason   string
	sdp      string // the answer of a call sent in
}

// endTrunkLocked has finish tell the carrier that call c ended with e,
// unless the carrier ended it.
func (c *call) endTrunkLocked(e ending, fx *effects) {
	t := c.trunk
	if t == nil || t.done {
		return
	}
	t.done = true
	switch {
	case t.in != nil:
		code, reason := e.code, e.reason
		if code == 0 {
			code, reason = 480, reasonTemporarilyUnavailable
		}
		fx.trunkEnds = append(fx.trunkEnds, trunkEnd{in: t.in, answered: t.answered, code: code, reason: reason})
	case t.leg != nil:
		fx.trunkEnds = append(fx.trunkEnds, trunkEnd{leg: t.leg, answered: !c.s.Connected.IsZero()})
	}
}

// answerTrunkLocked has finish send the carrier the answer of the call it
// sent in to c, once a device answered it.
func (c *call) answerTrunkLocked(fx *effects) {
	if t := c.trunk; t != nil && t.in != nil && !t.answered && !t.done {
		t.answered = true
		fx.trunkEnds = append(fx.trunkEnds, trunkEnd{in: t.in, sdp: t.answer})
	}
}

// endTrunks tells carriers what the switch did to their calls, in the
// background where the answer is waited for.
func endTrunks(ends []trunkEnd) {
	for _, e := range ends {
		switch {
		case e.in != nil && e.sdp != "":
			go func(in InboundTrunkLeg, sdp string) {
				ctx, cancel := context.WithTimeout(context.Background(), sipTransactionTimeout)
				defer cancel()
				_ = in.Answer(ctx, sdp) // a CANCEL that crossed it ends the call
			}(e.in, e.sdp)
		case e.in != nil && !e.answered:
			_ = e.in.Reject(e.code, e.reason)
		case !e.answered:
			e.leg.Cancel()
		default:
			var bye func(context.Context) error
			if e.in != nil {
				bye = e.in.Bye
			} else {
				bye = e.leg.Bye
			}
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), sipTransactionTimeout)
				defer cancel()
				_ = bye(ctx)
			}()
		}
	}
}

// sipTransactionTimeout bounds a wait for the carrier's answer (SIP's 64*T1).
const sipTransactionTimeout = 32 * time.Second
