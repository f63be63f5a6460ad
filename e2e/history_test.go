package e2e

import (
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestHistory: a finished call to a test number shows in the history (the
// page shown reloads after the call's end), a click on it dials the number
// again, and the host's /get-call-log request answers the same records.
func TestHistory(t *testing.T) {
	e := start(t)
	signedIn(t, e, "alice@demo.test", "+16505550100*101")
	frame := frameCtx(t, e)

	// Nothing yet.
	eval[any](t, e.ctx, `RCAdapter.navigateTo('/history')`)
	waitFor[bool](t, frame, "empty history", `!document.getElementById('cb-history-empty').hidden`)

	// A call to the tone line, answered, then hung up.
	if res := eval[any](t, e.ctx, `RCAdapter.clickToCall('+15550100', true)`); res != "ok" {
		t.Fatalf("call: %v", res)
	}
	waitMessage(t, e.ctx, "rc-call-start-notify", `m.data.call.toNumber === '+15550100'`)
	// The history shows (and reloads) during the call; the call's end
	// alone must bring its record.
	eval[any](t, e.ctx, `RCAdapter.navigateTo('/history')`)
	waitFor[bool](t, frame, "the history reloaded, still empty", `!document.getElementById('cb-history-empty').hidden`)
	controlCall(t, e, "hangup", "")
	waitMessage(t, e.ctx, "rc-call-end-notify", `m.data.call.toNumber === '+15550100'`)
	row := waitFor[map[string]string](t, frame, "the call in the history", `(() => {
		const row = document.querySelector('#cb-history-list .history-row');
		return row && {
			kind: row.dataset.kind, number: row.dataset.number,
			name: row.querySelector('.history-row__name').textContent,
			detail: row.querySelector('.history-row__detail').textContent,
			time: row.querySelector('.history-row__time').textContent,
		};
	})()`)
	if row["kind"] != "outbound" || row["number"] != "+15550100" || row["name"] != "Tone line" ||
		!regexp.MustCompile(`^\+1 555 0100 · \d+:\d\d$`).MatchString(row["detail"]) ||
		!regexp.MustCompile(`^(Just now|\d+ min ago)$`).MatchString(row["time"]) {
		t.Errorf("history row %v", row)
	}
	if empty := eval[bool](t, frame, `document.getElementById('cb-history-empty').hidden`); !empty {
		t.Error("the empty state shows next to a call")
	}
	maybeScreenshot(t, e, "history")

	// The host asks for the call log.
	resp := askWidget(t, e, map[string]any{"type": "rc-adapter-message-request", "path": "/get-call-log", "body": map[string]any{"perPage": 5}})
	data, _ := resp["data"].(map[string]any)
	records, _ := data["records"].([]any)
	if len(records) != 1 {
		t.Fatalf("/get-call-log answered %v", resp)
	}
	rec := records[0].(map[string]any)
	if rec["direction"] != "Outbound" || rec["result"] != "Call connected" || rec["to"].(map[string]any)["phoneNumber"] != "+15550100" {
		t.Errorf("call-log record %v", rec)
	}
	if resp := askWidget(t, e, map[string]any{"type": "rc-adapter-message-request", "path": "/unlogged-calls"}); resp["data"] == nil {
		t.Errorf("/unlogged-calls answered %v", resp)
	}
	if resp := askWidget(t, e, map[string]any{"type": "rc-adapter-message-request", "path": "/get-call-log", "body": map[string]any{"perPage": 0}}); resp["error"] != "invalidRequest" {
		t.Errorf("perPage 0 answered %v", resp)
	}

	// A click calls back through the dialer (once the call panel no longer
	// says how the first call ended).
	waitFor[bool](t, frame, "the call panel gone", `document.getElementById('cb-active-call').hidden`)
	if err := chromedp.Do(within(t, frame, 30*time.Second), chromedp.Click(chromedp.CSS(`#cb-history-list .history-row__call`))); err != nil {
		t.Fatalf("click the call: %v", err)
	}
	waitFor[bool](t, e.ctx, "a second call to the tone line", `cbDemo.messages.filter(m =>
		m.data.type === 'rc-call-init-notify' && m.data.call.toNumber === '+15550100').length === 2`)
	if route := eval[string](t, e.ctx, `cbDemo.messages.filter(m => m.data.type === 'rc-route-changed-notify').at(-1).data.path`); route != "/dialer" {
		t.Errorf("calling back shows %s, want the dialer", route)
	}
	controlCall(t, e, "hangup", "")
	// Both calls listed, newest first.
	waitFor[bool](t, frame, "two calls in the history", `document.querySelectorAll('#cb-history-list .history-row').length === 2`)
}
