package cluster_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/cluster/natstest"
	"github.com/callbridge/widget-server/internal/sip"
)

// The carrier in these tests is a UA of our own with its registrar on: a
// real SIP registrar that challenges REGISTERs (401) and INVITEs from
// addresses that did not register (407) with digest, and knows the
// trunk's user as one of its devices.

const (
	trunkUser     = "trunkuser"
	trunkPassword = "trunk password"
)

type carrierDevices struct{}

func (carrierDevices) LookupDevice(_ context.Context, username string) (sip.Device, bool, error) {
	if username != trunkUser {
		return sip.Device{}, false, nil
	}
	return sip.Device{ID: 1, ExtensionID: 1, Username: trunkUser, Realm: sip.DefaultRealm,
		HA1: sip.HA1(trunkUser, sip.DefaultRealm, trunkPassword)}, true, nil
}

// registration is one report of the carrier's registrar.
type registration struct {
	port int // the source port of the node's REGISTER
	up   bool
}

// carrier answers every call at once; it reports each call's offer.
type carrier struct {
	ua    *sip.UA
	regs  chan registration
	calls chan sip.Offer
}

func (c *carrier) DeviceCall(call *sip.Call, _ sip.Device, o sip.Offer) sip.Events {
	c.calls <- o
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		call.Answer(ctx, strings.Replace(o.SDP, "callbridge-offer", "carrier-answer", 1))
	}()
	return sip.Events{}
}

func startCarrier(t *testing.T) *carrier {
	t.Helper()
	c := &carrier{regs: make(chan registration, 64), calls: make(chan sip.Offer, 8)}
	ua, err := sip.New(sip.Config{
		Listen:  []sip.Listen{{Transport: sip.UDP, Addr: "127.0.0.1:0"}},
		Devices: carrierDevices{}, DeviceHandler: c,
		OnRegistration: func(b sip.Binding, up bool) { c.regs <- registration{int(b.Source.Port()), up} },
		Logger:         testLogger(t, "carrier"),
	})
	if err != nil {
		t.Fatal(err)
	}
	start(t, ua)
	c.ua = ua
	return c
}

// next returns the registrar's next report.
func (c *carrier) next(t *testing.T) registration {
	t.Helper()
	select {
	case r := <-c.regs:
		return r
	case <-time.After(patience):
		t.Fatal("the carrier's registrar reported nothing")
		return registration{}
	}
}

func start(t *testing.T, ua *sip.UA) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := ua.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
}

// sipNode is a node of the cluster with the registering trunk.
type sipNode struct {
	leaseNode
	ua     *sip.UA
	port   int
	status chan sip.TrunkStatus
}

func startSIPNode(t *testing.T, url, name string, c *carrier) *sipNode {
	t.Helper()
	n := &sipNode{leaseNode: newLeaseNode(t, url, name), status: make(chan sip.TrunkStatus, 256)}
	addr, _ := c.ua.Addr(sip.UDP)
	ua, err := sip.New(sip.Config{
		Listen: []sip.Listen{{Transport: sip.UDP, Addr: "127.0.0.1:0"}},
		Trunks: []sip.TrunkConfig{{Name: "carrier", Host: addr.String(), Username: trunkUser, Password: trunkPassword,
			Register: true, RegisterExpiry: time.Hour}},
		TrunkLeases: n.leases,
		OnStatus: func(st sip.TrunkStatus) {
			select {
			case n.status <- st:
			default:
			}
		},
		Logger: testLogger(t, name),
	})
	if err != nil {
		t.Fatal(err)
	}
	start(t, ua)
	n.ua = ua
	a, _ := ua.Addr(sip.UDP)
	n.port = int(a.Port())
	return n
}

// waitStatus returns the node's first trunk status for which ok holds,
// from its current one on.
func (n *sipNode) waitStatus(t *testing.T, what string, ok func(sip.TrunkStatus) bool) sip.TrunkStatus {
	t.Helper()
	if st, _ := n.ua.TrunkStatus("carrier"); ok(st) {
		return st
	}
	timeout := time.After(patience)
	for {
		select {
		case st := <-n.status:
			if ok(st) {
				return st
			}
		case <-timeout:
			st, _ := n.ua.TrunkStatus("carrier")
			t.Fatalf("the trunk never became %s: %+v", what, st)
		}
	}
}

