package telephony_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/presence"
	"github.com/callbridge/widget-server/internal/telephony"
)

func TestPartyTransitions(t *testing.T) {
	all := []telephony.PartyStatus{telephony.StatusSetup, telephony.StatusProceeding, telephony.StatusAnswered,
		telephony.StatusHold, telephony.StatusDisconnected}
	legal := map[[2]telephony.PartyStatus]bool{
		{telephony.StatusSetup, telephony.StatusProceeding}:        true,
		{telephony.StatusSetup, telephony.StatusDisconnected}:      true,
		{telephony.StatusProceeding, telephony.StatusAnswered}:     true,
		{telephony.StatusProceeding, telephony.StatusDisconnected}: true,
		{telephony.StatusAnswered, telephony.StatusHold}:           true,
		{telephony.StatusAnswered, telephony.StatusDisconnected}:   true,
		{telephony.StatusHold, telephony.StatusAnswered}:           true,
		{telephony.StatusHold, telephony.StatusDisconnected}:       true,
	}
	for _, from := range all {
		for _, to := range all {
			t.Run(fmt.Sprintf("%s to %s", from, to), func(t *testing.T) {
				if got := from.CanBecome(to); got != legal[[2]telephony.PartyStatus{from, to}] {
					t.Fatalf("CanBecome = %v", got)
				}
			})
		}
	}
}

// TestActionStates drives every action in every state of a call and checks
// which are refused, and with which error.
func TestActionStates(t *testing.T) {
	ctx := context.Background()
	type state int
	const (
		ringing state = iota
		answered
		held
	)
	setup := func(t *testing.T, st state) (*rig, telephony.Session) {
		r := newRig(t)
		var s telephony.Session
		if st == ringing {
			s = r.dial(t, "a1", "102")
		} else {
			s = r.connected(t)
		}
		if st == held {
			if err := r.sw.Hold(ctx, "a1", s.ID); err != nil {
				t.Fatal(err)
			}
		}
		return r, s
	}
	tests := []struct {
		name   string
		st     state
		action func(sw *telephony.Switch, id string) error
		want   error // nil: allowed
	}{
		{"answer by ringing device", ringing, func(sw *telephony.Switch, id string) error { _, _, err := sw.Answer(ctx, "b2", id, "o"); return err }, nil},
		{"answer by caller", ringing, func(sw *telephony.Switch, id string) error { _, _, err := sw.Answer(ctx, "a1", id, "o"); return err }, telephony.ErrInvalidState},
		{"answer by stranger", ringing, func(sw *telephony.Switch, id string) error { _, _, err := sw.Answer(ctx, "c1", id, "o"); return err }, telephony.ErrNotYourCall},
		{"answer by unknown device", ringing, func(sw *telephony.Switch, id string) error { _, _, err := sw.Answer(ctx, "zz", id, "o"); return err }, telephony.ErrNoDevice},
		{"answer unknown call", ringing, func(sw *telephony.Switch, id string) error {
			_, _, err := sw.Answer(ctx, "b1", "s-none", "o")
			return err
		}, telephony.ErrNoSuchCall},
		{"answer again", answered, func(sw *telephony.Switch, id string) error { _, _, err := sw.Answer(ctx, "b1", id, "o"); return err }, telephony.ErrInvalidState},
		{"answer elsewhere after answer", answered, func(sw *telephony.Switch, id string) error { _, _, err := sw.Answer(ctx, "b2", id, "o"); return err }, telephony.ErrInvalidState},
		{"reject by ringing device", ringing, func(sw *telephony.Switch, id string) error { return sw.Reject(ctx, "b1", id) }, nil},
		{"reject by caller", ringing, func(sw *telephony.Switch, id string) error { return sw.Reject(ctx, "a1", id) }, telephony.ErrInvalidState},
		{"reject by stranger", ringing, func(sw *telephony.Switch, id string) error { return sw.Reject(ctx, "c1", id) }, telephony.ErrNotYourCall},
		{"reject after answer", answered, func(sw *telephony.Switch, id string) error { return sw.Reject(ctx, "b1", id) }, telephony.ErrInvalidState},
		{"hold while ringing (caller)", ringing, func(sw *telephony.Switch, id string) error { return sw.Hold(ctx, "a1", id) }, telephony.ErrInvalidState},
		{"hold while ringing (callee)", ringing, func(sw *telephony.Switch, id string) error { return sw.Hold(ctx, "b1", id) }, telephony.ErrInvalidState},
		{"hold answered", answered, func(sw *telephony.Switch, id string) error { return sw.Hold(ctx, "b1", id) }, nil},
		{"hold by stranger", answered, func(sw *telephony.Switch, id string) error { return sw.Hold(ctx, "c1", id) }, telephony.ErrNotYourCall},
		{"hold held", held, func(sw *telephony.Switch, id string) error { return sw.Hold(ctx, "a1", id) }, telephony.ErrInvalidState},
		{"unhold ringing", ringing, func(sw *telephony.Switch, id string) error { return sw.Unhold(ctx, "a1", id) }, telephony.ErrInvalidState},
		{"unhold answered", answered, func(sw *telephony.Switch, id string) error { return sw.Unhold(ctx, "a1", id) }, telephony.ErrInvalidState},
		{"unhold held", held, func(sw *telephony.Switch, id string) error { return sw.Unhold(ctx, "a1", id) }, nil},
		{"unhold by the other party", held, func(sw *telephony.Switch, id string) error { return sw.Unhold(ctx, "b1", id) }, telephony.ErrInvalidState},
		{"mute while ringing (caller)", ringing, func(sw *telephony.Switch, id string) error { return sw.Mute(ctx, "a1", id, true) }, nil},
		{"mute while ringing (callee)", ringing, func(sw *telephony.Switch, id string) error { return sw.Mute(ctx, "b1", id, true) }, telephony.ErrInvalidState},
		{"mute held", held, func(sw *telephony.Switch, id string) error { return sw.Mute(ctx, "a1", id, true) }, nil},
		{"hangup by stranger", answered, func(sw *telephony.Switch, id string) error { return sw.Hangup(ctx, "c1", id) }, telephony.ErrNotYourCall},
		{"hangup by other device of callee", answered, func(sw *telephony.Switch, id string) error { return sw.Hangup(ctx, "b2", id) }, telephony.ErrNotYourCall},
		{"hangup held", held, func(sw *telephony.Switch, id string) error { return sw.Hangup(ctx, "b1", id) }, nil},
		{"hangup unknown call", answered, func(sw *telephony.Switch, id string) error { return sw.Hangup(ctx, "a1", "s-none") }, telephony.ErrNoSuchCall},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, s := setup(t, tt.st)
			before, _ := r.sw.Session(s.ID)
			r.bus.take()
			err := tt.action(r.sw, s.ID)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if len(r.bus.take()) == 0 {
					t.Fatal("no event after a change")
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if after, _ := r.sw.Session(s.ID); !reflect.DeepEqual(after, before) {
				t.Fatalf("refused action changed the call:\n%+v\n%+v", before, after)
			}
			if ev := r.bus.take(); len(ev) != 0 {
				t.Fatalf("refused action published %v", causes(ev))
			}
		})
	}
}

