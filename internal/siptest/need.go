package siptest

import (
	"net"
	"os"
	"os/exec"
	"testing"
)

// NeedSIPp returns the path of Debian's sipp (package sip-tester). Where it
// is missing the test is skipped, except in CI, where it fails.
func NeedSIPp(t testing.TB) string {
	t.Helper()
	return need(t, "sipp", "sip-tester", "the SIP tests")
}

// NeedBaresip returns the path of Debian's baresip (package baresip-core).
// Where it is missing the test is skipped, except in CI, where it fails.
func NeedBaresip(t testing.TB) string {
	t.Helper()
	return need(t, "baresip", "baresip-core", "the desk phone tests")
}

func need(t testing.TB, program, pkg, what string) string {
	t.Helper()
	p, err := exec.LookPath(program)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is missing: install Debian's %s (scripts/test.sh does)", program, pkg)
	}
	t.Skipf("%s is missing: install Debian's %s to run %s", program, pkg, what)
	return ""
}

// FreeUDPPort returns a UDP port on 127.0.0.1 that is free now, for a peer
// the test starts next.
func FreeUDPPort(t testing.TB) int {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port
}
