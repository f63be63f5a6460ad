package server

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/siptest"
)

// wavFile is a 16-bit PCM WAV file as far as it is written.
type wavFile struct {
	rate, channels, bits int
	samples              []int16
	complete             bool // the data chunk's size is set and all of it is there
}

// readWAV reads the WAV file at path; ok is false while it has no format
// or data chunk yet.
func readWAV(path string) (w wavFile, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil || len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return w, false
	}
	le := binary.LittleEndian
	fmtSeen := false
	for p := 12; p+8 <= len(b); {
		id, size := string(b[p:p+4]), int(le.Uint32(b[p+4:p+8]))
		body := b[p+8:]
		switch id {
		case "fmt ":
			if len(body) < 16 {
				return w, false
			}
			w.channels, w.rate, w.bits = int(le.Uint16(body[2:])), int(le.Uint32(body[4:])), int(le.Uint16(body[14:]))
			fmtSeen = true
		case "data":
			if !fmtSeen {
				return w, false
			}
			w.complete = size > 0 && size <= len(body)
			if w.complete {
				body = body[:size]
			}
			for i := 0; i+1 < len(body); i += 2 {
				w.samples = append(w.samples, int16(le.Uint16(body[i:])))
			}
			return w, true
		}
		p += 8 + size + size%2
	}
	return w, false
}

// count is how many of the file's samples are v.
func (w wavFile) count(v int16) int {
	n := 0
	for _, s := range w.samples {
		if s == v {
			n++
		}
	}
	return n
}

// recording is the WAV file of received audio baresip's sndfile writes in
// dir once a call's audio starts ("dump-<time>-dec.wav"); ok is false
// while there is none.
func recording(dir string) (wavFile, string, bool) {
	names, _ := filepath.Glob(filepath.Join(dir, "dump-*-dec.wav"))
	if len(names) == 0 {
		return wavFile{}, "", false
	}
	w, ok := readWAV(names[0])
	return w, names[0], ok
}

// waitRecording polls baresip's recording in dir until done holds of it.
// baresip writes the file as it hears and completes it on hangup, with no
// other sign; the bound is only against a hang.
func waitRecording(t *testing.T, dir, what string, done func(wavFile) bool) wavFile {
	t.Helper()
	for deadline := time.Now().Add(2 * patience); ; time.Sleep(20 * time.Millisecond) {
		w, _, ok := recording(dir)
		if ok && done(w) {
			return w
		}
		if time.Now().After(deadline) {
			t.Fatalf("baresip's recording: no %s (format %d Hz %d ch %d bit, %d samples, complete %v)",
				what, w.rate, w.channels, w.bits, len(w.samples), w.complete)
		}
	}
}

// TestBaresipDeskPhone: Debian's baresip is bob's desk phone, registered
// to his extension with its password. alice's widget calls bob: the phone
// rings together with bob's widget tab and answers by itself (rung with a
// delayed offer), and the tab stops ringing while the call goes on at the
// phone. The phone speaks a file of one constant sample, which alice hears
// as its μ-law byte; it records what it hears, which is alice's mark,
// until she hangs up.
func TestBaresipDeskPhone(t *testing.T) {
	siptest.NeedBaresip(t)
	sipPort, phonePort := siptest.FreeUDPPort(t), siptest.FreeUDPPort(t)
	srv, logs := startPhoneServer(t, sipPort)

	const password = "desk-secret-2"
	keepDeskPhone(t, srv, "bob@demo.test", "102-desk", password)

	// The phone's voice: one sample that μ-law carries exactly. The file
	// lasts longer than any wait of the test, as aufile stops at its end.
	const spoken = 0x9a
	dir := t.TempDir()
	voice, snd := filepath.Join(dir, "voice.wav"), filepath.Join(dir, "heard")
	if err := os.Mkdir(snd, 0o700); err != nil {
		t.Fatal(err)
	}
	siptest.WriteWAV(t, voice, slices.Repeat([]int16{siptest.DecodeULaw(spoken)}, siptest.SampleRate*int(4*patience/time.Second)))
	bobTab := openTab(t, srv, "bob@demo.test")
	siptest.Baresip{Port: phonePort, Voice: voice, Record: snd,
		Accounts: fmt.Sprintf("<sip:102-desk@127.0.0.1:%d;transport=udp>;auth_pass=%s;regint=60;answermode=auto;audio_codecs=PCMU\n",
			sipPort, password),
	}.Start(t)
	logs.wait(t, logPhoneDevice)

	aliceTab := openTab(t, srv, "alice@demo.test")
	alice := newTalkerIn(t, "alice", 'a', pcmu)
	call := aliceTab.dial(t, "102", alice.peer)
	session := call["telephonySessionId"]
	// bob's extension hears of the call on every device: the tab rings,
	// then the phone takes the call and the tab's ringing ends with the
	// call connected there.
	phone := phoneDevice("102-desk")
	of := func(typ, to string) func(map[string]any) bool {
		return func(m map[string]any) bool {
			c, _ := m["call"].(map[string]any)
			return m["type"] == typ && m["_to"] == to && c["telephonySessionId"] == session
		}
	}
	bobTab.waitFor(t, "the ring of bob's tab", of("rc-call-ring-notify", bobTab.device))
	var started, ended bool
	for !started || !ended {
		m := bobTab.waitFor(t, "the phone's answer", func(m map[string]any) bool {
			return of("rc-call-start-notify", phone)(m) || of("rc-call-end-notify", bobTab.device)(m) ||
				of("rc-call-start-notify", bobTab.device)(m)
		})
		c := m["call"].(map[string]any)
		switch {
		case m["_to"] == phone:
			started = true
		case m["type"] == "rc-call-end-notify" && c["callStatus"] == "connected":
			ended = true
		default:
			t.Fatalf("bob's tab, as the phone answers: %v; want the end of its ringing with the call connected", m)
		}
	}

	// alice hears the phone's file, and the phone hears alice.
	alice.waitHears(t, "alice", spoken, 50)
	heard := siptest.DecodeULaw('a')
	waitRecording(t, snd, "second of alice", func(w wavFile) bool { return w.count(heard) >= 8000 })
	aliceTab.hangup(t, call["id"].(string))

	// On hangup baresip completes the file: what it heard is alice, but
	// for silence before her audio came and after it ended.
	w := waitRecording(t, snd, "complete file", func(w wavFile) bool { return w.complete })
	if w.rate != 8000 || w.channels != 1 || w.bits != 16 {
		t.Errorf("recording is %d Hz, %d channels, %d bits; want 8000 Hz mono 16-bit", w.rate, w.channels, w.bits)
	}
	voiced, other := 0, map[int16]int{}
	for _, s := range w.samples {
		if s > -64 && s < 64 { // silence
			continue
		}
		voiced++
		if s != heard {
			other[s]++
		}
	}
	if n := w.count(heard); n < 8000 || n < voiced*95/100 {
		t.Errorf("recording: %d of %d samples (%d not silent) are alice's %d; others %v",
			n, len(w.samples), voiced, heard, other)
	}
}
