package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/callbridge/widget-server/internal/server"
)

// serverLog keeps the server's log records so that a test can wait for a
// step only the server sees, such as the start of a voicemail's recording.
type serverLog struct {
	mu   sync.Mutex
	recs []map[string]any
	tee  io.Writer // also written here (stderr with -v)
}

// Write takes one JSON record (slog's handler writes one per call).
func (l *serverLog) Write(p []byte) (int, error) {
	if l.tee != nil {
		_, _ = l.tee.Write(p)
	}
	var rec map[string]any
	if json.Unmarshal(p, &rec) == nil {
		l.mu.Lock()
		l.recs = append(l.recs, rec)
		l.mu.Unlock()
	}
	return len(p), nil
}

// wait returns the first record with message msg for which match holds.
func (l *serverLog) wait(t *testing.T, what, msg string, match func(rec map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second) // against a hang only
	for {
		l.mu.Lock()
		for _, rec := range l.recs {
			if rec["msg"] == msg && match(rec) {
				l.mu.Unlock()
				return rec
			}
		}
		l.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("waiting for the server's log: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// recordingLog matches a recording's log records by their recording id:
// the whole id, or a prefix when it ends with '*'.
func recordingLog(id string) func(map[string]any) bool {
	return func(rec map[string]any) bool {
		got, _ := rec["recording"].(string)
		if p, ok := strings.CutSuffix(id, "*"); ok {
			return strings.HasPrefix(got, p)
		}
		return got == id
	}
}

// loggedDuration is a "recording stopped" record's duration in seconds.
func loggedDuration(t *testing.T, rec map[string]any) float64 {
	t.Helper()
	ns, ok := rec["duration"].(float64)
	if !ok {
		t.Fatalf("recording stopped without a duration: %v", rec)
	}
	return ns / float64(time.Second)
}

// startLogged is start with the server's log kept for the test.
func startLogged(t *testing.T) (*env, *serverLog) {
	t.Helper()
	l := &serverLog{}
	if testing.Verbose() {
		l.tee = os.Stderr
	}
	e := startWith(t, server.Config{Logger: slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	return e, l
}

// packetsSent reads, inside the widget frame, the audio packets sent by the
// tab's first call's RTCPeerConnection.
func packetsSent(t *testing.T, frame context.Context) float64 {
	t.Helper()
	return eval[float64](t, frame, `(async () => {
		const pc = window.cbPhone && cbPhone.pcs()[0];
		if (!pc) return -1;
		let n = 0;
		(await pc.getStats()).forEach(r => { if (r.type === 'outbound-rtp' && r.kind === 'audio') n += r.packetsSent; });
		return n;
	})()`)
}

// talk waits until the frame's call has sent d more of audio (20 ms a
// packet): the fake microphone's beep goes on meanwhile.
func talk(t *testing.T, who string, frame context.Context, d time.Duration) {
	t.Helper()
	first := packetsSent(t, frame)
	want := first + float64(d/(20*time.Millisecond))
	deadline := time.Now().Add(d + 60*time.Second) // against a hang only
	for {
		n := packetsSent(t, frame)
		if first >= 0 && n >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s sent %v packets of audio in %v, want %v", who, n-first, d+60*time.Second, want-first)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// userGesture marks an evaluation as a user's action (media may play then).
var userGesture = true

// played is what an audio element says once it played to its end.
type played struct {
	Error       string  `json:"error"`
	Duration    float64 `json:"duration"` // -1: not finite
	CurrentTime float64 `json:"currentTime"`
}

// playToEnd plays the audio element that the expression el names in the
// frame, as a user's click would, and waits for its ended event.
func playToEnd(t *testing.T, frame context.Context, what, el string) played {
	t.Helper()
	gesture := func(p *runtime.EvaluateParams) { p.UserGesture = &userGesture }
	_, err := chromedp.Run(within(t, frame, 15*time.Second), chromedp.Evaluate[bool](`(() => {
		const a = `+el+`;
		const finite = (x) => Number.isFinite(x) ? x : -1;
		window.cbPlayed = null;
		a.addEventListener('ended', () => { window.cbPlayed = {duration: finite(a.duration), currentTime: a.currentTime}; }, {once: true});
		a.addEventListener('error', () => { window.cbPlayed = {error: 'media error ' + (a.error && a.error.code)}; }, {once: true});
		a.play().catch(e => { window.cbPlayed = {error: e.name + ': ' + e.message}; });
		return true;
	})()`, gesture))
	if err != nil {
		t.Fatalf("play %s: %v", what, err)
	}
	p := waitFor[played](t, frame, what+" played to its end", `window.cbPlayed`)
	if p.Error != "" {
		t.Fatalf("%s does not play: %s", what, p.Error)
	}
	return p
}

// widgetFetch is a JS expression that fetches a path of the widget's
// server from its frame with the widget's headers, as server.js does.
func widgetFetch(path string) string {
	return fmt.Sprintf(`fetch(%q, {credentials: 'same-origin', headers: {'X-Callbridge': '1',
		'X-Callbridge-Client': JSON.parse(document.getElementById('cb-config').textContent).clientId}})`, path)
}

// hostEventCounts counts, on e's host page, the message events it heard of
// one message: inbound and updated.
func hostEventCounts(t *testing.T, e *env, id string) (inbound, updated int) {
	t.Helper()
	n := eval[[]int](t, e.ctx, fmt.Sprintf(`[
		cbDemo.messages.filter(m => m.data.type === 'rc-inbound-message-notify' && m.data.message.id === %[1]q).length,
		cbDemo.messages.filter(m => m.data.type === 'rc-message-updated-notify' && m.data.message.id === %[1]q).length]`, id))
	return n[0], n[1]
}

// shootWidget saves PNGs of e's widget frame at its own width and at
// 300 px wide, as dir/name.png and dir/name-300.png, where dir is
// CB_SCREENSHOT_DIR or a temp dir.
func shootWidget(t *testing.T, e *env, name string) {
	t.Helper()
	dir := os.Getenv("CB_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	widgetScreenshot(t, e, dir, name)
	eval[bool](t, e.ctx, `(document.getElementById('rc-widget').style.width = '300px', true)`)
	widgetScreenshot(t, e, dir, name+"-300")
	eval[bool](t, e.ctx, `(document.getElementById('rc-widget').style.width = '', true)`)
}

// TestVoicemailInMessages: alice's call that bob does not take reaches his
// voicemail after the 5 s his answering rule rings; what she says lands in
// bob's Messages, plays there for as long as it was recorded, and can be
// marked read and unread and deleted; bob's host hears its arrival once.
func TestVoicemailInMessages(t *testing.T) {
	alice, logs := startLogged(t)
	bob := alice.second(t)
	signedIn(t, alice, "alice@demo.test", "+16505550100*101")
	signedIn(t, bob, "bob@demo.test", "+16505550100*102")
	aliceFrame, bobFrame := frameCtx(t, alice), frameCtx(t, bob)

	bobAPI := newAPIClient(t, alice.Addrs, "bob@demo.test")
	if r := bobAPI.do(t, "PUT", "/account/~/extension/~/answering-rule",
		map[string]any{"ringSeconds": 5, "noAnswer": map[string]string{"action": "Voicemail"}}); r.status != http.StatusOK {
		t.Fatalf("bob's answering rule: %d %s", r.status, r.body)
	}

	if res := eval[any](t, alice.ctx, `RCAdapter.clickToCall('102', true)`); res != "ok" {
		t.Fatalf("call bob: %v", res)
	}
	waitMessage(t, bob.ctx, "rc-call-ring-notify", "")
	// Nobody answers: bob's widget stops ringing, alice hears the greeting
	// and the beep, and then she is recorded.
	waitMessage(t, bob.ctx, "rc-call-end-notify", "")
	started := logs.wait(t, "the voicemail recording's start", "recording started", recordingLog("vm-*"))
	vmID := started["recording"].(string)
	talk(t, "alice", aliceFrame, 3*time.Second)
	controlCall(t, alice, "hangup", "")
	waitMessage(t, alice.ctx, "rc-call-end-notify", "")
	recorded := loggedDuration(t, logs.wait(t, "the voicemail recording's end", "recording stopped", recordingLog(vmID)))
	t.Logf("voicemail recorded: %.3f s", recorded)

	// Bob's host hears of it once, as an unread voicemail with its audio.
	in := waitMessage(t, bob.ctx, "rc-inbound-message-notify", `m.data.message.type === 'VoiceMail'`)
	msg := in.Data["message"].(map[string]any)
	id, _ := msg["id"].(string)
	atts, _ := msg["attachments"].([]any)
	if id == "" || len(atts) != 1 || msg["readStatus"] != "Unread" {
		t.Fatalf("voicemail %v", msg)
	}
	att := atts[0].(map[string]any)
	vmDuration, _ := att["vmDuration"].(float64)
	if att["contentType"] != "audio/ogg" || math.Abs(vmDuration-recorded) > 1 {
		t.Errorf("voicemail attachment %v; %.3f s recorded", att, recorded)
	}
	waitMessage(t, bob.ctx, "rc-message-updated-notify", `m.data.message.id === '`+id+`'`)

	// The Messages page lists it: voicemail icon, caller, duration, unread.
	eval[any](t, bob.ctx, `RCAdapter.navigateTo('/messages')`)
	const vmRow = `#cb-conversations .conversation-row[data-type="VoiceMail"]`
	row := waitFor[map[string]string](t, bobFrame, "the voicemail row", `(() => {
		const row = document.querySelector('`+vmRow+`');
		return row && {unread: row.dataset.unread, icon: String(!row.querySelector('.conversation-row__vm').hidden),
			name: row.querySelector('.conversation-row__name').textContent,
			preview: row.querySelector('.conversation-row__preview').textContent};
	})()`)
	wantPreview := fmt.Sprintf("Voicemail · 0:%02d", int(vmDuration))
	if row["unread"] != "true" || row["icon"] != "true" || row["name"] != "Alice Adams" || row["preview"] != wantPreview {
		t.Errorf("bob's voicemail row %v, want Alice Adams, %q, unread, with the icon", row, wantPreview)
	}
	shootWidget(t, bob, "voicemail-list")
	if n, u := hostEventCounts(t, bob, id); n != 1 || u != 1 {
		t.Errorf("bob's host heard the voicemail's arrival as %d inbound and %d updated events, want 1 each", n, u)
	}

	// Opened, its player loads the recording; played, it lasts as long as
	// what was recorded, and counts as read.
	if err := chromedp.Do(within(t, bobFrame, 15*time.Second), chromedp.Click(chromedp.CSS(vmRow+` .conversation-row__open`))); err != nil {
		t.Fatalf("open the voicemail: %v", err)
	}
	view := waitFor[map[string]string](t, bobFrame, "the voicemail's player", `(() => {
		const p = document.getElementById('cb-vm-player');
		return !document.getElementById('cb-voicemail').hidden && !p.hidden && p.src.startsWith('blob:') && p.readyState >= 1 &&
			{name: document.getElementById('cb-vm-name').textContent, when: document.getElementById('cb-vm-when').textContent,
			 read: document.getElementById('cb-vm-read').textContent};
	})()`)
	if view["name"] != "Alice Adams" || !strings.HasSuffix(view["when"], fmt.Sprintf(" · 0:%02d", int(vmDuration))) || view["read"] != "Mark as read" {
		t.Errorf("the open voicemail %v", view)
	}
	p := playToEnd(t, bobFrame, "the voicemail", `document.getElementById('cb-vm-player')`)
	t.Logf("voicemail played: duration %.3f s, ended at %.3f s; vmDuration %v, recorded %.3f s", p.Duration, p.CurrentTime, vmDuration, recorded)
	if p.Duration <= 0 || math.Abs(p.Duration-recorded) > 0.25 || math.Abs(p.Duration-vmDuration) > 1 {
		t.Errorf("the voicemail plays %.3f s; recorded %.3f s, vmDuration %v", p.Duration, recorded, vmDuration)
	}
	waitMessage(t, bob.ctx, "rc-message-updated-notify", `m.data.message.id === '`+id+`' && m.data.message.readStatus === 'Read'`)
	waitFor[bool](t, bobFrame, "the voicemail read", `document.getElementById('cb-vm-read').textContent === 'Mark as unread' &&
		document.getElementById('cb-messages-badge').hidden`)
	shootWidget(t, bob, "voicemail-open")

	// Mark as unread, then read again.
	click := func(id string) {
		t.Helper()
		if err := chromedp.Do(within(t, bobFrame, 15*time.Second), chromedp.Click(chromedp.CSS("#"+id))); err != nil {
			t.Fatalf("click %s: %v", id, err)
		}
	}
	click("cb-vm-read")
	waitMessage(t, bob.ctx, "rc-message-updated-notify", `m.data.message.id === '`+id+`' && m.data.message.readStatus === 'Unread' &&
		cbDemo.messages.some(r => r.data.type === 'rc-message-updated-notify' && r.data.message.id === '`+id+`' && r.data.message.readStatus === 'Read' && r.time < m.time)`)
	waitFor[bool](t, bobFrame, "the voicemail unread", `document.getElementById('cb-vm-read').textContent === 'Mark as read' &&
		document.getElementById('cb-messages-badge').textContent === '1'`)
	click("cb-vm-read")
	waitFor[bool](t, bobFrame, "the voicemail read again", `document.getElementById('cb-vm-read').textContent === 'Mark as unread' &&
		document.getElementById('cb-messages-badge').hidden`)
	waitFor[bool](t, bob.ctx, "the host told it is read again", `cbDemo.messages.filter(m => m.data.type === 'rc-message-updated-notify' &&
		m.data.message.id === '`+id+`' && m.data.message.readStatus === 'Read').length === 2`)

	// Deleted, it leaves the list.
	click("cb-vm-delete")
	waitMessage(t, bob.ctx, "rc-message-updated-notify", `m.data.message.id === '`+id+`' && m.data.message.availability === 'Deleted'`)
	waitFor[bool](t, bobFrame, "the list without the voicemail", `document.getElementById('cb-voicemail').hidden &&
		!document.getElementById('cb-msg-list-view').hidden && !document.querySelector('`+vmRow+`')`)

	if n, _ := hostEventCounts(t, bob, id); n != 1 {
		t.Errorf("bob's host heard the inbound voicemail %d times", n)
	}
	noDuplicateMessageEvents(t, "bob", bob)
}

// noDuplicateMessageEvents checks that e's host heard each message event
// once: one inbound per id, one update per id and lastModifiedTime.
func noDuplicateMessageEvents(t *testing.T, who string, e *env) {
	t.Helper()
	dups := eval[[]string](t, e.ctx, `(() => {
		const seen = new Set(), dups = [];
		for (const {data} of cbDemo.messages) {
			let key;
			if (data.type === 'rc-inbound-message-notify') key = 'in ' + data.message.id;
			else if (data.type === 'rc-message-updated-notify') key = 'up ' + data.message.id + ' ' + data.message.lastModifiedTime;
			else continue;
			if (seen.has(key)) dups.push(key);
			seen.add(key);
		}
		return dups;
	})()`)
	if len(dups) > 0 {
		t.Errorf("%s's host heard these message events twice: %v", who, dups)
	}
}

// TestRecordFromHost: alice's host records her call with bob; both sides
// hear that it records; the stopped recording is on alice's call log and
// plays in the browser as the widget fetches it.
func TestRecordFromHost(t *testing.T) {
	alice, logs := startLogged(t)
	bob := alice.second(t)
	signedIn(t, alice, "alice@demo.test", "+16505550100*101")
	signedIn(t, bob, "bob@demo.test", "+16505550100*102")
	aliceFrame := frameCtx(t, alice)

	if res := eval[any](t, alice.ctx, `RCAdapter.clickToCall('102', true)`); res != "ok" {
		t.Fatalf("call bob: %v", res)
	}
	waitMessage(t, bob.ctx, "rc-call-ring-notify", "")
	controlCall(t, bob, "answer", "")
	waitMessage(t, bob.ctx, "rc-call-start-notify", `m.data.call.callStatus === 'connected'`)
	waitMessage(t, alice.ctx, "rc-active-call-notify", `m.data.call.telephonyStatus === 'CallConnected'`)

	// The host's request is answered ok, and both sides hear it records.
	controlCall(t, alice, "startRecord", "")
	waitMessage(t, alice.ctx, "rc-adapter-message-response", `m.data.response && m.data.response.data === 'ok'`)
	waitMessage(t, alice.ctx, "rc-call-record-notify", `m.data.call.recordStatus === 'recording'`)
	waitMessage(t, bob.ctx, "rc-call-record-notify", `m.data.call.recordStatus === 'recording'`)
	waitFor[bool](t, aliceFrame, "the record toggle on", `document.getElementById('cb-record-bar').dataset.record === 'recording' &&
		document.getElementById('cb-record').getAttribute('aria-pressed') === 'true'`)
	talk(t, "alice", aliceFrame, 2*time.Second)
	shootWidget(t, alice, "in-call-recording")
	// The panel fits the adapter's frame: nothing overlaps, nothing scrolls.
	if fit := eval[map[string]float64](t, aliceFrame, `(() => {
		const c = document.getElementById('cb-active-call');
		return {scroll: c.scrollHeight, height: c.clientHeight,
			status: document.getElementById('cb-call-status').getBoundingClientRect().bottom,
			controls: document.querySelector('#cb-active-call .call__controls').getBoundingClientRect().top};
	})()`); fit["scroll"] > fit["height"] || fit["status"] > fit["controls"] {
		t.Errorf("the in-call panel does not fit: %v", fit)
	}

	controlCall(t, alice, "stopRecord", "")
	stopped := waitMessage(t, alice.ctx, "rc-call-record-notify", `m.data.call.recordStatus === 'idle' && m.data.recording`)
	rec := stopped.Data["recording"].(map[string]any)
	id, _ := rec["id"].(string)
	if id == "" || rec["type"] != "OnDemand" || !strings.HasSuffix(fmt.Sprint(rec["contentUri"]), "/restapi/v1.0/account/~/recording/"+id+"/content") {
		t.Errorf("stopped recording %v", rec)
	}
	waitMessage(t, bob.ctx, "rc-call-record-notify", `m.data.call.recordStatus === 'idle' && m.data.recording && m.data.recording.id === '`+id+`'`)
	waitFor[bool](t, aliceFrame, "the record toggle off", `document.getElementById('cb-record-bar').dataset.record === 'idle'`)
	recorded := loggedDuration(t, logs.wait(t, "the recording's end", "recording stopped", recordingLog(id)))

	controlCall(t, alice, "hangup", "")
	waitMessage(t, alice.ctx, "rc-call-end-notify", "")
	waitMessage(t, bob.ctx, "rc-call-end-notify", "")

	// The recording is on alice's call log (the call's record is written
	// just after its end event).
	var onLog map[string]any
	deadline := time.Now().Add(30 * time.Second) // against a hang only
	for onLog == nil {
		onLog = eval[map[string]any](t, aliceFrame, `(async () => {
			const answer = await (await `+widgetFetch("/widget/call-log")+`).json();
			const r = (answer.records || []).find(r => r.recording && r.recording.id === '`+id+`');
			return r ? r.recording : null;
		})()`)
		if onLog == nil && time.Now().After(deadline) {
			t.Fatalf("recording %s not on alice's call log", id)
		}
		if onLog == nil {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if onLog["type"] != "OnDemand" || !strings.HasSuffix(fmt.Sprint(onLog["contentUri"]), "/recording/"+id+"/content") {
		t.Errorf("call-log recording %v", onLog)
	}

	// Fetched as the widget fetches audio, it plays in the browser.
	got := eval[map[string]any](t, aliceFrame, `(async () => {
		const r = await `+widgetFetch("/widget/recordings/"+id+"/content")+`;
		if (!r.ok) return {status: r.status};
		const blob = await r.blob();
		window.cbRecording = new Audio(URL.createObjectURL(blob));
		return {status: r.status, type: r.headers.get('Content-Type'), size: blob.size};
	})()`)
	if got["status"] != float64(200) || got["type"] != "audio/ogg" {
		t.Fatalf("the recording's content: %v", got)
	}
	p := playToEnd(t, aliceFrame, "the recording", `window.cbRecording`)
	t.Logf("recording of %v bytes played: duration %.3f s, ended at %.3f s; recorded %.3f s", got["size"], p.Duration, p.CurrentTime, recorded)
	if p.Duration <= 0 || math.Abs(p.Duration-recorded) > 0.25 {
		t.Errorf("the recording plays %.3f s, recorded %.3f s", p.Duration, recorded)
	}
}

// TestToVoicemailFromHost: bob's host sends a ringing call to his
// voicemail; his widget stops ringing and alice's call goes on, with the
// greeting and then the recording of her message.
func TestToVoicemailFromHost(t *testing.T) {
	alice, logs := startLogged(t)
	bob := alice.second(t)
	signedIn(t, alice, "alice@demo.test", "+16505550100*101")
	signedIn(t, bob, "bob@demo.test", "+16505550100*102")

	if res := eval[any](t, alice.ctx, `RCAdapter.clickToCall('102', true)`); res != "ok" {
		t.Fatalf("call bob: %v", res)
	}
	ring := waitMessage(t, bob.ctx, "rc-call-ring-notify", "")
	callID, _ := ring.Data["call"].(map[string]any)["telephonySessionId"].(string)
	controlCall(t, bob, "toVoicemail", "")
	end := waitMessage(t, bob.ctx, "rc-call-end-notify", "")
	if c := end.Data["call"].(map[string]any); c["telephonySessionId"] != callID {
		t.Errorf("bob's end %v", c)
	}
	waitMessage(t, bob.ctx, "rc-adapter-syncPresence", `m.data.telephonyStatus === 'NoCall'`)
	// Alice hears the greeting, then she is recorded; her call has not ended.
	aliceFrame := frameCtx(t, alice)
	audioFlows(t, "alice", aliceFrame)
	logs.wait(t, "the voicemail recording's start", "recording started", recordingLog("vm-*"))
	if n := eval[int](t, alice.ctx, `cbDemo.messages.filter(m => m.data.type === 'rc-call-end-notify').length`); n != 0 {
		t.Fatalf("alice's call ended at voicemail")
	}
	if !eval[bool](t, aliceFrame, `!document.getElementById('cb-active-call').hidden && cbPhone.pcs().length === 1 &&
		cbPhone.pcs()[0].connectionState === 'connected'`) {
		t.Error("alice's widget does not show her call to the voicemail")
	}
	controlCall(t, alice, "hangup", "")
	waitMessage(t, alice.ctx, "rc-call-end-notify", `m.data.call.telephonySessionId === '`+callID+`'`)
}
