package telephony_test

import (
	"context"
	"errors"
	"testing"

	"github.com/callbridge/widget-server/internal/telephony"
)

// TestHandover: a connected call leaves one switch without ending (its
// legs close, its events are Quiet, no record) and goes on in another,
// whose devices are told to connect again; once both have, their audio
// flows through the second switch's gateway, and the call's end there is
// logged once.
func TestHandover(t *testing.T) {
	ctx := context.Background()
	from, to := newRig(t), newRig(t)
	s := from.connected(t)
	from.bus.take()

	h, err := from.sw.Release(ctx, s.ID, telephony.ReleaseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := from.sw.Session(s.ID); ok {
		t.Fatal("the released call is still here")
	}
	for _, e := range from.bus.take() {
		if !e.Quiet || !e.Session.Ended.IsZero() {
			t.Fatalf("release event %s: quiet %v, ended %v", e.Cause, e.Quiet, e.Session.Ended)
		}
	}
	for _, p := range s.Parties {
		if !from.media.isClosed(p.ID) {
			t.Fatalf("leg %s still open where the call was", p.ID)
		}
	}
	if _, err := from.sw.Release(ctx, s.ID, telephony.ReleaseOptions{}); !errors.Is(err, telephony.ErrNoSuchCall) {
		t.Fatalf("a second release: %v", err)
	}

	if err := to.sw.Adopt(ctx, h); err != nil {
		t.Fatal(err)
	}
	if err := to.sw.Adopt(ctx, h); !errors.Is(err, telephony.ErrInvalidState) {
		t.Fatalf("a second adopt: %v", err)
	}
	told := map[string]bool{}
	for _, e := range to.bus.take() {
		if e.Cause == telephony.CauseRejoin && !e.Quiet {
			told[e.Device] = true
		}
	}
	if !told["a1"] || !told["b1"] {
		t.Fatalf("devices told to connect again: %v", told)
	}
	if got, ok := to.sw.Session(s.ID); !ok || got.Parties[0].Status != telephony.StatusAnswered || got.Parties[1].Status != telephony.StatusAnswered {
		t.Fatalf("the adopted call: %+v", got)
	}
	if _, _, err := to.sw.Rejoin(ctx, "c1", s.ID, "offer-c1"); !errors.Is(err, telephony.ErrNotYourCall) {
		t.Fatalf("a device not in the call connects: %v", err)
	}
	for _, d := range []string{"b1", "a1"} {
		if _, answer, err := to.sw.Rejoin(ctx, d, s.ID, "offer-"+d); err != nil || answer == "" {
			t.Fatalf("%s connects again: %q %v", d, answer, err)
		}
	}
	if _, _, err := to.sw.Rejoin(ctx, "a1", s.ID, "offer-a1"); !errors.Is(err, telephony.ErrInvalidState) {
		t.Fatalf("a device connects twice: %v", err)
	}
	a, b := s.Parties[0].ID, s.Parties[1].ID
	if f := to.media.flows(); f[a] != b || f[b] != a {
		t.Fatalf("audio after both connected again: %v", f)
	}

	if err := to.sw.Hangup(ctx, "a1", s.ID); err != nil {
		t.Fatal(err)
	}
	recs := to.log.wait(t, 2)
	for _, r := range recs {
		if r.TelephonySessionID != s.ID || r.Result != telephony.ResultConnected {
			t.Fatalf("record after the hand-over: %+v", r)
		}
	}
	if n := len(from.log.recs); n != 0 {
		t.Fatalf("%d records where the call was", n)
	}
}

// TestHandoverRefused: a call that is more than two browsers talking stays
// where it is.
func TestHandoverRefused(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	ringing := r.dial(t, "a1", "103")
	if _, err := r.sw.Release(ctx, ringing.ID, telephony.ReleaseOptions{}); !errors.Is(err, telephony.ErrInvalidState) {
		t.Fatalf("release of a ringing call: %v", err)
	}
	tone := r.dial(t, "b1", "+15550100")
	r.bus.waitFor(t, func(e telephony.Event) bool {
		return e.Session.ID == tone.ID && e.Cause == telephony.CauseAnswer
	})
	if _, err := r.sw.Release(ctx, tone.ID, telephony.ReleaseOptions{}); !errors.Is(err, telephony.ErrInvalidState) {
		t.Fatalf("release of a call to a test line: %v", err)
	}
	for _, id := range []string{ringing.ID, tone.ID} {
		if _, ok := r.sw.Session(id); !ok {
			t.Fatalf("call %s left the switch", id)
		}
	}
}

// TestHandoverOfATransferredCall: a call Bob transferred to Carol moves
// with its call-log legs: the records written where it ends list both.
func TestHandoverOfATransferredCall(t *testing.T) {
	ctx := context.Background()
	from, to := newRig(t), newRig(t)
	s := from.connected(t)
	if _, err := from.sw.Transfer(ctx, "b1", s.ID, "103"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := from.sw.Answer(ctx, "c1", s.ID, "offer-c1"); err != nil {
		t.Fatal(err)
	}
	h, err := from.sw.Release(ctx, s.ID, telephony.ReleaseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := to.sw.Adopt(ctx, h); err != nil {
		t.Fatal(err)
	}
	if err := to.sw.Hangup(ctx, "a1", s.ID); err != nil {
		t.Fatal(err)
	}
	// Bob's record was written where he left; alice's and carol's where
	// the call ended.
	from.log.wait(t, 1)
	for _, r := range to.log.wait(t, 2) {
		if r.Extension == alice && len(r.Legs) < 2 {
			t.Fatalf("alice's record after the hand-over has legs %+v, want the transfer's", r.Legs)
		}
	}
}

// TestHandoverOfADeskPhoneCall: a call between a browser and a desk phone
// moves only into a conference's mix (IntoMix). Where it goes, each
// device connects again in G.711, whichever comes first: the browser's
// leg is G.711 for the phone, the phone's RTP leg answers its new offer
// like the browser's leg, and the two hear each other.
func TestHandoverOfADeskPhoneCall(t *testing.T) {
	ctx := context.Background()
	for _, phoneFirst := range []bool{false, true} {
		from, to := newRig(t), newRig(t)
		for _, r := range []*rig{from, to} {
			withCarrier(t, r) // the gateways carry RTP legs
			if err := r.sw.RegisterDevice(telephony.Device{ID: "b3", ExtensionID: bob, RTP: true}); err != nil {
				t.Fatal(err)
			}
		}
		s := from.dial(t, "a1", "102")
		s, _, err := from.sw.Answer(ctx, "b3", s.ID, "phone-offer")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := from.sw.Release(ctx, s.ID, telephony.ReleaseOptions{}); !errors.Is(err, telephony.ErrInvalidState) {
			t.Fatalf("a desk phone's call released for a bridge: %v", err)
		}
		h, err := from.sw.Release(ctx, s.ID, telephony.ReleaseOptions{IntoMix: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := to.sw.Adopt(ctx, h); err != nil {
			t.Fatal(err)
		}
		browser, phone := s.Parties[0].ID, s.Parties[1].ID
		rejoinBrowser := func() {
			if _, _, err := to.sw.Rejoin(ctx, "a1", s.ID, "offer-a1"); err != nil {
				t.Fatal(err)
			}
			if kind, _ := to.media.kind(browser); kind != telephony.LegTrunkPhone {
				t.Fatalf("the browser's leg is %v, want G.711 for the desk phone", kind)
			}
		}
		if !phoneFirst {
			rejoinBrowser()
		}
		_, answer, err := to.sw.Rejoin(ctx, "b3", s.ID, "phone-offer-2")
		if err != nil || answer != "rtp-answer-"+phone {
			t.Fatalf("the desk phone connects again: %q %v", answer, err)
		}
		to.media.mu.Lock()
		like, rtp := to.media.rtpLike[phone]
		to.media.mu.Unlock()
		if want := map[bool]string{false: browser, true: ""}[phoneFirst]; !rtp || like != want {
			t.Fatalf("the desk phone's leg: RTP %v like %q, want like %q", rtp, like, want)
		}
		if phoneFirst {
			rejoinBrowser()
		}
		wantFlows(t, to, legs(s))
		if err := to.sw.Hangup(ctx, "b3", s.ID); err != nil {
			t.Fatal(err)
		}
	}
}
