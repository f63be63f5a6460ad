package media

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/logctx"
)

// recorder is a slog handler that keeps every record it is given.
type recorder struct {
	mu    *sync.Mutex
	recs  *[]slog.Record
	attrs []slog.Attr
}

func newRecorder() *recorder {
	return &recorder{mu: &sync.Mutex{}, recs: &[]slog.Record{}}
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	rec = rec.Clone()
	rec.AddAttrs(r.attrs...)
	r.mu.Lock()
	*r.recs = append(*r.recs, rec)
	r.mu.Unlock()
	return nil
}

func (r *recorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &recorder{mu: r.mu, recs: r.recs, attrs: append(append([]slog.Attr(nil), r.attrs...), as...)}
}

func (r *recorder) WithGroup(string) slog.Handler { return r }

// records returns the records whose message contains substr ("" for all).
func (r *recorder) records(substr string) []slog.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []slog.Record
	for _, rec := range *r.recs {
		if strings.Contains(rec.Message, substr) {
			out = append(out, rec)
		}
	}
	return out
}

// attr returns the value of a record's attribute, "" when it has none.
func attr(rec slog.Record, key string) string {
	var v string
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value.String()
			return false
		}
		return true
	})
	return v
}

// withoutCandidates drops the candidate lines of an offer: the gateway's
// ICE agent then has no pair to check, as with a browser whose candidates
// never arrive.
func withoutCandidates(offer string) string {
	var b strings.Builder
	for line := range strings.Lines(offer) {
		if strings.HasPrefix(line, "a=candidate") || strings.HasPrefix(line, "a=end-of-candidates") {
			continue
		}
		b.WriteString(line)
	}
	return b.String()
}

// TestLegWithoutICELogsQuietly: a leg whose ICE cannot start makes the
// library warn "Failed to ping without candidate pairs" on every check until
// the leg fails. That chatter goes to debug; the gateway reports the failure
// once, as a warning.
func TestLegWithoutICELogsQuietly(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	rec := newRecorder()
	failed := make(chan string, 4)
	g := newTestGateway(t, Config{
		Logger:                 slog.New(rec),
		ICEDisconnectedTimeout: 300 * time.Millisecond,
		ICEFailedTimeout:       600 * time.Millisecond,
		OnLegFailed:            func(id string) { failed <- id },
	})
	offer := withoutCandidates(newClient(t, "mute", codecsA).offer())
	// The switch opens a leg with its call's id in the context.
	ctx := logctx.With(context.Background(), slog.String("telephonySessionId", "s-1"))
	if _, err := g.OpenLeg(ctx, "mute", offer, KindEcho); err != nil {
		t.Fatalf("OpenLeg: %v", err)
	}
	select {
	case <-failed:
	case <-time.After(patience):
		t.Fatal("the leg without candidates never failed")
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}

	pings := rec.records("Failed to ping without candidate pairs")
	if len(pings) == 0 {
		t.Fatal("the library never complained of missing candidate pairs: the test no longer shows the chatter")
	}
	for _, r := range pings {
		if r.Level != slog.LevelDebug {
			t.Errorf("%q logged at %v, want DEBUG", r.Message, r.Level)
		}
	}
	for _, r := range rec.records("") {
		if attr(r, "scope") != "" && r.Level >= slog.LevelInfo {
			t.Errorf("library line at %v: %s (scope %s)", r.Level, r.Message, attr(r, "scope"))
		}
		// The switch logs each step of a call at info; the gateway's
		// own steps of a leg are debug.
		if attr(r, "leg") != "" && r.Level == slog.LevelInfo {
			t.Errorf("leg step at info: %s", r.Message)
		}
	}
	if got := rec.records("leg failed"); len(got) != 1 || got[0].Level != slog.LevelWarn || attr(got[0], "leg") != "mute" ||
		attr(got[0], "telephonySessionId") != "s-1" {
		t.Errorf("leg failure logged %d times, want once with its leg and call: %v", len(got), got)
	}
}

