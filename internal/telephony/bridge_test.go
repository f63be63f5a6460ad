package telephony_test

import (
	"context"
	"errors"
	"testing"

	"github.com/callbridge/widget-server/internal/telephony"
)

// consulting returns Alice's call with Bob (first, held on b1) and Bob's
// consultation with Carol (second, answered on c1).
func consulting(t *testing.T, r *rig) (first, second telephony.Session) {
	t.Helper()
	first = r.connected(t)
	second = r.dial(t, "b1", "103")
	second, _, err := r.sw.Answer(context.Background(), "c1", second.ID, "offer-c1")
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, r, first.ID, bob, telephony.StatusHold)
	wantFlows(t, r, legs(second))
	return first, second
}

// TestWarmTransfer: Bob consults Carol while Alice holds, then joins Alice
// to Carol and leaves both calls.
func TestWarmTransfer(t *testing.T) {
	ctx := context.Background()
	bridge := func(t *testing.T, r *rig, first, second telephony.Session) telephony.Session {
		t.Helper()
		after, err := r.sw.Bridge(ctx, bob, first.ID, partyOf(t, r, first.ID, bob).ID, second.ID, partyOf(t, r, second.ID, bob).ID)
		if err != nil {
			t.Fatalf("bridge: %v", err)
		}
		return after
	}
	t.Run("completed", func(t *testing.T) {
		r := newRig(t)
		first, second := consulting(t, r)
		bobFirst, bobSecond := partyOf(t, r, first.ID, bob), partyOf(t, r, second.ID, bob)
		aliceLeg, carolLeg := partyOf(t, r, first.ID, alice).ID, partyOf(t, r, second.ID, carol).ID
		r.bus.take()
		after := bridge(t, r, first, second)
		if len(after.Parties) != 1 || after.Parties[0].Owner != alice || after.Parties[0].Status != telephony.StatusAnswered {
			t.Fatalf("first call after: %+v", after.Parties)
		}
		wantFlows(t, r, [2]string{aliceLeg, carolLeg})
		if !r.media.isClosed(bobFirst.ID) || !r.media.isClosed(bobSecond.ID) {
			t.Fatal("a leg of the transferor is open")
		}
		e := wantCause(t, r, bob, first.ID, telephony.CauseTransferCompleted)
		if e.Target.ExtensionNumber != "103" || e.Device != "b1" {
			t.Fatalf("transferor's event: target %+v device %q", e.Target, e.Device)
		}
		if p, _ := e.Session.Party(bobFirst.ID); p.Result != telephony.ResultTransferred {
			t.Fatalf("transferor's party %+v", p)
		}
		if e.Presence.TelephonyStatus != telephony.NoCall {
			t.Fatalf("transferor's presence %s", e.Presence.TelephonyStatus)
		}
		wantCause(t, r, alice, first.ID, telephony.CauseTransferCompleted)
		wantCause(t, r, carol, second.ID, telephony.CauseBridge)
		wantCause(t, r, bob, second.ID, telephony.CauseBridge)
		for _, id := range []string{bobFirst.ID, bobSecond.ID} {
			if rec := recordOf(t, r, 2, id); rec.Result != telephony.ResultTransferred || len(rec.Legs) != 2 || rec.Legs[1].Action != telephony.ActionTransfer {
				t.Fatalf("transferor's record %+v", rec)
			}
		}
		if len(r.sw.Sessions(bob)) != 0 {
			t.Fatalf("Bob still has calls: %+v", r.sw.Sessions(bob))
		}

		// One conversation: a hold on either side stops both ways.
		if err := r.sw.Hold(ctx, "c1", second.ID); err != nil {
			t.Fatal(err)
		}
		wantFlows(t, r)
		if err := r.sw.Unhold(ctx, "c1", second.ID); err != nil {
			t.Fatal(err)
		}
		wantFlows(t, r, [2]string{aliceLeg, carolLeg})
		if err := r.sw.Mute(ctx, "a1", first.ID, true); err != nil {
			t.Fatal(err)
		}
		if got := r.media.flows(); len(got) != 1 || got[carolLeg] != aliceLeg {
			t.Fatalf("flows with Alice muted: %v", got)
		}

		// Either hanging up ends both.
		if err := r.sw.Hangup(ctx, "c1", second.ID); err != nil {
			t.Fatal(err)
		}
		wantCause(t, r, alice, first.ID, telephony.CauseHangup)
		if _, ok := r.sw.Session(first.ID); ok {
			t.Fatal("the first call goes on")
		}
		rec := recordOf(t, r, 4, aliceLeg)
		if rec.Result != telephony.ResultConnected || len(rec.Legs) != 2 || rec.Legs[0].Result != telephony.ResultTransferred ||
			rec.Legs[1].Action != telephony.ActionTransfer || rec.Legs[1].To.ExtensionNumber != "103" || rec.Legs[1].Result != telephony.ResultConnected {
			t.Fatalf("Alice's record %+v", rec)
		}
		rec = recordOf(t, r, 4, carolLeg)
		if len(rec.Legs) != 2 || rec.Legs[1].Action != telephony.ActionTransfer || rec.Legs[1].To.ExtensionNumber != "101" {
			t.Fatalf("Carol's record %+v", rec)
		}
	})
	t.Run("a lost leg ends both", func(t *testing.T) {
		r := newRig(t)
		first, second := consulting(t, r)
		aliceLeg := partyOf(t, r, first.ID, alice).ID
		bridge(t, r, first, second)
		r.sw.LegFailed(aliceLeg)
		wantCause(t, r, carol, second.ID, telephony.CauseHangup)
	})
	t.Run("cancelled: the consultation hangs up", func(t *testing.T) {
		r := newRig(t)
		first, second := consulting(t, r)
		if err := r.sw.Hangup(ctx, "b1", second.ID); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, r, first.ID, bob, telephony.StatusAnswered)
		wantFlows(t, r, legs(first))
	})
	t.Run("the transferee hangs up mid-consult", func(t *testing.T) {
		r := newRig(t)
		first, second := consulting(t, r)
		bobFirst := partyOf(t, r, first.ID, bob)
		if err := r.sw.Hangup(ctx, "a1", first.ID); err != nil {
			t.Fatal(err)
		}
		_, err := r.sw.Bridge(ctx, bob, first.ID, bobFirst.ID, second.ID, partyOf(t, r, second.ID, bob).ID)
		if !errors.Is(err, telephony.ErrNoSuchCall) {
			t.Fatalf("bridge after the transferee left: %v", err)
		}
		wantFlows(t, r, legs(second)) // the consultation goes on
	})
	t.Run("the transferor signs out mid-consult", func(t *testing.T) {
		r := newRig(t)
		first, second := consulting(t, r)
		r.sw.UnregisterDevice("b1")
		wantCause(t, r, alice, first.ID, telephony.CauseHangup)
		wantCause(t, r, carol, second.ID, telephony.CauseHangup)
		wantFlows(t, r)
	})
	t.Run("the consultation fails: the first call resumes", func(t *testing.T) {
		r := newRig(t)
		first := r.connected(t)
		second := r.dial(t, "b1", "103")
		if err := r.sw.Reject(ctx, "c1", second.ID); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, r, first.ID, bob, telephony.StatusAnswered)
		wantFlows(t, r, legs(first))
	})
	t.Run("refused", func(t *testing.T) {
		r := newRig(t)
		first := r.connected(t)
		ringing := r.dial(t, "b1", "103")
		bobFirst, bobRinging := partyOf(t, r, first.ID, bob), partyOf(t, r, ringing.ID, bob)
		for _, tc := range []struct {
			name           string
			owner          int64
			s1, p1, s2, p2 string
			want           error
		}{
			{"target still rings", bob, first.ID, bobFirst.ID, ringing.ID, bobRinging.ID, telephony.ErrInvalidState},
			{"to itself", bob, first.ID, bobFirst.ID, first.ID, bobFirst.ID, telephony.ErrInvalidState},
			{"another's party", carol, first.ID, bobFirst.ID, ringing.ID, bobRinging.ID, telephony.ErrNotYourCall},
			{"no such call", bob, first.ID, bobFirst.ID, "s-none", "p-none", telephony.ErrNoSuchCall},
			{"no such party", bob, first.ID, "p-none", ringing.ID, bobRinging.ID, telephony.ErrNoSuchParty},
		} {
			if _, err := r.sw.Bridge(ctx, tc.owner, tc.s1, tc.p1, tc.s2, tc.p2); !errors.Is(err, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			}
		}
		if _, ok := r.sw.Session(first.ID); !ok {
			t.Fatal("a refused bridge ended the call")
		}
	})
	t.Run("a bridged call is not transferred again", func(t *testing.T) {
		r := newRig(t)
		first, second := consulting(t, r)
		bridge(t, r, first, second)
		if _, err := r.sw.Transfer(ctx, "a1", first.ID, "102"); !errors.Is(err, telephony.ErrInvalidState) {
			t.Fatalf("transfer of a bridged call: %v", err)
		}
	})
}