func TestExtensionCall(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	s, answer, err := r.sw.Dial(ctx, "a1", "102", "offer-a1")
	if err != nil {
		t.Fatal(err)
	}
	caller, callee := s.Parties[0], s.Parties[1]
	if answer != "answer-"+caller.ID || s.Origin != "Call" || s.SessionID == "" || s.ID == "" {
		t.Fatalf("session %+v, answer %q", s, answer)
	}
	if caller.Status != telephony.StatusProceeding || callee.Status != telephony.StatusProceeding ||
		!slices.Equal(callee.Ringing, []string{"b1", "b2"}) || callee.Device != "" || callee.Owner != bob {
		t.Fatalf("parties %+v", s.Parties)
	}
	if caller.From.Name != "Alice Adams" || caller.To.ExtensionNumber != "102" || callee.From != caller.From || callee.To != caller.To {
		t.Fatalf("endpoints %+v", s.Parties)
	}
	ev := r.bus.take()
	if got := causes(ev); !slices.Equal(got, []string{"101:dial", "102:ring"}) {
		t.Fatalf("events %v", got)
	}
	if ev[0].Device != "a1" || ev[0].Presence != (telephony.Presence{TelephonyStatus: telephony.Ringing, ActiveSessions: 1}) ||
		ev[1].Presence != (telephony.Presence{TelephonyStatus: telephony.Ringing, ActiveSessions: 1}) {
		t.Fatalf("events %+v", ev)
	}
	if got := r.sw.Sessions(bob); len(got) != 1 || got[0].ID != s.ID {
		t.Fatalf("Sessions(bob) = %+v", got)
	}

	r.clock.advance(3 * time.Second)
	s, answer, err = r.sw.Answer(ctx, "b2", s.ID, "offer-b2")
	if err != nil {
		t.Fatal(err)
	}
	caller, callee = s.Parties[0], s.Parties[1]
	if answer != "answer-"+callee.ID || callee.Device != "b2" || callee.Ringing != nil ||
		caller.Status != telephony.StatusAnswered || callee.Status != telephony.StatusAnswered ||
		!s.Connected.Equal(epoch.Add(3*time.Second)) {
		t.Fatalf("answered session %+v, answer %q", s, answer)
	}
	if k, _ := r.media.kind(callee.ID); k != telephony.LegPhone || !slices.Equal(r.media.connects, [][2]string{{caller.ID, callee.ID}}) {
		t.Fatalf("media: kind %v, connects %v", k, r.media.connects)
	}
	ev = r.bus.take()
	if got := causes(ev); !slices.Equal(got, []string{"101:answer", "102:answer"}) {
		t.Fatalf("events %v", got)
	}
	for _, e := range ev {
		if e.Device != "b2" || e.Presence.TelephonyStatus != telephony.CallConnected || e.Session.Parties[1].Ringing != nil {
			t.Fatalf("answer event %+v", e)
		}
	}

	r.clock.advance(61500 * time.Millisecond)
	if err := r.sw.Hangup(ctx, "b2", s.ID); err != nil {
		t.Fatal(err)
	}
	ev = r.bus.take()
	if got := causes(ev); !slices.Equal(got, []string{"101:hangup", "102:hangup"}) {
		t.Fatalf("events %v", got)
	}
	for _, e := range ev {
		for _, p := range e.Session.Parties {
			if p.Status != telephony.StatusDisconnected || p.Result != telephony.ResultConnected || p.Code != 0 {
				t.Fatalf("party after hangup %+v", p)
			}
		}
		if e.Presence != (telephony.Presence{TelephonyStatus: telephony.NoCall}) || e.Device != "b2" || e.Session.Ended.IsZero() {
			t.Fatalf("hangup event %+v", e)
		}
	}
	if !r.media.isClosed(caller.ID) || !r.media.isClosed(callee.ID) {
		t.Fatal("legs not closed")
	}
	if _, ok := r.sw.Session(s.ID); ok || len(r.sw.Sessions(alice)) != 0 {
		t.Fatal("ended call still active")
	}
	recs := r.log.wait(t, 2)
	for _, rec := range recs {
		p, _ := s.Party(rec.PartyID)
		want := telephony.CallRecord{ID: p.ID, Extension: p.Owner, SessionID: s.SessionID, TelephonySessionID: s.ID,
			PartyID: p.ID, StartTime: epoch, Duration: 61500 * time.Millisecond, Direction: p.Direction,
			From: caller.From, To: caller.To, Type: "Voice", Action: "VoIP Call", Result: telephony.ResultConnected}
		if !reflect.DeepEqual(rec, want) {
			t.Errorf("record\n%+v\nwant\n%+v", rec, want)
		}
	}
	if err := r.sw.Hangup(ctx, "a1", s.ID); !errors.Is(err, telephony.ErrNoSuchCall) {
		t.Fatalf("hangup of an ended call: %v", err)
	}
}

