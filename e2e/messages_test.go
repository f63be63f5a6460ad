package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/callbridge/widget-server/internal/server"
)

// sendSMSAs sends an SMS through the platform API and returns the
// sender's copy.
func sendSMSAs(t *testing.T, api *apiClient, from, to, text string) map[string]any {
	t.Helper()
	r := api.do(t, "POST", "/account/~/extension/~/sms", map[string]any{
		"from": map[string]string{"phoneNumber": from}, "to": []map[string]string{{"phoneNumber": to}}, "text": text})
	var m map[string]any
	if r.status != http.StatusOK || json.Unmarshal(r.body, &m) != nil {
		t.Fatalf("send SMS %q: %d %s", text, r.status, r.body)
	}
	return m
}

// hostMessageEvents counts, on a demo page, the message events per key:
// "in <id>" for rc-inbound-message-notify, "up <id> <lastModifiedTime>"
// for rc-message-updated-notify.
func hostMessageEvents(t *testing.T, e *env) map[string]int {
	t.Helper()
	return eval[map[string]int](t, e.ctx, `(() => {
		const n = {};
		for (const {data} of cbDemo.messages) {
			let key;
			if (data.type === 'rc-inbound-message-notify') key = 'in ' + data.message.id;
			else if (data.type === 'rc-message-updated-notify') key = 'up ' + data.message.id + ' ' + data.message.lastModifiedTime;
			else continue;
			n[key] = (n[key] || 0) + 1;
		}
		return n;
	})()`)
}

// TestInboundSMSReachesHost: Alice's CRM server sends Bob an SMS through
// the API while Bob's CRM page is open with the widget signed in. Bob's
// page hears rc-inbound-message-notify and rc-message-updated-notify for
// it once — also when his widget's event stream breaks and reconnects
// around the next messages, which it then gets from the replay.
func TestInboundSMSReachesHost(t *testing.T) {
	run := runServer(t, server.Config{})
	widget, _ := url.Parse(run.addrs.WidgetURL)
	proxy := newCutProxy(t, "127.0.0.1:"+widget.Port())
	bob := &env{Addrs: run.addrs, ctx: browserWith(t, []chromedp.ExecAllocatorOption{proxy.hostRule(run.addrs.WidgetURL)}),
		dataDir: run.cfg.DataDir, run: run}
	signedIn(t, bob, "bob@demo.test", "+16505550100*102")
	alice := newAPIClient(t, bob.Addrs, "alice@demo.test")

	sent := sendSMSAs(t, alice, "+16505550101", "+16505550102", "Before the cut")
	if sent["messageStatus"] != "Delivered" {
		t.Fatalf("Alice's copy %v", sent)
	}
	in := waitMessage(t, bob.ctx, "rc-inbound-message-notify", `m.data.message.subject === 'Before the cut'`)
	msg, _ := in.Data["message"].(map[string]any)
	from, _ := msg["from"].(map[string]any)
	if msg["direction"] != "Inbound" || msg["readStatus"] != "Unread" || msg["messageStatus"] != "Received" || msg["type"] != "SMS" ||
		from["phoneNumber"] != "+16505550101" || msg["conversationId"] != sent["conversationId"] || in.Origin != bob.WidgetURL {
		t.Fatalf("rc-inbound-message-notify %v from %s", in.Data, in.Origin)
	}
	firstID := msg["id"].(string)
	waitMessage(t, bob.ctx, "rc-message-updated-notify", fmt.Sprintf(`m.data.message.id === %q`, firstID))

	// Cut the widget's event stream, and send while it is down.
	before := messageCount(t, bob)
	cut := 0
	for drained := false; !drained; {
		select {
		case pc := <-proxy.streams:
			if pc.cut(true) {
				cut++
			}
		default:
			drained = true
		}
	}
	if cut == 0 {
		t.Fatal("no open event stream to cut")
	}
	sendSMSAs(t, alice, "+16505550101", "+16505550102", "During the cut")
	waitMessageAfter(t, bob, before, 20*time.Second, "rc-webphone-connection-status-notify", `m.data.connectionStatus === 'disconnected'`)
	waitMessageAfter(t, bob, before, 20*time.Second, "rc-inbound-message-notify", `m.data.message.subject === 'During the cut'`)
	waitMessageAfter(t, bob, before, 20*time.Second, "rc-webphone-connection-status-notify", `m.data.connectionStatus === 'connected'`)
	// A message after the reconnection is the fence: the stream is in
	// order, so everything before it has arrived when it does.
	sendSMSAs(t, alice, "+16505550101", "+16505550102", "After the cut")
	waitMessage(t, bob.ctx, "rc-inbound-message-notify", `m.data.message.subject === 'After the cut'`)

	counts := hostMessageEvents(t, bob)
	inbound, updated := 0, 0
	for key, n := range counts {
		if n != 1 {
			t.Errorf("Bob's page heard %q %d times", key, n)
		}
		if key[:2] == "in" {
			inbound++
		} else {
			updated++
		}
	}
	if inbound != 3 || updated != 3 {
		t.Errorf("Bob's page heard %d inbound and %d updated message events, want 3 and 3: %v", inbound, updated, counts)
	}
	if counts["in "+firstID] != 1 {
		t.Errorf("the first message's inbound event: %d", counts["in "+firstID])
	}
}
