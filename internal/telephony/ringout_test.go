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

// waitRingOut waits until the RingOut's status satisfies done and returns it.
func (r *rig) waitRingOut(t *testing.T, ext int64, id string, done func(telephony.RingOutStatus) bool) telephony.RingOut {
	t.Helper()
	deadline := time.After(patience)
	for {
		ro, ok := r.sw.FindRingOut(ext, id)
		if !ok {
			t.Fatalf("RingOut %s not found", id)
		}
		if done(ro.Status) {
			return ro
		}
		select {
		case <-r.bus.notify:
		case <-deadline:
			t.Fatalf("RingOut %s stayed at %+v", id, ro.Status)
		}
	}
}

func ended(st telephony.RingOutStatus) bool { return st.Call != telephony.RingOutInProgress }

func status(call, caller, callee telephony.RingOutState) telephony.RingOutStatus {
	return telephony.RingOutStatus{Call: call, Caller: caller, Callee: callee}
}

const (
	inProgress  = telephony.RingOutInProgress
	success     = telephony.RingOutSuccess
	canceled    = telephony.RingOutCanceled
	cannotReach = telephony.RingOutCannotReach
)

// TestRingOutTestLines places RingOuts between test lines, where no browser
// takes part: each line's behaviour becomes the status of its leg.
func TestRingOutTestLines(t *testing.T) {
	tests := []struct {
		from, to string
		want     telephony.RingOutStatus
		result   string // the owner's call-log result; "" while the call lasts
	}{
		{"+15550100", "+15550101", status(success, success, success), ""},
		{"+15550101", "+15550100", status(success, success, success), ""},
		{"+15550102", "+15550100", status(telephony.RingOutBusy, telephony.RingOutBusy, canceled), telephony.ResultBusy},
		{"+15550103", "+15550100", status(cannotReach, cannotReach, canceled), telephony.ResultFailed},
		{"+15550104", "+15550100", status(cannotReach, cannotReach, canceled), telephony.ResultFailed},
		{"+15550105", "+15550100", status(telephony.RingOutRejected, telephony.RingOutRejected, canceled), telephony.ResultRejected},
		{"+15550106", "+15550100", status(telephony.RingOutNotEnoughFunds, telephony.RingOutNotEnoughFunds, canceled), telephony.ResultFailed},
		{"+15550107", "+15550100", status(telephony.RingOutNoAnswer, telephony.RingOutNoAnswer, canceled), telephony.ResultNoAnswer},
		{"+15550150", "+15550100", status(cannotReach, cannotReach, canceled), telephony.ResultFailed},
		{"+14155550123", "+15550100", status(cannotReach, cannotReach, canceled), telephony.ResultFailed},
		{"+15550100", "+15550102", status(telephony.RingOutBusy, success, telephony.RingOutBusy), telephony.ResultBusy},
		{"+15550100", "+15550105", status(telephony.RingOutRejected, success, telephony.RingOutRejected), telephony.ResultRejected},
		{"+15550100", "+15550107", status(telephony.RingOutNoAnswer, success, telephony.RingOutNoAnswer), telephony.ResultNoAnswer},
		{"+15550100", "+15550104", status(cannotReach, success, cannotReach), telephony.ResultFailed},
		{"+15550100", "+14155550123", status(cannotReach, success, cannotReach), telephony.ResultFailed},
	}
	for _, tt := range tests {
		t.Run(tt.from+" to "+tt.to, func(t *testing.T) {
			r := newRig(t, func(c *telephony.Config) { c.RingTimeout = 40 * time.Millisecond })
			ro, err := r.sw.RingOut(context.Background(), alice, tt.from, tt.to, "", false)
			if err != nil {
				t.Fatal(err)
			}
			if ro.Extension != alice || ro.ID == "" || ro.TelephonySessionID == "" || ro.From.PhoneNumber != tt.from || ro.To.PhoneNumber != tt.to {
				t.Fatalf("RingOut %+v", ro)
			}
			got := r.waitRingOut(t, alice, ro.ID, func(st telephony.RingOutStatus) bool { return st.Call != inProgress })
			if got.Status != tt.want {
				t.Fatalf("status %+v, want %+v", got.Status, tt.want)
			}
			first := r.bus.all()[0]
			if first.Cause != telephony.CauseRing || first.Extension != alice || first.Session.Origin != telephony.OriginRingOut ||
				first.Session.SessionID != ro.ID || first.Session.Parties[0].Owner != alice || first.Session.Parties[1].Owner != 0 ||
				first.Presence.TelephonyStatus != telephony.Ringing {
				t.Fatalf("first event %+v", first)
			}
			for _, e := range r.bus.all() {
				if e.Extension != alice {
					t.Fatalf("event for extension %d", e.Extension)
				}
			}
			if len(r.media.opened) != 0 {
				t.Fatalf("media legs opened between test lines: %v", r.media.opened)
			}
			if tt.result == "" {
				s, ok := r.sw.Session(ro.TelephonySessionID)
				if !ok || s.Connected.IsZero() || s.Parties[0].Status != telephony.StatusAnswered || s.Parties[1].Status != telephony.StatusAnswered {
					t.Fatalf("connected session %+v", s)
				}
				if _, err := r.sw.CancelRingOut(context.Background(), alice, ro.ID); !errors.Is(err, telephony.ErrInvalidState) {
					t.Fatalf("cancel after success: %v", err)
				}
				return
			}
			if got.Ended.IsZero() {
				t.Fatal("ended RingOut without an end time")
			}
			recs := r.log.wait(t, 1)
			if recs[0].Extension != alice || recs[0].Action != telephony.ActionRingOutWeb || recs[0].Result != tt.result ||
				recs[0].Direction != telephony.Outbound || recs[0].From.PhoneNumber != tt.from || recs[0].To.PhoneNumber != tt.to {
				t.Fatalf("record %+v", recs[0])
			}
			if _, err := r.sw.CancelRingOut(context.Background(), alice, ro.ID); !errors.Is(err, telephony.ErrInvalidState) {
				t.Fatalf("cancel after the end: %v", err)
			}
		})
	}
}

