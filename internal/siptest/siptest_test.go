package siptest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestULaw(t *testing.T) {
	for b := range 256 {
		if b == 0x7f { // μ-law's negative zero decodes to 0, which encodes as 0xff
			continue
		}
		if got := EncodeULaw(DecodeULaw(byte(b))); got != byte(b) {
			t.Errorf("EncodeULaw(DecodeULaw(%#02x)) = %#02x", b, got)
		}
	}
	for _, c := range []struct {
		s int16
		b byte
	}{{0, 0xff}, {32767, 0x80}, {-32768, 0x00}, {1000, 0xce}, {-1000, 0x4e}} {
		if got := EncodeULaw(c.s); got != c.b {
			t.Errorf("EncodeULaw(%d) = %#02x, want %#02x", c.s, got, c.b)
		}
	}
	if got := DecodeULaw(0x80); got != 32124 {
		t.Errorf("DecodeULaw(0x80) = %d, want the top of the scale, 32124", got)
	}
}

func TestWriteWAV(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.wav")
	samples := []int16{0, 1, -1, 32767, -32768}
	WriteWAV(t, path, samples)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	if len(b) != 44+2*len(samples) || string(b[:4]) != "RIFF" || le.Uint32(b[4:]) != uint32(len(b)-8) ||
		string(b[8:16]) != "WAVEfmt " || string(b[36:40]) != "data" || le.Uint32(b[40:]) != uint32(2*len(samples)) {
		t.Fatalf("not a WAV file of %d samples: % x", len(samples), b)
	}
	if format, channels, rate, bits := le.Uint16(b[20:]), le.Uint16(b[22:]), le.Uint32(b[24:]), le.Uint16(b[34:]); format != 1 || channels != 1 || rate != 8000 || bits != 16 {
		t.Errorf("format %d, %d channels, %d Hz, %d bits; want PCM mono 8000 Hz 16 bits", format, channels, rate, bits)
	}
	for i, s := range samples {
		if got := int16(le.Uint16(b[44+2*i:])); got != s {
			t.Errorf("sample %d is %d, want %d", i, got, s)
		}
	}
}

// stopTB is a testing.TB whose Fatal and Skip end the goroutine they are
// called in and are recorded, so a test sees what the package does to the
// test it is given.
type stopTB struct {
	testing.TB
	how, msg string
}

func (s *stopTB) stop(how, msg string) {
	s.how, s.msg = how, msg
	runtime.Goexit()
}

func (s *stopTB) Fatal(args ...any)                 { s.stop("fatal", fmt.Sprint(args...)) }
func (s *stopTB) Fatalf(format string, args ...any) { s.stop("fatal", fmt.Sprintf(format, args...)) }
func (s *stopTB) Skipf(format string, args ...any)  { s.stop("skip", fmt.Sprintf(format, args...)) }

// stopped runs f with a stopTB and returns how it stopped the test, if it
// did, and with what message.
func stopped(t *testing.T, f func(testing.TB)) (how, msg string) {
	s := &stopTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(s)
	}()
	<-done
	return s.how, s.msg
}

// TestMissingProgramSkipsOrFailsInCI: without sipp or baresip a test is
// skipped, and in CI it fails, naming the Debian package to install.
func TestMissingProgramSkipsOrFailsInCI(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	for _, c := range []struct {
		need func(testing.TB) string
		pkg  string
	}{{NeedSIPp, "sip-tester"}, {NeedBaresip, "baresip-core"}} {
		for ci, want := range map[string]string{"true": "fatal", "": "skip"} {
			t.Setenv("CI", ci)
			how, msg := stopped(t, func(tb testing.TB) { c.need(tb) })
			if how != want || !strings.Contains(msg, "install Debian's "+c.pkg) {
				t.Errorf("with CI=%q: %s %q, want %s naming %s", ci, how, msg, want, c.pkg)
			}
		}
	}
}

// send sends a request of method, out of dialog, from pc to SIPp on port.
func send(t testing.TB, pc net.PacketConn, port int, method string) {
	t.Helper()
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	from := pc.LocalAddr().String()
	msg := method + " sip:peer@" + to.String() + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + from + ";branch=z9hG4bK-siptest-" + method + "\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: <sip:test@" + from + ">;tag=siptest\r\n" +
		"To: <sip:peer@" + to.String() + ">\r\n" +
		"Call-ID: siptest-" + method + "@127.0.0.1\r\n" +
		"CSeq: 1 " + method + "\r\n" +
		"Contact: <sip:test@" + from + ">\r\n" +
		"Content-Length: 0\r\n\r\n"
	if _, err := pc.WriteTo([]byte(msg), to); err != nil {
		t.Fatal(err)
	}
}

// statusLine returns the status line of the answer pc receives.
func statusLine(t *testing.T, pc net.PacketConn) string {
	t.Helper()
	pc.SetReadDeadline(time.Now().Add(bound)) // against a hang: SIPp answers at once
	buf := make([]byte, 4096)
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	line, _, _ := bytes.Cut(buf[:n], []byte("\r\n"))
	return string(line)
}

// TestSIPpPlaysItsScenario: SIPp holds its port once Start returns, and
// Finish passes once its scenario succeeded.
func TestSIPpPlaysItsScenario(t *testing.T) {
	port := FreeUDPPort(t)
	peer := SIPp{Scenario: "testdata/answer_options.xml", Port: port, Args: []string{"-m", "1"}}.Start(t)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	send(t, pc, port, "OPTIONS")
	if got := statusLine(t, pc); got != "SIP/2.0 200 OK" {
		t.Errorf("SIPp answered %q, want 200 OK", got)
	}
	peer.Finish()
}

// TestSIPpFailedScenarioFailsTheTest: a scenario that gets what it does not
// expect fails the test at Finish, with SIPp's account of the message.
func TestSIPpFailedScenarioFailsTheTest(t *testing.T) {
	NeedSIPp(t)
	port := FreeUDPPort(t)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	how, msg := stopped(t, func(tb testing.TB) {
		peer := SIPp{Scenario: "testdata/answer_options.xml", Port: port, Args: []string{"-m", "1"}}.Start(tb)
		send(tb, pc, port, "INVITE")
		peer.Finish()
	})
	if how != "fatal" || !strings.HasPrefix(msg, "sipp failed") || !strings.Contains(msg, "unexpected message") {
		t.Errorf("Finish after an unexpected INVITE: %s %q, want the test failed with SIPp's account", how, msg)
	}
}
