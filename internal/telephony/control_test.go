package telephony_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/callbridge/widget-server/internal/telephony"
)

// TestControlParty drives every party action through the API's entry point
// in each state of a call and checks which are refused, and with which error.
func TestControlParty(t *testing.T) {
	ctx := context.Background()
	type state int
	const (
		ringing state = iota
		answered
		held
		toLine // Alice's answered call to the tone line
	)
	setup := func(t *testing.T, st state) (*rig, telephony.Session) {
		r := newRig(t)
		var s telephony.Session
		switch st {
		case ringing:
			s = r.dial(t, "a1", "102")
		case toLine:
			s = r.dial(t, "a1", "+15550100")
			r.bus.waitFor(t, func(e telephony.Event) bool { return e.Cause == telephony.CauseAnswer })
		default:
			s = r.connected(t)
		}
		if st == held {
			if _, err := r.sw.ControlParty(ctx, alice, s.ID, s.Parties[0].ID, telephony.ActionHold); err != nil {
				t.Fatal(err)
			}
		}
		s, _ = r.sw.Session(s.ID)
		return r, s
	}
	caller := func(s telephony.Session) string { return s.Parties[0].ID }
	callee := func(s telephony.Session) string { return s.Parties[1].ID }
	tests := []struct {
		name   string
		st     state
		owner  int64
		party  func(telephony.Session) string
		action telephony.PartyAction
		want   error // nil: allowed
		cause  string
		device string // the device the event names
	}{
		{"hold answered caller", answered, alice, caller, telephony.ActionHold, nil, "hold", "a1"},
		{"hold answered callee", answered, bob, callee, telephony.ActionHold, nil, "hold", "b1"},
		{"hold held", held, alice, caller, telephony.ActionHold, telephony.ErrInvalidState, "", ""},
		{"hold ringing callee", ringing, bob, callee, telephony.ActionHold, telephony.ErrInvalidState, "", ""},
		{"hold dialling caller", ringing, alice, caller, telephony.ActionHold, telephony.ErrInvalidState, "", ""},
		{"hold another's party", answered, bob, caller, telephony.ActionHold, telephony.ErrNotYourCall, "", ""},
		{"hold the test line's party", toLine, alice, callee, telephony.ActionHold, telephony.ErrNotYourCall, "", ""},
		{"hold own call to the test line", toLine, alice, caller, telephony.ActionHold, nil, "hold", "a1"},
		{"hold unknown party", answered, alice, func(telephony.Session) string { return "p-none" }, telephony.ActionHold, telephony.ErrNoSuchParty, "", ""},
		{"unhold held", held, alice, caller, telephony.ActionUnhold, nil, "unhold", "a1"},
		{"unhold answered", answered, alice, caller, telephony.ActionUnhold, telephony.ErrInvalidState, "", ""},
		{"unhold the party that did not hold", held, bob, callee, telephony.ActionUnhold, telephony.ErrInvalidState, "", ""},
		{"mute answered", answered, bob, callee, telephony.ActionMute, nil, "mute", "b1"},
		{"mute dialling caller", ringing, alice, caller, telephony.ActionMute, nil, "mute", "a1"},
		{"mute ringing callee", ringing, bob, callee, telephony.ActionMute, telephony.ErrInvalidState, "", ""},
		{"unmute an unmuted party: no change", answered, alice, caller, telephony.ActionUnmute, nil, "", ""},
		{"reject ringing callee", ringing, bob, callee, telephony.ActionReject, nil, "reject", ""},
		{"reject answered", answered, bob, callee, telephony.ActionReject, telephony.ErrInvalidState, "", ""},
		{"reject own outbound call", ringing, alice, caller, telephony.ActionReject, telephony.ErrInvalidState, "", ""},
		{"drop answered", answered, alice, caller, telephony.ActionDrop, nil, "hangup", "a1"},
		{"drop held", held, bob, callee, telephony.ActionDrop, nil, "hangup", "b1"},
		{"drop dialling caller", ringing, alice, caller, telephony.ActionDrop, nil, "cancel", "a1"},
		{"drop ringing callee", ringing, bob, callee, telephony.ActionDrop, nil, "reject", ""},
		{"unknown action", answered, alice, caller, telephony.PartyAction("park"), errors.New("any"), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, s := setup(t, tt.st)
			before, _ := r.sw.Session(s.ID)
			r.bus.take()
			r.media.takeForwards()
			got, err := r.sw.ControlParty(ctx, tt.owner, s.ID, tt.party(s), tt.action)
			if tt.want != nil {
				if err == nil || tt.want.Error() != "any" && !errors.Is(err, tt.want) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
				if after, _ := r.sw.Session(s.ID); !reflect.DeepEqual(after, before) {
					t.Fatalf("refused action changed the call:\n%+v\n%+v", before, after)
				}
				if ev := r.bus.take(); len(ev) != 0 {
					t.Fatalf("refused action published %v", causes(ev))
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if got.ID != s.ID {
				t.Fatalf("answered session %+v", got)
			}
			if tt.cause == "" {
				if ev := r.bus.take(); len(ev) != 0 {
					t.Fatalf("no change published %v", causes(ev))
				}
				return
			}
			// Another goroutine still publishing the events of the setup
			// (the test line's answer) publishes this action's after them.
			if e := r.bus.waitFor(t, func(e telephony.Event) bool { return e.Cause == telephony.Cause(tt.cause) }); e.Device != tt.device {
				t.Fatalf("%s event for device %q, want %q", e.Cause, e.Device, tt.device)
			}
			switch tt.action {
			case telephony.ActionReject, telephony.ActionDrop:
				if got.Ended.IsZero() {
					t.Fatal("the call did not end")
				}
				if _, ok := r.sw.Session(s.ID); ok {
					t.Fatal("ended call still active")
				}
			case telephony.ActionHold:
				if len(r.media.takeForwards()) == 0 && tt.st != toLine {
					t.Fatal("hold did not stop the audio")
				}
			}
		})
	}
	t.Run("unknown session", func(t *testing.T) {
		r := newRig(t)
		if _, err := r.sw.ControlParty(ctx, alice, "s-none", "p-none", telephony.ActionHold); !errors.Is(err, telephony.ErrNoSuchCall) {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestControlPartyResults: the call-log results of ending a call by API.
func TestControlPartyResults(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	s := r.dial(t, "a1", "102")
	ended, err := r.sw.ControlParty(ctx, bob, s.ID, s.Parties[1].ID, telephony.ActionReject)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ended.Parties {
		if p.Status != telephony.StatusDisconnected || p.Code != 603 || p.Result != telephony.ResultRejected {
			t.Fatalf("party after reject %+v", p)
		}
	}
	recs := r.log.wait(t, 2)
	for _, rec := range recs {
		if rec.Result != telephony.ResultRejected {
			t.Fatalf("record %+v", rec)
		}
	}
}

// TestControlRingOut: the owner holds and drops a RingOut between test lines
// by API; there is no media to change, only the state.
func TestControlRingOut(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	ro, err := r.sw.RingOut(ctx, alice, "+15550100", "+15550101", "", false)
	if err != nil {
		t.Fatal(err)
	}
	r.waitRingOut(t, alice, ro.ID, func(st telephony.RingOutStatus) bool { return st.Call == telephony.RingOutSuccess })
	s, _ := r.sw.Session(ro.TelephonySessionID)
	from, to := s.Parties[0].ID, s.Parties[1].ID
	if _, err := r.sw.ControlParty(ctx, alice, s.ID, to, telephony.ActionHold); !errors.Is(err, telephony.ErrNotYourCall) {
		t.Fatalf("hold of the test line's party: %v", err)
	}
	got, err := r.sw.ControlParty(ctx, alice, s.ID, from, telephony.ActionHold)
	if err != nil || got.Parties[0].Status != telephony.StatusHold {
		t.Fatalf("hold: %+v, %v", got.Parties, err)
	}
	if p, _ := r.pres.Telephony(alice); p.TelephonyStatus != telephony.OnHold {
		t.Fatalf("presence %+v", p)
	}
	if _, err := r.sw.ControlParty(ctx, alice, s.ID, from, telephony.ActionDrop); err != nil {
		t.Fatal(err)
	}
	recs := r.log.wait(t, 1)
	if recs[0].Result != telephony.ResultConnected || recs[0].Action != telephony.ActionRingOutWeb {
		t.Fatalf("record %+v", recs[0])
	}
	if got, _ := r.sw.FindRingOut(alice, ro.ID); got.Status.Call != telephony.RingOutSuccess || got.Ended.IsZero() {
		t.Fatalf("RingOut after drop %+v", got)
	}
	if !slices.Contains(telephony.PartyActions, telephony.ActionDrop) {
		t.Fatal("drop not listed")
	}
}
