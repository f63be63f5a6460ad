package sip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// wait bounds every wait for an event in these tests. It is generous: the
// tests wait for events, never for time to pass.
const wait = 90 * time.Second

// needSIPp returns the path of Debian's sipp (package sip-tester). Where
// it is missing the test is skipped, except in CI, where it fails.
func needSIPp(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("sipp")
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("sipp is missing: install Debian's sip-tester (scripts/test.sh does)")
	}
	t.Skip("sipp is missing: install Debian's sip-tester to run the SIP trunk tests")
	return ""
}

// freeUDPPort returns a UDP port on 127.0.0.1 that is free now.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port
}

// sippRun is one SIPp process playing the carrier.
type sippRun struct {
	t    *testing.T
	cmd  *exec.Cmd
	out  bytes.Buffer
	dir  string
	port int
	done chan error
}

// startSIPp runs SIPp on 127.0.0.1:port with a scenario of testdata and
// args (a remote address makes it a client), and waits until its socket
// is bound.
func startSIPp(t *testing.T, port int, scenario string, args ...string) *sippRun {
	t.Helper()
	bin := needSIPp(t)
	dir := t.TempDir()
	sf, err := filepath.Abs(filepath.Join("testdata", scenario))
	if err != nil {
		t.Fatal(err)
	}
	all := append([]string{"-sf", sf, "-i", "127.0.0.1", "-p", strconv.Itoa(port), "-nostdin",
		"-timeout", "120s", "-timeout_error", "-recv_timeout", "60s",
		"-trace_err", "-error_file", filepath.Join(dir, "errors.log")}, args...)
	r := &sippRun{t: t, dir: dir, port: port, done: make(chan error, 1)}
	r.cmd = exec.Command(bin, all...)
	r.cmd.Dir = dir
	r.cmd.Stdout = &r.out
	r.cmd.Stderr = &r.out
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start sipp: %v", err)
	}
	go func() { r.done <- r.cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			r.cmd.Process.Kill()
			<-r.done
		}
	})
	r.waitBound()
	return r
}

// waitBound returns once SIPp holds its port (UDP, or TCP with -t t1). It reads the kernel's
// socket table rather than trying to bind the port, which SIPp could then
// find taken.
func (r *sippRun) waitBound() {
	want := fmt.Sprintf(":%04X ", r.port)
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		select {
		case err := <-r.done:
			r.done <- err
			r.t.Fatalf("sipp exited before binding its port: %v\n%s", err, r.out.String())
		default:
		}
		for _, f := range []string{"/proc/net/udp", "/proc/net/udp6", "/proc/net/tcp", "/proc/net/tcp6"} {
			b, _ := os.ReadFile(f)
			for _, line := range strings.Split(string(b), "\n") {
				if fields := strings.Fields(line); len(fields) > 1 && strings.HasSuffix(fields[1]+" ", want) {
					return
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.t.Fatalf("sipp never bound port %d", r.port)
}

// finish waits for SIPp to end its scenario and fails the test unless
// every call of it succeeded.
func (r *sippRun) finish() {
	r.t.Helper()
	select {
	case err := <-r.done:
		r.done <- err
		if err != nil {
			errs, _ := os.ReadFile(filepath.Join(r.dir, "errors.log"))
			r.t.Fatalf("sipp failed: %v\n%s\n%s", err, lastLines(r.out.String(), 40), errs)
		}
	case <-time.After(wait):
		r.t.Fatalf("sipp did not finish\n%s", lastLines(r.out.String(), 40))
	}
}

// stop kills SIPp.
func (r *sippRun) stop() {
	r.cmd.Process.Kill()
	err := <-r.done
	r.done <- err
}

func lastLines(s string, n int) string {
	lines := bytes.Split([]byte(s), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
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
	u, err := New(Config{
		Listen:   []Listen{{Transport: UDP, Addr: "127.0.0.1:0"}, {Transport: TCP, Addr: "127.0.0.1:0"}},
		Trunks:   trunks,
		Handler:  h,
		OnStatus: sl.add,
		Logger:   testLogger(t),
	})
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
	return u, sl
}

// offerSDP is the caller's offer in the outbound tests.
const offerSDP = "v=0\r\no=callbridge-offer 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"

func peerTrunk(port int) TrunkConfig {
	return TrunkConfig{Name: "carrier", Host: fmt.Sprintf("127.0.0.1:%d", port), Username: "trunkuser", Password: "trunkpass"}
}