// TestRingOutFromOwnDevices: Bob's RingOut from his own number rings his
// devices as an inbound call; he answers on one, the tone line rings and
// answers, and his leg is a tone leg. Hanging up ends it.
func TestRingOutFromOwnDevices(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	telephony.SetTestLineDelays(r.sw, time.Hour, time.Hour) // the tone line answers when the test says
	ro, err := r.sw.RingOut(ctx, bob, "+1 (650) 555-0102", "+15550100", "", true)
	if err != nil {
		t.Fatal(err)
	}
	if !ro.PlayPrompt || ro.From.Name != "Bob Brown" || ro.From.PhoneNumber != "+16505550102" || ro.Status != status(inProgress, inProgress, inProgress) {
		t.Fatalf("RingOut %+v", ro)
	}
	s, _ := r.sw.Session(ro.TelephonySessionID)
	from, to := s.Parties[0], s.Parties[1]
	if !slices.Equal(from.Ringing, []string{"b1", "b2"}) || from.Status != telephony.StatusProceeding || from.Direction != telephony.Outbound ||
		to.Status != telephony.StatusSetup || to.From.Name != "Bob Brown" {
		t.Fatalf("parties %+v", s.Parties)
	}
	if got := causes(r.bus.take()); !slices.Equal(got, []string{"102:ring"}) {
		t.Fatalf("events %v", got)
	}
	if _, _, err := r.sw.Answer(ctx, "a1", s.ID, "offer-a1"); !errors.Is(err, telephony.ErrNotYourCall) {
		t.Fatalf("answer by another extension's device: %v", err)
	}

	s, answer, err := r.sw.Answer(ctx, "b2", s.ID, "offer-b2")
	if err != nil {
		t.Fatal(err)
	}
	if answer != "answer-"+from.ID || s.Parties[0].Device != "b2" || s.Parties[0].Ringing != nil || s.Parties[0].Status != telephony.StatusAnswered {
		t.Fatalf("after answer %+v, %q", s.Parties, answer)
	}
	if k, _ := r.media.kind(from.ID); k != telephony.LegTone {
		t.Fatalf("from leg kind %v, want a tone leg", k)
	}
	if got, _ := r.sw.FindRingOut(bob, ro.ID); got.Status != status(inProgress, success, inProgress) {
		t.Fatalf("after from answered: %+v", got.Status)
	}
	telephony.FireTimers(r.sw, s.ID)
	e := r.bus.waitFor(t, func(e telephony.Event) bool { return !e.Session.Connected.IsZero() })
	if e.Cause != telephony.CauseAnswer || e.Presence.TelephonyStatus != telephony.CallConnected {
		t.Fatalf("connected event %+v", e)
	}
	if got := causes(r.bus.all()); !slices.Equal(got, []string{"102:answer", "102:ring", "102:answer"}) {
		t.Fatalf("events %v", got)
	}
	if got, _ := r.sw.FindRingOut(bob, ro.ID); got.Status != status(success, success, success) {
		t.Fatalf("after to answered: %+v", got.Status)
	}
	if _, ok := r.sw.FindRingOut(alice, ro.ID); ok {
		t.Fatal("another extension found the RingOut")
	}

	r.clock.advance(7 * time.Second)
	if err := r.sw.Hangup(ctx, "b2", s.ID); err != nil {
		t.Fatal(err)
	}
	recs := r.log.wait(t, 1)
	if recs[0].Action != telephony.ActionRingOutWeb || recs[0].Result != telephony.ResultConnected || recs[0].Duration != 7*time.Second {
		t.Fatalf("record %+v", recs[0])
	}
	if got, _ := r.sw.FindRingOut(bob, ro.ID); got.Status != status(success, success, success) || got.Ended.IsZero() {
		t.Fatalf("after hang-up: %+v", got)
	}
	if !r.media.isClosed(from.ID) {
		t.Fatal("from leg not closed")
	}
	r.clock.advance(telephony.RingOutRetention + time.Second)
	if _, ok := r.sw.FindRingOut(bob, ro.ID); ok {
		t.Fatal("RingOut still found after its retention")
	}
}

