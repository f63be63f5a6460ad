package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/media"
)

// Log lines a voicemail test waits on: the gateway started recording the
// caller (after the greeting and the beep), and a caller left during the
// greeting.
const (
	logRecordingStarted = "recording started"
	logLeftInGreeting   = "voicemail: the caller left during the greeting"
)

// getAudio fetches an audio URI with the platform's token and extra
// headers.
func (p *platform) getAudio(u string, header ...string) response {
	p.t.Helper()
	return do(p.t, p.c, "GET", u, nil, append([]string{"Authorization", "Bearer " + p.token}, header...)...)
}

// voicemails lists the caller's VoiceMail messages.
func voicemails(t *testing.T, p *platform) []map[string]any {
	t.Helper()
	return storeRecords(t, p, "?messageType=VoiceMail&perPage=1000")
}

// waitVoicemails polls the caller's message store until it holds n
// VoiceMail messages, and returns them.
func waitVoicemails(t *testing.T, p *platform, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(patience)
	for {
		vms := voicemails(t, p)
		if len(vms) == n {
			return vms
		}
		if len(vms) > n || time.Now().After(deadline) {
			t.Fatalf("%d voicemail messages, want %d: %v", len(vms), n, vms)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkAudioContent fetches an audio resource whole and in part: the
// content type, Range support, and the file's bytes.
func checkAudioContent(t *testing.T, p *platform, u, contentType string) []byte {
	t.Helper()
	whole := p.getAudio(u)
	if whole.StatusCode != http.StatusOK || whole.Header.Get("Content-Type") != contentType ||
		whole.Header.Get("Accept-Ranges") != "bytes" || len(whole.body) < 100 {
		t.Fatalf("GET %s: %d %v, %d bytes", u, whole.StatusCode, whole.Header, len(whole.body))
	}
	part := p.getAudio(u, "Range", "bytes=10-99")
	if want := fmt.Sprintf("bytes 10-99/%d", len(whole.body)); part.StatusCode != http.StatusPartialContent ||
		part.Header.Get("Content-Range") != want || part.body != whole.body[10:100] {
		t.Fatalf("GET %s with a Range: %d %v (want Content-Range %s), %d bytes", u, part.StatusCode, part.Header, want, len(part.body))
	}
	return []byte(whole.body)
}

// TestVoicemailOfAWidgetCaller: alice calls bob, whose devices ring for
// five seconds; nobody answers, so alice hears the greeting and the beep,
// says 440 Hz for two seconds and hangs up. Bob's message store has the
// message, unread, whose audio is that tone (the beep is not in it); bob's
// widget heard of it once; his call-log record says Voicemail. carol
// reaches the voicemail too and presses #: the server ends her call, and
// keeps her message. alice calls again and hangs up during the greeting:
// nothing is kept.
func TestVoicemailOfAWidgetCaller(t *testing.T) {
	t.Parallel()
	logs := newLogCounter()
	srv := startServer(t, Config{APIRateLimit: 10000, Logger: slog.New(logs)})
	bob := newPlatform(t, srv, "bob@demo.test")
	rule := bob.call("PUT", "/account/~/extension/~/answering-rule", `{"ringSeconds": 5}`)
	if rule.StatusCode != http.StatusOK || num(rule.json(t)["ringSeconds"]) != 5 || party(rule.json(t), "noAnswer")["action"] != "Voicemail" {
		t.Fatalf("bob's answering rule: %d %s", rule.StatusCode, rule.body)
	}
	aliceTab, bobTab, carolTab := openTab(t, srv, "alice@demo.test"), openTab(t, srv, "bob@demo.test"), openTab(t, srv, "carol@demo.test")
	silence := opusFrames(t, 0, 1)
	const toneFrames = 100 // 2 s
	tone := opusFrames(t, 440, toneFrames)

	// alice's message.
	alice := newTonePeer(t, "alice", silence)
	call := aliceTab.dial(t, "102", alice.peer)
	session := call["telephonySessionId"].(string)
	bobTab.waitFor(t, "the ring", ringsFor(session))
	logs.wait(t, logRecordingStarted, 1) // the greeting and the beep played
	prompts := int((media.DefaultGreeting().Duration() + media.Beep().Duration()) / frameLength)
	alice.await(t, "the greeting and the beep heard", func() bool { return alice.received >= prompts-2 })
	saying := time.Now()
	alice.say(t, tone)
	late := alice.lateBetween(saying, time.Now()) // a loaded machine's late ticks are silence in the file
	alice.awaitFrames(t, alice.mark(), 5)         // some silence after it, read too
	aliceTab.hangup(t, call["id"].(string))

	vm := waitVoicemails(t, bob, 1)[0]
	id := vm["id"].(string)
	raw, _ := vm["attachments"].([]any)
	if vm["type"] != "VoiceMail" || vm["readStatus"] != "Unread" || vm["direction"] != "Inbound" || len(raw) != 1 ||
		party(vm, "from")["extensionNumber"] != "101" && party(vm, "from")["phoneNumber"] != aliceNumber {
		t.Fatalf("bob's voicemail %v", vm)
	}
	att := raw[0].(map[string]any)
	if att["contentType"] != "audio/ogg" || att["type"] != "AudioRecording" || att["id"] == "" ||
		!strings.HasSuffix(att["uri"].(string), "/message-store/"+id+"/content/"+att["id"].(string)) {
		t.Fatalf("the attachment %v", att)
	}
	file, err := decodeOggOpus(checkAudioContent(t, bob, att["uri"].(string), "audio/ogg"))
	if err != nil {
		t.Fatalf("the voicemail does not decode: %v", err)
	}
	if file.family != 0 || len(file.channels) != 1 {
		t.Fatalf("voicemail of mapping family %d, %d channels", file.family, len(file.channels))
	}
	sent := toneFrames * frameLength
	t.Logf("voicemail: 440 Hz for %v of a %v file, vmDuration %v (sent late: %v)", file.tone(0, 440), file.duration(), att["vmDuration"], late)
	if got := file.tone(0, 440); got < sent-100*time.Millisecond-late || got > sent+100*time.Millisecond {
		t.Errorf("the voicemail carries 440 Hz for %v of the %v sent %v late (file of %v)", got, sent, late, file.duration())
	}
	if got := file.tone(0, 1000); got != 0 {
		t.Errorf("the voicemail carries the beep's 1 kHz for %v", got)
	}
	if d, whole := num(att["vmDuration"]), int(file.duration()/time.Second); d < 2 || d < whole-1 || d > whole+1 {
		t.Errorf("vmDuration %d for a file of %v", d, file.duration())
	}
	if r := recordOfSession(t, bob, session); r["result"] != "Voicemail" {
		t.Errorf("bob's call-log record %v", r)
	}

	// bob's widget heard of the message once; his reading it is the fence.
	if read := bob.call("PUT", storePath+"/"+id, `{"readStatus": "Read"}`); read.StatusCode != http.StatusOK {
		t.Fatalf("PUT readStatus: %d %s", read.StatusCode, read.body)
	}
	ev := collectUntil(t, bobTab, updatedTo(id, "Read"))
	if ev.inbound[id] != 1 || len(ev.updated[id]) != 2 || ev.updated[id][0] != vm["lastModifiedTime"] {
		t.Fatalf("bob's widget: inbound %v, updated %v", ev.inbound, ev.updated)
	}

	// carol presses # after her message: the server ends the call.
	carol := newTonePeer(t, "carol", silence)
	carolCall := carolTab.dial(t, "102", carol.peer)
	logs.wait(t, logRecordingStarted, 2)
	carol.say(t, tone[:75])
	if err := carol.track.sendDigit(11); err != nil {
		t.Fatal(err)
	}
	carolTab.waitFor(t, "the end of carol's call", func(m map[string]any) bool {
		c, _ := m["call"].(map[string]any)
		return m["type"] == "rc-call-end-notify" && c["id"] == carolCall["id"]
	})
	vms := waitVoicemails(t, bob, 2)
	if vms[0]["id"] == id {
		vms[0], vms[1] = vms[1], vms[0]
	}
	if vms[0]["readStatus"] != "Unread" || party(vms[0], "from")["extensionNumber"] != "103" && party(vms[0], "from")["phoneNumber"] != "+16505550103" {
		t.Errorf("carol's voicemail %v", vms[0])
	}

	// alice hangs up during the greeting: no message, no file.
	again := newTonePeer(t, "alice-again", silence)
	second := aliceTab.dial(t, "102", again.peer)
	again.await(t, "the greeting starts", func() bool { return again.received >= 10 })
	aliceTab.hangup(t, second["id"].(string))
	logs.wait(t, logLeftInGreeting, 1)
	if n := len(voicemails(t, bob)); n != 2 {
		t.Errorf("%d voicemail messages after a caller left during the greeting", n)
	}
	files, _ := filepath.Glob(filepath.Join(srv.dataDir, "audio", "voicemail", "*", "*"))
	if len(files) != 2 {
		t.Errorf("voicemail files %v, want alice's and carol's", files)
	}
	if n := logs.count(logRecordingStarted); n != 2 {
		t.Errorf("%d recordings started, want 2", n)
	}
}
