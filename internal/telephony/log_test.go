package telephony_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/callbridge/widget-server/internal/telephony"
)

// logRecorder is a slog handler that keeps every record.
type logRecorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.recs = append(l.recs, r.Clone())
	l.mu.Unlock()
	return nil
}

// lines returns the records at level of the session, as "message k=v ...",
// with the attributes in the order logged, the session id left out.
func (l *logRecorder) lines(level slog.Level, sessionID string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.recs {
		if r.Level != level {
			continue
		}
		var b strings.Builder
		b.WriteString(r.Message)
		ours := false
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "telephonySessionId" {
				ours = a.Value.String() == sessionID
				return true
			}
			fmt.Fprintf(&b, " %s=%s", a.Key, a.Value)
			return true
		})
		if ours {
			out = append(out, b.String())
		}
	}
	return out
}

// untagged returns the records at level that name no session.
func (l *logRecorder) untagged(level slog.Level) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.recs {
		tagged := false
		r.Attrs(func(a slog.Attr) bool {
			tagged = tagged || a.Key == "telephonySessionId"
			return !tagged
		})
		if r.Level == level && !tagged {
			out = append(out, r.Message)
		}
	}
	return out
}

// ended waits until the session has ended.
func (r *rig) ended(t *testing.T, id string) {
	t.Helper()
	r.bus.waitFor(t, func(e telephony.Event) bool { return e.Session.ID == id && !e.Session.Ended.IsZero() })
}

