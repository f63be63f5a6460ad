package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/cluster/natstest"
	"github.com/callbridge/widget-server/internal/sip"
	"github.com/callbridge/widget-server/internal/siptest"
	"github.com/callbridge/widget-server/internal/store"
	"github.com/callbridge/widget-server/internal/store/pgtest"
)

// startNodes starts n servers of one cluster: one PostgreSQL schema, one
// NATS server. They start one after the other, as a rolling start does.
func startNodes(t *testing.T, n int) []*instance {
	t.Helper()
	db, ns := pgtest.URL(t), natstest.Start(t)
	nodes := make([]*instance, n)
	for i := range nodes {
		// One demo page for the cluster: the demo app registered by the
		// last node to start names its origin.
		nodes[i] = startServer(t, Config{Database: db, NATSURL: ns.URL, APIRateLimit: 10000, DemoURL: "http://127.0.0.1:9",
			MetricsListen: "127.0.0.1:0", RingTimeout: time.Hour})
	}
	return nodes
}

// TestEventsAcrossNodes: a widget's event stream on one node gets what
// happens on another (and a do-not-disturb set through one node applies
// to the calls of the others), and a stream that moves to another node
// with its Last-Event-ID gets what it missed, each event once.
func TestEventsAcrossNodes(t *testing.T) {
	nodes := startNodes(t, 2)
	a, b := nodes[0], nodes[1]

	// A presence change made through node b reaches bob's tab on node a.
	bobTab := openTab(t, a, "bob@demo.test")
	bob := newPlatform(t, b, "bob@demo.test")
	if r := bob.call("PUT", "/account/~/extension/~/presence", `{"dndStatus":"DoNotAcceptAnyCalls"}`); r.StatusCode != 200 {
		t.Fatalf("presence through node b: %d %s", r.StatusCode, r.body)
	}
	bobTab.waitFor(t, "rc-adapter-syncPresence with DND from node b", func(m map[string]any) bool {
		return m["type"] == "rc-adapter-syncPresence" && m["dndStatus"] == "DoNotAcceptAnyCalls"
	})
	// Node a's switch follows it too: alice's call to bob, placed on node
	// a, is refused as on one node.
	dialUntilDiverted(t, openTab(t, a, "alice@demo.test"), "102")

	// Messages: bob's stream on node a sees the first; the node goes
	// away for him (the stream closes); he comes back on node b with his
	// Last-Event-ID and gets the two he missed, once each.
	alice := newPlatform(t, a, "alice@demo.test")
	first := openStream(t, bobTab, "")
	sendSMS(t, alice, aliceNumber, bobNumber, "one")
	got := first.until(t, func(e sseEvent) bool { return e.inbound("one") })
	lastID := got[len(got)-1].id
	first.close()

	aliceOnB := newPlatform(t, b, "alice@demo.test")
	sendSMS(t, aliceOnB, aliceNumber, bobNumber, "two")
	sendSMS(t, alice, aliceNumber, bobNumber, "three")
	onB := *bobTab
	onB.srv = b
	replayed := openStream(t, &onB, lastID).until(t, func(e sseEvent) bool { return e.inbound("three") })
	count := map[string]int{}
	for _, e := range replayed {
		if e.typ == "rc-inbound-message-notify" {
			count[e.subject]++
		}
		if e.typ == "cb-resync" {
			t.Fatalf("node b asked for a resync: %v", replayed)
		}
	}
	if count["one"] != 0 || count["two"] != 1 || count["three"] != 1 {
		t.Fatalf("replay on node b after %s: inbound events %v", lastID, count)
	}
}

