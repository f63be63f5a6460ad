package telephony_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/telephony"
)

var _ telephony.TrunkMedia = (*media)(nil)

// OfferRTP and ApplyRTPAnswer make the fake media a gateway for trunk calls.
// A held offer or answer says so: "rtp-hold-offer-<leg>".
func (m *media) OfferRTP(ctx context.Context, id, like string, hold bool) (string, error) {
	m.unlocked("OfferRTP " + id)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.openErr != nil {
		return "", m.openErr
	}
	if _, open := m.opened[id]; !open && like == "" {
		return "", errors.New("a new RTP leg offers the codec of the caller's leg")
	}
	m.opened[id] = telephony.LegPhone
	return "rtp-" + holdWord(hold) + "offer-" + id, nil
}

func holdWord(hold bool) string {
	if hold {
		return "hold-"
	}
	return ""
}

func (m *media) ApplyRTPAnswer(id, sdp string) error {
	m.unlocked("ApplyRTPAnswer " + id)
	if sdp == "" {
		return errors.New("empty answer")
	}
	return nil
}

func (m *media) Ringback(id string, on bool) {
	m.unlocked("Ringback " + id)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ringback[id] = on
}

func (m *media) SendDTMF(id string, digit rune, _ time.Duration) error {
	m.unlocked("SendDTMF " + id)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys = append(m.keys, id+" "+string(digit))
	return nil
}

// ringsBack reports whether leg was told to ring back, and whether it still is.
func (m *media) ringsBack(id string) (told, on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	on, told = m.ringback[id]
	return told, on
}

// carrier is a fake trunk: it takes numbers with the prefix it routes and
// hands each INVITE to the test, which plays the carrier's answers.
type carrier struct {
	mu      sync.Mutex
	up      bool
	dialErr error
	invites chan invite
	regions []string // of the routes asked for
}

// invite is one INVITE the switch sent, with the events to answer it.
type invite struct {
	trunk string
	call  telephony.TrunkCall
	ev    telephony.TrunkEvents
	leg   *carrierLeg
}

type carrierLeg struct {
	mu        sync.Mutex
	canceled  bool
	byes      int
	done      chan struct{}
	reinvites chan string // the offers of re-INVITEs
}

func (l *carrierLeg) ReInvite(_ context.Context, sdp string) (string, error) {
	l.reinvites <- sdp
	return "carrier-answer", nil
}

func (l *carrierLeg) Cancel() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.canceled = true
	close(l.done)
}

func (l *carrierLeg) Bye(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.byes++
	close(l.done)
	return nil
}

func (c *carrier) Route(number, region string) (telephony.TrunkRoute, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.regions = append(c.regions, region)
	return telephony.TrunkRoute{Trunk: "carrier", Number: number}, c.up
}

func (c *carrier) Dial(ctx context.Context, trunk string, call telephony.TrunkCall, ev telephony.TrunkEvents) (telephony.TrunkLeg, error) {
	c.mu.Lock()
	err := c.dialErr
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	leg := &carrierLeg{done: make(chan struct{}), reinvites: make(chan string, 4)}
	c.invites <- invite{trunk: trunk, call: call, ev: ev, leg: leg}
	return leg, nil
}

func timeout() <-chan time.Time { return time.After(patience) }

// withCarrier gives the rig's switch a trunk that is up.
func withCarrier(t *testing.T, r *rig) *carrier {
	t.Helper()
	c := &carrier{up: true, invites: make(chan invite, 4)}
	if err := r.sw.SetTrunks(c); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *carrier) next(t *testing.T) invite {
	t.Helper()
	select {
	case inv := <-c.invites:
		return inv
	case <-timeout():
		t.Fatal("no INVITE")
	}
	return invite{}
}