// TestCallEnds checks how each way of ending a call sets codes, results,
// the events' cause and the call log.
func TestCallEnds(t *testing.T) {
	ctx := context.Background()
	type want struct {
		cause                string
		code                 int
		reason               string
		callerRes, calleeRes string
		records              int
		action               string
	}
	tests := []struct {
		name string
		run  func(t *testing.T, r *rig) telephony.Session
		want want
	}{
		{"cancel", func(t *testing.T, r *rig) telephony.Session {
			s := r.dial(t, "a1", "102")
			if err := r.sw.Hangup(ctx, "a1", s.ID); err != nil {
				t.Fatal(err)
			}
			return s
		}, want{"cancel", 487, "Request Terminated", "Canceled", "Missed", 2, "VoIP Call"}},
		{"reject on every device", func(t *testing.T, r *rig) telephony.Session {
			s := r.dial(t, "a1", "102")
			if err := r.sw.Reject(ctx, "b1", s.ID); err != nil {
				t.Fatal(err)
			}
			if got, ok := r.sw.Session(s.ID); !ok || !slices.Equal(got.Parties[1].Ringing, []string{"b2"}) {
				t.Fatalf("after one reject: %+v", got)
			}
			if err := r.sw.Hangup(ctx, "b2", s.ID); err != nil { // a ringing device hanging up rejects
				t.Fatal(err)
			}
			return s
		}, want{"reject", 603, "Declined", "Rejected", "Rejected", 2, "VoIP Call"}},
		{"hangup by caller", func(t *testing.T, r *rig) telephony.Session {
			s := r.connected(t)
			if err := r.sw.Hangup(ctx, "a1", s.ID); err != nil {
				t.Fatal(err)
			}
			return s
		}, want{"hangup", 0, "Call connected", "Call connected", "Call connected", 2, "VoIP Call"}},
		{"ring timeout", func(t *testing.T, r *rig) telephony.Session {
			s := r.dial(t, "a1", "102")
			telephony.FireTimers(r.sw, s.ID)
			return s
		}, want{"timeout", 408, "Request Timeout", "No Answer", "Missed", 2, "VoIP Call"}},
		{"callee without device", func(t *testing.T, r *rig) telephony.Session {
			return r.dial(t, "b1", "103") // Carol's only device, c1, is unregistered first
		}, want{"failed", 480, "Unavailable", "Failed", "Missed", 2, "VoIP Call"}},
		{"unroutable", func(t *testing.T, r *rig) telephony.Session {
			return r.dial(t, "a1", "+14155550123")
		}, want{"failed", 480, "Destination unavailable", "Failed", "Failed", 1, "Phone Call"}},
		{"test line busy", func(t *testing.T, r *rig) telephony.Session {
			return r.dial(t, "a1", "+15550102")
		}, want{"failed", 486, "Busy Here", "Busy", "Busy", 1, "Phone Call"}},
		{"test line decline", func(t *testing.T, r *rig) telephony.Session {
			return r.dial(t, "a1", "+15550105")
		}, want{"failed", 603, "Decline", "Rejected", "Rejected", 1, "Phone Call"}},
		{"test line cancel", func(t *testing.T, r *rig) telephony.Session {
			s := r.dial(t, "a1", "+15550107")
			if err := r.sw.Hangup(ctx, "a1", s.ID); err != nil {
				t.Fatal(err)
			}
			return s
		}, want{"cancel", 487, "Request Terminated", "Canceled", "Missed", 1, "Phone Call"}},
		{"test line timeout", func(t *testing.T, r *rig) telephony.Session {
			s := r.dial(t, "a1", "+15550107")
			telephony.FireTimers(r.sw, s.ID)
			return s
		}, want{"timeout", 408, "Request Timeout", "No Answer", "Missed", 1, "Phone Call"}},
		{"media failed while ringing", func(t *testing.T, r *rig) telephony.Session {
			s := r.dial(t, "a1", "102")
			r.sw.LegFailed(s.Parties[0].ID)
			return s
		}, want{"mediaFailed", 503, "Media failed", "Failed", "Missed", 2, "VoIP Call"}},
		{"media failed when connected", func(t *testing.T, r *rig) telephony.Session {
			s := r.connected(t)
			r.sw.LegFailed("p-unknown")
			r.sw.LegFailed(s.Parties[1].ID)
			return s
		}, want{"mediaFailed", 503, "Media failed", "Call connected", "Call connected", 2, "VoIP Call"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t) // the ring timeout fires when a case fires it
			if tt.name == "callee without device" {
				r.sw.UnregisterDevice("c1")
			}
			s := tt.run(t, r)
			last := r.bus.waitFor(t, func(e telephony.Event) bool {
				return e.Session.ID == s.ID && !e.Session.Ended.IsZero()
			})
			if last.Cause != telephony.Cause(tt.want.cause) {
				t.Errorf("cause %q, want %q", last.Cause, tt.want.cause)
			}
			for i, p := range last.Session.Parties {
				res := tt.want.callerRes
				if i == 1 {
					res = tt.want.calleeRes
				}
				if p.Status != telephony.StatusDisconnected || p.Code != tt.want.code || p.Reason != tt.want.reason || p.Result != res {
					t.Errorf("party %d: %s %d %q %q; want %d %q %q", i, p.Status, p.Code, p.Reason, p.Result,
						tt.want.code, tt.want.reason, res)
				}
			}
			if last.Presence.TelephonyStatus != telephony.NoCall || last.Presence.ActiveSessions != 0 {
				t.Errorf("presence after end %+v", last.Presence)
			}
			recs := r.log.wait(t, tt.want.records)
			for _, rec := range recs {
				p, _ := last.Session.Party(rec.PartyID)
				if rec.Result != p.Result || rec.Action != tt.want.action || rec.Extension != p.Owner || rec.Duration != 0 && tt.want.callerRes != "Call connected" {
					t.Errorf("record %+v", rec)
				}
			}
			for _, p := range last.Session.Parties {
				if _, opened := r.media.kind(p.ID); opened && !r.media.isClosed(p.ID) {
					t.Errorf("leg %s not closed", p.ID)
				}
			}
			if _, ok := r.sw.Session(s.ID); ok {
				t.Error("ended call still active")
			}
		})
	}
}

