package sip

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// needBaresip returns the path of Debian's baresip. Where it is missing
// the test is skipped, except in CI, where it fails.
func needBaresip(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("baresip")
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("baresip is missing: install Debian's baresip-core")
	}
	t.Skip("baresip is missing: install Debian's baresip-core to run the desk phone test")
	return ""
}

// lockedBuffer is a bytes.Buffer a process writes while a test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// writeToneWAV writes one second of a 440 Hz tone, 8 kHz mono 16-bit: the
// audio baresip sends when it answers (aufile wants the codec's rate).
func writeToneWAV(t *testing.T, path string) {
	t.Helper()
	const rate, n = 8000, 8000
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("RIFF")
	binary.Write(&b, le, uint32(36+2*n))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(rate), uint32(2 * rate), uint16(2), uint16(16)} {
		binary.Write(&b, le, v)
	}
	b.WriteString("data")
	binary.Write(&b, le, uint32(2*n))
	for i := range n {
		binary.Write(&b, le, int16(8000*math.Sin(2*math.Pi*440*float64(i)/rate)))
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestBaresipRegistersAndAnswers runs Debian's baresip as the desk phone
// of 101-desk: it registers with its password, answers a call the server
// sends it (auto answer, audio from a file), and unregisters as it quits.
func TestBaresipRegistersAndAnswers(t *testing.T) {
	bin := needBaresip(t)
	u, log := newDeviceUA(t, nil)
	dir := t.TempDir()
	wav := filepath.Join(dir, "tone.wav")
	writeToneWAV(t, wav)
	port := freeUDPPort(t)
	config := strings.Join([]string{
		"poll_method poll",
		"net_interface 127.0.0.1", // the namespace has loopback only
		fmt.Sprintf("sip_listen 127.0.0.1:%d", port),
		"audio_source aufile," + wav,
		"audio_player aubridge,sink",
		"audio_alert aubridge,sink",
		"module_path /usr/lib/baresip/modules",
		"module g711.so",
		"module aufile.so",
		"module aubridge.so",
		"module_tmp account.so",
		"module_app menu.so",
		"",
	}, "\n")
	account := fmt.Sprintf("<sip:101-desk@%s;transport=udp>;auth_pass=%s;regint=60;answermode=auto\n", udpAddr(t, u), phonePassword)
	for name, body := range map[string]string{"config": config, "accounts": account, "contacts": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out := &lockedBuffer{}
	cmd := exec.Command(bin, "-f", dir)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("baresip:\n%s", out.String())
		}
	})

	e := log.next(t)
	if !e.up || e.b.Device.Username != "101-desk" || e.b.Source.Port() != uint16(port) || !strings.Contains(strings.ToLower(e.b.UserAgent), "baresip") {
		t.Fatalf("report %+v, want baresip registered as 101-desk from port %d", e, port)
	}

	rec := newRecorder()
	c, err := u.InviteDevice(context.Background(), e.b, OutboundCall{CallerID: "+16505550100", CallerName: "Alice", SDP: offerSDP}, rec.events())
	if err != nil {
		t.Fatal(err)
	}
	if a := rec.next(t, "answered"); !strings.Contains(a.sdp, "PCMU/8000") {
		t.Errorf("baresip's answer %q has no PCMU", a.sdp)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := c.Bye(ctx); err != nil {
		t.Fatal(err)
	}

	// Quitting, baresip removes its registration.
	cmd.Process.Signal(syscall.SIGTERM)
	if e := log.next(t); e.up || e.b.Device.Username != "101-desk" {
		t.Errorf("report %+v, want 101-desk unregistered", e)
	}
}
