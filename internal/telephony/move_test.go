package telephony_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/callbridge/widget-server/internal/telephony"
)

// TestMove: Bob's call with Alice, answered on b1, moves to b2: offered
// there and answered, or picked up at once; Alice's leg stays.
func TestMove(t *testing.T) {
	ctx := context.Background()
	offer := func(t *testing.T, r *rig) (telephony.Session, telephony.Party) {
		t.Helper()
		s := r.connected(t)
		p := partyOf(t, r, s.ID, bob)
		r.bus.take()
		if err := r.sw.Move(ctx, bob, s.ID, p.ID, nil); err != nil {
			t.Fatal(err)
		}
		e := wantCause(t, r, bob, s.ID, telephony.CauseMoveOffer)
		if q, _ := e.Session.Party(p.ID); !slices.Equal(q.Offered, []string{"b2"}) || q.Device != "b1" || q.Status != telephony.StatusAnswered {
			t.Fatalf("offered party %+v", q)
		}
		wantFlows(t, r, legs(s)) // the call goes on meanwhile
		return s, p
	}
	// moved checks that Bob's party is on b2 with a new leg that hears Alice.
	moved := func(t *testing.T, r *rig, s telephony.Session, old telephony.Party) {
		t.Helper()
		e := wantCause(t, r, bob, s.ID, telephony.CauseMoved)
		p, _ := e.Session.Party(old.ID)
		if e.Device != "b1" || p.Device != "b2" || len(p.Offered) != 0 || p.Status != telephony.StatusAnswered {
			t.Fatalf("moved event: device %q, party %+v", e.Device, p)
		}
		if !r.media.isClosed(old.ID) {
			t.Fatal("the old device's leg is open")
		}
		alice := partyOf(t, r, s.ID, alice).ID
		got := r.media.flows()
		if len(got) != 2 || got[alice] == "" || got[alice] == old.ID || got[got[alice]] != alice {
			t.Fatalf("flows after the move: %v", got)
		}
		for _, ev := range r.bus.all() {
			if ev.Session.ID == s.ID && ev.Extension == 101 && (ev.Cause == telephony.CauseMoved || ev.Cause == telephony.CauseMoveOffer) {
				t.Fatal("the remote party heard of the move")
			}
		}
		if err := r.sw.Hangup(ctx, "b2", s.ID); err != nil {
			t.Fatalf("hang up on the new device: %v", err)
		}
	}
	t.Run("offered and answered", func(t *testing.T) {
		r := newRig(t)
		s, p := offer(t, r)
		if _, answer, err := r.sw.Answer(ctx, "b2", s.ID, "offer-b2"); err != nil || answer == "" {
			t.Fatalf("answer on b2: %q %v", answer, err)
		}
		moved(t, r, s, p)
	})
	t.Run("picked up", func(t *testing.T) {
		r := newRig(t)
		s := r.connected(t)
		p := partyOf(t, r, s.ID, bob)
		if _, _, err := r.sw.Pickup(ctx, "b2", s.ID, "offer-b2"); err != nil {
			t.Fatal(err)
		}
		moved(t, r, s, p)
	})
	t.Run("a held call moves held", func(t *testing.T) {
		r := newRig(t)
		s := r.connected(t)
		if err := r.sw.Hold(ctx, "b1", s.ID); err != nil {
			t.Fatal(err)
		}
		after, _, err := r.sw.Pickup(ctx, "b2", s.ID, "offer-b2")
		if err != nil {
			t.Fatal(err)
		}
		if p, _ := after.Party(partyOf(t, r, s.ID, bob).ID); p.Status != telephony.StatusHold || p.Device != "b2" {
			t.Fatalf("party %+v", p)
		}
		wantFlows(t, r)
		if err := r.sw.Unhold(ctx, "b2", s.ID); err != nil {
			t.Fatal(err)
		}
		if len(r.media.flows()) != 2 {
			t.Fatalf("flows %v", r.media.flows())
		}
	})
	t.Run("declined", func(t *testing.T) {
		r := newRig(t)
		s, p := offer(t, r)
		if err := r.sw.Reject(ctx, "b2", s.ID); err != nil {
			t.Fatal(err)
		}
		e := wantCause(t, r, bob, s.ID, telephony.CauseMoveEnd)
		if q, _ := e.Session.Party(p.ID); len(q.Offered) != 0 || q.Device != "b1" || e.Device != "b2" {
			t.Fatalf("after the decline: device %q party %+v", e.Device, q)
		}
		if _, _, err := r.sw.Answer(ctx, "b2", s.ID, "offer-b2"); !errors.Is(err, telephony.ErrNotYourCall) && !errors.Is(err, telephony.ErrInvalidState) {
			t.Fatalf("answer after the decline: %v", err)
		}
		wantFlows(t, r, legs(s))
	})
	t.Run("nobody answers", func(t *testing.T) {
		r := newRig(t)
		s, _ := offer(t, r)
		telephony.FireTimers(r.sw, s.ID)
		wantCause(t, r, bob, s.ID, telephony.CauseMoveEnd)
		wantFlows(t, r, legs(s))
	})
	t.Run("the offering device hangs up", func(t *testing.T) {
		r := newRig(t)
		s, p := offer(t, r)
		if err := r.sw.Hangup(ctx, "b1", s.ID); err != nil {
			t.Fatal(err)
		}
		e := wantCause(t, r, bob, s.ID, telephony.CauseHangup)
		if q, _ := e.Session.Party(p.ID); len(q.Offered) != 0 {
			t.Fatalf("ended party still offered: %+v", q)
		}
		if _, _, err := r.sw.Answer(ctx, "b2", s.ID, "offer-b2"); !errors.Is(err, telephony.ErrNoSuchCall) {
			t.Fatalf("answer after the end: %v", err)
		}
	})
	t.Run("refused", func(t *testing.T) {
		r := newRig(t)
		s := r.connected(t)
		p := partyOf(t, r, s.ID, bob)
		for _, tc := range []struct {
			name    string
			owner   int64
			party   string
			devices []string
			want    error
		}{
			{"another's party", carol, p.ID, nil, telephony.ErrNotYourCall},
			{"another's device", bob, p.ID, []string{"c1"}, telephony.ErrNoDevice},
			{"its own device", bob, p.ID, []string{"b1"}, telephony.ErrInvalidState},
			{"no such party", bob, "p-none", nil, telephony.ErrNoSuchParty},
			{"no other device", alice, partyOf(t, r, s.ID, alice).ID, nil, telephony.ErrUnreachable},
		} {
			if err := r.sw.Move(ctx, tc.owner, s.ID, tc.party, tc.devices); !errors.Is(err, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			}
		}
		if _, _, err := r.sw.Pickup(ctx, "b1", s.ID, "offer-b1"); !errors.Is(err, telephony.ErrInvalidState) {
			t.Errorf("pickup on the device that has it: %v", err)
		}
		if _, _, err := r.sw.Pickup(ctx, "c1", s.ID, "offer-c1"); !errors.Is(err, telephony.ErrNotYourCall) {
			t.Errorf("pickup by another extension: %v", err)
		}
		ringing := r.dial(t, "c1", "101")
		if _, _, err := r.sw.Pickup(ctx, "b2", ringing.ID, "offer-b2"); !errors.Is(err, telephony.ErrNotYourCall) {
			t.Errorf("pickup of a call Bob is not in: %v", err)
		}
	})
	t.Run("a bridged call moves", func(t *testing.T) {
		r := newRig(t)
		if err := r.sw.RegisterDevice(telephony.Device{ID: "a2", ExtensionID: alice}); err != nil {
			t.Fatal(err)
		}
		first, second := consulting(t, r)
		if _, err := r.sw.Bridge(ctx, bob, first.ID, partyOf(t, r, first.ID, bob).ID, second.ID, partyOf(t, r, second.ID, bob).ID); err != nil {
			t.Fatal(err)
		}
		after, _, err := r.sw.Pickup(ctx, "a2", first.ID, "offer-a2")
		if err != nil {
			t.Fatal(err)
		}
		carolLeg := partyOf(t, r, second.ID, carol).ID
		got := r.media.flows()
		if len(got) != 2 || got[carolLeg] == "" || got[carolLeg] == after.Parties[0].ID {
			t.Fatalf("flows after moving a bridged call: %v", got)
		}
	})
}
