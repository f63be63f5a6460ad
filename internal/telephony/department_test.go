package telephony_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/presence"
	"github.com/callbridge/widget-server/internal/telephony"
)

// ringing lists, per owner, the devices each inbound party of s rings.
func ringing(s telephony.Session) map[int64][]string {
	out := map[int64][]string{}
	for _, p := range s.Parties[1:] {
		out[p.Owner] = p.Ringing
	}
	return out
}

// TestDepartmentRouting: a call to the department Support (200: Bob and
// Carol) rings each member that takes department calls, but the caller;
// a member that takes department calls only gets no direct call.
func TestDepartmentRouting(t *testing.T) {
	tests := []struct {
		name     string
		dnd      map[int64]string
		from, to string
		want     map[int64][]string // ringing devices per member; nil when the call fails
		code     int
		reason   string
	}{
		{"everyone takes calls", nil, "a1", "200",
			map[int64][]string{bob: {"b1", "b2"}, carol: {"c1"}}, 0, ""},
		{"by its direct number", nil, "a1", "+1 650 555 0200",
			map[int64][]string{bob: {"b1", "b2"}, carol: {"c1"}}, 0, ""},
		{"member without department calls", map[int64]string{carol: presence.DoNotAcceptDepartmentCalls}, "a1", "200",
			map[int64][]string{bob: {"b1", "b2"}}, 0, ""},
		{"member taking department calls only", map[int64]string{carol: presence.TakeDepartmentCallsOnly}, "a1", "200",
			map[int64][]string{bob: {"b1", "b2"}, carol: {"c1"}}, 0, ""},
		{"member taking no calls", map[int64]string{bob: presence.DoNotAcceptAnyCalls}, "a1", "200",
			map[int64][]string{carol: {"c1"}}, 0, ""},
		{"a member calls", nil, "b1", "200",
			map[int64][]string{carol: {"c1"}}, 0, ""},
		{"no member takes it", map[int64]string{bob: presence.DoNotAcceptAnyCalls, carol: presence.DoNotAcceptDepartmentCalls}, "a1", "200",
			nil, 480, "Temporarily Unavailable"},
		{"the only other member takes none", map[int64]string{carol: presence.DoNotAcceptAnyCalls}, "b1", "200",
			nil, 480, "Temporarily Unavailable"},
		{"direct call, department calls only", map[int64]string{carol: presence.TakeDepartmentCallsOnly}, "a1", "103",
			nil, 480, "Temporarily Unavailable"},
		{"direct call, no department calls", map[int64]string{carol: presence.DoNotAcceptDepartmentCalls}, "a1", "103",
			map[int64][]string{carol: {"c1"}}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			for ext, st := range tt.dnd {
				r.setDND(t, ext, st)
			}
			s := r.dial(t, tt.from, tt.to)
			caller := s.Parties[0]
			if tt.want == nil {
				if caller.Status != telephony.StatusDisconnected || caller.Code != tt.code || caller.Reason != tt.reason ||
					caller.Result != telephony.ResultFailed || s.Parties[1].Result != telephony.ResultMissed {
					t.Fatalf("call to %s: %+v, want %d %s", tt.to, s.Parties, tt.code, tt.reason)
				}
				return
			}
			if caller.Status != telephony.StatusProceeding {
				t.Fatalf("caller %+v", caller)
			}
			got := ringing(s)
			if len(got) != len(tt.want) {
				t.Fatalf("rings %v, want %v", got, tt.want)
			}
			for owner, devices := range tt.want {
				if !slices.Equal(got[owner], devices) {
					t.Fatalf("rings %v, want %v", got, tt.want)
				}
			}
			for _, p := range s.Parties[1:] {
				if p.Direction != telephony.Inbound || p.Status != telephony.StatusProceeding || p.To != caller.To ||
					p.From != caller.From {
					t.Fatalf("ringing party %+v of caller %+v", p, caller)
				}
			}
			var wantEvents []string
			for _, e := range r.bus.take() {
				if e.Cause == telephony.CauseRing {
					wantEvents = append(wantEvents, e.Session.ID)
					if e.Presence.TelephonyStatus != telephony.Ringing {
						t.Errorf("presence of %d while it rings: %+v", e.Extension, e.Presence)
					}
				}
			}
			if len(wantEvents) != len(tt.want) {
				t.Fatalf("%d ring events for %d ringing members", len(wantEvents), len(tt.want))
			}
		})
	}
}

// TestDepartmentFirstAnswerTakes: of the ringing members the first to
// answer takes the call; the others hear of it and leave it, with no
// call-log record.
func TestDepartmentFirstAnswerTakes(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	s := r.dial(t, "a1", "200")
	r.bus.take()
	s, answer, err := r.sw.Answer(ctx, "c1", s.ID, "offer-c1")
	if err != nil || answer == "" {
		t.Fatalf("Carol answers: %v", err)
	}
	if len(s.Parties) != 2 || s.Parties[1].Owner != carol || s.Parties[1].Status != telephony.StatusAnswered ||
		s.Parties[1].Device != "c1" || s.Parties[0].Status != telephony.StatusAnswered {
		t.Fatalf("answered call %+v", s.Parties)
	}
	var bobs *telephony.Event
	events := r.bus.take()
	for i, e := range events {
		if e.Extension == bob {
			bobs = &events[i]
		}
	}
	if got := causes(events); !slices.Equal(got, []string{"101:answer", "103:answer", "102:answer"}) {
		t.Fatalf("events %v", got)
	}
	p := bobs.Session.Parties[2]
	if p.Owner != bob || p.Status != telephony.StatusDisconnected || p.Result != telephony.ResultMissed ||
		p.Reason != "Answered elsewhere" || len(p.Ringing) != 0 || bobs.Presence.TelephonyStatus != telephony.NoCall {
		t.Fatalf("Bob hears %+v, presence %+v", p, bobs.Presence)
	}
	if got := r.sw.Sessions(bob); len(got) != 0 {
		t.Fatalf("Bob still has %+v", got)
	}
	if _, _, err := r.sw.Answer(ctx, "b1", s.ID, "offer-b1"); !errors.Is(err, telephony.ErrNotYourCall) {
		t.Fatalf("Bob answers after Carol: %v", err)
	}
	if err := r.sw.Hangup(ctx, "a1", s.ID); err != nil {
		t.Fatal(err)
	}
	for _, rec := range r.log.wait(t, 2) {
		if rec.Extension == bob || rec.Result != telephony.ResultConnected {
			t.Errorf("record %+v", rec)
		}
	}
}

