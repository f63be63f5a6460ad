package telephony

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
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
	// Route names the trunk that takes number now, dialled from an
	// account in region (ISO country code): an E.164 number, or an
	// emergency number as dialled. ok is false when none does (no trunk
	// takes it, or those that would are down).
	Route(number, region string) (r TrunkRoute, ok bool)
	// Dial sends the INVITE of c through trunk; ev reports what the carrier
	// answers until the call ends, also from other goroutines.
	Dial(ctx context.Context, trunk string, c TrunkCall, ev TrunkEvents) (TrunkLeg, error)
}

// TrunkRoute is the trunk a call goes out on and the number it dials.
type TrunkRoute struct {
	Trunk string
	// Number is what the carrier is sent: the E.164 number, or an
	// emergency number as it is dialled in the region ("911", "112").
	Number    string
	Emergency bool
}

// TrunkFailure is an error of Trunks.Dial that says how the call fails in
// the host page's terms; any other error fails it with 503.
type TrunkFailure struct {
	Code           int
	Reason, Result string
	Err            error
}

func (f *TrunkFailure) Error() string { return fmt.Sprintf("%d %s: %v", f.Code, f.Reason, f.Err) }
func (f *TrunkFailure) Unwrap() error { return f.Err }

// TrunkCall is an outbound call through a trunk.
type TrunkCall struct {
	To         string // TrunkRoute.Number
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
	// Offer: the carrier's new offer in a connected call (its hold,
	// resume, a media change); it returns the answer.
	Offer func(sdp string) (string, error)
	// DTMF: a key the carrier sent in SIP INFO (d 0 when not given).
	DTMF func(digit rune, d time.Duration)
}

// TrunkLeg is the signalling of one call through a trunk.
type TrunkLeg interface {
	Cancel()                       // before the answer
	Bye(ctx context.Context) error // after it
	// ReInvite sends a new offer in a connected call (hold, resume) and
	// returns the carrier's answer.
	ReInvite(ctx context.Context, sdp string) (string, error)
}

// TrunkMedia is what the media gateway also does for trunk calls: the RTP
// leg toward the carrier, offered and then answered.
type TrunkMedia interface {
	// OfferRTP opens an RTP leg carrying the codec of the browser leg
	// like and returns its offer; on an open leg it makes a new offer,
	// holding the carrier (it hears nothing) when hold is set.
	OfferRTP(ctx context.Context, legID, like string, hold bool) (offerSDP string, err error)
	ApplyRTPAnswer(legID, answerSDP string) error
	// AnswerRTP opens an RTP leg that answers a carrier's (or an RTP
	// device's) offer, in the codec of leg like when set; on an open leg
	// it answers a re-offer, holding the other side when hold is set.
	AnswerRTP(ctx context.Context, legID, offerSDP, like string, hold bool) (answerSDP string, err error)
	// OpenLegLike opens a browser leg answered in the codec of the RTP leg
	// like, to be connected to it.
	OpenLegLike(ctx context.Context, legID, offerSDP, like string) (answerSDP string, err error)
	// Ringback plays, or stops, a ringing tone made here on a browser
	// leg of LegTrunkPhone while it is connected to no other leg.
	Ringback(legID string, on bool)
	// SendDTMF plays a key to a browser leg of LegTrunkPhone as RFC 4733
	// events.
	SendDTMF(legID string, digit rune, d time.Duration) error
}

// ErrNoTrunkMedia: SetTrunks was given a switch whose media cannot carry trunk calls.
var ErrNoTrunkMedia = errors.New("the media gateway does not carry trunk calls")

// Failure of a call no trunk takes.
const reasonNoTrunk = "Service Unavailable"

// Log lines of trunk calls (lifecycle.go).
const (
	logTrunkFailed = "trunk call not placed"
	logTrunkHold   = "trunk hold not sent"
)

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

	hold    bool // the call is held: the carrier is to hear nothing
	sent    bool // the hold the carrier was last told of
	syncing bool // a goroutine tells the carrier (syncTrunkHold)
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

// trunkRoute is the route of an outside E.164 number, or an emergency
// number, n dialled in region.
func (s *Switch) trunkRoute(n, region string) route {
	if s.trunks == nil {
		return route{callee: Endpoint{PhoneNumber: n}, code: 503, reason: reasonNoTrunk}
	}
	r, ok := s.trunks.Route(n, region)
	if !ok {
		return route{callee: Endpoint{PhoneNumber: n}, code: 503, reason: reasonNoTrunk}
	}
	return route{callee: Endpoint{PhoneNumber: n}, trunk: r.Trunk, dial: r.Number}
}