func TestTestLineAnswers(t *testing.T) {
	for _, tt := range []struct {
		number string
		kind   telephony.LegKind
	}{{"+15550100", telephony.LegTone}, {"+15550101", telephony.LegEcho}} {
		t.Run(tt.number, func(t *testing.T) {
			r := newRig(t)
			s := r.dial(t, "a1", tt.number)
			if k, _ := r.media.kind(s.Parties[0].ID); k != tt.kind {
				t.Fatalf("leg kind %v", k)
			}
			e := r.bus.waitFor(t, func(e telephony.Event) bool { return e.Cause == telephony.CauseAnswer })
			if e.Extension != alice || e.Presence.TelephonyStatus != telephony.CallConnected ||
				e.Session.Parties[0].Status != telephony.StatusAnswered || e.Session.Parties[1].Status != telephony.StatusAnswered ||
				e.Session.Connected.IsZero() {
				t.Fatalf("answer event %+v", e)
			}
			r.media.takeForwards()
			if err := r.sw.Hold(context.Background(), "a1", s.ID); err != nil {
				t.Fatal(err)
			}
			if got := r.media.takeForwards(); !slices.Equal(got, []forward{{s.Parties[0].ID, false}}) {
				t.Fatalf("forwards on hold %v", got)
			}
			r.clock.advance(10 * time.Second)
			if err := r.sw.Hangup(context.Background(), "a1", s.ID); err != nil {
				t.Fatal(err)
			}
			recs := r.log.wait(t, 1)
			if recs[0].Result != telephony.ResultConnected || recs[0].Action != "Phone Call" || recs[0].Duration != 10*time.Second ||
				recs[0].To.Name != map[string]string{"+15550100": "Tone line", "+15550101": "Echo line"}[tt.number] {
				t.Fatalf("record %+v", recs[0])
			}
		})
	}
}