// TestPionLogLevels: the library's trace, debug, info and warn lines are
// debug; its errors are warnings, and an error repeated within
// pionRepeatWindow is debug until the window has passed, when it is a
// warning again that counts the repeats it stood for.
func TestPionLogLevels(t *testing.T) {
	rec := newRecorder()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f := newPionLoggers(slog.New(rec))
	f.now = func() time.Time { return now }
	ice := f.NewLogger("ice")
	dtls := f.NewLogger("dtls")

	steps := []struct {
		name    string
		log     func()
		level   slog.Level
		msg     string
		repeats string // the "repeats" attribute; "" when absent
	}{
		{"trace", func() { ice.Trace("checking") }, slog.LevelDebug - 4, "checking", ""},
		{"tracef", func() { ice.Tracef("pair %d", 1) }, slog.LevelDebug - 4, "pair 1", ""},
		{"debug", func() { ice.Debug("gathering") }, slog.LevelDebug, "gathering", ""},
		{"info", func() { ice.Infof("Setting new connection state: %s", "Checking") }, slog.LevelDebug, "Setting new connection state: Checking", ""},
		{"warn", func() { ice.Warn("Failed to ping without candidate pairs. Connection is not possible yet.") }, slog.LevelDebug,
			"Failed to ping without candidate pairs. Connection is not possible yet.", ""},
		{"warn again", func() { ice.Warn("Failed to ping without candidate pairs. Connection is not possible yet.") }, slog.LevelDebug,
			"Failed to ping without candidate pairs. Connection is not possible yet.", ""},
		{"warnf", func() { ice.Warnf("discard message from (%s), unknown TransactionID", "127.0.0.1:5000") }, slog.LevelDebug,
			"discard message from (127.0.0.1:5000), unknown TransactionID", ""},
		{"first error", func() { dtls.Errorf("handshake with %s failed", "a") }, slog.LevelWarn, "handshake with a failed", ""},
		{"same error, other argument", func() { dtls.Errorf("handshake with %s failed", "b") }, slog.LevelDebug, "handshake with b failed", ""},
		{"same error again", func() { dtls.Errorf("handshake with %s failed", "c") }, slog.LevelDebug, "handshake with c failed", ""},
		{"another error", func() { dtls.Error("conn closed") }, slog.LevelWarn, "conn closed", ""},
		{"same text in another scope", func() { ice.Errorf("handshake with %s failed", "d") }, slog.LevelWarn, "handshake with d failed", ""},
		{"after the window", func() { now = now.Add(pionRepeatWindow); dtls.Errorf("handshake with %s failed", "e") }, slog.LevelWarn,
			"handshake with e failed", "2"},
		{"repeated after the window", func() { dtls.Errorf("handshake with %s failed", "f") }, slog.LevelDebug, "handshake with f failed", ""},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			before := len(rec.records(""))
			s.log()
			all := rec.records("")
			if len(all) != before+1 {
				t.Fatalf("%d records, want one", len(all)-before)
			}
			r := all[len(all)-1]
			if r.Level != s.level || r.Message != s.msg || attr(r, "repeats") != s.repeats {
				t.Fatalf("got %v %q repeats=%q, want %v %q repeats=%q", r.Level, r.Message, attr(r, "repeats"), s.level, s.msg, s.repeats)
			}
		})
	}
}

// TestPionRepeatsBounded: many distinct errors keep the memory of repeats
// bounded.
func TestPionRepeatsBounded(t *testing.T) {
	f := newPionLoggers(slog.New(slog.DiscardHandler))
	l := f.NewLogger("ice")
	for i := range 10 * pionRepeatKeys {
		l.Error(fmt.Sprint("error ", i))
	}
	if n := f.repeatKeys(); n > pionRepeatKeys {
		t.Fatalf("%d errors remembered, limit %d", n, pionRepeatKeys)
	}
}
