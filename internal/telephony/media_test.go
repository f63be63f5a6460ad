package telephony_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/callbridge/widget-server/internal/telephony"
)

// TestAnswerConnectFails: when the answering leg cannot be connected to the
// caller's, the call ends (503 "Media failed") and both legs close; the
// same for the to leg of a RingOut.
func TestAnswerConnectFails(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name  string
		place func(t *testing.T, r *rig) string
	}{
		{"dialled", func(t *testing.T, r *rig) string { return r.dial(t, "a1", "102").ID }},
		{"RingOut", func(t *testing.T, r *rig) string {
			ro, err := r.sw.RingOut(ctx, alice, "101", "102", "", false)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := r.sw.Answer(ctx, "a1", ro.TelephonySessionID, "offer-a1"); err != nil {
				t.Fatal(err)
			}
			return ro.TelephonySessionID
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			id := tt.place(t, r)
			r.media.mu.Lock()
			r.media.connErr = errors.New("no route")
			r.media.mu.Unlock()
			if _, _, err := r.sw.Answer(ctx, "b1", id, "offer-b1"); err == nil {
				t.Fatal("answer succeeded without a connection")
			}
			e := r.bus.waitFor(t, func(e telephony.Event) bool { return e.Cause == telephony.CauseMediaFailed })
			if e.Device != "b1" || !e.Session.Connected.IsZero() {
				t.Fatalf("event %+v", e)
			}
			for _, p := range e.Session.Parties {
				if p.Status != telephony.StatusDisconnected || p.Code != 503 || p.Reason != "Media failed" {
					t.Fatalf("party %+v", p)
				}
				if !r.media.isClosed(p.ID) {
					t.Errorf("leg %s not closed", p.ID)
				}
			}
			if _, ok := r.sw.Session(id); ok {
				t.Fatal("call still active")
			}
		})
	}
}

// TestForwardingFollowsLastChange: holds and mutes from both sides at once
// reach the media in the order the switch made them, so that what each leg
// forwards in the end is what the call's final state says.
func TestForwardingFollowsLastChange(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	s := r.connected(t)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := 0; j < 25; j++ {
				r.sw.Mute(ctx, "a1", s.ID, j%2 == 0)
			}
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < 25; j++ {
				if j%2 == 0 {
					r.sw.Hold(ctx, "b1", s.ID)
				} else {
					r.sw.Unhold(ctx, "b1", s.ID)
				}
			}
		}()
	}
	wg.Wait()
	final, ok := r.sw.Session(s.ID)
	if !ok {
		t.Fatal("call ended")
	}
	held := final.Parties[0].Status == telephony.StatusHold || final.Parties[1].Status == telephony.StatusHold
	last := map[string]bool{}
	for _, f := range r.media.takeForwards() {
		last[f.leg] = f.on
	}
	for _, p := range final.Parties {
		if want := !p.Muted && !held; last[p.ID] != want {
			t.Errorf("leg %s forwards %v; party muted %v, call held %v", p.ID, last[p.ID], p.Muted, held)
		}
	}
}