func TestHoldAndMute(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	s := r.connected(t)
	a, b := s.Parties[0].ID, s.Parties[1].ID
	r.media.takeForwards()
	r.bus.take()
	steps := []struct {
		name     string
		do       func() error
		forwards []forward
		cause    string
		alice    telephony.TelephonyStatus
		bob      telephony.TelephonyStatus
	}{
		{"alice holds", func() error { return r.sw.Hold(ctx, "a1", s.ID) },
			[]forward{{a, false}, {b, false}}, "hold", telephony.OnHold, telephony.CallConnected},
		{"bob mutes while held", func() error { return r.sw.Mute(ctx, "b1", s.ID, true) },
			[]forward{{a, false}, {b, false}}, "mute", telephony.OnHold, telephony.CallConnected},
		{"alice resumes", func() error { return r.sw.Unhold(ctx, "a1", s.ID) },
			[]forward{{a, true}, {b, false}}, "unhold", telephony.CallConnected, telephony.CallConnected},
		{"bob mutes again: no change", func() error { return r.sw.Mute(ctx, "b1", s.ID, true) },
			nil, "", "", ""},
		{"alice mutes", func() error { return r.sw.Mute(ctx, "a1", s.ID, true) },
			[]forward{{a, false}, {b, false}}, "mute", telephony.CallConnected, telephony.CallConnected},
		{"bob unmutes", func() error { return r.sw.Mute(ctx, "b1", s.ID, false) },
			[]forward{{a, false}, {b, true}}, "unmute", telephony.CallConnected, telephony.CallConnected},
		{"bob holds", func() error { return r.sw.Hold(ctx, "b1", s.ID) },
			[]forward{{a, false}, {b, false}}, "hold", telephony.CallConnected, telephony.OnHold},
		{"alice holds too", func() error { return r.sw.Hold(ctx, "a1", s.ID) },
			[]forward{{a, false}, {b, false}}, "hold", telephony.OnHold, telephony.OnHold},
		{"bob resumes", func() error { return r.sw.Unhold(ctx, "b1", s.ID) },
			[]forward{{a, false}, {b, false}}, "unhold", telephony.OnHold, telephony.CallConnected},
		{"alice resumes and unmutes", func() error {
			if err := r.sw.Unhold(ctx, "a1", s.ID); err != nil {
				return err
			}
			r.media.takeForwards()
			r.bus.take()
			return r.sw.Mute(ctx, "a1", s.ID, false)
		}, []forward{{a, true}, {b, true}}, "unmute", telephony.CallConnected, telephony.CallConnected},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := r.media.takeForwards(); !slices.Equal(got, st.forwards) {
			t.Fatalf("%s: forwards %v, want %v", st.name, got, st.forwards)
		}
		ev := r.bus.take()
		if st.cause == "" {
			if len(ev) != 0 {
				t.Fatalf("%s: events %v", st.name, causes(ev))
			}
			continue
		}
		if got := causes(ev); !slices.Equal(got, []string{"101:" + st.cause, "102:" + st.cause}) {
			t.Fatalf("%s: events %v", st.name, got)
		}
		if ev[0].Presence.TelephonyStatus != st.alice || ev[1].Presence.TelephonyStatus != st.bob {
			t.Fatalf("%s: presence alice %s bob %s", st.name, ev[0].Presence.TelephonyStatus, ev[1].Presence.TelephonyStatus)
		}
	}
	got, _ := r.sw.Session(s.ID)
	if got.Parties[0].Muted || got.Parties[1].Muted || got.Parties[0].Status != telephony.StatusAnswered {
		t.Fatalf("final parties %+v", got.Parties)
	}
}

