package server

import (
	"net/http"
	"testing"
	"time"
)

// recordEvents collects a tab's rc-call-record-notify events until the one
// that names recording id as stopped: each event's call.recordStatus.
func recordEvents(t *testing.T, tab *widgetTab, id string) []string {
	t.Helper()
	var statuses []string
	tab.waitFor(t, "the stop of recording "+id, func(m map[string]any) bool {
		if m["type"] != "rc-call-record-notify" {
			return false
		}
		c, _ := m["call"].(map[string]any)
		statuses = append(statuses, c["recordStatus"].(string))
		r, _ := m["recording"].(map[string]any)
		return r != nil && r["id"] == id
	})
	return statuses
}

// completedRecording waits for a stopped recording's row to be Completed and
// returns it. The DELETE that stops a recording answers once the gateway
// closed the file; the row is completed right after, on its own.
func completedRecording(t *testing.T, p *platform, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(patience)
	for {
		meta := p.get("/account/~/recording/" + id)
		if meta["status"] != "Recording" || time.Now().After(deadline) {
			return meta
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runSpan is a time the server took between two requests: it began between
// the first request's sending and answer, and ended between the second's.
type runSpan struct{ min, max time.Duration }

// timedRequest runs a request and returns when it was sent and answered.
func timedRequest(f func()) (sent, answered time.Time) {
	sent = time.Now()
	f()
	return sent, time.Now()
}

func spanBetween(aSent, aAnswered, bSent, bAnswered time.Time) runSpan {
	return runSpan{bSent.Sub(aAnswered), bAnswered.Sub(aSent)}
}

// checkStereo decodes a two-party recording: alice (the owner) on the left
// at 440 Hz, bob on the right at 1 kHz, for the span the recording ran
// (±100 ms). Each side's tone fills the file but for what the side sent
// late (the gateway fills it with silence) and 100 ms for the ends and the
// joins of pauses.
func checkStereo(t *testing.T, data []byte, ran runSpan, pauses int, late [2]time.Duration) {
	t.Helper()
	file, err := decodeOggOpus(data)
	if err != nil {
		t.Fatalf("the recording does not decode: %v", err)
	}
	if file.family != 1 || len(file.channels) != 2 {
		t.Fatalf("recording of mapping family %d, %d channels", file.family, len(file.channels))
	}
	const tolerance = 100 * time.Millisecond
	d := file.duration()
	t.Logf("recording of %v (ran %v to %v): left 440 Hz %v, right 1 kHz %v (sent late: %v)", d, ran.min, ran.max,
		file.tone(0, 440), file.tone(1, 1000), late)
	if d < ran.min-tolerance || d > ran.max+tolerance {
		t.Errorf("recording of %v; it ran %v to %v", d, ran.min, ran.max)
	}
	for _, c := range []struct {
		side        string
		ch          int
		hz, otherHz float64
	}{{"left", 0, 440, 1000}, {"right", 1, 1000, 440}} {
		if got := file.tone(c.ch, c.hz); got < d-tolerance*time.Duration(1+pauses)-late[c.ch] {
			t.Errorf("the %s channel carries %v Hz for %v of %v", c.side, c.hz, got, d)
		}
		if got := file.tone(c.ch, c.otherHz); got != 0 {
			t.Errorf("the %s channel carries the other side's %v Hz for %v", c.side, c.otherHz, got)
		}
	}
}

// TestRecordingACallBetweenWidgets: alice (440 Hz) and bob (1 kHz) talk;
// alice records the call for 1.5 s through the API. The recording is one
// Ogg Opus file, alice left and bob right, as long as it ran; both widgets
// hear it start and stop; bob, not an administrator, cannot have it. A
// second recording, paused for a while, is shorter by the pause, and
// is the one alice's call-log record names.
func TestRecordingACallBetweenWidgets(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{APIRateLimit: 10000, RingTimeout: time.Hour})
	aliceAPI, bobAPI := newPlatform(t, srv, "alice@demo.test"), newPlatform(t, srv, "bob@demo.test")
	aliceTab, bobTab := openTab(t, srv, "alice@demo.test"), openTab(t, srv, "bob@demo.test")

	alice := newTonePeer(t, "alice", opusFrames(t, 440, 50)) // 1 s of whole periods, looped
	call := aliceTab.dial(t, "102", alice.peer)
	session := call["telephonySessionId"].(string)
	bobCall := bobTab.waitFor(t, "the ring", ringsFor(session))["call"].(map[string]any)
	bob := newTonePeer(t, "bob", opusFrames(t, 1000, 50))
	r := widgetPost(t, bobTab.c, srv.WidgetURL, "/widget/calls/"+bobCall["id"].(string)+"/answer",
		map[string]string{"deviceId": bobTab.device, "sdp": bob.offer})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("bob answers: %d %s", r.StatusCode, r.body)
	}
	bob.answer(t, r.json(t)["sdp"].(string))
	alice.await(t, "alice hears bob", func() bool { return alice.received >= 10 })
	bob.await(t, "bob hears alice", func() bool { return bob.received >= 10 })

	recordings := "/account/~/telephony/sessions/" + session + "/parties/" + call["partyId"].(string) + "/recordings"
	start := func() string {
		t.Helper()
		r := aliceAPI.call("POST", recordings, "")
		if r.StatusCode != http.StatusCreated || r.json(t)["active"] != true || r.json(t)["id"] == "" {
			t.Fatalf("start recording: %d %s", r.StatusCode, r.body)
		}
		return r.json(t)["id"].(string)
	}
	change := func(id string, active bool) {
		t.Helper()
		body := `{"active": false}`
		if active {
			body = `{"active": true}`
		}
		r := aliceAPI.call("PATCH", recordings+"/"+id, body)
		if r.StatusCode != http.StatusOK || r.json(t)["active"] != active {
			t.Fatalf("PATCH recording %s: %d %s", body, r.StatusCode, r.body)
		}
	}
	stop := func(id string) {
		t.Helper()
		if r := aliceAPI.call("DELETE", recordings+"/"+id, ""); r.StatusCode != http.StatusNoContent {
			t.Fatalf("stop recording: %d %s", r.StatusCode, r.body)
		}
	}
	lateness := func(from, to time.Time) [2]time.Duration {
		return [2]time.Duration{alice.lateBetween(from, to), bob.lateBetween(from, to)}
	}
	// talk lets both sides say n more frames, read by the gateway.
	talk := func(n int) {
		t.Helper()
		a, b := alice.mark(), bob.mark()
		alice.awaitFrames(t, a, n)
		bob.awaitFrames(t, b, n)
	}

	// The first recording: 1.5 s and the gateway's next receiver report.
	var id string
	startSent, startAnswered := timedRequest(func() { id = start() })
	talk(75)
	stopSent, stopAnswered := timedRequest(func() { stop(id) })
	for who, tab := range map[string]*widgetTab{"alice": aliceTab, "bob": bobTab} {
		if got := recordEvents(t, tab, id); len(got) != 2 || got[0] != "recording" || got[1] != "idle" {
			t.Errorf("%s's widget heard the recording go %v", who, got)
		}
	}
	meta := completedRecording(t, aliceAPI, id)
	if meta["id"] != id || meta["status"] != "Completed" || meta["type"] != "OnDemand" || meta["contentType"] != "audio/ogg" {
		t.Fatalf("the recording %v", meta)
	}
	checkStereo(t, checkAudioContent(t, aliceAPI, meta["contentUri"].(string), "audio/ogg"),
		spanBetween(startSent, startAnswered, stopSent, stopAnswered), 0, lateness(startSent, stopAnswered))
	wantAPIError(t, bobAPI.call("GET", "/account/~/recording/"+id, ""), http.StatusNotFound, "NotFound", "")
	wantAPIError(t, bobAPI.getAudio(meta["contentUri"].(string)), http.StatusNotFound, "NotFound", "")

	// The second: a while, paused a while, then a while more (a while is
	// 25 frames and the gateway's next receiver report).
	var second string
	startSent, startAnswered = timedRequest(func() { second = start() })
	talk(25)
	pauseSent, pauseAnswered := timedRequest(func() { change(second, false) })
	talk(25)
	resumeSent, resumeAnswered := timedRequest(func() { change(second, true) })
	talk(25)
	stopSent, stopAnswered = timedRequest(func() { stop(second) })
	if got := recordEvents(t, aliceTab, second); len(got) != 4 || got[0] != "recording" || got[1] != "paused" || got[2] != "recording" || got[3] != "idle" {
		t.Errorf("alice's widget heard the second recording go %v", got)
	}
	ran, paused := spanBetween(startSent, startAnswered, stopSent, stopAnswered), spanBetween(pauseSent, pauseAnswered, resumeSent, resumeAnswered)
	t.Logf("paused %v to %v", paused.min, paused.max)
	meta = completedRecording(t, aliceAPI, second)
	checkStereo(t, checkAudioContent(t, aliceAPI, meta["contentUri"].(string), "audio/ogg"),
		runSpan{ran.min - paused.max, ran.max - paused.min}, 1, lateness(startSent, stopAnswered))

	aliceTab.hangup(t, call["id"].(string))
	rec, _ := recordOfSession(t, aliceAPI, session)["recording"].(map[string]any)
	if rec["id"] != second || rec["type"] != "OnDemand" || rec["contentUri"] != meta["contentUri"] {
		t.Errorf("alice's call-log record names the recording %v, want %s", rec, second)
	}
}
