package telephony_test

import (
	"context"
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
				if got != want {
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