func TestMuteBeforeAnswerCarriesOver(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	s := r.dial(t, "a1", "102")
	if err := r.sw.Mute(ctx, "a1", s.ID, true); err != nil {
		t.Fatal(err)
	}
	r.media.takeForwards()
	s, _, err := r.sw.Answer(ctx, "b1", s.ID, "offer-b1")
	if err != nil {
		t.Fatal(err)
	}
	want := []forward{{s.Parties[0].ID, false}, {s.Parties[1].ID, true}}
	if got := r.media.takeForwards(); !slices.Equal(got, want) {
		t.Fatalf("forwards %v, want %v", got, want)
	}
}

func TestSequences(t *testing.T) {
	// Twenty calls at once from two devices: the caps on calls per device
	// and extension are not what this test is about.
	r := newRig(t, func(c *telephony.Config) { c.MaxCallsPerDevice, c.MaxCallsPerExtension = 20, 40 })
	start := uint64(epoch.UnixMilli())
	if _, seq := r.pres.Telephony(alice); seq < start {
		t.Fatalf("initial sequence %d below the time floor %d", seq, start)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			from, to := "a1", "102"
			if i%2 == 1 {
				from, to = "b1", "101"
			}
			s, _, err := r.sw.Dial(ctx, from, to, "offer")
			if err != nil {
				t.Error(err)
				return
			}
			r.sw.Hold(ctx, from, s.ID) // refused while ringing
			r.sw.Mute(ctx, from, s.ID, true)
			if i%3 == 0 {
				r.sw.Reject(ctx, "b2", s.ID)
			}
			r.sw.Hangup(ctx, from, s.ID)
		}(i)
	}
	wg.Wait()
	last := map[int64]uint64{}
	bySession := map[string]uint64{}
	for _, e := range r.bus.all() {
		if e.Sequence <= last[e.Extension] {
			t.Fatalf("extension %d: sequence %d after %d", e.Extension, e.Sequence, last[e.Extension])
		}
		last[e.Extension] = e.Sequence
		key := fmt.Sprint(e.Extension, e.Session.ID)
		if e.Sequence <= bySession[key] {
			t.Fatalf("session %s: sequence went back", e.Session.ID)
		}
		bySession[key] = e.Sequence
	}
	if len(last) != 2 {
		t.Fatalf("events for %v", last)
	}
	for ext, seq := range last {
		p, cur := r.pres.Telephony(ext)
		if cur != seq || p != (telephony.Presence{TelephonyStatus: telephony.NoCall}) {
			t.Fatalf("Presence(%d) = %+v, %d; last event %d", ext, p, cur, seq)
		}
	}
	// A restart: a new presence keeper an hour later starts above every
	// earlier sequence.
	r.clock.advance(time.Hour)
	if _, seq := presence.New(presence.Config{Now: r.clock.Now}, nil).Telephony(alice); seq <= last[alice] {
		t.Fatalf("after restart sequence %d <= %d", seq, last[alice])
	}
}

