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

// TestConferenceAcrossNodes: three nodes behind one site; each widget's
// balancer sends it to its own node. Bob's (node b) and carol's (node c)
// widgets call alice, whose widget is on node a, and she merges the two
// calls: node c, which carries the conference, takes bob's call over, and
// his widget connects its audio again there. All three hear.
func TestConferenceAcrossNodes(t *testing.T) {
	db, ns := pgtest.URL(t), natstest.Start(t)
	a := runServer(t, server.Config{Database: db, NATSURL: ns.URL})
	node := func() *serverRun {
		return runServer(t, server.Config{Database: db, NATSURL: ns.URL, PublicURL: a.addrs.WidgetURL, DemoURL: a.addrs.DemoURL})
	}
	b, c := node(), node()
	on := func(n *serverRun) *env {
		proxy := newCutProxy(t, n.addrs.WidgetListen)
		return &env{Addrs: a.addrs, ctx: browserWith(t, []chromedp.ExecAllocatorOption{proxy.hostRule(a.addrs.WidgetURL)}),
			dataDir: a.cfg.DataDir, run: a}
	}
	alice, bob, carol := on(a), on(b), on(c)
	signedIn(t, alice, "alice@demo.test", "+16505550100*101")
	signedIn(t, bob, "bob@demo.test", "+16505550100*102")
	signedIn(t, carol, "carol@demo.test", "+16505550100*103")
	seen := map[string]bool{}

	call := func(from *env) string {
		t.Helper()
		eval[any](t, from.ctx, `RCAdapter.clickToCall('101', true)`)
		id := ringingCall(t, alice, newCall(seen))
		seen[id] = true
		controlCallOn(t, alice, "answer", id, "")
		waitMessage(t, alice.ctx, "rc-call-start-notify", sessionOf(id))
		waitMessage(t, from.ctx, "rc-active-call-notify", sessionOf(id)+` && m.data.call.telephonyStatus === 'CallConnected'`)
		return id
	}
	fromBob := call(bob)
	fromCarol := call(carol)

	controlCallOn(t, alice, "merge", fromCarol, "")
	for who, e := range map[string]*env{"alice": alice, "bob": bob, "carol": carol} {
		m := waitMessage(t, e.ctx, "rc-conference-notify", `m.data.change === 'created'`)
		if parts := m.Data["conference"].(map[string]any)["participants"].([]any); len(parts) != 3 {
			t.Fatalf("%s's page: conference of %v", who, parts)
		}
	}
	// Bob's widget hears through its new connection, to node c: the one
	// to node b closed with his call's leg there.
	audioFlows(t, "bob", frameCtx(t, bob))
	audioFlows(t, "carol", frameCtx(t, carol))
	callAudioFlows(t, "alice", alice, fromCarol)
	callAudioFlows(t, "bob", bob, fromBob)
	if n := eval[int](t, bob.ctx, `cbDemo.messages.filter(m => m.data && typeof m.data.type === 'string' && m.data.type.startsWith('cb-')).length`); n != 0 {
		t.Fatalf("bob's page heard %d widget-internal messages", n)
	}
}
