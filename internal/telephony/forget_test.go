package telephony_test

import (
	"context"
	"testing"

	"github.com/callbridge/widget-server/internal/telephony"
)

// TestForgetEndsQuietly: a call another node already ended for everyone
// ends here with its legs closed, its events Quiet and no call-log record;
// the next call is logged as usual.
func TestForgetEndsQuietly(t *testing.T) {
	r := newRig(t)
	s := r.connected(t)
	r.bus.take()
	if n := r.sw.Forget([]string{s.ID, "s-unknown"}); n != 1 {
		t.Fatalf("Forget ended %d calls, want 1", n)
	}
	events := r.bus.take()
	if len(events) == 0 {
		t.Fatal("no event of the forgotten call")
	}
	for _, e := range events {
		if !e.Quiet || e.Session.Ended.IsZero() {
			t.Fatalf("event %s of extension %d: quiet %v, ended %v", e.Cause, e.Extension, e.Quiet, e.Session.Ended)
		}
		for _, p := range e.Session.Parties {
			if p.Status != telephony.StatusDisconnected || p.Code != 503 || p.Reason != telephony.ReasonNodeLost {
				t.Fatalf("party %s after Forget: %s %d %q", p.ID, p.Status, p.Code, p.Reason)
			}
		}
		if e.Presence.TelephonyStatus != telephony.NoCall {
			t.Fatalf("presence of extension %d after Forget: %s", e.Extension, e.Presence.TelephonyStatus)
		}
	}
	for _, p := range s.Parties {
		if !r.media.isClosed(p.ID) {
			t.Fatalf("the leg of party %s is open", p.ID)
		}
	}
	if _, ok := r.sw.Session(s.ID); ok {
		t.Fatal("the switch still has the forgotten call")
	}

	next := r.connected(t)
	if err := r.sw.Hangup(context.Background(), "a1", next.ID); err != nil {
		t.Fatal(err)
	}
	for _, rec := range r.log.wait(t, 2) {
		if rec.TelephonySessionID != next.ID {
			t.Fatalf("a call-log record of session %s, want only %s's", rec.TelephonySessionID, next.ID)
		}
	}
}
