package cluster_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/callbridge/widget-server/internal/cluster"
	"github.com/callbridge/widget-server/internal/cluster/natstest"
	"github.com/callbridge/widget-server/internal/sip"
)

// patience bounds every wait for an event in these tests: generous, as
// the machine may be busy; the tests wait for events, never for time.
const patience = 90 * time.Second

// leaseTTL is the trunks' lease TTL in these tests, short so that a
// takeover after a lost node comes soon.
const leaseTTL = 2 * time.Second

// leaseNode is one node's connection and its trunk leases.
type leaseNode struct {
	nc     *nats.Conn
	leases *cluster.TrunkLeases
}

func newLeaseNode(t *testing.T, url, name string) leaseNode {
	t.Helper()
	nc, err := cluster.Connect(url, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	l, err := cluster.NewTrunkLeases(context.Background(), nc, name, cluster.TrunkLeasesConfig{TTL: leaseTTL})
	if err != nil {
		t.Fatal(err)
	}
	return leaseNode{nc: nc, leases: l}
}

// acquiring asks for the trunk's lease in the background; the lease comes
// on the channel once held. The ask ends with the test.
func acquiring(t *testing.T, n leaseNode, trunk string) <-chan sip.TrunkLease {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ch := make(chan sip.TrunkLease, 1)
	go func() {
		if l, err := n.leases.Acquire(ctx, trunk); err == nil {
			ch <- l
		}
	}()
	return ch
}

func held(t *testing.T, ch <-chan sip.TrunkLease, what string) sip.TrunkLease {
	t.Helper()
	select {
	case l := <-ch:
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), patience)
			defer cancel()
			l.Release(ctx)
		})
		return l
	case <-time.After(patience):
		t.Fatalf("%s never held the lease", what)
		return nil
	}
}

func notHeld(t *testing.T, ch <-chan sip.TrunkLease, what string) {
	t.Helper()
	select {
	case <-ch:
		t.Fatalf("%s holds the lease too", what)
	default:
	}
}

func lost(t *testing.T, l sip.TrunkLease, what string) {
	t.Helper()
	select {
	case <-l.Lost():
	case <-time.After(patience):
		t.Fatalf("%s never lost the lease", what)
	}
}

// following collects what a node follows of the trunk.
func following(t *testing.T, n leaseNode, trunk string) <-chan sip.TrunkHolding {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan sip.TrunkHolding, 256)
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.leases.Follow(ctx, trunk, func(h sip.TrunkHolding) { ch <- h })
	}()
	t.Cleanup(func() { cancel(); <-done })
	return ch
}

func waitHolding(t *testing.T, ch <-chan sip.TrunkHolding, what string, ok func(sip.TrunkHolding) bool) sip.TrunkHolding {
	t.Helper()
	timeout := time.After(patience)
	for {
		select {
		case h := <-ch:
			if ok(h) {
				return h
			}
		case <-timeout:
			t.Fatalf("never followed %s", what)
		}
	}
}

// watchKey returns the trunk's key's entries as they are written.
func watchKey(t *testing.T, url, trunk string) <-chan jetstream.KeyValueEntry {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	kv, err := js.KeyValue(context.Background(), "CALLBRIDGE_TRUNKS")
	if err != nil {
		t.Fatal(err)
	}
	w, err := kv.Watch(context.Background(), trunk)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Stop() })
	return w.Updates()
}

