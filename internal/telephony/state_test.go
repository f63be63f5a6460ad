package telephony

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

var allStatuses = []PartyStatus{StatusSetup, StatusProceeding, StatusAnswered, StatusHold, StatusDisconnected}

// TestMoveToFollowsTable holds moveTo to CanBecome for every pair of
// states: a legal move changes the state, a refused one leaves it.
func TestMoveToFollowsTable(t *testing.T) {
	for _, from := range allStatuses {
		for _, to := range allStatuses {
			p := Party{ID: "p-1", Status: from}
			err := p.moveTo(to)
			switch {
			case from.CanBecome(to) && (err != nil || p.Status != to):
				t.Errorf("%s to %s: %v, status %s", from, to, err, p.Status)
			case !from.CanBecome(to) && (!errors.Is(err, ErrInvalidState) || p.Status != from):
				t.Errorf("%s to %s: %v, status %s; want ErrInvalidState and %s", from, to, err, p.Status, from)
			}
		}
	}
}

// recordingBus keeps what the switch publishes.
type recordingBus struct{ events []Event }

func (b *recordingBus) Publish(e Event) { b.events = append(b.events, e) }

// refusedLines returns the error lines of a JSON log naming the session.
func refusedLines(t *testing.T, log *bytes.Buffer, sessionID string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(log.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["level"] == "ERROR" && m["msg"] == logRefused && m["telephonySessionId"] == sessionID {
			out = append(out, m)
		}
	}
	return out
}

// TestRefusedMoveFailsLoudly: a move of the switch's own that the table
// refuses changes no party, is logged as an error with the call's id and
// returned, and ends the call when it is active.
func TestRefusedMoveFailsLoudly(t *testing.T) {
	for _, active := range []bool{false, true} {
		name := "new call"
		if active {
			name = "active call"
		}
		t.Run(name, func(t *testing.T) {
			var log bytes.Buffer
			b := &recordingBus{}
			now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			s := New(Config{Now: func() time.Time { return now }, Logger: slog.New(slog.NewJSONHandler(&log, nil))}, nil, nil, b, &stubPresence{}, nil)
			c := &call{s: Session{ID: "s-bug", SessionID: "1", Origin: OriginCall, Created: now, Parties: []Party{
				{ID: "p-a", Direction: Outbound, Status: StatusProceeding, Owner: 101},
				{ID: "p-b", Direction: Inbound, Status: StatusSetup, Owner: 102},
			}}}
			if active {
				s.calls[c.s.ID] = c
			}
			var fx effects
			s.mu.Lock()
			// The caller may answer; the callee, still in Setup, may not.
			err := s.moveLocked(c, &fx, move{c.caller(), StatusAnswered}, move{c.callee(), StatusAnswered})
			s.mu.Unlock()
			s.finish(&fx)
			if !errors.Is(err, ErrInvalidState) || !strings.Contains(err.Error(), "s-bug") || !strings.Contains(err.Error(), "p-b") {
				t.Fatalf("error %v: want ErrInvalidState naming the call and the party", err)
			}
			if lines := refusedLines(t, &log, "s-bug"); len(lines) != 1 {
				t.Fatalf("error lines %v in log:\n%s", lines, log.String())
			}
			if !active {
				if c.s.Parties[0].Status != StatusProceeding || c.s.Parties[1].Status != StatusSetup || len(b.events) != 0 {
					t.Fatalf("parties %+v, events %d: want no change", c.s.Parties, len(b.events))
				}
				return
			}
			if _, ok := s.calls[c.s.ID]; ok {
				t.Fatal("call still active")
			}
			if len(b.events) != 2 {
				t.Fatalf("%d events, want one per extension", len(b.events))
			}
			for _, e := range b.events {
				for _, p := range e.Session.Parties {
					if e.Cause != CauseFailed || p.Status != StatusDisconnected || p.Code != 500 || p.Result != ResultFailed {
						t.Fatalf("event %s: party %+v", e.Cause, p)
					}
				}
			}
		})
	}
}