// waitEnded waits until the switch ended the leg at the carrier.
func (l *carrierLeg) waitEnded(t *testing.T) (canceled bool, byes int) {
	t.Helper()
	select {
	case <-l.done:
	case <-timeout():
		t.Fatal("the carrier's call was not ended")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.canceled, l.byes
}

// TestTrunkCalls: numbers outside the account go to the trunk; the
// carrier's answers drive the call.
func TestTrunkCalls(t *testing.T) {
	ctx := context.Background()
	const outside = "+442071234567"
	dial := func(t *testing.T) (*rig, *carrier, telephony.Session, invite) {
		t.Helper()
		r := newRig(t)
		c := withCarrier(t, r)
		s := r.dial(t, "a1", outside)
		if kind, _ := r.media.kind(s.Parties[0].ID); kind != telephony.LegTrunkPhone {
			t.Fatalf("the caller's leg is %v, want a trunk phone leg", kind)
		}
		if s.Parties[1].Owner != 0 || s.Parties[1].To.PhoneNumber != outside || s.Parties[1].Status != telephony.StatusProceeding {
			t.Fatalf("callee %+v", s.Parties[1])
		}
		inv := c.next(t)
		if inv.call.To != outside || inv.call.CallerID != "+16505550101" || inv.call.SDP != "rtp-offer-"+s.Parties[1].ID {
			t.Fatalf("INVITE %+v", inv.call)
		}
		return r, c, s, inv
	}
	t.Run("answered, then the carrier hangs up", func(t *testing.T) {
		r, _, s, inv := dial(t)
		caller := s.Parties[0].ID
		inv.ev.Progress(180, "")
		if told, on := r.media.ringsBack(caller); !told || !on {
			t.Fatal("the caller hears no ringback while the carrier rings without early media")
		}
		inv.ev.Answered("answer")
		wantCause(t, r, alice, s.ID, telephony.CauseAnswer)
		wantFlows(t, r, legs(s))
		if _, on := r.media.ringsBack(caller); on {
			t.Fatal("the ringback goes on after the answer")
		}
		inv.ev.DTMF('5', 0) // a key in an INFO
		if got := r.media.keys; len(got) != 1 || got[0] != caller+" 5" {
			t.Fatalf("keys played %v, want 5 to the caller", got)
		}
		inv.ev.Ended()
		e := wantCause(t, r, alice, s.ID, telephony.CauseHangup)
		if e.Session.Parties[0].Result != telephony.ResultConnected {
			t.Fatalf("after the carrier's hangup: %+v", e.Session.Parties)
		}
		select {
		case <-inv.leg.done:
			t.Fatal("the switch ended a call the carrier ended")
		default:
		}
	})
	t.Run("early media, answered, hung up here", func(t *testing.T) {
		r, _, s, inv := dial(t)
		inv.ev.Progress(183, "early")
		// The caller hears the carrier; the carrier hears nothing yet.
		if got := r.media.flows(); len(got) != 1 || got[s.Parties[1].ID] != s.Parties[0].ID {
			t.Fatalf("early media flows %v", got)
		}
		inv.ev.Answered("answer")
		wantCause(t, r, alice, s.ID, telephony.CauseAnswer)
		wantFlows(t, r, legs(s))
		if err := r.sw.Hangup(ctx, "a1", s.ID); err != nil {
			t.Fatal(err)
		}
		if canceled, byes := inv.leg.waitEnded(t); canceled || byes != 1 {
			t.Fatalf("canceled %v, byes %d", canceled, byes)
		}
	})
	t.Run("busy", func(t *testing.T) {
		r, _, s, inv := dial(t)
		inv.ev.Failed(486, "Busy Here", telephony.ResultBusy)
		e := wantCause(t, r, alice, s.ID, telephony.CauseFailed)
		if p := e.Session.Parties[0]; p.Code != 486 || p.Result != telephony.ResultBusy {
			t.Fatalf("caller after busy: %+v", p)
		}
		if rec := recordOf(t, r, 1, s.Parties[0].ID); rec.Result != telephony.ResultBusy || rec.Action != "Phone Call" {
			t.Fatalf("record %+v", rec)
		}
	})
	t.Run("cancelled by the caller", func(t *testing.T) {
		r, _, s, inv := dial(t)
		if err := r.sw.Hangup(ctx, "a1", s.ID); err != nil {
			t.Fatal(err)
		}
		if canceled, _ := inv.leg.waitEnded(t); !canceled {
			t.Fatal("the INVITE was not cancelled")
		}
		if !r.media.isClosed(s.Parties[1].ID) {
			t.Fatal("the RTP leg is open")
		}
	})
	t.Run("not answered in time", func(t *testing.T) {
		r, _, s, inv := dial(t)
		telephony.FireTimers(r.sw, s.ID)
		e := wantCause(t, r, alice, s.ID, telephony.CauseTimeout)
		if e.Session.Parties[0].Code != 408 {
			t.Fatalf("after the timeout: %+v", e.Session.Parties[0])
		}
		if canceled, _ := inv.leg.waitEnded(t); !canceled {
			t.Fatal("the INVITE was not cancelled")
		}
	})
	t.Run("no trunk up", func(t *testing.T) {
		r := newRig(t)
		c := withCarrier(t, r)
		c.up = false
		s := r.dial(t, "a1", outside)
		if s.Ended.IsZero() || s.Parties[0].Code != 503 {
			t.Fatalf("without a trunk: %+v", s.Parties)
		}
	})
	t.Run("the INVITE cannot be sent", func(t *testing.T) {
		r := newRig(t)
		c := withCarrier(t, r)
		c.dialErr = errors.New("trunk down")
		s := r.dial(t, "a1", outside)
		e := wantCause(t, r, alice, s.ID, telephony.CauseFailed)
		if e.Session.Parties[0].Code != 503 {
			t.Fatalf("after a failed INVITE: %+v", e.Session.Parties)
		}
	})
	t.Run("held and resumed with re-INVITEs; the carrier's offers answered as held", func(t *testing.T) {
		r, _, s, inv := dial(t)
		inv.ev.Answered("answer")
		wantCause(t, r, alice, s.ID, telephony.CauseAnswer)
		rtp := s.Parties[1].ID
		if a, err := inv.ev.Offer("carrier-offer"); err != nil || a != "rtp-answer-"+rtp {
			t.Fatalf("re-offer answered %q, %v", a, err)
		}
		if err := r.sw.Hold(ctx, "a1", s.ID); err != nil {
			t.Fatal(err)
		}
		if got := nextReInvite(t, inv.leg); got != "rtp-hold-offer-"+rtp {
			t.Fatalf("hold re-INVITE %q", got)
		}
		// A session refresh from the carrier keeps it held.
		if a, err := inv.ev.Offer("carrier-offer"); err != nil || a != "rtp-hold-answer-"+rtp {
			t.Fatalf("re-offer while held answered %q, %v", a, err)
		}
		if err := r.sw.Unhold(ctx, "a1", s.ID); err != nil {
			t.Fatal(err)
		}
		if got := nextReInvite(t, inv.leg); got != "rtp-offer-"+rtp {
			t.Fatalf("resume re-INVITE %q", got)
		}
	})
	t.Run("emergency numbers go to the trunk as dialled, before any extension", func(t *testing.T) {
		r := newRig(t)
		c := withCarrier(t, r)
		s := r.dial(t, "a1", "911")
		inv := c.next(t)
		if inv.call.To != "911" || s.Parties[1].To.PhoneNumber != "911" || c.regions[0] != "US" {
			t.Fatalf("INVITE %+v, callee %+v, regions %v", inv.call, s.Parties[1].To, c.regions)
		}
		r2 := newRig(t) // no trunk: the call fails at once
		if s := r2.dial(t, "a1", "911"); s.Ended.IsZero() || s.Parties[0].Code != 503 {
			t.Fatalf("emergency call without a trunk: %+v", s.Parties)
		}
	})
	t.Run("the trunk says how the INVITE failed", func(t *testing.T) {
		r := newRig(t)
		c := withCarrier(t, r)
		c.dialErr = &telephony.TrunkFailure{Code: 404, Reason: "Not Found", Result: telephony.ResultFailed, Err: errors.New("not a number")}
		s := r.dial(t, "a1", outside)
		e := wantCause(t, r, alice, s.ID, telephony.CauseFailed)
		if e.Session.Parties[0].Code != 404 {
			t.Fatalf("after a refused INVITE: %+v", e.Session.Parties)
		}
	})
	t.Run("numbers of the account stay inside", func(t *testing.T) {
		r := newRig(t)
		withCarrier(t, r)
		s := r.dial(t, "a1", "+16505550102")
		if s.Parties[1].Owner != bob {
			t.Fatalf("callee %+v", s.Parties[1])
		}
		s = r.dial(t, "a1", "+15550104") // a test line
		if s.Parties[0].Code != 404 {
			t.Fatalf("test line %+v", s.Parties)
		}
	})
}

// AnswerRTP and OpenLegLike complete the fake gateway for calls sent in.
func (m *media) AnswerRTP(ctx context.Context, id, offer, like string, hold bool) (string, error) {
	m.unlocked("AnswerRTP " + id)
	if offer == "" {
		return "", errors.New("empty offer")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, rtp := m.rtpLike[like]; like != "" && !rtp && m.opened[like] != telephony.LegTrunkPhone {
		return "", errors.New("an RTP leg cannot be like a leg that is not G.711")
	}
	m.opened[id] = telephony.LegPhone
	if _, open := m.rtpLike[id]; !open {
		m.rtpLike[id] = like
	}
	return "rtp-" + holdWord(hold) + "answer-" + id, nil
}

func (m *media) OpenLegLike(ctx context.Context, id, offer, like string) (string, error) {
	m.unlocked("OpenLegLike " + id)
	m.mu.Lock()
	_, ok := m.opened[like]
	m.mu.Unlock()
	if !ok {
		return "", errors.New("no such leg to be like")
	}
	return m.OpenLeg(ctx, id, offer, telephony.LegTrunkPhone)
}

// LookupDID finds the extension of a direct number in any account.
func (d directory) LookupDID(ctx context.Context, n string) (telephony.Endpoint, bool, error) {
	for id, e := range extensions {
		if e.direct == n {
			ep, err := d.Describe(ctx, id)
			return ep, err == nil, err
		}
	}
	return telephony.Endpoint{}, false, nil
}

// inLeg is a call a fake carrier sent in: what the switch answered it.
type inLeg struct {
	mu        sync.Mutex
	rang      bool
	answered  string
	rejected  int
	byes      int
	reinvites []string
	changed   chan struct{}
}

func newInLeg() *inLeg { return &inLeg{changed: make(chan struct{}, 8)} }

func (l *inLeg) note(fn func()) error {
	l.mu.Lock()
	fn()
	l.mu.Unlock()
	l.changed <- struct{}{}
	return nil
}

func (l *inLeg) Ring() error { return l.note(func() { l.rang = true }) }
func (l *inLeg) Answer(_ context.Context, sdp string) error {
	return l.note(func() { l.answered = sdp })
}
func (l *inLeg) Reject(code int, _ string) error { return l.note(func() { l.rejected = code }) }
func (l *inLeg) Bye(context.Context) error       { return l.note(func() { l.byes++ }) }
func (l *inLeg) ReInvite(_ context.Context, sdp string) (string, error) {
	return "carrier-answer", l.note(func() { l.reinvites = append(l.reinvites, sdp) })
}

// wait waits until what the switch answered satisfies ok.
func (l *inLeg) wait(t *testing.T, what string, ok func(l *inLeg) bool) {
	t.Helper()
	for {
		l.mu.Lock()
		done := ok(l)
		l.mu.Unlock()
		if done {
			return
		}
		select {
		case <-l.changed:
		case <-timeout():
			t.Fatalf("the carrier was not told: %s", what)
		}
	}
}

// TestTrunkCallsIn: a carrier's call to a DID rings the extension's
// devices; the carrier hears the ring, the answer, the failures.
func TestTrunkCallsIn(t *testing.T) {
	ctx := context.Background()
	in := func(t *testing.T, r *rig, to string) (*inLeg, telephony.TrunkInEvents) {
		t.Helper()
		withCarrier(t, r)
		leg := newInLeg()
		return leg, r.sw.TrunkCallIn(ctx, leg, "carrier", "+442071234567", "Pat Smith", to, "carrier-offer")
	}
	ringing := func(t *testing.T, r *rig) telephony.Session {
		t.Helper()
		e := r.bus.waitFor(t, func(e telephony.Event) bool { return e.Extension == bob && e.Cause == telephony.CauseRing })
		return e.Session
	}
	t.Run("answered, hung up by the carrier", func(t *testing.T) {
		r := newRig(t)
		leg, ev := in(t, r, "+16505550102")
		s := ringing(t, r)
		leg.wait(t, "180", func(l *inLeg) bool { return l.rang })
		if c := s.Parties[0]; c.Owner != 0 || c.From.PhoneNumber != "+442071234567" || c.From.Name != "Pat Smith" {
			t.Fatalf("caller %+v", c)
		}
		if got := s.Parties[1].Ringing; len(got) != 2 {
			t.Fatalf("rings %v, want both of bob's devices", got)
		}
		s, _, err := r.sw.Answer(ctx, "b1", s.ID, "offer-b1")
		if err != nil {
			t.Fatal(err)
		}
		leg.wait(t, "200", func(l *inLeg) bool { return l.answered == "rtp-answer-"+s.Parties[0].ID })
		if kind, _ := r.media.kind(s.Parties[1].ID); kind != telephony.LegTrunkPhone {
			t.Fatalf("the answering browser's leg is %v, want one like the carrier's", kind)
		}
		wantFlows(t, r, legs(s))
		ev.Ended()
		wantCause(t, r, bob, s.ID, telephony.CauseHangup)
		if rec := recordOf(t, r, 1, s.Parties[1].ID); rec.Direction != telephony.Inbound || rec.Result != telephony.ResultConnected || rec.From.PhoneNumber != "+442071234567" {
			t.Fatalf("record %+v", rec)
		}
	})
	t.Run("hung up here", func(t *testing.T) {
		r := newRig(t)
		leg, _ := in(t, r, "+16505550102")
		s := ringing(t, r)
		if _, _, err := r.sw.Answer(ctx, "b1", s.ID, "offer-b1"); err != nil {
			t.Fatal(err)
		}
		if err := r.sw.Hangup(ctx, "b1", s.ID); err != nil {
			t.Fatal(err)
		}
		leg.wait(t, "BYE", func(l *inLeg) bool { return l.byes == 1 })
	})
	t.Run("cancelled by the carrier", func(t *testing.T) {
		r := newRig(t)
		leg, ev := in(t, r, "+16505550102")
		s := ringing(t, r)
		ev.Canceled()
		e := wantCause(t, r, bob, s.ID, telephony.CauseCancel)
		if e.Session.Parties[1].Result != telephony.ResultMissed {
			t.Fatalf("after the CANCEL: %+v", e.Session.Parties)
		}
		leg.mu.Lock()
		defer leg.mu.Unlock()
		if leg.rejected != 0 || leg.byes != 0 {
			t.Fatal("the switch answered a call the carrier cancelled")
		}
	})
	t.Run("rejected on every device", func(t *testing.T) {
		r := newRig(t)
		leg, _ := in(t, r, "+16505550102")
		s := ringing(t, r)
		for _, d := range []string{"b1", "b2"} {
			if err := r.sw.Reject(ctx, d, s.ID); err != nil {
				t.Fatal(err)
			}
		}
		leg.wait(t, "603", func(l *inLeg) bool { return l.rejected == 603 })
	})
	t.Run("not answered", func(t *testing.T) {
		r := newRig(t)
		leg, _ := in(t, r, "+16505550102")
		s := ringing(t, r)
		telephony.FireTimers(r.sw, s.ID)
		leg.wait(t, "408", func(l *inLeg) bool { return l.rejected == 408 })
	})
	t.Run("transferred to a colleague", func(t *testing.T) {
		r := newRig(t)
		_, _ = in(t, r, "+16505550102")
		s := ringing(t, r)
		if _, _, err := r.sw.Answer(ctx, "b1", s.ID, "offer-b1"); err != nil {
			t.Fatal(err)
		}
		if _, err := r.sw.Transfer(ctx, "b1", s.ID, "103"); err != nil {
			t.Fatal(err)
		}
		after, _, err := r.sw.Answer(ctx, "c1", s.ID, "offer-c1")
		if err != nil {
			t.Fatal(err)
		}
		if kind, _ := r.media.kind(after.Parties[1].ID); kind != telephony.LegTrunkPhone {
			t.Fatalf("the target's leg is %v, want one like the carrier's", kind)
		}
		wantFlows(t, r, legs(after))
	})
	for _, tc := range []struct {
		name string
		to   string
		code int
		prep func(r *rig)
	}{
		{"no such number", "+16505559999", 403, nil},
		{"not a number", "abc", 403, nil},
		{"do not disturb", "+16505550102", 480, func(r *rig) { r.setDND(t, bob, "DoNotAcceptAnyCalls") }},
		{"no device", "+16505550103", 480, func(r *rig) { r.sw.UnregisterDevice("c1") }},
	} {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			r := newRig(t)
			if tc.prep != nil {
				tc.prep(r)
			}
			leg, _ := in(t, r, tc.to)
			leg.wait(t, "the refusal", func(l *inLeg) bool { return l.rejected != 0 })
			if leg.rejected != tc.code || leg.rang {
				t.Fatalf("rejected %d (rang %v), want %d", leg.rejected, leg.rang, tc.code)
			}
			if n := len(r.sw.Sessions(bob)) + len(r.sw.Sessions(carol)); n != 0 {
				t.Fatalf("%d calls left", n)
			}
		})
	}
}