func TestClose(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	ringing := r.dial(t, "a1", "102")
	connected := r.dial(t, "c1", "+15550100")
	r.bus.waitFor(t, func(e telephony.Event) bool { return e.Cause == telephony.CauseAnswer })

	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	r.sw.Close(cctx)
	recs := r.log.wait(t, 3)
	for _, rec := range recs {
		if rec.Result != telephony.ResultFailed {
			t.Errorf("record %+v", rec)
		}
	}
	for _, s := range []telephony.Session{ringing, connected} {
		if _, ok := r.sw.Session(s.ID); ok {
			t.Errorf("call %s survived Close", s.ID)
		}
		if !r.media.isClosed(s.Parties[0].ID) {
			t.Errorf("leg of %s not closed", s.ID)
		}
	}
	e := r.bus.waitFor(t, func(e telephony.Event) bool { return e.Session.ID == connected.ID && !e.Session.Ended.IsZero() })
	if p := e.Session.Parties[0]; p.Code != 503 || p.Reason != "Service unavailable" || e.Cause != telephony.CauseFailed {
		t.Fatalf("party after Close %+v (%s)", p, e.Cause)
	}
	if _, _, err := r.sw.Dial(ctx, "a1", "102", "offer"); !errors.Is(err, telephony.ErrClosed) {
		t.Fatalf("dial after Close: %v", err)
	}
	r.sw.Close(ctx) // twice is harmless
}

func TestUnregisterDevice(t *testing.T) {
	ctx := context.Background()
	t.Run("caller device while ringing", func(t *testing.T) {
		r := newRig(t)
		s := r.dial(t, "a1", "102")
		r.sw.UnregisterDevice("a1")
		e := r.bus.waitFor(t, func(e telephony.Event) bool { return !e.Session.Ended.IsZero() })
		if e.Cause != telephony.CauseCancel || e.Device != "a1" || e.Session.Parties[0].Code != 487 {
			t.Fatalf("event %+v", e)
		}
		if _, _, err := r.sw.Dial(ctx, "a1", "102", "offer"); !errors.Is(err, telephony.ErrNoDevice) {
			t.Fatalf("dial from unregistered device: %v", err)
		}
		if err := r.sw.Hangup(ctx, "a1", s.ID); !errors.Is(err, telephony.ErrNoDevice) {
			t.Fatalf("hangup from unregistered device: %v", err)
		}
	})
	t.Run("answered callee device", func(t *testing.T) {
		r := newRig(t)
		s := r.connected(t)
		r.sw.UnregisterDevice("b1")
		e := r.bus.waitFor(t, func(e telephony.Event) bool { return !e.Session.Ended.IsZero() })
		if e.Cause != telephony.CauseHangup || e.Session.Parties[1].Result != telephony.ResultConnected {
			t.Fatalf("event %+v", e)
		}
		if !r.media.isClosed(s.Parties[1].ID) {
			t.Fatal("leg not closed")
		}
	})
	t.Run("ringing devices", func(t *testing.T) {
		r := newRig(t)
		s := r.dial(t, "a1", "102")
		r.bus.take()
		r.sw.UnregisterDevice("b1")
		got, ok := r.sw.Session(s.ID)
		if !ok || !slices.Equal(got.Parties[1].Ringing, []string{"b2"}) || len(r.bus.take()) != 0 {
			t.Fatalf("after one device left: %+v", got)
		}
		r.sw.UnregisterDevice("b2")
		ev := r.bus.take()
		if got := causes(ev); !slices.Equal(got, []string{"101:failed", "102:failed"}) {
			t.Fatalf("events %v", got)
		}
		if p := ev[0].Session.Parties[0]; p.Code != 480 || p.Result != telephony.ResultFailed || ev[0].Session.Parties[1].Result != telephony.ResultMissed {
			t.Fatalf("caller %+v", p)
		}
	})
	t.Run("unknown device", func(t *testing.T) {
		r := newRig(t)
		r.sw.UnregisterDevice("nope")
		r.sw.RegisterDevice(telephony.Device{ID: "a1", ExtensionID: alice}) // again: harmless
		r.dial(t, "a1", "102")
	})
}

func TestDialErrors(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	if _, _, err := r.sw.Dial(ctx, "a1", "  ", "offer"); !errors.Is(err, telephony.ErrBadNumber) {
		t.Fatalf("empty number: %v", err)
	}
	if _, _, err := r.sw.Dial(ctx, "zz", "102", "offer"); !errors.Is(err, telephony.ErrNoDevice) {
		t.Fatalf("unknown device: %v", err)
	}
	if _, _, err := r.sw.Dial(ctx, "a1", "102", ""); err == nil { // the fake gateway refuses empty offers
		t.Fatal("bad offer accepted")
	}
	boom := errors.New("directory down")
	sw := telephony.New(telephony.Config{}, directory{err: boom}, newMedia(), newBus(), newPresence(), nil)
	sw.RegisterDevice(telephony.Device{ID: "a1", ExtensionID: alice})
	if _, _, err := sw.Dial(ctx, "a1", "102", "offer"); !errors.Is(err, boom) {
		t.Fatalf("directory error: %v", err)
	}
	if ev := r.bus.all(); len(ev) != 0 || len(r.sw.Sessions(alice)) != 0 {
		t.Fatalf("failed dials left events %v", causes(ev))
	}
}

