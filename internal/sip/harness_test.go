package sip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/siptest"
)

// wait bounds every wait for an event in these tests. It is generous: the
// tests wait for events, never for time to pass.
const wait = 90 * time.Second

// startSIPp runs SIPp on 127.0.0.1:port with a scenario of testdata and
// args (a remote address makes it a client), and waits until it holds its
// port.
func startSIPp(t *testing.T, port int, scenario string, args ...string) *siptest.Process {
	t.Helper()
	return siptest.SIPp{Scenario: filepath.Join("testdata", scenario), Port: port, Args: args}.Start(t)
}

// event is one callback a test call received.
type event struct {
	kind    string // progress, answered, failed, canceled, ended, offer, dtmf
	code    int
	sdp     string
	failure Failure
	cause   EndCause
	dtmf    DTMF
}

// recorder turns a call's Events into a channel.
type recorder struct {
	ch      chan event
	backlog []event
	// offerAnswer answers a new offer from the carrier.
	offerAnswer func(string) string
}

func newRecorder() *recorder { return &recorder{ch: make(chan event, 64)} }

func (r *recorder) events() Events {
	return Events{
		Progress: func(code int, sdp string) { r.ch <- event{kind: "progress", code: code, sdp: sdp} },
		Answered: func(sdp string) { r.ch <- event{kind: "answered", sdp: sdp} },
		Failed:   func(f Failure) { r.ch <- event{kind: "failed", failure: f} },
		Canceled: func() { r.ch <- event{kind: "canceled"} },
		Ended:    func(c EndCause) { r.ch <- event{kind: "ended", cause: c} },
		Offer: func(sdp string) (string, error) {
			r.ch <- event{kind: "offer", sdp: sdp}
			if r.offerAnswer == nil {
				return "", errors.New("no answer")
			}
			return r.offerAnswer(sdp), nil
		},
		DTMF: func(d DTMF) { r.ch <- event{kind: "dtmf", dtmf: d} },
	}
}

// next returns the next event of kind, in whatever order the events of
// one call came; a final event of another kind first fails the test.
// answered waits for the answer of a call whose carrier or phone sends a
// provisional response and the 200 back to back, and has check look at
// the provisional one when it came. Under load the transaction may take
// the 200 first and end, dropping the provisional response: that changes
// nothing for the call, the 200 carrying the answer.
func (r *recorder) answered(t *testing.T, check func(progress event)) event {
	t.Helper()
	e := r.next(t, "answered")
	if i := slices.IndexFunc(r.backlog, func(e event) bool { return e.kind == "progress" }); i < 0 {
		t.Log("the provisional response was overtaken by the 200")
	} else {
		check(r.backlog[i])
	}
	return e
}

func (r *recorder) next(t *testing.T, kind string) event {
	t.Helper()
	for i, e := range r.backlog {
		if e.kind == kind {
			r.backlog = append(r.backlog[:i], r.backlog[i+1:]...)
			return e
		}
	}
	timeout := time.After(wait)
	for {
		select {
		case e := <-r.ch:
			if e.kind == kind {
				return e
			}
			switch e.kind {
			case "failed", "canceled", "ended":
				t.Fatalf("waiting for %s, got %+v", kind, e)
			}
			r.backlog = append(r.backlog, e)
		case <-timeout:
			t.Fatalf("no %s event", kind)
		}
	}
}

// statusLog collects trunk status changes.
type statusLog struct {
	ch chan TrunkStatus
}

func (s *statusLog) add(st TrunkStatus) {
	select {
	case s.ch <- st:
	default:
	}
}

// waitFor returns the first status change for which ok holds.
func (s *statusLog) waitFor(t *testing.T, what string, ok func(TrunkStatus) bool) TrunkStatus {
	t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case st := <-s.ch:
			if ok(st) {
				return st
			}
		case <-timeout:
			t.Fatalf("trunk never became %s", what)
		}
	}
}

// testLogger writes the UA's log into the test's log.
// Lines logged after the test ended (by goroutines of the SIP stack) are
// dropped.
func testLogger(t *testing.T) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct {
	t    *testing.T
	mu   sync.Mutex
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(string(bytes.TrimRight(p, "\n")))
	}
	return len(p), nil
}

// newTestUA starts a UA on 127.0.0.1 (UDP and TCP, free ports) with the trunks,
// closed when the test ends.
func newTestUA(t *testing.T, h InboundHandler, trunks ...TrunkConfig) (*UA, *statusLog) {
	t.Helper()
	sl := &statusLog{ch: make(chan TrunkStatus, 64)}
	u := startUA(t, Config{
		Listen:   []Listen{{Transport: UDP, Addr: "127.0.0.1:0"}, {Transport: TCP, Addr: "127.0.0.1:0"}},
		Trunks:   trunks,
		Handler:  h,
		OnStatus: sl.add,
	})
	return u, sl
}

// startUA starts a UA with cfg, logging into the test's log, its trunks
// retrying after 100 ms, closed when the test ends.
func startUA(t *testing.T, cfg Config) *UA {
	t.Helper()
	cfg.Logger = testLogger(t)
	u, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	u.retryMin = 100 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := u.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.Close() })
	return u
}

// bye hangs up c, failing the test if its BYE fails.
func bye(t *testing.T, c *Call) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := c.Bye(ctx); err != nil {
		t.Fatal(err)
	}
}

// offerSDP is the caller's offer in the outbound tests.
const offerSDP = "v=0\r\no=callbridge-offer 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"

func peerTrunk(port int) TrunkConfig {
	return TrunkConfig{Name: "carrier", Host: fmt.Sprintf("127.0.0.1:%d", port), Username: "trunkuser", Password: "trunkpass"}
}