func nextReInvite(t *testing.T, l *carrierLeg) string {
	t.Helper()
	select {
	case sdp := <-l.reinvites:
		return sdp
	case <-timeout():
		t.Fatal("no re-INVITE")
	}
	return ""
}

// TestTrunkTransfersAndForwards: a call from the phone network is handed
// on to another outside number through the trunk (a new trunk side whose
// RTP leg carries the caller's codec); a failed target recalls the
// transferor; a browser's own call cannot go out on a trunk that way.
func TestTrunkTransfersAndForwards(t *testing.T) {
	ctx := context.Background()
	const mobile = "+442079460123"
	// in delivers a carrier's call to bob's direct number and waits for it to ring.
	var ev telephony.TrunkInEvents // of the last call in
	in := func(t *testing.T, r *rig) (*carrier, *inLeg, telephony.Session) {
		t.Helper()
		c := withCarrier(t, r)
		leg := newInLeg()
		ev = r.sw.TrunkCallIn(ctx, leg, "carrier", "+442071234567", "Pat Smith", "+16505550102", "carrier-offer")
		e := r.bus.waitFor(t, func(e telephony.Event) bool { return e.Extension == bob && e.Cause == telephony.CauseRing })
		return c, leg, e.Session
	}
	answered := func(t *testing.T, r *rig) (*carrier, *inLeg, telephony.Session) {
		t.Helper()
		c, leg, s := in(t, r)
		s, _, err := r.sw.Answer(ctx, "b1", s.ID, "offer-b1")
		if err != nil {
			t.Fatal(err)
		}
		leg.wait(t, "200", func(l *inLeg) bool { return l.answered != "" })
		return c, leg, s
	}
	t.Run("blind transfer to an outside number", func(t *testing.T) {
		r := newRig(t)
		c, _, s := answered(t, r)
		caller := s.Parties[0].ID
		if _, err := r.sw.Transfer(ctx, "b1", s.ID, mobile); err != nil {
			t.Fatal(err)
		}
		inv := c.next(t)
		if inv.call.To != mobile || inv.call.CallerID != "+16505550102" {
			t.Fatalf("the target's INVITE %+v, want to %s presenting bob's number", inv.call, mobile)
		}
		inv.ev.Answered("mobile-answer")
		e := wantCause(t, r, bob, s.ID, telephony.CauseTransferCompleted)
		target := e.Session.Parties[len(e.Session.Parties)-1]
		if target.To.PhoneNumber != mobile || target.Status != telephony.StatusAnswered {
			t.Fatalf("target %+v", target)
		}
		wantFlows(t, r, [2]string{caller, target.ID})
		// The caller hangs up: the target's carrier hears a BYE.
		ev.Ended()
		if canceled, byes := inv.leg.waitEnded(t); canceled || byes != 1 {
			t.Fatalf("the target's call: canceled %v, byes %d, want a BYE", canceled, byes)
		}
	})
	t.Run("the outside target is busy: bob's devices ring again", func(t *testing.T) {
		r := newRig(t)
		c, _, s := answered(t, r)
		if _, err := r.sw.Transfer(ctx, "b1", s.ID, mobile); err != nil {
			t.Fatal(err)
		}
		inv := c.next(t)
		inv.ev.Failed(486, "Busy Here", telephony.ResultBusy)
		wantCause(t, r, bob, s.ID, telephony.CauseTransferFailed)
		if !r.media.isClosed(partyTo(t, r, s.ID, mobile)) {
			t.Fatal("the failed target's RTP leg is open")
		}
	})
	t.Run("forwarded while it rings; the target answers for the carrier's caller", func(t *testing.T) {
		r := newRig(t)
		c, leg, s := in(t, r)
		if _, err := r.sw.Forward(ctx, "b1", s.ID, mobile); err != nil {
			t.Fatal(err)
		}
		inv := c.next(t)
		if inv.call.CallerID != "+16505550102" {
			t.Fatalf("the forward presents %q, want bob's number", inv.call.CallerID)
		}
		inv.ev.Answered("mobile-answer")
		leg.wait(t, "200", func(l *inLeg) bool { return l.answered == "rtp-answer-"+s.Parties[0].ID })
		wantFlows(t, r, [2]string{s.Parties[0].ID, partyTo(t, r, s.ID, mobile)})
		inv.ev.Ended()
		leg.wait(t, "BYE", func(l *inLeg) bool { return l.byes == 1 })
	})
	t.Run("a call between browsers cannot go out on a trunk", func(t *testing.T) {
		r := newRig(t)
		withCarrier(t, r)
		s := r.connected(t)
		if _, err := r.sw.Transfer(ctx, "b1", s.ID, mobile); !errors.Is(err, telephony.ErrInvalidState) {
			t.Fatalf("transfer of a browser's call to an outside number: %v, want ErrInvalidState", err)
		}
	})
}