// TestDepartmentMembersLeave: a member that rejects, or whose last device
// goes, leaves a department call that still rings someone else; the last
// one ends it as a call to one extension ends.
func TestDepartmentMembersLeave(t *testing.T) {
	ctx := context.Background()
	reject := func(device string) func(*rig, telephony.Session) error {
		return func(r *rig, s telephony.Session) error { return r.sw.Reject(ctx, device, s.ID) }
	}
	unregister := func(device string) func(*rig, telephony.Session) error {
		return func(r *rig, s telephony.Session) error { r.sw.UnregisterDevice(device); return nil }
	}
	decline := func(owner int64) func(*rig, telephony.Session) error {
		return func(r *rig, s telephony.Session) error {
			for _, p := range s.Parties[1:] {
				if p.Owner == owner {
					_, err := r.sw.ControlParty(ctx, owner, s.ID, p.ID, telephony.ActionReject)
					return err
				}
			}
			return errors.New("no party of the owner")
		}
	}
	tests := []struct {
		name    string
		steps   []func(*rig, telephony.Session) error
		left    int64 // the member gone after the first step(s) but the last
		result  string
		code    int
		records map[int64]string
	}{
		{"both reject", []func(*rig, telephony.Session) error{reject("b1"), reject("b2"), reject("c1")}, bob,
			telephony.ResultRejected, 603, map[int64]string{alice: telephony.ResultRejected, carol: telephony.ResultRejected}},
		{"devices go", []func(*rig, telephony.Session) error{unregister("c1"), unregister("b1"), unregister("b2")}, carol,
			telephony.ResultMissed, 480, map[int64]string{alice: telephony.ResultFailed, bob: telephony.ResultMissed}},
		{"declined through the API", []func(*rig, telephony.Session) error{decline(carol), decline(bob)}, carol,
			telephony.ResultRejected, 603, map[int64]string{alice: telephony.ResultRejected, bob: telephony.ResultRejected}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			s := r.dial(t, "a1", "200")
			last := len(tt.steps) - 1
			for _, step := range tt.steps[:last] {
				cur, _ := r.sw.Session(s.ID)
				if err := step(r, cur); err != nil {
					t.Fatal(err)
				}
			}
			cur, ok := r.sw.Session(s.ID)
			if !ok || len(cur.Parties) != 2 || cur.Parties[1].Owner == tt.left || cur.Parties[1].Status != telephony.StatusProceeding {
				t.Fatalf("after %d steps: %+v, %t", last, cur.Parties, ok)
			}
			var gone *telephony.Party
			for _, e := range r.bus.all() {
				if e.Extension == tt.left && len(e.Session.Parties) == 3 {
					for i, p := range e.Session.Parties {
						if p.Owner == tt.left && p.Status == telephony.StatusDisconnected {
							gone = &e.Session.Parties[i]
						}
					}
				}
			}
			if gone == nil || gone.Result != tt.result {
				t.Fatalf("the member who left was not told so: %+v", gone)
			}
			if err := tt.steps[last](r, cur); err != nil {
				t.Fatal(err)
			}
			if _, ok := r.sw.Session(s.ID); ok {
				t.Fatal("the call goes on with nobody ringing")
			}
			recs := r.log.wait(t, len(tt.records))
			for _, rec := range recs {
				if want, ok := tt.records[rec.Extension]; !ok || rec.Result != want {
					t.Errorf("record %+v, want results %v", rec, tt.records)
				}
			}
			if recs[0].TelephonySessionID != s.ID {
				t.Errorf("record of another call: %+v", recs[0])
			}
			var end telephony.Party
			for _, e := range r.bus.all() {
				if e.Extension == alice {
					end = e.Session.Parties[0]
				}
			}
			if end.Status != telephony.StatusDisconnected || end.Code != tt.code {
				t.Errorf("the call ended for Alice as %+v, want code %d", end, tt.code)
			}
		})
	}
}

// TestDepartmentCallTimesOut: nobody answers: every ringing member missed it.
func TestDepartmentCallTimesOut(t *testing.T) {
	r := newRig(t, func(c *telephony.Config) { c.RingTimeout = 20 * time.Millisecond })
	s := r.dial(t, "a1", "200")
	r.bus.waitFor(t, func(e telephony.Event) bool { return e.Cause == telephony.CauseTimeout })
	want := map[int64]string{alice: telephony.ResultNoAnswer, bob: telephony.ResultMissed, carol: telephony.ResultMissed}
	for _, rec := range r.log.wait(t, 3) {
		if rec.TelephonySessionID != s.ID || rec.Result != want[rec.Extension] {
			t.Errorf("record %+v", rec)
		}
	}
}