// TestTrunkLeaseHeldWhileRefreshed: the first node takes the lease; the
// other waits while the holder keeps refreshing it for longer than the
// TTL, and follows what the holder reports; when the holder gives it up
// the other takes it.
func TestTrunkLeaseHeldWhileRefreshed(t *testing.T) {
	ns := natstest.Start(t)
	a, b := newLeaseNode(t, ns.URL, "node-a"), newLeaseNode(t, ns.URL, "node-b")
	keys := watchKey(t, ns.URL, "carrier")
	la := held(t, acquiring(t, a, "carrier"), "node a")
	fromB := following(t, b, "carrier")
	waitHolding(t, fromB, "node a holding", func(h sip.TrunkHolding) bool { return h.Node == "node-a" && !h.Registered })
	toB := acquiring(t, b, "carrier")

	until := time.Now().Add(time.Hour).Truncate(time.Second)
	la.Report(sip.TrunkHolding{Registered: true, RegisteredUntil: until})
	h := waitHolding(t, fromB, "node a registered", func(h sip.TrunkHolding) bool { return h.Registered })
	if h.Node != "node-a" || !h.RegisteredUntil.Equal(until) || h.Error != "" {
		t.Fatalf("node b follows %+v", h)
	}

	// The holder's writes span more than twice the TTL: had it not
	// refreshed the key, it would have run out and node b taken it.
	var first time.Time
	for e := range keys {
		if e == nil {
			continue
		}
		if e.Operation() != jetstream.KeyValuePut {
			t.Fatalf("the key was removed (%s) while its holder refreshed it", e.Operation())
		}
		var v struct{ Node string }
		if err := json.Unmarshal(e.Value(), &v); err != nil || v.Node != "node-a" {
			t.Fatalf("entry %s while node a holds the lease", e.Value())
		}
		if first.IsZero() {
			first = e.Created()
		}
		if e.Created().Sub(first) > 2*leaseTTL {
			break
		}
	}
	notHeld(t, toB, "node b")
	select {
	case <-la.Lost():
		t.Fatal("node a lost the lease it refreshed")
	default:
	}

	// Given up, it goes to node b at once (not when it would have run
	// out), which reports not yet registered.
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	la.Release(ctx)
	lb := held(t, toB, "node b")
	waitHolding(t, fromB, "node b holding", func(h sip.TrunkHolding) bool { return h.Node == "node-b" && !h.Registered })
	lb.Release(ctx)
	waitHolding(t, fromB, "no holder", func(h sip.TrunkHolding) bool { return h == sip.TrunkHolding{} })
}

// TestTrunkLeaseLostWhenOvertaken: a holder whose key another node wrote
// loses the lease at its next refresh.
func TestTrunkLeaseLostWhenOvertaken(t *testing.T) {
	ns := natstest.Start(t)
	a := newLeaseNode(t, ns.URL, "node-a")
	la := held(t, acquiring(t, a, "carrier"), "node a")
	js, _ := jetstream.New(a.nc)
	kv, err := js.KeyValue(context.Background(), "CALLBRIDGE_TRUNKS")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(context.Background(), "carrier", []byte(`{"node":"intruder"}`)); err != nil {
		t.Fatal(err)
	}
	lost(t, la, "node a")
	// Its release leaves the other's entry alone.
	la.Release(context.Background())
	e, err := kv.Get(context.Background(), "carrier")
	if err != nil || string(e.Value()) != `{"node":"intruder"}` {
		t.Fatalf("after the release: %v %v", e, err)
	}
}

// TestTrunkLeaseTakenOverFromLostNode: a holder cut off from NATS gives the
// lease up; once its key runs out another node takes it; a third keeps
// waiting.
func TestTrunkLeaseTakenOverFromLostNode(t *testing.T) {
	ns := natstest.Start(t)
	a, b := newLeaseNode(t, ns.URL, "node-a"), newLeaseNode(t, ns.URL, "node-b")
	la := held(t, acquiring(t, a, "carrier"), "node a")
	fromB := following(t, b, "carrier")
	waitHolding(t, fromB, "node a holding", func(h sip.TrunkHolding) bool { return h.Node == "node-a" })
	toB := acquiring(t, b, "carrier")
	// Another trunk is a lease of its own.
	other := held(t, acquiring(t, b, "other"), "node b, of another trunk")

	a.nc.Close()
	lost(t, la, "node a, cut off")
	lb := held(t, toB, "node b")
	waitHolding(t, fromB, "node b holding", func(h sip.TrunkHolding) bool { return h.Node == "node-b" })

	c := newLeaseNode(t, ns.URL, "node-c")
	toC := acquiring(t, c, "carrier")
	lb.Report(sip.TrunkHolding{Error: "register: 403 Forbidden"})
	h := waitHolding(t, following(t, c, "carrier"), "node b's failure", func(h sip.TrunkHolding) bool { return h.Error != "" })
	if h.Node != "node-b" || h.Registered || h.Error != "register: 403 Forbidden" {
		t.Fatalf("node c follows %+v", h)
	}
	notHeld(t, toC, "node c")
	select {
	case <-lb.Lost():
		t.Fatal("node b lost the lease")
	case <-other.Lost():
		t.Fatal("node b lost the other trunk's lease")
	default:
	}
}
