package telephony_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/telephony"
)

// TestActiveRecordsAgreeWithCallLog holds the records of live calls to the
// records the call log gets when the calls end: the same id, action,
// direction and parties; In Progress and the duration so far meanwhile.
func TestActiveRecordsAgreeWithCallLog(t *testing.T) {
	ctx := context.Background()
	type live struct {
		ext    int64
		before []telephony.CallRecord
	}
	tests := []struct {
		name  string
		place func(t *testing.T, r *rig) string // returns the session id, connected
		exts  []int64
		hang  string // device that hangs up
	}{
		{"extension to extension", func(t *testing.T, r *rig) string { return r.connected(t).ID },
			[]int64{alice, bob}, "a1"},
		{"test line", func(t *testing.T, r *rig) string {
			s := r.dial(t, "a1", "+15550100")
			r.bus.waitFor(t, func(e telephony.Event) bool { return e.Cause == telephony.CauseAnswer })
			return s.ID
		}, []int64{alice}, "a1"},
		{"RingOut to an extension", func(t *testing.T, r *rig) string {
			ro, err := r.sw.RingOut(ctx, alice, "101", "102", "", false)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := r.sw.Answer(ctx, "a1", ro.TelephonySessionID, "offer-a1"); err != nil {
				t.Fatal(err)
			}
			if _, _, err := r.sw.Answer(ctx, "b1", ro.TelephonySessionID, "offer-b1"); err != nil {
				t.Fatal(err)
			}
			return ro.TelephonySessionID
		}, []int64{alice, bob}, "b1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			id := tt.place(t, r)
			r.clock.advance(7 * time.Second)
			var lives []live
			for _, ext := range tt.exts {
				recs := r.sw.ActiveRecords(ext)
				if len(recs) != 1 {
					t.Fatalf("extension %d: %d active records, want 1: %+v", ext, len(recs), recs)
				}
				rec := recs[0]
				if rec.TelephonySessionID != id || rec.Result != telephony.ResultInProgress || rec.Duration != 7*time.Second ||
					rec.Extension != ext || rec.Type != "Voice" {
					t.Fatalf("extension %d: active record %+v", ext, rec)
				}
				lives = append(lives, live{ext, recs})
			}
			if err := r.sw.Hangup(ctx, tt.hang, id); err != nil {
				t.Fatal(err)
			}
			final := map[int64]telephony.CallRecord{}
			for _, rec := range r.log.wait(t, len(tt.exts)) {
				final[rec.Extension] = rec
			}
			for _, l := range lives {
				got, want := l.before[0], final[l.ext]
				got.Result, got.Duration = want.Result, want.Duration
				if !reflect.DeepEqual(got, want) {
					t.Errorf("extension %d: active record\n%+v\nbecame\n%+v", l.ext, l.before[0], want)
				}
				if len(r.sw.ActiveRecords(l.ext)) != 0 {
					t.Errorf("extension %d: active records after the end", l.ext)
				}
			}
		})
	}
}

// TestActiveRecordsOfRingingCall: a ringing call is a live call of both
// sides, with no duration yet; a department call one of each member it rings.
func TestActiveRecordsOfRingingCall(t *testing.T) {
	r := newRig(t)
	s := r.dial(t, "a1", "200")
	for _, tt := range []struct {
		ext int64
		dir telephony.Direction
	}{{alice, telephony.Outbound}, {bob, telephony.Inbound}, {carol, telephony.Inbound}} {
		recs := r.sw.ActiveRecords(tt.ext)
		if len(recs) != 1 || recs[0].TelephonySessionID != s.ID || recs[0].Direction != tt.dir || recs[0].Duration != 0 ||
			recs[0].Action != "VoIP Call" || recs[0].Result != telephony.ResultInProgress {
			t.Fatalf("extension %d: %+v", tt.ext, recs)
		}
	}
	if recs := r.sw.ActiveRecords(dave); len(recs) != 0 {
		t.Fatalf("records of an extension not in the call: %+v", recs)
	}
}

