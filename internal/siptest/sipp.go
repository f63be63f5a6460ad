package siptest

import (
	"path/filepath"
	"strconv"
	"testing"
)

// SIPp is a run of Debian's SIPp for a test: a scenario played on one port
// of 127.0.0.1.
type SIPp struct {
	// Scenario is the scenario's file (-sf), relative to the test's
	// package directory.
	Scenario string
	// Port is SIPp's port (-p): UDP, or TCP with -t t1.
	Port int
	// Args are more of SIPp's arguments: -m 1, -t t1, -rtp_echo, a client
	// scenario's remote address.
	Args []string
	// Dir is where SIPp runs, and finds the files a scenario plays (a
	// pcap); a new temporary directory when empty.
	Dir string
}

// Start runs SIPp and returns once it holds its port. Without sipp the test
// is skipped, except in CI, where it fails.
func (s SIPp) Start(t testing.TB) *Process {
	t.Helper()
	bin := NeedSIPp(t)
	sf, err := filepath.Abs(s.Scenario)
	if err != nil {
		t.Fatal(err)
	}
	dir := s.Dir
	if dir == "" {
		dir = t.TempDir()
	}
	errFile := filepath.Join(t.TempDir(), "errors.log")
	// The bounds are against a hang only.
	args := append([]string{"-sf", sf, "-i", "127.0.0.1", "-p", strconv.Itoa(s.Port), "-nostdin",
		"-timeout", "300s", "-timeout_error", "-recv_timeout", "120s",
		"-trace_err", "-error_file", errFile}, s.Args...)
	p := start(t, bin, dir, args, false)
	p.errFile = errFile
	p.waitBound(s.Port)
	return p
}
