package telephony

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/callbridge/widget-server/internal/phonenumber"
)

// Calls a carrier sends in through a trunk.
//
// TrunkCallIn routes a call to one of the accounts' numbers (a DID, which
// the directory resolves through DIDs): the owning extension's devices
// ring, or a department's members, with the answering rules of any call.
// The caller is a party with no owner whose media leg is the gateway's RTP
// leg toward the carrier, made from the carrier's offer at once, so that a
// device answering the call is answered in the codec the carrier chose
// (TrunkMedia.OpenLegLike). The carrier hears 180 while the call rings, 200
// with the RTP leg's answer when a device answers, and the failure of a call
// that cannot ring or is not answered (480, 486, 408, 603). A number that
// is none of the accounts' is refused with 403: a trunk is no way through
// to other numbers. Its CANCEL
// and BYE end the call.

// DIDs is what a Directory also answers when calls come in from trunks:
// the extension that one of the accounts' numbers reaches, whichever the
// account.
type DIDs interface {
	LookupDID(ctx context.Context, e164 string) (ext Endpoint, ok bool, err error)
}

// InboundTrunkLeg is the signalling of a call a carrier sent in.
type InboundTrunkLeg interface {
	Ring() error
	Answer(ctx context.Context, sdp string) error
	Reject(code int, reason string) error
	Bye(ctx context.Context) error
	ReInvite(ctx context.Context, sdp string) (string, error)
}

// TrunkInEvents are what a trunk reports of a call it sent in.
type TrunkInEvents struct {
	Canceled func() // the carrier's caller gave up before the answer
	Ended    func() // the carrier hung up a connected call
	// Offer: the carrier's new offer in a connected call; it returns the answer.
	Offer func(sdp string) (string, error)
	// DTMF: a key the carrier sent in SIP INFO (d 0 when not given).
	DTMF func(digit rune, d time.Duration)
}

// Reasons of refusals: a number that is not ours, media that cannot be.
const (
	reasonForbidden     = "Forbidden"
	reasonNotAcceptable = "Not Acceptable Here"
)

// Log line of a refused inbound call (lifecycle.go).
const logTrunkRefused = "trunk call refused"

// TrunkCallIn takes a call that trunk received for the number to, from the
// number from (fromName its display name), with the carrier's SDP offer,
// and answers leg as the call goes. It returns the events the trunk reports
// of the call.
func (s *Switch) TrunkCallIn(ctx context.Context, leg InboundTrunkLeg, trunk, from, fromName, to, offerSDP string) TrunkInEvents {
	refuse := func(code int, reason string, err error) TrunkInEvents {
		s.cfg.Logger.Info(logTrunkRefused, slog.String("trunk", trunk), slog.Int("code", code), slog.Any("err", err))
		_ = leg.Reject(code, reason)
		return TrunkInEvents{}
	}
	dids, ok := s.dir.(DIDs)
	if !ok {
		return refuse(403, reasonForbidden, fmt.Errorf("no numbers are reachable from trunks"))
	}
	n, err := phonenumber.Normalize(to, "US")
	if err != nil {
		return refuse(403, reasonForbidden, err)
	}
	ep, ok, err := dids.LookupDID(ctx, n)
	switch {
	case err != nil:
		return refuse(503, reasonNoTrunk, err)
	case !ok || ep.ExtensionID == 0:
		return refuse(403, reasonForbidden, fmt.Errorf("%s is no number of an account", n))
	}
	ep.PhoneNumber = n
	rt := route{callee: ep, owner: ep.ExtensionID}
	if deps, ok := s.dir.(Departments); ok {
		if rt.members, rt.department, err = deps.Members(ctx, ep.ExtensionID); err != nil {
			return refuse(503, reasonNoTrunk, err)
		}
	}
	caller := Endpoint{PhoneNumber: from, Name: fromName}
	if e, err := phonenumber.Normalize(from, "US"); err == nil {
		caller.PhoneNumber = e
	}

	k := s.calledFor(ctx, rt)
	autoRecord := s.autoRecorder(ctx, k, 0)
	id, callerLeg := newID("s-"), newID("p-")
	tm := s.media.(TrunkMedia)
	answer, err := tm.AnswerRTP(ctx, callerLeg, offerSDP, "", false)
	if err != nil {
		return refuse(488, reasonNotAcceptable, err)
	}
	var fx effects
	s.mu.Lock()
	targets, fail := s.ringTargetsLocked(rt, 0, "")
	w, unreachedEnding, unreached := s.unreachedLocked(k, targets, fail)
	divert := unreached && s.divertsLocked(k, w)
	if unreached && !divert {
		fail, targets = unreachedEnding, nil
	}
	if s.closed || (len(targets) == 0 && !divert) {
		s.mu.Unlock()
		s.media.CloseLeg(callerLeg)
		if s.closed {
			return refuse(503, reasonNoTrunk, ErrClosed)
		}
		return refuse(fail.code, fail.reason, fmt.Errorf("extension %d takes no call now", ep.ExtensionID))
	}
	c := s.newCallLocked(id, Device{}, callerLeg, caller, rt) // a caller of no extension, on no device
	c.legs = []string{callerLeg}
	c.called = k
	c.autoRecord = autoRecord
	t := c.addTrunkLocked(c.caller(), trunk)
	t.in, t.answer = leg, answer
	if divert {
		_, err := s.divertAtOnceLocked(c, w, unreachedEnding, &fx)
		s.mu.Unlock()
		s.finish(&fx)
		if err != nil {
			s.media.CloseLeg(callerLeg)
			return refuse(500, reasonInternal, err)
		}
		return s.trunkInEvents(id, callerLeg)
	}
	if err := s.moveLocked(c, &fx, move{c.caller(), StatusProceeding}, move{c.callee(), StatusProceeding}); err != nil {
		s.mu.Unlock()
		s.finish(&fx)
		s.media.CloseLeg(callerLeg)
		return refuse(500, reasonInternal, err)
	}
	s.calls[id] = c
	targets = k.sequentialLocked(targets)
	c.ring(targets)
	devices := 0
	for _, t := range targets {
		devices += len(t.devices)
	}
	s.noteDialledLocked(c)
	s.noteRingingLocked(c, c.callee(), rt.owner, devices)
	for _, p := range c.s.Parties[1:] {
		s.emitToLocked(p.Owner, c, CauseRing, "")
	}
	s.startTimerLocked(c, s.ringTimeout(c), s.ringTimeoutLocked)
	s.mu.Unlock()
	s.finish(&fx)
	_ = leg.Ring()
	return s.trunkInEvents(id, callerLeg)
}

// trunkInEvents are the events a trunk reports of the call id it sent in,
// whose caller's leg is callerLeg.
func (s *Switch) trunkInEvents(id, callerLeg string) TrunkInEvents {
	return TrunkInEvents{
		Canceled: func() {
			s.onTrunkCall(id, callerLeg, func(c *call, t *trunkCall, fx *effects) {
				s.carrierEndedLocked(c, t, ending{code: 487, reason: reasonTerminated, caller: ResultCanceled, callee: ResultMissed}, CauseCancel, fx)
			})
		},
		Ended: func() {
			s.onTrunkCall(id, callerLeg, func(c *call, t *trunkCall, fx *effects) { s.carrierEndedLocked(c, t, hungUp, CauseHangup, fx) })
		},
		Offer: s.trunkOffer(id, callerLeg),
		DTMF:  s.trunkDTMF(id, callerLeg),
	}
}
