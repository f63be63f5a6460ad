package e2e

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/callbridge/widget-server/internal/cluster/natstest"
	"github.com/callbridge/widget-server/internal/server"
	"github.com/callbridge/widget-server/internal/store/pgtest"
)

// TestHostKeepsEveryEventAcrossANodeSwitch: Bob's CRM page has the widget
// from a cluster of two nodes behind a load balancer (a proxy here). The
// balancer takes his node out: every connection is reset and goes to the
// other node. His widget's event stream resumes there with its
// Last-Event-ID, and the page hears every message event once, also those
// sent while it moved.
func TestHostKeepsEveryEventAcrossANodeSwitch(t *testing.T) {
	db, ns := pgtest.URL(t), natstest.Start(t)
	a := runServer(t, server.Config{Database: db, NATSURL: ns.URL})
	// Node b is the same site to browsers: the widget's public URL and the
	// demo page's are node a's, which the balancer serves.
	b := runServer(t, server.Config{Database: db, NATSURL: ns.URL, PublicURL: a.addrs.WidgetURL, DemoURL: a.addrs.DemoURL})
	proxy := newCutProxy(t, a.addrs.WidgetListen)
	bob := &env{Addrs: a.addrs, ctx: browserWith(t, []chromedp.ExecAllocatorOption{proxy.hostRule(a.addrs.WidgetURL)}),
		dataDir: a.cfg.DataDir, run: a}
	signedIn(t, bob, "bob@demo.test", "+16505550100*102")
	alice := newAPIClient(t, a.addrs, "alice@demo.test")

	sendSMSAs(t, alice, "+16505550101", "+16505550102", "Before the switch")
	waitMessage(t, bob.ctx, "rc-inbound-message-notify", `m.data.message.subject === 'Before the switch'`)

	before := messageCount(t, bob)
	proxy.switchTo(b.addrs.WidgetListen)
	sendSMSAs(t, alice, "+16505550101", "+16505550102", "During the switch")
	waitMessageAfter(t, bob, before, 20*time.Second, "rc-webphone-connection-status-notify", `m.data.connectionStatus === 'disconnected'`)
	waitMessageAfter(t, bob, before, 20*time.Second, "rc-inbound-message-notify", `m.data.message.subject === 'During the switch'`)
	waitMessageAfter(t, bob, before, 20*time.Second, "rc-webphone-connection-status-notify", `m.data.connectionStatus === 'connected'`)
	// The fence after which everything before has arrived.
	sendSMSAs(t, alice, "+16505550101", "+16505550102", "After the switch")
	waitMessage(t, bob.ctx, "rc-inbound-message-notify", `m.data.message.subject === 'After the switch'`)

	counts := hostMessageEvents(t, bob)
	inbound := 0
	for key, n := range counts {
		if n != 1 {
			t.Errorf("Bob's page heard %q %d times", key, n)
		}
		if key[:2] == "in" {
			inbound++
		}
	}
	if inbound != 3 {
		t.Errorf("Bob's page heard %d inbound message events, want 3: %v", inbound, counts)
	}
}