// waitRemoteDevices waits until the node knows n devices of other nodes:
// its calls ring them from then on.
func waitRemoteDevices(t *testing.T, node *instance, n int) {
	t.Helper()
	re := regexp.MustCompile(`(?m)^callbridge_cluster_remote_devices (\d+)$`)
	deadline := time.Now().Add(patience)
	for {
		r := do(t, browser(), "GET", node.MetricsURL+"/metrics", nil)
		if m := re.FindStringSubmatch(r.body); m != nil {
			if got, _ := strconv.Atoi(m[1]); got >= n {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the node never knew %d devices of other nodes", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCallAcrossNodes: alice's widget on node a calls bob, whose widget is
// on node b. His tab rings; he answers through node b, which hands the
// answer to node a, the call's owner, whose gateway carries the audio
// both ways. Hanging up through node b ends the call for both.
func TestCallAcrossNodes(t *testing.T) {
	nodes := startNodes(t, 2)
	a, b := nodes[0], nodes[1]
	aliceTab, bobTab := openTab(t, a, "alice@demo.test"), openTab(t, b, "bob@demo.test")
	waitRemoteDevices(t, a, 1)

	alice := newTalker(t, "alice", 'a')
	call := aliceTab.dial(t, "102", alice.peer)
	bob := newTalker(t, "bob", 'b')
	bobCall := answerWith(t, b, bobTab, call["telephonySessionId"], bob)
	alice.waitHears(t, "alice", 'b', 10)
	bob.waitHears(t, "bob", 'a', 10)

	// A widget reloading on node b finds its call, which node a owns (as
	// node a last told the others: it may take a moment to arrive).
	var r response
	for deadline := time.Now().Add(patience); ; {
		r = do(t, bobTab.c, "GET", b.WidgetURL+"/widget/calls?deviceId="+bobTab.device, nil, "X-Callbridge", "1", "X-Callbridge-Client", "demo")
		var list struct {
			Calls []map[string]any `json:"calls"`
		}
		if json.Unmarshal([]byte(r.body), &list); r.StatusCode == http.StatusOK && len(list.Calls) == 1 &&
			list.Calls[0]["telephonySessionId"] == call["telephonySessionId"] && list.Calls[0]["callStatus"] != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bob's calls through node b: %d %s", r.StatusCode, r.body)
		}
		time.Sleep(20 * time.Millisecond)
	}

	if r := widgetPost(t, bobTab.c, b.WidgetURL, "/widget/calls/"+bobCall["id"].(string)+"/hangup",
		map[string]string{"deviceId": bobTab.device}); r.StatusCode != http.StatusOK {
		t.Fatalf("hang up through node b: %d %s", r.StatusCode, r.body)
	}
	for _, tab := range []*widgetTab{aliceTab, bobTab} {
		tab.waitFor(t, "the end of the call", func(m map[string]any) bool {
			c, _ := m["call"].(map[string]any)
			return m["type"] == "rc-call-end-notify" && c != nil && c["telephonySessionId"] == call["telephonySessionId"]
		})
	}
	// A call no node has any more is no call, on either node.
	r = widgetPost(t, bobTab.c, b.WidgetURL, "/widget/calls/"+bobCall["id"].(string)+"/hangup",
		map[string]string{"deviceId": bobTab.device})
	if r.StatusCode == http.StatusOK {
		t.Fatalf("a second hangup through node b: %d %s", r.StatusCode, r.body)
	}
}

// TestTransferAcrossThreeNodes: alice's widget on node a calls bob's on
// node c; bob hands the call to carol, whose widget is on node b. Every
// step goes through the widget's own node to the call's owner, and alice
// and carol hear each other.
func TestTransferAcrossThreeNodes(t *testing.T) {
	nodes := startNodes(t, 3)
	a, b, c := nodes[0], nodes[1], nodes[2]
	aliceTab, carolTab, bobTab := openTab(t, a, "alice@demo.test"), openTab(t, b, "carol@demo.test"), openTab(t, c, "bob@demo.test")
	waitRemoteDevices(t, a, 2)

	alice := newTalker(t, "alice", 'a')
	call := aliceTab.dial(t, "102", alice.peer)
	bob := newTalker(t, "bob", 'b')
	bobCall := answerWith(t, c, bobTab, call["telephonySessionId"], bob)
	alice.waitHears(t, "alice", 'b', 10)

	if r := widgetPost(t, bobTab.c, c.WidgetURL, "/widget/calls/"+bobCall["id"].(string)+"/transfer",
		map[string]string{"deviceId": bobTab.device, "to": "103"}); r.StatusCode != http.StatusOK {
		t.Fatalf("transfer through node c: %d %s", r.StatusCode, r.body)
	}
	carol := newTalker(t, "carol", 'c')
	answerWith(t, b, carolTab, call["telephonySessionId"], carol)
	alice.waitHears(t, "alice", 'c', 10)
	carol.waitHears(t, "carol", 'a', 10)
}

// nodeAndProcess starts a cluster of two nodes: a in this process, b in a
// process of its own that a test can stop or kill; alice's widget is on
// node b, bob's on node a.
func nodeAndProcess(t *testing.T) (*instance, *nodeProcess, *widgetTab, *widgetTab) {
	t.Helper()
	db, ns := pgtest.URL(t), natstest.Start(t)
	const demo = "http://127.0.0.1:9"
	a := startServer(t, Config{Database: db, NATSURL: ns.URL, APIRateLimit: 10000, DemoURL: demo,
		MetricsListen: "127.0.0.1:0", RingTimeout: time.Hour})
	b := startNodeProcess(t, nodeSpec{Database: db, NATSURL: ns.URL, DemoURL: demo})
	aliceTab, bobTab := openTab(t, b.instance, "alice@demo.test"), openTab(t, a, "bob@demo.test")
	waitRemoteDevices(t, b.instance, 1)
	return a, b, aliceTab, bobTab
}

// TestNodeLostDuringCall: alice's widget is on node b, which owns her call
// to bob, whose widget is on node a. Node b is killed (SIGKILL): node a
// ends the call for bob with 503 "Node lost" within a few seconds and
// writes both parties' call-log records.
func TestNodeLostDuringCall(t *testing.T) {
	a, b, aliceTab, bobTab := nodeAndProcess(t)

	alice := newTalker(t, "alice", 'a')
	call := aliceTab.dial(t, "102", alice.peer)
	session := call["telephonySessionId"]
	bob := newTalker(t, "bob", 'b')
	answerWith(t, a, bobTab, session, bob)
	bob.waitHears(t, "bob", 'a', 10)
	alice.waitHears(t, "alice", 'b', 10)

	b.kill(t)
	ended := func(m map[string]any) bool {
		c, _ := m["call"].(map[string]any)
		return m["type"] == "rc-call-end-notify" && c != nil && c["telephonySessionId"] == session
	}
	end := bobTab.waitFor(t, "the end of the lost node's call", ended)
	if c := end["call"].(map[string]any); c["reason"] != "Node lost" || c["code"] != float64(503) {
		t.Fatalf("bob's call ended with %v %v, want 503 Node lost", c["code"], c["reason"])
	}

	// Both records are in the call log, read through node a.
	for _, who := range []string{"alice@demo.test", "bob@demo.test"} {
		p := newPlatform(t, a, who)
		deadline := time.Now().Add(patience)
		for {
			log := p.get("/account/~/extension/~/call-log?view=Simple")
			found := false
			for _, r := range log["records"].([]any) {
				if r.(map[string]any)["telephonySessionId"] == session {
					found = true
				}
			}
			if found {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no call-log record of the lost call", who)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// TestWebSocketAcrossNodes: alice's WebSocket subscription lives on node b;
// her presence changes through node a. The notification reaches her socket
// on node b, once.
func TestWebSocketAcrossNodes(t *testing.T) {
	nodes := startNodes(t, 2)
	a, b := nodes[0], nodes[1]
	aliceOnB := newPlatform(t, b, "alice@demo.test")
	uri, token := wsToken(t, b, aliceOnB)
	ws := mustDial(t, uri, token, "")
	ws.next("ConnectionDetails", func(f wsFrame) bool { return true })
	id, _ := ws.request("POST", "/restapi/v1.0/subscription", wsPresenceFilter).body(t)["id"].(string)
	if id == "" {
		t.Fatal("no subscription over the socket")
	}

	aliceOnA := newPlatform(t, a, "alice@demo.test")
	for _, status := range []string{"Busy", "Available"} {
		if r := aliceOnA.call("PUT", "/account/~/extension/~/presence", `{"userStatus": "`+status+`"}`); r.StatusCode != http.StatusOK {
			t.Fatalf("PUT presence through node a: %d %s", r.StatusCode, r.body)
		}
		n := ws.notification(id)
		if body, _ := n["body"].(map[string]any); body["userStatus"] != status {
			t.Fatalf("notification on node b: %v, want userStatus %s", n, status)
		}
	}
}

// carrierRegistrar is a carrier's registrar in a test: a UA of our own
// with its registrar on, which knows the trunk's user and reports the
// source port of each registration made (true) and removed (false).
type carrierRegistrar struct {
	addr string
	regs chan carrierBinding
}

type carrierBinding struct {
	port int
	up   bool
}

type carrierUser struct{}

func (carrierUser) LookupDevice(_ context.Context, username string) (sip.Device, bool, error) {
	if username != "trunkuser" {
		return sip.Device{}, false, nil
	}
	return sip.Device{ID: 1, ExtensionID: 1, Username: "trunkuser", Realm: sip.DefaultRealm,
		HA1: sip.HA1("trunkuser", sip.DefaultRealm, "trunk password")}, true, nil
}

func startCarrierRegistrar(t *testing.T) *carrierRegistrar {
	t.Helper()
	c := &carrierRegistrar{regs: make(chan carrierBinding, 64)}
	ua, err := sip.New(sip.Config{Listen: []sip.Listen{{Transport: sip.UDP, Addr: "127.0.0.1:0"}}, Devices: carrierUser{},
		OnRegistration: func(b sip.Binding, up bool) { c.regs <- carrierBinding{int(b.Source.Port()), up} }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := ua.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	addr, _ := ua.Addr(sip.UDP)
	c.addr = addr.String()
	return c
}

func (c *carrierRegistrar) next(t *testing.T) carrierBinding {
	t.Helper()
	select {
	case b := <-c.regs:
		return b
	case <-time.After(patience):
		t.Fatal("the carrier's registrar reported nothing")
		return carrierBinding{}
	}
}

// TestTrunkRegisteredByOneNode: two nodes run a registering trunk kept in
// the shared database. The first registers it; /readyz on both reports
// that registration and which node makes it. When the first stops, it
// unregisters and the second registers.
func TestTrunkRegisteredByOneNode(t *testing.T) {
	db, ns := pgtest.URL(t), natstest.Start(t)
	c := startCarrierRegistrar(t)
	st, err := store.OpenDatabase(context.Background(), db, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	err = st.AddTrunk(context.Background(), sip.TrunkConfig{Name: "carrier", Host: c.addr,
		Username: "trunkuser", Password: "trunk password", Register: true})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Database: db, NATSURL: ns.URL, DemoURL: "http://127.0.0.1:9", SIPListen: []sip.Listen{{Transport: sip.UDP, Addr: "127.0.0.1:0"}}}
	ctx, stopA := context.WithCancel(context.Background())
	a, doneA := runUntil(t, ctx, cfg)
	first := c.next(t)
	if !first.up {
		t.Fatalf("registrar: %+v, want a registration", first)
	}
	registered := func(here bool) func(r readyz) bool {
		return func(r readyz) bool {
			return len(r.Trunks) == 1 && r.Trunks[0].Up && r.Trunks[0].Registered &&
				r.Trunks[0].RegisteredHere != nil && *r.Trunks[0].RegisteredHere == here
		}
	}
	waitReadyz(t, a, "the trunk registered by node a", registered(true))

	b := startServer(t, cfg)
	onB := waitReadyz(t, b, "the trunk registered by node a", registered(false))
	if tr := onB.Trunks[0]; onB.Status != "ready" || tr.RegisteredUntil == nil || time.Until(*tr.RegisteredUntil) < 30*time.Minute {
		t.Errorf("/readyz on node b: %+v", onB)
	}

	stopA()
	select {
	case err := <-doneA:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(startStopLimit):
		t.Fatal("node a did not stop")
	}
	if r := c.next(t); r != (carrierBinding{first.port, false}) {
		t.Fatalf("registrar: %+v, want node a's registration removed", r)
	}
	if r := c.next(t); !r.up || r.port == first.port {
		t.Fatalf("registrar: %+v, want node b's registration", r)
	}
	waitReadyz(t, b, "the trunk registered by node b", registered(true))
}

// TestNodeStalledDuringCall: node b, which owns alice's call to bob, stalls
// (SIGSTOP) long enough to be counted as lost: node a ends the call for
// both and writes its records. When node b goes on (SIGCONT) it ends the
// call too, but tells nobody again and writes no second record; and it can
// still be lost for real: a call it owns afterwards ends when it is killed.
func TestNodeStalledDuringCall(t *testing.T) {
	a, b, aliceTab, bobTab := nodeAndProcess(t)

	call := aliceTab.dial(t, "102", newTalker(t, "alice", 'a').peer)
	session := call["telephonySessionId"]
	bob := newTalker(t, "bob", 'b')
	answerWith(t, a, bobTab, session, bob)
	bob.waitHears(t, "bob", 'a', 10)

	ended := func(session any) func(map[string]any) bool {
		return func(m map[string]any) bool {
			c, _ := m["call"].(map[string]any)
			return m["type"] == "rc-call-end-notify" && c != nil && c["telephonySessionId"] == session
		}
	}
	b.signal(t, syscall.SIGSTOP)
	end := bobTab.waitFor(t, "the end of the stalled node's call", ended(session))
	if c := end["call"].(map[string]any); c["reason"] != "Node lost" {
		t.Fatalf("bob's call ended with %v, want Node lost", c["reason"])
	}
	b.signal(t, syscall.SIGCONT)

	// Node b forgets the call: alice's calls through it no longer list it.
	for deadline := time.Now().Add(patience); ; {
		r := do(t, aliceTab.c, "GET", b.WidgetURL+"/widget/calls?deviceId="+aliceTab.device, nil, "X-Callbridge", "1", "X-Callbridge-Client", "demo")
		if r.StatusCode == http.StatusOK && !strings.Contains(r.body, session.(string)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node b still lists the call it stalled in: %d %s", r.StatusCode, r.body)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A new call of node b. Until it rings, alice's tab hears of the end
	// of the first call once: from node a, not again from node b.
	waitRemoteDevices(t, b.instance, 1)
	second := aliceTab.dial(t, "102", newTalker(t, "alice", 'a').peer)
	ends := 0
	for rang := false; !rang; {
		m := aliceTab.waitFor(t, "the new call", func(map[string]any) bool { return true })
		if ended(session)(m) {
			ends++
		}
		c, _ := m["call"].(map[string]any)
		rang = c != nil && c["telephonySessionId"] == second["telephonySessionId"]
	}
	if ends != 1 {
		t.Fatalf("alice's tab heard of the end of the stalled call %d times", ends)
	}
	answerWith(t, a, bobTab, second["telephonySessionId"], newTalker(t, "bob", 'b'))

	// One record per party of the first call: node a's.
	for _, who := range []string{"alice@demo.test", "bob@demo.test"} {
		p := newPlatform(t, a, who)
		for deadline := time.Now().Add(patience); ; {
			found := 0
			for _, r := range p.get("/account/~/extension/~/call-log?view=Simple")["records"].([]any) {
				if r.(map[string]any)["telephonySessionId"] == session {
					found++
				}
			}
			if found > 1 {
				t.Fatalf("%s: %d call-log records of the stalled call", who, found)
			}
			if found == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no call-log record of the stalled call", who)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	b.kill(t)
	bobTab.waitFor(t, "the end of the second call, its node killed", ended(second["telephonySessionId"]))
}

// TestDeskPhoneAcrossNodes: bob's desk phone (SIPp) registers with node b;
// alice's widget on node a calls bob. Node a carries the call and rings
// the phone through node b; the phone answers there, its answer goes to
// node a, and alice hears herself through the phone, by node a's gateway.
func TestDeskPhoneAcrossNodes(t *testing.T) {
	pc := phoneCluster(t)
	a, phonePort, mediaPort := pc.a, pc.phonePort, pc.mediaPort
	tab := openTab(t, a, "alice@demo.test")
	waitRemoteDevices(t, a, 1) // bob's desk phone, of node b

	phone := startCarrier(t, phonePort, "testdata/phone_answer_echo.xml", echoMedia(mediaPort)...)
	alice := newTalkerIn(t, "alice", 'a', pcmu)
	call := tab.dial(t, "102", alice.peer)
	alice.waitHears(t, "alice", 'a', 10) // through bob's desk phone and back
	tab.hangup(t, call["id"].(string))
	phone.Finish()
}

// TestMergeWithADeskPhoneCallAcrossNodes: alice's widget (node a) calls
// bob's desk phone, registered with node b: node a carries the call, which
// cannot move (the phone's audio is G.711 to node a's gateway). Carol's
// widget on node b calls alice, and alice merges the phone's call into
// carol's: carol's call goes to node a instead, alice's and carol's
// widgets connect again there, and they hear each other in the
// conference with the phone.
func TestMergeWithADeskPhoneCallAcrossNodes(t *testing.T) {
	const aliceHz, carolHz = 440, 1600
	pc := phoneCluster(t)
	a, b, phonePort, mediaPort := pc.a, pc.b, pc.phonePort, pc.mediaPort
	aliceTab, carolTab := openTab(t, a, "alice@demo.test"), openTab(t, b, "carol@demo.test")
	waitRemoteDevices(t, a, 2) // bob's desk phone and carol's tab, of node b
	waitRemoteDevices(t, b, 1)

	phone := startCarrier(t, phonePort, "testdata/phone_answer_echo.xml", echoMedia(mediaPort)...)
	toPhone := newTalkerIn(t, "alice", 'a', pcmu)
	withPhone := aliceTab.dial(t, "102", toPhone.peer)
	toPhone.waitHears(t, "alice", 'a', 10)

	carol := newTonePeer(t, "carol", opusFrames(t, carolHz, 50))
	fromCarol := carolTab.dial(t, "101", carol.peer)
	answerTone(t, a, aliceTab, fromCarol["telephonySessionId"], newTonePeer(t, "alice", opusFrames(t, aliceHz, 50)))

	r := widgetPost(t, aliceTab.c, a.WidgetURL, "/widget/calls/"+fromCarol["telephonySessionId"].(string)+"/merge",
		map[string]string{"deviceId": aliceTab.device, "otherCallId": withPhone["telephonySessionId"].(string)})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("merge of carol's call (node b) with the desk phone's (node a): %d %s", r.StatusCode, r.body)
	}
	alice := rejoinTone(t, a, aliceTab, fromCarol["telephonySessionId"], "alice", aliceHz)
	carol = rejoinTone(t, b, carolTab, fromCarol["telephonySessionId"], "carol", carolHz)
	wantHearsTone(t, "alice", alice, carolHz)
	wantHearsTone(t, "carol", carol, aliceHz)

	// The conference ends for all, the phone too (its BYE ends SIPp).
	conf := "/widget/conferences/" + fromCarol["telephonySessionId"].(string) + "?deviceId=" + aliceTab.device
	if r := do(t, aliceTab.c, "DELETE", b.WidgetURL+conf, nil, "X-Callbridge", "1", "X-Callbridge-Client", "demo"); r.StatusCode != http.StatusNoContent {
		t.Fatalf("end the conference through node b: %d %s", r.StatusCode, r.body)
	}
	phone.Finish()
}

// phoneNodes is a cluster of two nodes, b with a SIP listener on sipPort,
// where bob's desk phone (SIPp, on phonePort; its audio on mediaPort)
// registered with node b.
type phoneNodes struct {
	a, b                          *instance
	db                            string
	sipPort, phonePort, mediaPort int
}

func phoneCluster(t *testing.T) phoneNodes {
	t.Helper()
	pc := phoneNodes{sipPort: siptest.FreeUDPPort(t), phonePort: siptest.FreeUDPPort(t), mediaPort: siptest.FreeUDPPort(t)}
	var ns *natstest.Server
	pc.db, ns = pgtest.URL(t), natstest.Start(t)
	const demo = "http://127.0.0.1:9"
	pc.a = startServer(t, Config{Database: pc.db, NATSURL: ns.URL, APIRateLimit: 10000, DemoURL: demo,
		MetricsListen: "127.0.0.1:0", RingTimeout: time.Hour})
	logs := newLogWaiter()
	pc.b = startServer(t, Config{Database: pc.db, NATSURL: ns.URL, APIRateLimit: 10000, DemoURL: demo,
		MetricsListen: "127.0.0.1:0", RingTimeout: time.Hour, Logger: slog.New(logs), SIPListen: udpListen(pc.sipPort)})
	keepDeskPhoneIn(t, pc.db, "bob@demo.test", "101-desk", "desk-secret-1")
	startCarrier(t, pc.phonePort, "../sip/testdata/phone_register_stay.xml", fmt.Sprintf("127.0.0.1:%d", pc.sipPort)).Finish()
	logs.wait(t, logPhoneDevice)
	return pc
}

// keepDeskPhoneIn gives the extension of email the desk phone user (with
// password), in the cluster's database.
func keepDeskPhoneIn(t *testing.T, db, email, user, password string) {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenDatabase(ctx, db, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ext, err := st.ExtensionByEmail(ctx, email)
	if err == nil {
		err = st.AddSIPDevice(ctx, &store.SIPDevice{ExtensionID: ext.ID, Username: user,
			HA1: sip.HA1(user, sip.DefaultRealm, password), Realm: sip.DefaultRealm})
	}
	if err != nil {
		t.Fatal(err)
	}
}

// wantHearsTone waits until a second of what tp receives carries hz, at
// least a tenth of its power.
func wantHearsTone(t *testing.T, who string, tp *tonePeer, hz float64) {
	t.Helper()
	var sh []float64
	for range 30 { // each try a second of audio, received: against a hang only
		if sh = toneShares(t, tp.hear(t, 50), hz); sh[0] >= 0.1 {
			return
		}
	}
	t.Fatalf("%s never heard %v Hz: share %v", who, hz, sh)
}

// TestMergeTwoDeskPhoneCallsAcrossNodes: alice's widget (node a) calls
// carol's desk phone, and bob's desk phone calls alice: node a carries the
// first call, node b the second, and neither is a call of browsers alone,
// which alone move for a bridge: her bridge of the two is refused, saying
// why, and changes nothing. She merges them through node a: node b
// takes the first call over into the conference, and carol's phone is
// asked by node b, where it registered, for a new offer (a re-INVITE
// without one; its SIPp scenario checks that it came, and that the ACK
// answered its offer). Its audio then goes to node b's gateway: alice
// hears what carol's phone sends back of the conference. Bob's phone
// sends nothing, so what alice hears can only come from carol's.
func TestMergeTwoDeskPhoneCallsAcrossNodes(t *testing.T) {
	pc := phoneCluster(t)
	a, b := pc.a, pc.b
	carolPort, carolMedia, bobMedia := siptest.FreeUDPPort(t), siptest.FreeUDPPort(t), siptest.FreeUDPPort(t)
	server := fmt.Sprintf("127.0.0.1:%d", pc.sipPort)
	keepDeskPhoneIn(t, pc.db, "carol@demo.test", "103-desk", "desk-secret-3")
	startCarrier(t, carolPort, "testdata/phone_register_as.xml", "-key", "phone", "103-desk", "-au", "103-desk", "-ap", "desk-secret-3", server).Finish()
	aliceTab := openTab(t, a, "alice@demo.test")
	waitRemoteDevices(t, a, 2) // the two desk phones, of node b
	waitRemoteDevices(t, b, 1) // alice's tab

	carolPhone := startCarrier(t, carolPort, "testdata/phone_answer_moved.xml", append(echoMedia(carolMedia), "-key", "phone", "103-desk")...)
	toCarol := newTalkerIn(t, "alice", 'c', pcmu)
	withCarol := aliceTab.dial(t, "103", toCarol.peer)
	toCarol.waitHears(t, "alice", 'c', 10) // through carol's desk phone and back

	bobPhone := startCarrier(t, pc.phonePort, "testdata/phone_call_echo.xml", "-mi", "127.0.0.1", "-mp", strconv.Itoa(bobMedia), "-s", "101", server)
	ring := aliceTab.waitFor(t, "the ring of bob's desk phone's call", func(m map[string]any) bool {
		c, _ := m["call"].(map[string]any)
		return m["type"] == "rc-call-ring-notify" && c["telephonySessionId"] != withCarol["telephonySessionId"]
	})["call"].(map[string]any)
	alice := answerTalking(t, a, aliceTab, ring["id"].(string), "alice", 'a')

	// A bridge forwards one phone's G.711 to the other's as it is: neither
	// call moves for it, and both go on.
	r := widgetPost(t, aliceTab.c, a.WidgetURL, "/widget/calls/"+ring["telephonySessionId"].(string)+"/bridge",
		map[string]string{"deviceId": aliceTab.device, "with": withCarol["telephonySessionId"].(string)})
	if r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "neither can move") {
		t.Fatalf("bridge of the desk phones' calls of nodes a and b: %d %s", r.StatusCode, r.body)
	}
	r = widgetPost(t, aliceTab.c, a.WidgetURL, "/widget/calls/"+ring["telephonySessionId"].(string)+"/merge",
		map[string]string{"deviceId": aliceTab.device, "otherCallId": withCarol["telephonySessionId"].(string)})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("merge of the desk phones' calls of nodes a and b: %d %s", r.StatusCode, r.body)
	}
	alice.waitHearsSound(t, "alice", 10)

	conf := "/widget/conferences/" + ring["telephonySessionId"].(string) + "?deviceId=" + aliceTab.device
	if r := do(t, aliceTab.c, "DELETE", a.WidgetURL+conf, nil, "X-Callbridge", "1", "X-Callbridge-Client", "demo"); r.StatusCode != http.StatusNoContent {
		t.Fatalf("end the conference through node a: %d %s", r.StatusCode, r.body)
	}
	carolPhone.Finish()
	bobPhone.Finish()
}