// TestCallLifecycleLog: each step of a call is one info line with its
// telephonySessionId — dialled, ringing, answered, and ended or failed with
// cause, code and reason — and nothing else of a call is logged at info
// (hold, mute, a device rejecting while others ring).
func TestCallLifecycleLog(t *testing.T) {
	ctx := context.Background()
	var target, recall string // parties a transfer or forward adds
	tests := []struct {
		name string
		// run drives a call to its end and returns its session.
		run  func(t *testing.T, r *rig) telephony.Session
		want func(s telephony.Session) []string
	}{
		{"answered and hung up", func(t *testing.T, r *rig) telephony.Session {
			s := r.connected(t)
			for _, step := range []func() error{
				func() error { return r.sw.Hold(ctx, "a1", s.ID) },
				func() error { return r.sw.Unhold(ctx, "a1", s.ID) },
				func() error { return r.sw.Mute(ctx, "b1", s.ID, true) },
				func() error { return r.sw.Hangup(ctx, "a1", s.ID) },
			} {
				if err := step(); err != nil {
					t.Fatal(err)
				}
			}
			return s
		}, func(s telephony.Session) []string {
			caller, callee := s.Parties[0].ID, s.Parties[1].ID
			return []string{
				"call dialled origin=Call party=" + caller + " extension=101 device=a1",
				"call ringing party=" + callee + " extension=102 devices=2",
				"call answered party=" + callee + " extension=102 device=b1",
				"call ended cause=hangup code=0 reason=Call connected device=a1",
			}
		}},
		{"cancelled", func(t *testing.T, r *rig) telephony.Session {
			s := r.dial(t, "a1", "102")
			if err := r.sw.Hangup(ctx, "a1", s.ID); err != nil {
				t.Fatal(err)
			}
			return s
		}, func(s telephony.Session) []string {
			return []string{
				"call dialled origin=Call party=" + s.Parties[0].ID + " extension=101 device=a1",
				"call ringing party=" + s.Parties[1].ID + " extension=102 devices=2",
				"call ended cause=cancel code=487 reason=Request Terminated device=a1",
			}
		}},
		{"rejected on every device", func(t *testing.T, r *rig) telephony.Session {
			s := r.dial(t, "a1", "102")
			for _, d := range []string{"b1", "b2"} {
				if err := r.sw.Reject(ctx, d, s.ID); err != nil {
					t.Fatal(err)
				}
			}
			return s
		}, func(s telephony.Session) []string {
			return []string{
				"call dialled origin=Call party=" + s.Parties[0].ID + " extension=101 device=a1",
				"call ringing party=" + s.Parties[1].ID + " extension=102 devices=2",
				"call ended cause=reject code=603 reason=Declined device=b2",
			}
		}},
		{"busy test line", func(t *testing.T, r *rig) telephony.Session {
			s := r.dial(t, "a1", "+15550102")
			r.ended(t, s.ID)
			return s
		}, func(s telephony.Session) []string {
			return []string{
				"call dialled origin=Call party=" + s.Parties[0].ID + " extension=101 device=a1",
				"call ringing party=" + s.Parties[1].ID + " devices=0",
				"call failed cause=failed code=486 reason=Busy Here",
			}
		}},
		{"tone test line", func(t *testing.T, r *rig) telephony.Session {
			s := r.dial(t, "a1", "+15550100")
			r.bus.waitFor(t, func(e telephony.Event) bool { return e.Cause == telephony.CauseAnswer })
			if err := r.sw.Hangup(ctx, "a1", s.ID); err != nil {
				t.Fatal(err)
			}
			return s
		}, func(s telephony.Session) []string {
			return []string{
				"call dialled origin=Call party=" + s.Parties[0].ID + " extension=101 device=a1",
				"call ringing party=" + s.Parties[1].ID + " devices=0",
				"call answered party=" + s.Parties[1].ID,
				"call ended cause=hangup code=0 reason=Call connected device=a1",
			}
		}},
		{"unroutable", func(t *testing.T, r *rig) telephony.Session {
			return r.dial(t, "a1", "+14155550123")
		}, func(s telephony.Session) []string {
			return []string{
				"call dialled origin=Call party=" + s.Parties[0].ID + " extension=101 device=a1",
				"call failed cause=failed code=480 reason=Destination unavailable",
			}
		}},
		{"media failed", func(t *testing.T, r *rig) telephony.Session {
			s := r.connected(t)
			r.sw.LegFailed(s.Parties[1].ID)
			return s
		}, func(s telephony.Session) []string {
			caller, callee := s.Parties[0].ID, s.Parties[1].ID
			return []string{
				"call dialled origin=Call party=" + caller + " extension=101 device=a1",
				"call ringing party=" + callee + " extension=102 devices=2",
				"call answered party=" + callee + " extension=102 device=b1",
				"call failed cause=mediaFailed code=503 reason=Media failed device=b1",
			}
		}},
		{"answer cannot open its leg", func(t *testing.T, r *rig) telephony.Session {
			s := r.dial(t, "a1", "102")
			r.media.mu.Lock()
			r.media.openErr = errors.New("no ICE")
			r.media.mu.Unlock()
			if _, _, err := r.sw.Answer(ctx, "b1", s.ID, "offer-b1"); err == nil {
				t.Fatal("answer without a leg succeeded")
			}
			if err := r.sw.Hangup(ctx, "a1", s.ID); err != nil {
				t.Fatal(err)
			}
			return s
		}, func(s telephony.Session) []string {
			return []string{
				"call dialled origin=Call party=" + s.Parties[0].ID + " extension=101 device=a1",
				"call ringing party=" + s.Parties[1].ID + " extension=102 devices=2",
				"call answer failed party=" + s.Parties[1].ID + " extension=102 device=b1 err=no ICE",
				"call ended cause=cancel code=487 reason=Request Terminated device=a1",
			}
		}},
		{"department", func(t *testing.T, r *rig) telephony.Session {
			s := r.dial(t, "a1", "200")
			if err := r.sw.Reject(ctx, "c1", s.ID); err != nil {
				t.Fatal(err)
			}
			s, _, err := r.sw.Answer(ctx, "b2", s.ID, "offer-b2")
			if err != nil {
				t.Fatal(err)
			}
			if err := r.sw.Hangup(ctx, "b2", s.ID); err != nil {
				t.Fatal(err)
			}
			return s
		}, func(s telephony.Session) []string {
			return []string{
				"call dialled origin=Call party=" + s.Parties[0].ID + " extension=101 device=a1",
				"call ringing party=" + s.Parties[1].ID + " extension=200 devices=3",
				"call answered party=" + s.Parties[1].ID + " extension=102 device=b2",
				"call ended cause=hangup code=0 reason=Call connected device=b2",
			}
		}},
		{"transferred", func(t *testing.T, r *rig) telephony.Session {
			s := r.connected(t)
			after, err := r.sw.Transfer(ctx, "b1", s.ID, "103")
			if err != nil {
				t.Fatal(err)
			}
			target = after.Parties[1].ID
			if _, _, err := r.sw.Answer(ctx, "c1", s.ID, "offer-c1"); err != nil {
				t.Fatal(err)
			}
			if err := r.sw.Hangup(ctx, "a1", s.ID); err != nil {
				t.Fatal(err)
			}
			return s
		}, func(s telephony.Session) []string {
			caller, callee := s.Parties[0].ID, s.Parties[1].ID
			return []string{
				"call dialled origin=Call party=" + caller + " extension=101 device=a1",
				"call ringing party=" + callee + " extension=102 devices=2",
				"call answered party=" + callee + " extension=102 device=b1",
				"call transfer started party=" + callee + " extension=102 device=b1",
				"call ringing party=" + target + " extension=103 devices=1",
				"call answered party=" + target + " extension=103 device=c1",
				"call transfer completed party=" + target + " extension=103 device=c1",
				"call ended cause=hangup code=0 reason=Call connected device=a1",
			}
		}},
		{"transfer recalled", func(t *testing.T, r *rig) telephony.Session {
			s := r.connected(t)
			after, err := r.sw.Transfer(ctx, "b1", s.ID, "103")
			if err != nil {
				t.Fatal(err)
			}
			target = after.Parties[1].ID
			telephony.FireTimers(r.sw, s.ID)
			e := r.bus.waitFor(t, func(e telephony.Event) bool { return e.Cause == telephony.CauseTransferFailed })
			for _, p := range e.Session.Parties {
				if p.Owner == bob && p.Status == telephony.StatusProceeding {
					recall = p.ID
				}
			}
			if err := r.sw.Hangup(ctx, "a1", s.ID); err != nil {
				t.Fatal(err)
			}
			return s
		}, func(s telephony.Session) []string {
			caller, callee := s.Parties[0].ID, s.Parties[1].ID
			return []string{
				"call dialled origin=Call party=" + caller + " extension=101 device=a1",
				"call ringing party=" + callee + " extension=102 devices=2",
				"call answered party=" + callee + " extension=102 device=b1",
				"call transfer started party=" + callee + " extension=102 device=b1",
				"call ringing party=" + target + " extension=103 devices=1",
				"call transfer failed cause=timeout code=408",
				"call ringing party=" + recall + " extension=102 devices=2",
				"call ended cause=hangup code=487 reason=Request Terminated device=a1",
			}
		}},
		{"forwarded", func(t *testing.T, r *rig) telephony.Session {
			s := r.dial(t, "a1", "102")
			after, err := r.sw.Forward(ctx, "b1", s.ID, "103")
			if err != nil {
				t.Fatal(err)
			}
			target = after.Parties[1].ID
			if _, _, err := r.sw.Answer(ctx, "c1", s.ID, "offer-c1"); err != nil {
				t.Fatal(err)
			}
			if err := r.sw.Hangup(ctx, "c1", s.ID); err != nil {
				t.Fatal(err)
			}
			return s
		}, func(s telephony.Session) []string {
			caller, callee := s.Parties[0].ID, s.Parties[1].ID
			return []string{
				"call dialled origin=Call party=" + caller + " extension=101 device=a1",
				"call ringing party=" + callee + " extension=102 devices=2",
				"call forwarded party=" + callee + " extension=102 device=b1",
				"call ringing party=" + target + " extension=103 devices=1",
				"call answered party=" + target + " extension=103 device=c1",
				"call ended cause=hangup code=0 reason=Call connected device=c1",
			}
		}},
		{"RingOut", func(t *testing.T, r *rig) telephony.Session {
			ro, err := r.sw.RingOut(ctx, alice, "101", "102", "", false)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range []string{"a1", "b1"} {
				if _, _, err := r.sw.Answer(ctx, d, ro.TelephonySessionID, "offer-"+d); err != nil {
					t.Fatal(err)
				}
			}
			s, _ := r.sw.Session(ro.TelephonySessionID)
			if err := r.sw.Hangup(ctx, "b1", s.ID); err != nil {
				t.Fatal(err)
			}
			return s
		}, func(s telephony.Session) []string {
			from, to := s.Parties[0].ID, s.Parties[1].ID
			return []string{
				"call dialled origin=RingOut party=" + from + " extension=101",
				"call ringing party=" + from + " extension=101 devices=1",
				"call answered party=" + from + " extension=101 device=a1",
				"call ringing party=" + to + " extension=102 devices=2",
				"call answered party=" + to + " extension=102 device=b1",
				"call ended cause=hangup code=0 reason=Call connected device=b1",
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &logRecorder{}
			r := newRig(t, func(c *telephony.Config) { c.Logger = slog.New(rec) })
			s := tt.run(t, r)
			r.ended(t, s.ID)
			if got, want := rec.lines(slog.LevelInfo, s.ID), tt.want(s); !slices.Equal(got, want) {
				t.Errorf("info lines of the call:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if got := rec.untagged(slog.LevelInfo); len(got) != 0 {
				t.Errorf("info lines without a session: %q", got)
			}
		})
	}
}