// TestRingOutToExtension: Alice rings out from her own number to Bob's
// extension; both browser legs are bridged; Bob sees the caller id Alice chose.
func TestRingOutToExtension(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.sw.RegisterDevice(telephony.Device{ID: "a2", ExtensionID: alice})
	ro, err := r.sw.RingOut(ctx, alice, "101", "102", "+16505550100", false)
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := r.sw.Answer(ctx, "a1", ro.TelephonySessionID, "offer-a1")
	if err != nil {
		t.Fatal(err)
	}
	from, to := s.Parties[0], s.Parties[1]
	if to.Owner != bob || !slices.Equal(to.Ringing, []string{"b1", "b2"}) || to.Status != telephony.StatusProceeding ||
		to.From.PhoneNumber != "+16505550100" || to.From.Name != "Alice Adams" || to.To.ExtensionNumber != "102" {
		t.Fatalf("to leg %+v", to)
	}
	if k, _ := r.media.kind(from.ID); k != telephony.LegPhone {
		t.Fatalf("from leg kind %v", k)
	}
	if got := causes(r.bus.all()); !slices.Equal(got, []string{"101:ring", "101:answer", "101:ring", "102:ring"}) {
		t.Fatalf("events %v", got)
	}
	if _, _, err := r.sw.Answer(ctx, "a2", s.ID, "offer-a2"); !errors.Is(err, telephony.ErrInvalidState) {
		t.Fatalf("answer of the answered from leg on another device: %v", err)
	}
	s, _, err = r.sw.Answer(ctx, "b1", s.ID, "offer-b1")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.media.connects, [][2]string{{from.ID, to.ID}}) || s.Connected.IsZero() || s.Parties[1].Device != "b1" {
		t.Fatalf("connects %v, session %+v", r.media.connects, s)
	}
	if got, _ := r.sw.FindRingOut(alice, ro.ID); got.Status != status(success, success, success) {
		t.Fatalf("status %+v", got.Status)
	}
	if err := r.sw.Hangup(ctx, "b1", s.ID); err != nil {
		t.Fatal(err)
	}
	recs := r.log.wait(t, 2)
	for _, rec := range recs {
		want := map[int64]string{alice: telephony.ActionRingOutWeb, bob: "VoIP Call"}[rec.Extension]
		if rec.Action != want || rec.Result != telephony.ResultConnected {
			t.Errorf("record %+v", rec)
		}
	}
}