// partyTo is the id of the party of call id that was dialled at number.
func partyTo(t *testing.T, r *rig, id, number string) string {
	t.Helper()
	for _, e := range r.bus.all() {
		for _, p := range e.Session.Parties {
			if e.Session.ID == id && p.To.PhoneNumber == number {
				return p.ID
			}
		}
	}
	t.Fatalf("no party of %s to %s", id, number)
	return ""
}

// TestDeskPhones: a device that speaks RTP (a desk phone) has RTP legs
// answering its offers; a call that may ring one answers its browser caller
// in G.711, so that either kind of device can answer it; a browser answers
// a desk phone's call like its leg.
func TestDeskPhones(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	withCarrier(t, r) // the gateway carries RTP legs
	if err := r.sw.RegisterDevice(telephony.Device{ID: "b3", ExtensionID: bob, RTP: true}); err != nil {
		t.Fatal(err)
	}
	t.Run("a browser calls; the desk phone answers", func(t *testing.T) {
		s := r.dial(t, "a1", "102")
		caller := s.Parties[0].ID
		if kind, _ := r.media.kind(caller); kind != telephony.LegTrunkPhone {
			t.Fatalf("the caller's leg is %v, want G.711 for the desk phone", kind)
		}
		if got := s.Parties[1].Ringing; !slices.Contains(got, "b3") || !slices.Contains(got, "b1") {
			t.Fatalf("rings %v, want the browsers and the desk phone", got)
		}
		s, answer, err := r.sw.Answer(ctx, "b3", s.ID, "phone-offer")
		if err != nil {
			t.Fatal(err)
		}
		callee := s.Parties[1].ID
		r.media.mu.Lock()
		like, rtp := r.media.rtpLike[callee]
		r.media.mu.Unlock()
		if !rtp || like != caller || answer != "rtp-answer-"+callee {
			t.Fatalf("the desk phone's leg: RTP %v like %q, answer %q", rtp, like, answer)
		}
		wantFlows(t, r, legs(s))
		if a, err := r.sw.DeviceOffer(ctx, "b3", s.ID, "phone-hold-offer"); err != nil || a != "rtp-answer-"+callee {
			t.Fatalf("the desk phone's new offer answered %q, %v", a, err)
		}
		if _, err := r.sw.DeviceOffer(ctx, "a1", s.ID, "offer"); !errors.Is(err, telephony.ErrInvalidState) {
			t.Fatalf("a browser's new offer: %v, want ErrInvalidState", err)
		}
		if err := r.sw.Hangup(ctx, "b3", s.ID); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("the desk phone calls; a browser answers like it", func(t *testing.T) {
		s, answer, err := r.sw.Dial(ctx, "b3", "101", "phone-offer")
		if err != nil {
			t.Fatal(err)
		}
		caller := s.Parties[0].ID
		if answer != "rtp-answer-"+caller {
			t.Fatalf("the desk phone's call answered %q", answer)
		}
		s, _, err = r.sw.Answer(ctx, "a1", s.ID, "offer-a1")
		if err != nil {
			t.Fatal(err)
		}
		if kind, _ := r.media.kind(s.Parties[1].ID); kind != telephony.LegTrunkPhone {
			t.Fatalf("alice's leg is %v, want one like the desk phone's", kind)
		}
		wantFlows(t, r, legs(s))
		if err := r.sw.Hangup(ctx, "a1", s.ID); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("the desk phone calls the echo line: refused, it is no browser", func(t *testing.T) {
		s, _, err := r.sw.Dial(ctx, "b3", "+15550101", "phone-offer")
		if err != nil || s.Parties[0].Code != 488 {
			t.Fatalf("%+v, %v; want 488", s.Parties, err)
		}
	})
}
