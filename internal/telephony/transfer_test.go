package telephony_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/callbridge/widget-server/internal/telephony"
)

// recordOf waits for n call-log records and returns the one of party id.
func recordOf(t *testing.T, r *rig, n int, id string) telephony.CallRecord {
	t.Helper()
	for _, rec := range r.log.wait(t, n) {
		if rec.PartyID == id {
			return rec
		}
	}
	t.Fatalf("no call-log record of party %s", id)
	return telephony.CallRecord{}
}

// TestBlindTransfer: Bob, on a call with Alice, transfers it; he leaves at
// once, Alice stays, and the target rings; when it fails, Bob's devices
// ring again.
func TestBlindTransfer(t *testing.T) {
	ctx := context.Background()
	// start transfers Alice's call with Bob (b1) to to.
	start := func(t *testing.T, r *rig, to string) (telephony.Session, telephony.Party) {
		t.Helper()
		s := r.connected(t)
		bobParty := partyOf(t, r, s.ID, bob)
		r.bus.take()
		after, err := r.sw.Transfer(ctx, "b1", s.ID, to)
		if err != nil {
			t.Fatalf("transfer to %s: %v", to, err)
		}
		if len(after.Parties) != 2 || after.Parties[0].Owner != alice || after.Parties[1].Status != telephony.StatusProceeding {
			t.Fatalf("after the transfer: %+v", after.Parties)
		}
		if !r.media.isClosed(bobParty.ID) {
			t.Fatal("the transferor's leg is open")
		}
		wantFlows(t, r) // Alice hears no one while the target rings
		rec := recordOf(t, r, 1, bobParty.ID)
		if rec.Result != telephony.ResultTransferred || rec.Extension != bob {
			t.Fatalf("transferor's record %+v", rec)
		}
		e := wantCause(t, r, bob, s.ID, telephony.CauseTransferStarted)
		if p, _ := e.Session.Party(bobParty.ID); p.Status != telephony.StatusDisconnected || p.Result != telephony.ResultTransferred {
			t.Fatalf("transferor's party in the event: %+v", p)
		}
		if e.Presence.TelephonyStatus != telephony.NoCall {
			t.Fatalf("transferor's presence %s", e.Presence.TelephonyStatus)
		}
		wantCause(t, r, alice, s.ID, telephony.CauseTransferStarted)
		return after, bobParty
	}
	aliceLeg := func(s telephony.Session) string { return s.Parties[0].ID }

	t.Run("completed", func(t *testing.T) {
		r := newRig(t)
		s, _ := start(t, r, "103")
		wantCause(t, r, carol, s.ID, telephony.CauseRing)
		if got := s.Parties[1].Ringing; !slices.Equal(got, []string{"c1"}) {
			t.Fatalf("target rings %v", got)
		}
		s, _, err := r.sw.Answer(ctx, "c1", s.ID, "offer-c1")
		if err != nil {
			t.Fatal(err)
		}
		wantFlows(t, r, legs(s))
		wantCause(t, r, bob, s.ID, telephony.CauseTransferCompleted)
		if err := r.sw.Hangup(ctx, "a1", s.ID); err != nil {
			t.Fatal(err)
		}
		if rec := recordOf(t, r, 3, s.Parties[1].ID); rec.Result != telephony.ResultConnected || rec.Extension != carol {
			t.Fatalf("target's record %+v", rec)
		}
	})
	t.Run("by the caller", func(t *testing.T) {
		r := newRig(t)
		s := r.connected(t)
		after, err := r.sw.Transfer(ctx, "a1", s.ID, "103")
		if err != nil {
			t.Fatal(err)
		}
		if after.Parties[0].Owner != bob || after.Parties[1].Owner != carol {
			t.Fatalf("parties %+v", after.Parties)
		}
		after, _, err = r.sw.Answer(ctx, "c1", s.ID, "offer-c1")
		if err != nil {
			t.Fatal(err)
		}
		wantFlows(t, r, legs(after))
	})
	t.Run("of a held call", func(t *testing.T) {
		r := newRig(t)
		s := r.connected(t)
		if err := r.sw.Hold(ctx, "b1", s.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := r.sw.Transfer(ctx, "b1", s.ID, "103"); err != nil {
			t.Fatal(err)
		}
		wantFlows(t, r)
		after, _, err := r.sw.Answer(ctx, "c1", s.ID, "offer-c1")
		if err != nil {
			t.Fatal(err)
		}
		wantFlows(t, r, legs(after))
	})
	// Each failure of the target brings the call back to Bob's devices.
	for _, tc := range []struct {
		name   string
		to     string
		fail   func(t *testing.T, r *rig, id string)
		record string // the target's call-log result; "" for a test line
	}{
		// The busy line answers busy after its own short delay; firing the
		// call's timers here could also fire the recall's ring timeout.
		{"target busy", "+15550102", func(*testing.T, *rig, string) {}, ""},
		{"target rings out", "+15550107", func(t *testing.T, r *rig, id string) { telephony.FireTimers(r.sw, id) }, ""},
		{"no answer", "103", func(t *testing.T, r *rig, id string) { telephony.FireTimers(r.sw, id) }, telephony.ResultMissed},
		{"target rejects", "103", func(t *testing.T, r *rig, id string) {
			if err := r.sw.Reject(ctx, "c1", id); err != nil {
				t.Fatal(err)
			}
		}, telephony.ResultRejected},
		{"target signs out", "103", func(t *testing.T, r *rig, id string) { r.sw.UnregisterDevice("c1") }, telephony.ResultMissed},
	} {
		t.Run("recall: "+tc.name, func(t *testing.T) {
			r := newRig(t)
			s, _ := start(t, r, tc.to)
			target := s.Parties[1]
			tc.fail(t, r, s.ID)
			e := wantCause(t, r, bob, s.ID, telephony.CauseTransferFailed)
			if p, _ := e.Session.Party(target.ID); p.Status != telephony.StatusDisconnected {
				t.Fatalf("target in the event: %+v", p)
			}
			wantCause(t, r, bob, s.ID, telephony.CauseRing)
			recall := partyOf(t, r, s.ID, bob)
			if !slices.Equal(recall.Ringing, []string{"b1", "b2"}) || recall.Status != telephony.StatusProceeding {
				t.Fatalf("recall %+v", recall)
			}
			wantFlows(t, r)
			if tc.record != "" {
				if rec := recordOf(t, r, 2, target.ID); rec.Result != tc.record {
					t.Fatalf("target's record %+v", rec)
				}
			}
			after, _, err := r.sw.Answer(ctx, "b2", s.ID, "offer-b2")
			if err != nil {
				t.Fatal(err)
			}
			wantFlows(t, r, [2]string{aliceLeg(after), recall.ID})
		})
	}
	t.Run("recall not answered", func(t *testing.T) {
		r := newRig(t)
		s, _ := start(t, r, "103")
		telephony.FireTimers(r.sw, s.ID)
		wantCause(t, r, bob, s.ID, telephony.CauseTransferFailed)
		recall := partyOf(t, r, s.ID, bob)
		telephony.FireTimers(r.sw, s.ID)
		e := wantCause(t, r, alice, s.ID, telephony.CauseTimeout)
		if e.Session.Ended.IsZero() || e.Session.Parties[0].Result != telephony.ResultConnected {
			t.Fatalf("after the recall: %+v", e.Session.Parties)
		}
		if rec := recordOf(t, r, 4, recall.ID); rec.Result != telephony.ResultMissed {
			t.Fatalf("recall's record %+v", rec)
		}
		wantFlows(t, r)
	})
	t.Run("nowhere to recall", func(t *testing.T) {
		r := newRig(t)
		s, _ := start(t, r, "103")
		r.sw.UnregisterDevice("b1")
		r.sw.UnregisterDevice("b2")
		telephony.FireTimers(r.sw, s.ID)
		e := wantCause(t, r, alice, s.ID, telephony.CauseTransferFailed)
		if e.Session.Ended.IsZero() || e.Session.Parties[0].Result != telephony.ResultConnected {
			t.Fatalf("after the failed transfer: %+v", e.Session.Parties)
		}
		wantFlows(t, r)
		wantCause(t, r, bob, s.ID, telephony.CauseTransferFailed)
	})
	t.Run("refused targets change nothing", func(t *testing.T) {
		for _, tc := range []struct {
			to   string
			want error
		}{
			{"+15550104", telephony.ErrUnreachable}, // invalid number
			{"+15550103", telephony.ErrUnreachable}, // unavailable
			{"999", telephony.ErrUnreachable},
			{"201", telephony.ErrUnreachable}, // another account's extension
			{"", telephony.ErrBadNumber},
			{"+15550100", telephony.ErrInvalidState}, // a tone line takes no connected leg
		} {
			r := newRig(t)
			s := r.connected(t)
			r.bus.take()
			if _, err := r.sw.Transfer(ctx, "b1", s.ID, tc.to); !errors.Is(err, tc.want) {
				t.Fatalf("transfer to %q: %v, want %v", tc.to, err, tc.want)
			}
			if len(r.bus.take()) != 0 {
				t.Fatalf("transfer to %q published events", tc.to)
			}
			wantStatus(t, r, s.ID, bob, telephony.StatusAnswered)
			wantFlows(t, r, legs(s))
		}
	})
	t.Run("target in do-not-disturb", func(t *testing.T) {
		r := newRig(t)
		r.setDND(t, carol, "DoNotAcceptAnyCalls")
		s := r.connected(t)
		if _, err := r.sw.Transfer(ctx, "b1", s.ID, "103"); !errors.Is(err, telephony.ErrUnreachable) {
			t.Fatalf("err = %v", err)
		}
		wantFlows(t, r, legs(s))
	})
	t.Run("not transferable", func(t *testing.T) {
		r := newRig(t)
		ringing := r.dial(t, "a1", "102")
		if _, err := r.sw.Transfer(ctx, "a1", ringing.ID, "103"); !errors.Is(err, telephony.ErrInvalidState) {
			t.Fatalf("transfer before the answer: %v", err)
		}
		if _, err := r.sw.Transfer(ctx, "c1", ringing.ID, "103"); !errors.Is(err, telephony.ErrNotYourCall) {
			t.Fatalf("transfer by a stranger: %v", err)
		}
		echo := r.dial(t, "c1", "+15550101")
		telephony.FireTimers(r.sw, echo.ID)
		wantCause(t, r, carol, echo.ID, telephony.CauseAnswer)
		if _, err := r.sw.Transfer(ctx, "c1", echo.ID, "101"); !errors.Is(err, telephony.ErrInvalidState) {
			t.Fatalf("transfer of a test line: %v", err)
		}
	})
	t.Run("transferor hangs up while the target rings", func(t *testing.T) {
		r := newRig(t)
		s, _ := start(t, r, "103")
		if err := r.sw.Hangup(ctx, "b1", s.ID); !errors.Is(err, telephony.ErrNotYourCall) {
			t.Fatalf("transferor's hangup: %v", err)
		}
		if _, err := r.sw.Transfer(ctx, "a1", s.ID, "102"); !errors.Is(err, telephony.ErrInvalidState) {
			t.Fatalf("second transfer while one rings: %v", err)
		}
		after, _, err := r.sw.Answer(ctx, "c1", s.ID, "offer-c1")
		if err != nil {
			t.Fatal(err)
		}
		wantFlows(t, r, legs(after))
	})
	t.Run("transferee hangs up while the target rings", func(t *testing.T) {
		r := newRig(t)
		s, _ := start(t, r, "103")
		target := s.Parties[1]
		if err := r.sw.Hangup(ctx, "a1", s.ID); err != nil {
			t.Fatal(err)
		}
		e := wantCause(t, r, carol, s.ID, telephony.CauseHangup)
		if p, _ := e.Session.Party(target.ID); p.Code != 487 || p.Result != telephony.ResultMissed || len(p.Ringing) != 0 {
			t.Fatalf("target after the hangup: %+v", p)
		}
		if rec := recordOf(t, r, 3, s.Parties[0].ID); rec.Result != telephony.ResultConnected {
			t.Fatalf("transferee's record %+v", rec)
		}
		wantFlows(t, r)
		if e := wantCause(t, r, bob, s.ID, telephony.CauseTransferFailed); e.Presence.TelephonyStatus != telephony.NoCall {
			t.Fatalf("transferor's presence %s", e.Presence.TelephonyStatus)
		}
	})
	t.Run("the transferor's held call resumes", func(t *testing.T) {
		r := newRig(t)
		first := r.dial(t, "b1", "103")
		first, _, _ = r.sw.Answer(ctx, "c1", first.ID, "offer-c1")
		second := r.dial(t, "b1", "101") // holds the first, for this one
		second, _, _ = r.sw.Answer(ctx, "a1", second.ID, "offer-a1")
		wantStatus(t, r, first.ID, bob, telephony.StatusHold)
		if _, err := r.sw.Transfer(ctx, "b1", second.ID, "+15550107"); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, r, first.ID, bob, telephony.StatusAnswered)
		wantFlows(t, r, legs(first))
	})
}