// wantRecord fails the test unless the extension's record of the call among
// recs is want (its id and parties taken from it).
func wantRecord(t *testing.T, recs []telephony.CallRecord, partyID string, want telephony.CallRecord) {
	t.Helper()
	for _, rec := range recs {
		if rec.PartyID != partyID {
			continue
		}
		want.ID, want.PartyID, want.SessionID, want.TelephonySessionID = rec.ID, rec.PartyID, rec.SessionID, rec.TelephonySessionID
		want.Type = "Voice"
		if !reflect.DeepEqual(rec, want) {
			t.Errorf("record of party %s\n%+v\nwant\n%+v", partyID, rec, want)
		}
		return
	}
	t.Errorf("no record of party %s in %+v", partyID, recs)
}

// TestLegsOfHandedOnCalls: a transferred, recalled or forwarded call keeps
// one record per extension party, with its legs: the master as the call
// began for the party, then a Transfer or Forward leg per hand-over, each
// with its own start, time connected and result.
func TestLegsOfHandedOnCalls(t *testing.T) {
	ctx := context.Background()
	at := func(s int) time.Time { return epoch.Add(time.Duration(s) * time.Second) }
	sec := func(s int) time.Duration { return time.Duration(s) * time.Second }
	// transfer connects Alice (a1) and Bob (b1) at +2 s and has Bob
	// transfer the call to Carol (103) at +12 s; it returns the session
	// after the transfer, Alice's and Bob's parties.
	transfer := func(t *testing.T, r *rig) (telephony.Session, telephony.Party, telephony.Party) {
		t.Helper()
		s := r.dial(t, "a1", "102")
		r.clock.advance(sec(2))
		s, _, err := r.sw.Answer(ctx, "b1", s.ID, "offer-b1")
		if err != nil {
			t.Fatal(err)
		}
		r.clock.advance(sec(10))
		after, err := r.sw.Transfer(ctx, "b1", s.ID, "103")
		if err != nil {
			t.Fatal(err)
		}
		a, _ := s.Party(s.Parties[0].ID)
		b, _ := s.Party(s.Parties[1].ID)
		return after, a, b
	}

	t.Run("transferred", func(t *testing.T) {
		r := newRig(t)
		s, a, b := transfer(t, r)
		target := s.Parties[1]
		// Bob leaves at once with his record: his call, then where it went.
		wantRecord(t, r.log.wait(t, 1), b.ID, telephony.CallRecord{Extension: bob, StartTime: epoch, Duration: sec(10),
			Direction: telephony.Inbound, From: b.From, To: b.To, Action: "VoIP Call", Result: telephony.ResultTransferred,
			Legs: []telephony.CallLeg{
				{StartTime: epoch, Duration: sec(10), Direction: telephony.Inbound, Action: "VoIP Call",
					Result: telephony.ResultTransferred, From: b.From, To: b.To},
				{StartTime: at(12), Direction: telephony.Outbound, Action: telephony.ActionTransfer,
					Result: telephony.ResultTransferred, From: b.To, To: target.To},
			}})
		r.clock.advance(sec(3))
		live := r.sw.ActiveRecords(alice)
		if len(live) != 1 || len(live[0].Legs) != 2 || live[0].Legs[1].Result != telephony.ResultInProgress ||
			live[0].Legs[0].Result != telephony.ResultTransferred {
			t.Fatalf("Alice's live record while the target rings: %+v", live)
		}
		if _, _, err := r.sw.Answer(ctx, "c1", s.ID, "offer-c1"); err != nil {
			t.Fatal(err)
		}
		r.clock.advance(sec(20))
		if err := r.sw.Hangup(ctx, "a1", s.ID); err != nil {
			t.Fatal(err)
		}
		recs := r.log.wait(t, 3)
		wantRecord(t, recs, a.ID, telephony.CallRecord{Extension: alice, StartTime: epoch, Duration: sec(33),
			Direction: telephony.Outbound, From: a.From, To: a.To, Action: "VoIP Call", Result: telephony.ResultConnected,
			Legs: []telephony.CallLeg{
				{StartTime: epoch, Duration: sec(10), Direction: telephony.Outbound, Action: "VoIP Call",
					Result: telephony.ResultTransferred, From: a.From, To: a.To},
				{StartTime: at(12), Duration: sec(20), Direction: telephony.Outbound, Action: telephony.ActionTransfer,
					Result: telephony.ResultConnected, From: a.From, To: target.To},
			}})
		// Carol's record is the call as it reached her: one leg.
		wantRecord(t, recs, target.ID, telephony.CallRecord{Extension: carol, StartTime: at(12), Duration: sec(20),
			Direction: telephony.Inbound, From: a.From, To: target.To, Action: "VoIP Call", Result: telephony.ResultConnected})
	})

	t.Run("recalled", func(t *testing.T) {
		r := newRig(t)
		s, a, b := transfer(t, r)
		target := s.Parties[1]
		r.clock.advance(sec(5))
		if err := r.sw.Reject(ctx, "c1", s.ID); err != nil {
			t.Fatal(err)
		}
		wantCause(t, r, bob, s.ID, telephony.CauseTransferFailed)
		recall := partyOf(t, r, s.ID, bob)
		wantRecord(t, r.log.wait(t, 2), target.ID, telephony.CallRecord{Extension: carol, StartTime: at(12),
			Direction: telephony.Inbound, From: a.From, To: target.To, Action: "VoIP Call", Result: telephony.ResultRejected,
			Code: 603, Reason: "Declined"})
		r.clock.advance(sec(3))
		if _, _, err := r.sw.Answer(ctx, "b2", s.ID, "offer-b2"); err != nil {
			t.Fatal(err)
		}
		r.clock.advance(sec(10))
		if err := r.sw.Hangup(ctx, "b2", s.ID); err != nil {
			t.Fatal(err)
		}
		recs := r.log.wait(t, 4)
		wantRecord(t, recs, a.ID, telephony.CallRecord{Extension: alice, StartTime: epoch, Duration: sec(28),
			Direction: telephony.Outbound, From: a.From, To: a.To, Action: "VoIP Call", Result: telephony.ResultConnected,
			Legs: []telephony.CallLeg{
				{StartTime: epoch, Duration: sec(10), Direction: telephony.Outbound, Action: "VoIP Call",
					Result: telephony.ResultTransferred, From: a.From, To: a.To},
				{StartTime: at(12), Direction: telephony.Outbound, Action: telephony.ActionTransfer,
					Result: telephony.ResultRejected, From: a.From, To: target.To},
				{StartTime: at(17), Duration: sec(10), Direction: telephony.Outbound, Action: telephony.ActionTransfer,
					Result: telephony.ResultConnected, From: a.From, To: b.To},
			}})
		wantRecord(t, recs, recall.ID, telephony.CallRecord{Extension: bob, StartTime: at(17), Duration: sec(10),
			Direction: telephony.Inbound, From: a.From, To: b.To, Action: "VoIP Call", Result: telephony.ResultConnected})
	})

	t.Run("recall not answered", func(t *testing.T) {
		r := newRig(t)
		s, a, b := transfer(t, r)
		target := s.Parties[1]
		r.clock.advance(sec(60))
		telephony.FireTimers(r.sw, s.ID)
		wantCause(t, r, bob, s.ID, telephony.CauseTransferFailed)
		r.clock.advance(sec(60))
		telephony.FireTimers(r.sw, s.ID)
		wantCause(t, r, alice, s.ID, telephony.CauseTimeout)
		recs := r.log.wait(t, 4)
		wantRecord(t, recs, a.ID, telephony.CallRecord{Extension: alice, StartTime: epoch, Duration: sec(130),
			Direction: telephony.Outbound, From: a.From, To: a.To, Action: "VoIP Call", Result: telephony.ResultConnected,
			Legs: []telephony.CallLeg{
				{StartTime: epoch, Duration: sec(10), Direction: telephony.Outbound, Action: "VoIP Call",
					Result: telephony.ResultTransferred, From: a.From, To: a.To},
				{StartTime: at(12), Direction: telephony.Outbound, Action: telephony.ActionTransfer,
					Result: telephony.ResultMissed, From: a.From, To: target.To},
				{StartTime: at(72), Direction: telephony.Outbound, Action: telephony.ActionTransfer,
					Result: telephony.ResultMissed, From: a.From, To: b.To},
			}})
	})

	t.Run("forwarded", func(t *testing.T) {
		r := newRig(t)
		s := r.dial(t, "a1", "102")
		a, b := s.Parties[0], s.Parties[1]
		r.clock.advance(sec(4))
		after, err := r.sw.Forward(ctx, "b2", s.ID, "103")
		if err != nil {
			t.Fatal(err)
		}
		target := after.Parties[1]
		wantRecord(t, r.log.wait(t, 1), b.ID, telephony.CallRecord{Extension: bob, StartTime: epoch,
			Direction: telephony.Inbound, From: b.From, To: b.To, Action: "VoIP Call", Result: telephony.ResultForwarded,
			Legs: []telephony.CallLeg{
				{StartTime: epoch, Direction: telephony.Inbound, Action: "VoIP Call",
					Result: telephony.ResultForwarded, From: b.From, To: b.To},
				{StartTime: at(4), Direction: telephony.Outbound, Action: telephony.ActionForward,
					Result: telephony.ResultForwarded, From: b.To, To: target.To},
			}})
		r.clock.advance(sec(2))
		if _, _, err := r.sw.Answer(ctx, "c1", s.ID, "offer-c1"); err != nil {
			t.Fatal(err)
		}
		r.clock.advance(sec(30))
		if err := r.sw.Hangup(ctx, "c1", s.ID); err != nil {
			t.Fatal(err)
		}
		recs := r.log.wait(t, 3)
		wantRecord(t, recs, a.ID, telephony.CallRecord{Extension: alice, StartTime: epoch, Duration: sec(30),
			Direction: telephony.Outbound, From: a.From, To: a.To, Action: "VoIP Call", Result: telephony.ResultConnected,
			Legs: []telephony.CallLeg{
				{StartTime: epoch, Direction: telephony.Outbound, Action: "VoIP Call",
					Result: telephony.ResultForwarded, From: a.From, To: a.To},
				{StartTime: at(4), Duration: sec(30), Direction: telephony.Outbound, Action: telephony.ActionForward,
					Result: telephony.ResultConnected, From: a.From, To: target.To},
			}})
		wantRecord(t, recs, target.ID, telephony.CallRecord{Extension: carol, StartTime: at(4), Duration: sec(30),
			Direction: telephony.Inbound, From: a.From, To: target.To, Action: "VoIP Call", Result: telephony.ResultConnected})
	})

	t.Run("forwarded to a test line that is busy", func(t *testing.T) {
		r := newRig(t)
		s := r.dial(t, "a1", "102")
		a := s.Parties[0]
		after, err := r.sw.Forward(ctx, "b1", s.ID, "+15550102")
		if err != nil {
			t.Fatal(err)
		}
		telephony.FireTimers(r.sw, s.ID)
		wantCause(t, r, alice, s.ID, telephony.CauseFailed)
		recs := r.log.wait(t, 2)
		wantRecord(t, recs, a.ID, telephony.CallRecord{Extension: alice, StartTime: epoch,
			Direction: telephony.Outbound, From: a.From, To: a.To, Action: "Phone Call", Result: telephony.ResultBusy,
			Code: 486, Reason: "Busy Here", Legs: []telephony.CallLeg{
				{StartTime: epoch, Direction: telephony.Outbound, Action: "VoIP Call",
					Result: telephony.ResultForwarded, From: a.From, To: a.To},
				{StartTime: epoch, Direction: telephony.Outbound, Action: telephony.ActionForward,
					Result: telephony.ResultBusy, From: a.From, To: after.Parties[1].To},
			}})
	})
}