// TestRingOutEnds covers the ways a RingOut with browser legs ends before
// it connects: the status of each leg and the call-log results.
func TestRingOutEnds(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		run     func(t *testing.T, r *rig, ro telephony.RingOut)
		want    telephony.RingOutStatus
		results map[int64]string
	}{
		{"no answer at from", func(t *testing.T, r *rig, ro telephony.RingOut) {
			telephony.FireTimers(r.sw, ro.TelephonySessionID)
		},
			status(telephony.RingOutNoAnswer, telephony.RingOutNoAnswer, canceled), map[int64]string{alice: telephony.ResultNoAnswer}},
		{"rejected at from", func(t *testing.T, r *rig, ro telephony.RingOut) {
			if err := r.sw.Reject(ctx, "a1", ro.TelephonySessionID); err != nil {
				t.Fatal(err)
			}
		}, status(telephony.RingOutRejected, telephony.RingOutRejected, canceled), map[int64]string{alice: telephony.ResultRejected}},
		{"cancelled while from rings", func(t *testing.T, r *rig, ro telephony.RingOut) {
			got, err := r.sw.CancelRingOut(ctx, alice, ro.ID)
			if err != nil || got.Status != status(canceled, canceled, canceled) {
				t.Fatalf("cancel: %+v, %v", got, err)
			}
		}, status(canceled, canceled, canceled), map[int64]string{alice: telephony.ResultCanceled}},
		{"from device gone", func(t *testing.T, r *rig, ro telephony.RingOut) {
			r.sw.UnregisterDevice("a1")
		}, status(cannotReach, cannotReach, canceled), map[int64]string{alice: telephony.ResultFailed}},
		{"rejected at to", func(t *testing.T, r *rig, ro telephony.RingOut) {
			answer(t, r, "a1", ro)
			for _, d := range []string{"b1", "b2"} {
				if err := r.sw.Reject(ctx, d, ro.TelephonySessionID); err != nil {
					t.Fatal(err)
				}
			}
		}, status(telephony.RingOutRejected, success, telephony.RingOutRejected),
			map[int64]string{alice: telephony.ResultRejected, bob: telephony.ResultRejected}},
		{"no answer at to", func(t *testing.T, r *rig, ro telephony.RingOut) {
			answer(t, r, "a1", ro)
			telephony.FireTimers(r.sw, ro.TelephonySessionID)
		}, status(telephony.RingOutNoAnswer, success, telephony.RingOutNoAnswer),
			map[int64]string{alice: telephony.ResultNoAnswer, bob: telephony.ResultMissed}},
		{"cancelled while to rings", func(t *testing.T, r *rig, ro telephony.RingOut) {
			answer(t, r, "a1", ro)
			if _, err := r.sw.CancelRingOut(ctx, alice, ro.ID); err != nil {
				t.Fatal(err)
			}
		}, status(canceled, success, canceled), map[int64]string{alice: telephony.ResultCanceled, bob: telephony.ResultMissed}},
		{"from hangs up while to rings", func(t *testing.T, r *rig, ro telephony.RingOut) {
			answer(t, r, "a1", ro)
			if err := r.sw.Hangup(ctx, "a1", ro.TelephonySessionID); err != nil {
				t.Fatal(err)
			}
		}, status(canceled, success, canceled), map[int64]string{alice: telephony.ResultCanceled, bob: telephony.ResultMissed}},
		{"to in do-not-disturb", func(t *testing.T, r *rig, ro telephony.RingOut) {
			r.setDND(t, bob, presence.DoNotAcceptAnyCalls)
			answer(t, r, "a1", ro)
		}, status(cannotReach, success, cannotReach), map[int64]string{alice: telephony.ResultFailed, bob: telephony.ResultMissed}},
		{"server stops", func(t *testing.T, r *rig, ro telephony.RingOut) {
			answer(t, r, "a1", ro)
			r.sw.Close(ctx)
		}, status(telephony.RingOutError, success, telephony.RingOutError), map[int64]string{alice: telephony.ResultFailed, bob: telephony.ResultFailed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t) // the ring timeout fires when a case fires it
			ro, err := r.sw.RingOut(ctx, alice, "+16505550101", "102", "", false)
			if err != nil {
				t.Fatal(err)
			}
			tt.run(t, r, ro)
			got := r.waitRingOut(t, alice, ro.ID, ended)
			if got.Status != tt.want {
				t.Fatalf("status %+v, want %+v", got.Status, tt.want)
			}
			recs := r.log.wait(t, len(tt.results))
			for _, rec := range recs {
				if rec.Result != tt.results[rec.Extension] {
					t.Errorf("record of %d: %s, want %s", rec.Extension, rec.Result, tt.results[rec.Extension])
				}
			}
			if _, ok := r.sw.Session(ro.TelephonySessionID); ok {
				t.Fatal("ended RingOut still active")
			}
			for id, kind := range r.media.opened {
				if !r.media.isClosed(id) {
					t.Errorf("leg %s (%v) not closed", id, kind)
				}
			}
		})
	}
}