// TestOneNodeRegistersTheTrunk: of two nodes with a registering trunk,
// only the first registers it; the other reports that registration and
// calls out through the trunk, answering the carrier's challenge. When the
// holder stops, it unregisters and the other registers at once; when that
// one is cut off from NATS, a third registers once its lease ran out, and
// removes the binding the one cut off left.
func TestOneNodeRegistersTheTrunk(t *testing.T) {
	ns := natstest.Start(t)
	c := startCarrier(t)
	a := startSIPNode(t, ns.URL, "node-a", c)
	if r := c.next(t); r != (registration{a.port, true}) {
		t.Fatalf("registrar: %+v, want node a (port %d) registered", r, a.port)
	}
	a.waitStatus(t, "registered by node a, on node a", func(st sip.TrunkStatus) bool {
		return st.Up && st.Registered && st.Node == "node-a"
	})

	b := startSIPNode(t, ns.URL, "node-b", c)
	st := b.waitStatus(t, "registered by node a, on node b", func(st sip.TrunkStatus) bool {
		return st.Up && st.Registered && st.Node == "node-a"
	})
	if time.Until(st.RegisteredUntil) < 30*time.Minute {
		t.Errorf("node b's status %+v, want node a's registration for an hour", st)
	}
	// Node b places a call through the trunk: the carrier challenges it
	// (it registered nothing), and it answers with the trunk's password.
	ev, answered := answerEvents()
	call, err := b.ua.Invite(context.Background(), "carrier", sip.OutboundCall{To: "+15550002222", CallerID: "+16505550100", SDP: offerSDP}, ev)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case o := <-c.calls:
		if o.To != "+15550002222" || o.From != "+16505550100" {
			t.Errorf("the carrier got %+v", o)
		}
	case <-time.After(patience):
		t.Fatal("the carrier got no call")
	}
	select {
	case sdp := <-answered:
		if !strings.Contains(sdp, "carrier-answer") {
			t.Errorf("answer %q", sdp)
		}
	case <-time.After(patience):
		t.Fatal("node b's call was not answered")
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := call.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	// Only node a registered: the registrar holds its binding alone.
	if bs := c.ua.Registered(trunkUser); len(bs) != 1 || int(bs[0].Source.Port()) != a.port {
		t.Fatalf("registrar's bindings %+v, want node a's alone", bs)
	}

	// Node a stops: it removes its registration, and node b, which has
	// registered nothing until then, registers.
	a.ua.Close()
	if r := c.next(t); r != (registration{a.port, false}) {
		t.Fatalf("registrar: %+v, want node a (port %d) unregistered", r, a.port)
	}
	if r := c.next(t); r != (registration{b.port, true}) {
		t.Fatalf("registrar: %+v, want node b (port %d) registered", r, b.port)
	}
	b.waitStatus(t, "registered by node b", func(st sip.TrunkStatus) bool {
		return st.Up && st.Registered && st.Node == "node-b"
	})

	// Node c follows node b; node b is cut off from NATS: it stops
	// registering, and node c registers once node b's lease ran out.
	cn := startSIPNode(t, ns.URL, "node-c", c)
	cn.waitStatus(t, "registered by node b, on node c", func(st sip.TrunkStatus) bool {
		return st.Up && st.Registered && st.Node == "node-b"
	})
	b.nc.Close()
	b.waitStatus(t, "no longer registered by node b, on node b", func(st sip.TrunkStatus) bool { return st.Node != "node-b" })
	if r := c.next(t); r != (registration{cn.port, true}) {
		t.Fatalf("registrar: %+v, want node c (port %d) registered", r, cn.port)
	}
	cn.waitStatus(t, "registered by node c", func(st sip.TrunkStatus) bool {
		return st.Up && st.Registered && st.Node == "node-c"
	})
	// Node b, cut off, left its binding; node c removed it once its own
	// was in place, so the carrier sends the account's calls to node c
	// alone.
	if r := c.next(t); r != (registration{b.port, false}) {
		t.Fatalf("registrar: %+v, want node b's binding (port %d) removed", r, b.port)
	}
	if bs := c.ua.Registered(trunkUser); len(bs) != 1 || int(bs[0].Source.Port()) != cn.port {
		t.Fatalf("registrar's bindings %+v, want node c's alone", bs)
	}
}

// answerEvents reports a call's answer on the channel, or its failure.
func answerEvents() (sip.Events, <-chan string) {
	ch := make(chan string, 1)
	return sip.Events{
		Answered: func(sdp string) { ch <- sdp },
		Failed:   func(f sip.Failure) { ch <- fmt.Sprintf("failed: %+v", f) },
	}, ch
}

const offerSDP = "v=0\r\no=callbridge-offer 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"

// testLogger writes a UA's log into the test's log, named; lines logged
// after the test ended are dropped.
func testLogger(t *testing.T, name string) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(w.stop)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo})).With(slog.String("node", name))
}

type testWriter struct {
	t    *testing.T
	mu   sync.Mutex
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(string(bytes.TrimRight(p, "\n")))
	}
	return len(p), nil
}

func (w *testWriter) stop() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}