func TestSelfCall(t *testing.T) {
	r := newRig(t)
	r.sw.RegisterDevice(telephony.Device{ID: "a2", ExtensionID: alice})
	s := r.dial(t, "a1", "101")
	if !slices.Equal(s.Parties[1].Ringing, []string{"a2"}) {
		t.Fatalf("ringing %v", s.Parties[1].Ringing)
	}
	if got := causes(r.bus.take()); !slices.Equal(got, []string{"101:dial", "101:ring"}) {
		t.Fatalf("events %v", got)
	}
}

// TestHangupWhileAnswering: the caller hangs up while the callee's leg is
// being opened; the answer fails and its leg is closed.
func TestHangupWhileAnswering(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	s := r.dial(t, "a1", "102")
	r.media.mu.Lock()
	r.media.gate, r.media.entered = make(chan struct{}), make(chan struct{})
	r.media.mu.Unlock()
	errc := make(chan error, 1)
	go func() {
		_, _, err := r.sw.Answer(ctx, "b1", s.ID, "offer-b1")
		errc <- err
	}()
	<-r.media.entered
	if _, _, err := r.sw.Answer(ctx, "b2", s.ID, "offer-b2"); !errors.Is(err, telephony.ErrInvalidState) {
		t.Fatalf("second answer while answering: %v", err)
	}
	if err := r.sw.Hangup(ctx, "a1", s.ID); err != nil {
		t.Fatal(err)
	}
	close(r.media.gate)
	if err := <-errc; !errors.Is(err, telephony.ErrNoSuchCall) {
		t.Fatalf("answer of a cancelled call: %v", err)
	}
	if !r.media.isClosed(s.Parties[1].ID) {
		t.Fatal("late leg not closed")
	}
}

func TestAnswerMediaError(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	s := r.dial(t, "a1", "102")
	r.media.mu.Lock()
	r.media.openErr = errors.New("bad offer")
	r.media.mu.Unlock()
	if _, _, err := r.sw.Answer(ctx, "b1", s.ID, "offer"); err == nil {
		t.Fatal("answer with a failing leg succeeded")
	}
	r.media.mu.Lock()
	r.media.openErr = nil
	r.media.mu.Unlock()
	if _, _, err := r.sw.Answer(ctx, "b1", s.ID, "offer"); err != nil { // still ringing: try again
		t.Fatal(err)
	}
}

// TestSubscriberCallsBack: a subscriber acting on the switch from inside
// Publish neither deadlocks nor reorders events.
func TestSubscriberCallsBack(t *testing.T) {
	b := telephony.NewBus()
	m := newMedia()
	sw := telephony.New(telephony.Config{}, directory{}, m, b, newPresence(), nil)
	sw.RegisterDevice(telephony.Device{ID: "a1", ExtensionID: alice})
	sw.RegisterDevice(telephony.Device{ID: "b1", ExtensionID: bob})
	var got []string
	b.Subscribe(func(e telephony.Event) {
		got = append(got, string(e.Cause))
		sw.Sessions(e.Extension)
		if e.Cause == telephony.CauseRing {
			if err := sw.Reject(context.Background(), "b1", e.Session.ID); err != nil {
				t.Error(err)
			}
		}
	})
	var second []string
	unsubscribe := b.Subscribe(func(e telephony.Event) { second = append(second, string(e.Cause)) })
	if _, _, err := sw.Dial(context.Background(), "a1", "102", "offer"); err != nil {
		t.Fatal(err)
	}
	want := []string{"dial", "ring", "reject", "reject"}
	if !slices.Equal(got, want) || !slices.Equal(second, want) {
		t.Fatalf("events %v / %v, want %v", got, second, want)
	}
	unsubscribe()
	unsubscribe()
	sw.Close(context.Background())
	if len(second) != len(want) {
		t.Fatal("unsubscribed handler still called")
	}
}

func TestCallLogErrorDoesNotBlock(t *testing.T) {
	r := newRig(t)
	r.log.mu.Lock()
	r.log.err = errors.New("disk full")
	r.log.mu.Unlock()
	s := r.dial(t, "a1", "102")
	if err := r.sw.Hangup(context.Background(), "a1", s.ID); err != nil {
		t.Fatal(err)
	}
	r.log.wait(t, 2)
	r.dial(t, "a1", "102")
}
