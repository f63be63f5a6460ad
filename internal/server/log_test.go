package server

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

// logRecorder is a slog handler that keeps every record, with the
// attributes of the loggers it came through.
type logRecorder struct {
	mu    *sync.Mutex
	recs  *[]slog.Record
	attrs []slog.Attr
}

func newLogRecorder() *logRecorder { return &logRecorder{mu: &sync.Mutex{}, recs: &[]slog.Record{}} }

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }

func (l *logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &logRecorder{mu: l.mu, recs: l.recs, attrs: append(slices.Clone(l.attrs), as...)}
}

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	r = r.Clone()
	r.AddAttrs(l.attrs...)
	l.mu.Lock()
	*l.recs = append(*l.recs, r)
	l.mu.Unlock()
	return nil
}

// mentioning returns the messages of the records at level with an
// attribute whose value is one of ids.
func (l *logRecorder) mentioning(level slog.Level, ids ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range *l.recs {
		found := false
		r.Attrs(func(a slog.Attr) bool {
			found = slices.Contains(ids, a.Value.String())
			return !found
		})
		if found && r.Level == level {
			out = append(out, r.Message)
		}
	}
	return out
}

// TestCallStepsLoggedOnce: a call between two widgets leaves one info line
// per step in the server's log, written by the switch; no other part of the
// server (the widget's endpoints, the event streams, the media gateway) logs
// the call's steps at info.
func TestCallStepsLoggedOnce(t *testing.T) {
	t.Parallel()
	rec := newLogRecorder()
	srv := startServer(t, Config{Logger: slog.New(rec), RingTimeout: time.Hour})
	aliceTab := openTab(t, srv, "alice@demo.test")
	bobTab := openTab(t, srv, "bob@demo.test")

	aliceMedia := newPeer(t)
	call := aliceTab.dial(t, "102", aliceMedia)
	session := call["telephonySessionId"]
	ring := bobTab.waitFor(t, "the ring", ringsFor(session))
	bobCall := ring["call"].(map[string]any)
	bobMedia := newPeer(t)
	r := widgetPost(t, bobTab.c, srv.WidgetURL, "/widget/calls/"+bobCall["id"].(string)+"/answer",
		map[string]string{"deviceId": bobTab.device, "sdp": bobMedia.offer})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("bob answers: %d %s", r.StatusCode, r.body)
	}
	bobMedia.answer(t, r.json(t)["sdp"].(string))
	aliceMedia.waitConnected(t)
	bobMedia.waitConnected(t)
	aliceTab.hangup(t, call["id"].(string))
	aliceTab.waitFor(t, "the end", func(m map[string]any) bool {
		c, _ := m["call"].(map[string]any)
		return m["type"] == "rc-call-end-notify" && c["telephonySessionId"] == session
	})

	ids := []string{session.(string), call["partyId"].(string), bobCall["partyId"].(string)}
	want := []string{"call dialled", "call ringing", "call answered", "call ended"}
	if got := rec.mentioning(slog.LevelInfo, ids...); !slices.Equal(got, want) {
		t.Fatalf("info lines about the call %q, want %q", got, want)
	}
}