// answer answers the from leg of a RingOut on device.
func answer(t *testing.T, r *rig, device string, ro telephony.RingOut) {
	t.Helper()
	s, _, err := r.sw.Answer(context.Background(), device, ro.TelephonySessionID, "offer-"+device)
	if err != nil {
		t.Fatalf("answer the from leg: %v", err)
	}
	if s.Parties[0].Device != device {
		t.Fatalf("from leg %+v", s.Parties[0])
	}
}

func TestRingOutErrors(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	for _, tt := range []struct {
		name               string
		ext                int64
		from, to, callerID string
		want               error
	}{
		{"empty from", alice, " ", "102", "", telephony.ErrBadNumber},
		{"empty to", alice, "101", "", "", telephony.ErrBadNumber},
		{"letters", alice, "abc", "102", "", telephony.ErrBadNumber},
		{"bad caller id", alice, "101", "102", "12x", telephony.ErrBadNumber},
		{"another extension's number", alice, "+16505550102", "+15550100", "", telephony.ErrForeignNumber},
		{"another extension's extension number", bob, "103", "+15550100", "", telephony.ErrForeignNumber},
		{"the main number of someone else", bob, "+16505550100", "+15550100", "", telephony.ErrForeignNumber},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := r.sw.RingOut(ctx, tt.ext, tt.from, tt.to, tt.callerID, false); !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
		})
	}
	if ev := r.bus.all(); len(ev) != 0 {
		t.Fatalf("refused RingOuts published %v", causes(ev))
	}
	// The main number reaches the admin, Alice: for her it is her own.
	ro, err := r.sw.RingOut(ctx, alice, "+16505550100", "+15550100", "", false)
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := r.sw.Session(ro.TelephonySessionID); !slices.Equal(s.Parties[0].Ringing, []string{"a1"}) {
		t.Fatalf("from leg %+v", s.Parties[0])
	}
	if _, err := r.sw.CancelRingOut(ctx, bob, ro.ID); !errors.Is(err, telephony.ErrNoSuchCall) {
		t.Fatalf("cancel by another extension: %v", err)
	}
	if _, err := r.sw.CancelRingOut(ctx, alice, "0"); !errors.Is(err, telephony.ErrNoSuchCall) {
		t.Fatalf("cancel of an unknown RingOut: %v", err)
	}
	// Carol has no device: her own number cannot be reached.
	r.sw.UnregisterDevice("c1")
	ro, err = r.sw.RingOut(ctx, carol, "103", "+15550100", "", false)
	if err != nil {
		t.Fatal(err)
	}
	if ro.Status != status(cannotReach, cannotReach, canceled) {
		t.Fatalf("RingOut without a device: %+v", ro.Status)
	}

	boom := errors.New("directory down")
	sw := telephony.New(telephony.Config{}, directory{err: boom}, newMedia(), newBus(), newPresence(), nil)
	if _, err := sw.RingOut(ctx, alice, "101", "102", "", false); !errors.Is(err, boom) {
		t.Fatalf("directory error: %v", err)
	}
	sw.Close(ctx)
	if _, err := sw.RingOut(ctx, alice, "101", "102", "", false); !errors.Is(err, telephony.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}