// placeTrunkCall sends the INVITE of trunk side pid of call id (the
// callee of a dialled call, or the target of a transfer or forward) once
// the switch made its party: the RTP leg's offer, in the codec of the
// caller's leg, then the trunk's Dial. A failure ends that side (503).
func (s *Switch) placeTrunkCall(ctx context.Context, id, pid, name string, from Endpoint, to string) {
	tm := s.media.(TrunkMedia)
	var like string
	ringback := false
	s.mu.Lock()
	if c := s.calls[id]; c != nil {
		like, ringback = legOf(c.caller()), !c.caller().rtp
	}
	s.mu.Unlock()
	if ringback { // a browser caller; a carrier's or a desk phone's makes its own
		tm.Ringback(like, true) // until the carrier's early media or answer is connected
	}
	offer, err := tm.OfferRTP(ctx, pid, like, false)
	var fx effects
	s.mu.Lock()
	c := s.calls[id]
	t := c.trunkOf(pid)
	if t == nil || t.done {
		s.mu.Unlock()
		if err == nil {
			s.media.CloseLeg(pid)
		}
		return
	}
	if err != nil {
		s.trunkFailedLocked(c, t, err, &fx)
		s.mu.Unlock()
		s.finish(&fx)
		return
	}
	c.legs = append(c.legs, pid)
	s.mu.Unlock()

	leg, err := s.trunks.Dial(ctx, name, TrunkCall{To: to, CallerID: from.PhoneNumber, CallerName: from.Name, SDP: offer}, s.trunkEvents(id, pid))
	s.mu.Lock()
	c = s.calls[id]
	t = c.trunkOf(pid)
	switch {
	case t == nil: // ended meanwhile: the carrier hears of it
		if err == nil {
			fx.trunkEnds = append(fx.trunkEnds, trunkEnd{leg: leg})
		}
	case err != nil:
		s.trunkFailedLocked(c, t, err, &fx)
	case t.done:
		fx.trunkEnds = append(fx.trunkEnds, trunkEnd{leg: leg})
	default:
		t.leg = leg
		s.kickTrunkHoldLocked(t) // a hold that came before the INVITE returned
	}
	s.mu.Unlock()
	s.finish(&fx)
}

// trunkOf returns the trunk side of call c whose party is pid; nil when c
// is nil or has none.
func (c *call) trunkOf(pid string) *trunkCall {
	if c == nil {
		return nil
	}
	for _, t := range c.trunks {
		if t.party == pid {
			return t
		}
	}
	return nil
}

// addTrunkLocked makes party p of call c a trunk side on trunk name.
func (c *call) addTrunkLocked(p *Party, name string) *trunkCall {
	p.rtp, p.g711 = true, true
	t := &trunkCall{name: name, party: p.ID}
	c.trunks = append(c.trunks, t)
	return t
}

// earlyLocked reports whether the carrier of an early trunk side of call c
// is to hear nothing of party p yet: it plays its early media, and hears
// the call once it answers.
func (c *call) earlyLocked(p *Party) bool {
	for _, t := range c.trunks {
		if t.early && t.party != p.ID {
			return true
		}
	}
	return false
}

// dropTrunkLocked ends trunk side pid of call c, which goes on without it
// (a transfer target that failed): the carrier hears of it unless it ended
// it, and its RTP leg closes.
func (c *call) dropTrunkLocked(pid string, fx *effects) {
	t := c.trunkOf(pid)
	if t == nil {
		return
	}
	c.endTrunkSideLocked(t, ending{code: 487, reason: reasonTerminated}, false, fx)
	c.trunks = slices.DeleteFunc(c.trunks, func(x *trunkCall) bool { return x == t })
	if slices.Contains(c.legs, pid) {
		c.legs = slices.DeleteFunc(c.legs, func(l string) bool { return l == pid })
		fx.closeLegs = append(fx.closeLegs, pid)
	}
}

// trunkFailedLocked goes on after the INVITE of trunk side t of call c
// could not be sent: a dialled call ends, a transfer recalls.
func (s *Switch) trunkFailedLocked(c *call, t *trunkCall, err error, fx *effects) {
	t.done = true
	s.noteLocked(c, logTrunkFailed, slog.String("trunk", t.name), slog.Any("err", err))
	e := ending{code: 503, reason: reasonNoTrunk, caller: ResultFailed, callee: ResultFailed}
	if f := (*TrunkFailure)(nil); errors.As(err, &f) && f.Code != 0 {
		e = ending{code: f.Code, reason: f.Reason, caller: f.Result, callee: f.Result}
	}
	s.targetFailedLocked(c, e, CauseFailed, "", fx)
}