// TestForward: a ringing party hands the call to another number; the
// target rings instead, and the call goes on as dialled.
func TestForward(t *testing.T) {
	ctx := context.Background()
	t.Run("answered by the target", func(t *testing.T) {
		r := newRig(t)
		s := r.dial(t, "a1", "102")
		bobParty := s.Parties[1]
		r.bus.take()
		after, err := r.sw.Forward(ctx, "b2", s.ID, "103")
		if err != nil {
			t.Fatal(err)
		}
		if len(after.Parties) != 2 || after.Parties[1].Owner != carol || !slices.Equal(after.Parties[1].Ringing, []string{"c1"}) {
			t.Fatalf("after the forward: %+v", after.Parties)
		}
		e := wantCause(t, r, bob, s.ID, telephony.CauseForward)
		if p, _ := e.Session.Party(bobParty.ID); p.Status != telephony.StatusDisconnected || len(p.Ringing) != 0 || e.Device != "b2" {
			t.Fatalf("forwarding party %+v", p)
		}
		wantCause(t, r, carol, s.ID, telephony.CauseRing)
		wantCause(t, r, alice, s.ID, telephony.CauseForward)
		if rec := recordOf(t, r, 1, bobParty.ID); rec.Result != telephony.ResultForwarded {
			t.Fatalf("forwarding party's record %+v", rec)
		}
		if _, _, err := r.sw.Answer(ctx, "b1", s.ID, "offer-b1"); err == nil {
			t.Fatal("answered on a device of the forwarding party")
		}
		after, _, err = r.sw.Answer(ctx, "c1", s.ID, "offer-c1")
		if err != nil {
			t.Fatal(err)
		}
		wantFlows(t, r, legs(after))
	})
	t.Run("target does not answer", func(t *testing.T) {
		r := newRig(t)
		s := r.dial(t, "a1", "102")
		if _, err := r.sw.Forward(ctx, "b1", s.ID, "103"); err != nil {
			t.Fatal(err)
		}
		telephony.FireTimers(r.sw, s.ID)
		e := wantCause(t, r, alice, s.ID, telephony.CauseTimeout)
		if e.Session.Parties[0].Result != telephony.ResultNoAnswer {
			t.Fatalf("caller %+v", e.Session.Parties[0])
		}
		wantFlows(t, r)
	})
	t.Run("to a busy test line", func(t *testing.T) {
		r := newRig(t)
		s := r.dial(t, "a1", "102")
		if _, err := r.sw.Forward(ctx, "b1", s.ID, "+15550102"); err != nil {
			t.Fatal(err)
		}
		telephony.FireTimers(r.sw, s.ID)
		e := wantCause(t, r, alice, s.ID, telephony.CauseFailed)
		if e.Session.Parties[0].Code != 486 {
			t.Fatalf("caller %+v", e.Session.Parties[0])
		}
	})
	t.Run("refused", func(t *testing.T) {
		r := newRig(t)
		s := r.dial(t, "a1", "102")
		if _, err := r.sw.Forward(ctx, "b1", s.ID, "+15550104"); !errors.Is(err, telephony.ErrUnreachable) {
			t.Fatalf("invalid number: %v", err)
		}
		if _, err := r.sw.Forward(ctx, "a1", s.ID, "103"); !errors.Is(err, telephony.ErrInvalidState) {
			t.Fatalf("forward by the caller: %v", err)
		}
		if got := partyOf(t, r, s.ID, bob).Ringing; !slices.Equal(got, []string{"b1", "b2"}) {
			t.Fatalf("still rings %v", got)
		}
		s, _, _ = r.sw.Answer(ctx, "b1", s.ID, "offer-b1")
		if _, err := r.sw.Forward(ctx, "b1", s.ID, "103"); !errors.Is(err, telephony.ErrInvalidState) {
			t.Fatalf("forward after the answer: %v", err)
		}
	})
}
