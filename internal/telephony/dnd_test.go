package telephony_test

import (
	"slices"
	"testing"

	"github.com/callbridge/widget-server/internal/presence"
	"github.com/callbridge/widget-server/internal/telephony"
)

// TestDoNotDisturb: while Bob's do-not-disturb is on, calls to him — by
// extension number or direct number — fail with 480 at once and ring no
// device; off again, they ring.
func TestDoNotDisturb(t *testing.T) {
	r := newRig(t)
	if !r.pres.TakesDirectCalls(bob) {
		t.Fatal("do-not-disturb on by default")
	}
	r.setDND(t, bob, presence.DoNotAcceptAnyCalls)
	if r.pres.TakesDirectCalls(bob) || !r.pres.TakesDirectCalls(alice) {
		t.Fatal("do-not-disturb not set for Bob alone")
	}
	for _, to := range []string{"102", "+16505550102"} {
		s := r.dial(t, "a1", to)
		caller, callee := s.Parties[0], s.Parties[1]
		if caller.Status != telephony.StatusDisconnected || caller.Code != 480 || caller.Reason != "Temporarily Unavailable" ||
			caller.Result != telephony.ResultFailed || callee.Result != telephony.ResultMissed || len(callee.Ringing) != 0 {
			t.Fatalf("call to %s in do-not-disturb: %+v", to, s.Parties)
		}
		if got := causes(r.bus.take()); !slices.Equal(got, []string{"101:dial", "101:failed", "102:failed"}) {
			t.Fatalf("events %v", got)
		}
	}
	recs := r.log.wait(t, 4)
	for _, rec := range recs {
		if rec.Extension == bob && (rec.Direction != telephony.Inbound || rec.Result != telephony.ResultMissed) {
			t.Errorf("Bob's record %+v", rec)
		}
	}
	// Alice is not in do-not-disturb: Bob reaches her.
	if s := r.dial(t, "b1", "101"); s.Parties[1].Status != telephony.StatusProceeding {
		t.Fatalf("call to Alice: %+v", s.Parties)
	}

	r.setDND(t, bob, presence.TakeAllCalls)
	if s := r.dial(t, "c1", "102"); s.Parties[1].Status != telephony.StatusProceeding ||
		!slices.Equal(s.Parties[1].Ringing, []string{"b1", "b2"}) {
		t.Fatalf("call after do-not-disturb off: %+v", s.Parties)
	}
}