// trunkEvents are the events of the trunk side of call id whose party is
// pid: the callee of a dialled call, or the target of a transfer or a
// forward.
func (s *Switch) trunkEvents(id, pid string) TrunkEvents {
	with := func(fn func(c *call, t *trunkCall, fx *effects)) { s.onTrunkCall(id, pid, fn) }
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
			with(func(c *call, _ *trunkCall, _ *effects) { caller = legOf(c.caller()) })
			if caller == "" || s.media.Connect(caller, pid) != nil {
				return
			}
			with(func(c *call, t *trunkCall, _ *effects) {
				if p := c.party(pid); p != nil && p.Status == StatusProceeding {
					t.early = true
					s.applyForwardLocked(c)
				}
			})
		},
		Answered: func(sdp string) {
			err := tm.ApplyRTPAnswer(pid, sdp)
			var caller string
			with(func(c *call, _ *trunkCall, _ *effects) { caller = legOf(c.caller()) })
			if err == nil && caller != "" {
				err = s.media.Connect(caller, pid)
				tm.Ringback(caller, false)
			}
			with(func(c *call, t *trunkCall, fx *effects) {
				if err != nil {
					s.endLocked(c, ending{code: 503, reason: reasonMediaFailed, caller: ResultFailed, callee: ResultFailed}, CauseMediaFailed, "", fx)
					return
				}
				s.trunkAnsweredLocked(c, t, fx)
			})
		},
		Failed: func(code int, reason, result string) {
			with(func(c *call, t *trunkCall, fx *effects) {
				t.done = true
				s.targetFailedLocked(c, ending{code: code, reason: reason, caller: result, callee: result}, CauseFailed, "", fx)
			})
		},
		Ended: func() {
			with(func(c *call, t *trunkCall, fx *effects) { s.carrierEndedLocked(c, t, hungUp, CauseHangup, fx) })
		},
		Offer: s.trunkOffer(id, pid),
		DTMF:  s.trunkDTMF(id, pid),
	}
}

// trunkDTMF plays the keys that the carrier of trunk side pid of call id
// sends in SIP INFO to the browser it is connected to (a carrier connected
// to another carrier gets its keys as RFC 4733 events already).
func (s *Switch) trunkDTMF(id, pid string) func(digit rune, d time.Duration) {
	return func(digit rune, d time.Duration) {
		var to string
		s.onTrunkCall(id, pid, func(c *call, _ *trunkCall, _ *effects) {
			if p := c.party(pid); p != nil {
				if o := c.otherActive(p); o != nil && c.hasLeg(o) && !o.rtp {
					to = legOf(o)
				}
			}
		})
		if to != "" {
			_ = s.media.(TrunkMedia).SendDTMF(to, digit, d)
		}
	}
}

// trunkOffer answers the carrier's new offers in call id, whose RTP leg is
// party pid's: in the hold the switch wants.
func (s *Switch) trunkOffer(id, pid string) func(sdp string) (string, error) {
	return func(sdp string) (string, error) {
		hold, ok := false, false
		s.onTrunkCall(id, pid, func(_ *call, t *trunkCall, _ *effects) { hold, ok = t.hold, true })
		if !ok {
			return "", ErrNoSuchCall
		}
		ctx, cancel := context.WithTimeout(context.Background(), sipTransactionTimeout)
		defer cancel()
		return s.media.(TrunkMedia).AnswerRTP(ctx, pid, sdp, "", hold)
	}
}

// Hold toward a carrier: a connected trunk call that is held (by its
// browser party, or by the other call of a warm transfer) sends the carrier
// a re-INVITE with a=sendonly, and one with a=sendrecv when it resumes. One
// goroutine per call sends them in turn, each the latest state wanted.

// trunkHoldLocked records whether call c is held and has its carriers told.
func (s *Switch) trunkHoldLocked(c *call, held bool) {
	for _, t := range c.trunks {
		if t.done || t.hold == held {
			continue
		}
		t.hold = held
		s.kickTrunkHoldLocked(t)
	}
}

