package server

import (
	"encoding/binary"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/sip"
	"github.com/callbridge/widget-server/internal/siptest"
)

// wavSamples reads a 16-bit PCM WAV file of one channel at 8 kHz, as the
// gateway writes G.711 recordings, and returns its samples.
func wavSamples(t *testing.T, b []byte) []float64 {
	t.Helper()
	if len(b) < 44 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		t.Fatalf("not a WAV file: % x", b[:min(len(b), 16)])
	}
	le := binary.LittleEndian
	var data []byte
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(le.Uint32(b[off+4:]))
		body := b[off+8 : min(off+8+size, len(b))]
		switch id {
		case "fmt ":
			if format, channels, rate, bits := le.Uint16(body), le.Uint16(body[2:]), le.Uint32(body[4:]), le.Uint16(body[14:]); format != 1 ||
				channels != 1 || rate != 8000 || bits != 16 {
				t.Fatalf("WAV format %d, %d channels, %d Hz, %d bits; want PCM, 1, 8000, 16", format, channels, rate, bits)
			}
		case "data":
			data = body
		}
		off += 8 + size + size%2
	}
	out := make([]float64, len(data)/2)
	for i := range out {
		out[i] = float64(int16(le.Uint16(data[2*i:])))
	}
	return out
}

// TestTrunkCallerLeavesVoicemail: a caller from the phone network (SIPp,
// PCMU) calls bob, who has no phone signed in: the call goes to his
// voicemail at once, the carrier hears it answered, and what the caller
// sends after the greeting and the beep — a 1 kHz tone — is kept as a WAV
// message, which the API serves and which decodes to that tone.
func TestTrunkCallerLeavesVoicemail(t *testing.T) {
	sipPort, carrierPort := siptest.FreeUDPPort(t), siptest.FreeUDPPort(t)
	dir := keepTrunks(t, sip.TrunkConfig{Name: "carrier", Host: fmt.Sprintf("127.0.0.1:%d", carrierPort), Priority: 1})
	srv := startServer(t, Config{DataDir: dir, RingTimeout: time.Hour, APIRateLimit: 10000, SIPListen: udpListen(sipPort)})
	bob := newPlatform(t, srv, "bob@demo.test")

	media := t.TempDir() // SIPp runs here and plays tone.pcap from here
	if err := siptest.WriteTonePCAP(filepath.Join(media, "tone.pcap"), 14*time.Second); err != nil {
		t.Fatal(err)
	}
	carrier := siptest.SIPp{Scenario: "testdata/carrier_voicemail.xml", Port: carrierPort,
		Args: []string{"-m", "1", fmt.Sprintf("127.0.0.1:%d", sipPort)}, Dir: media}.Start(t)
	carrier.Finish() // answered by the voicemail, the tone sent, hung up

	vm := waitVoicemails(t, bob, 1)[0]
	raw, _ := vm["attachments"].([]any)
	if vm["readStatus"] != "Unread" || len(raw) != 1 || party(vm, "from")["phoneNumber"] != "+14155550199" {
		t.Fatalf("bob's voicemail %v", vm)
	}
	att := raw[0].(map[string]any)
	if att["contentType"] != "audio/wav" {
		t.Fatalf("the attachment %v", att)
	}
	x := wavSamples(t, checkAudioContent(t, bob, att["uri"].(string), "audio/wav"))
	whole := time.Duration(len(x)) * time.Second / 8000
	tone := toneTimeAt(x, 1000, 8000)
	t.Logf("voicemail: 1 kHz for %v of a %v file, vmDuration %v", tone, whole, att["vmDuration"])
	// The caller sends for fourteen seconds from the answer; the greeting
	// and the beep take about six, so some eight seconds are kept: at least
	// one, and mostly tone, even if a loaded machine starts the greeting
	// seconds late.
	if tone < time.Second || tone < whole*8/10 {
		t.Errorf("the voicemail carries 1 kHz for %v of %v", tone, whole)
	}
	if d := num(att["vmDuration"]); math.Abs(float64(d)-whole.Seconds()) > 1 {
		t.Errorf("vmDuration %v of a file of %v", d, whole)
	}
}