// kickTrunkHoldLocked starts telling the carrier of t the hold it is to
// hear, once there is a dialog to tell it in.
func (s *Switch) kickTrunkHoldLocked(t *trunkCall) {
	if t.done || t.syncing || t.hold == t.sent || (t.leg == nil && !t.answered) {
		return
	}
	t.syncing = true
	go s.syncTrunkHold(t)
}

// Bounds of the re-INVITEs of a hold: a refused one (a 491 when the
// carrier's own crossed it) is tried again after a pause (RFC 3261 14.1).
const (
	holdAttempts = 3
	holdRetry    = 2100 * time.Millisecond
)

// syncTrunkHold tells the carrier of t the hold it is to hear until it has
// heard the latest.
func (s *Switch) syncTrunkHold(t *trunkCall) {
	tm := s.media.(TrunkMedia)
	failures := 0
	for {
		s.mu.Lock()
		want := t.hold
		if t.done || want == t.sent || failures == holdAttempts {
			t.syncing = false
			s.mu.Unlock()
			return
		}
		reinvite := t.leg
		var in InboundTrunkLeg = t.in
		pid := t.party
		s.mu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), sipTransactionTimeout)
		offer, err := tm.OfferRTP(ctx, pid, "", want)
		var answer string
		if err == nil {
			if in != nil {
				answer, err = in.ReInvite(ctx, offer)
			} else {
				answer, err = reinvite.ReInvite(ctx, offer)
			}
		}
		if err == nil {
			err = tm.ApplyRTPAnswer(pid, answer)
		}
		cancel()
		if err != nil {
			failures++
			s.cfg.Logger.Info(logTrunkHold, slog.String("trunk", t.name), slog.Bool("hold", want), slog.Any("err", err))
			time.Sleep(holdRetry + time.Duration(rand.N(1900))*time.Millisecond)
			continue
		}
		s.mu.Lock()
		t.sent = want
		s.mu.Unlock()
	}
}

// onTrunkCall runs fn on call id and its trunk side whose party is pid,
// under the lock, while the carrier has not ended that side.
func (s *Switch) onTrunkCall(id, pid string, fn func(c *call, t *trunkCall, fx *effects)) {
	var fx effects
	s.mu.Lock()
	c := s.calls[id]
	if t := c.trunkOf(pid); t != nil && !t.done {
		fn(c, t, &fx)
	}
	s.mu.Unlock()
	s.finish(&fx)
}

// hungUp is how a connected call ends when a side hangs up.
var hungUp = ending{caller: ResultConnected, callee: ResultConnected}

// carrierEndedLocked ends call c, whose trunk side t the carrier ended: it
// is told nothing back.
func (s *Switch) carrierEndedLocked(c *call, t *trunkCall, e ending, cause Cause, fx *effects) {
	t.done = true
	s.endLocked(c, e, cause, "", fx)
}

// trunkAnsweredLocked connects call c, whose trunk side t the carrier
// answered: the callee of a dialled call, or a transfer's or forward's
// target. A call a carrier sent in is answered to that carrier too.
func (s *Switch) trunkAnsweredLocked(c *call, t *trunkCall, fx *effects) {
	p := c.party(t.party)
	if p == nil || p.Status != StatusProceeding {
		return
	}
	t.early = false
	var err error
	if c.xfer != nil {
		err = s.transferAnsweredLocked(c, p, "", fx)
	} else {
		err = s.calleeAnsweredLocked(c, p, "", fx)
	}
	if err == nil {
		c.answerTrunkLocked(fx)
	}
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

// endTrunkLocked has finish tell the carriers of call c that it ended
// with e, unless they ended it.
func (c *call) endTrunkLocked(e ending, fx *effects) {
	for _, t := range c.trunks {
		c.endTrunkSideLocked(t, e, !c.s.Connected.IsZero(), fx)
	}
}

// endTrunkSideLocked has finish tell the carrier of trunk side t that it
// ended with e (answered: after it connected), unless the carrier ended it.
func (c *call) endTrunkSideLocked(t *trunkCall, e ending, answered bool, fx *effects) {
	if t.done {
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
		fx.trunkEnds = append(fx.trunkEnds, trunkEnd{leg: t.leg, answered: answered})
	}
}

// answerTrunkLocked has finish send the carrier the answer of the call it
// sent in to c, once the call was answered.
func (c *call) answerTrunkLocked(fx *effects) {
	for _, t := range c.trunks {
		if t.in != nil && !t.answered && !t.done {
			t.answered = true
			fx.trunkEnds = append(fx.trunkEnds, trunkEnd{in: t.in, sdp: t.answer})
		}
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
