package cluster_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/cluster"
	"github.com/callbridge/widget-server/internal/cluster/natstest"
)

// node is one hub of a cluster: its own NATS connection, its own follower
// of the events stream.
type node struct {
	hub    *bridge.Hub
	events *cluster.Events
}

func newNode(t *testing.T, url, name string) *node {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	nc, err := cluster.Connect(url, name, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ctx := context.Background()
	ev, err := cluster.NewEvents(ctx, nc, cluster.EventsConfig{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	hub := bridge.NewHub(bridge.HubConfig{LogSize: 4})
	if err := ev.Join(ctx, hub); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ev.Stop)
	t.Cleanup(hub.Shutdown)
	return &node{hub: hub, events: ev}
}

// next waits for the subscription's next non-empty publication.
func next(t *testing.T, sub *bridge.Subscription) []bridge.Event {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		select {
		case evs, ok := <-sub.C:
			if !ok {
				t.Fatal("subscription closed")
			}
			if len(evs) > 0 {
				return evs
			}
		case <-timeout:
			t.Fatal("no publication within a minute")
		}
	}
}

func texts(evs []bridge.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = string(e.Data)
	}
	return out
}

// TestEventsReachEveryNode: what one node publishes reaches the group's
// subscribers on every node, with the same ids everywhere, in the same
// order even when two nodes publish to the group at once.
func TestEventsReachEveryNode(t *testing.T) {
	ns := natstest.Start(t)
	a, b := newNode(t, ns.URL, "a"), newNode(t, ns.URL, "b")
	const group = "ext:101"
	subA, _, _, err := a.hub.Subscribe(group, "")
	if err != nil {
		t.Fatal(err)
	}
	subB, _, _, err := b.hub.Subscribe(group, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.hub.PublishAll(group, []any{"one", "two"}); err != nil {
		t.Fatal(err)
	}
	gotA, gotB := next(t, subA), next(t, subB)
	if strings.Join(texts(gotB), ",") != `"one","two"` || gotA[0].ID != gotB[0].ID || gotA[1].ID != gotB[1].ID {
		t.Fatalf("a got %v, b got %v", gotA, gotB)
	}

	// Both nodes publish at once: each subscriber sees every event once,
	// in one order shared by both.
	const each = 12 // 24 publications: within a subscription's buffer, read one after the other
	var wg sync.WaitGroup
	for _, n := range []*node{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, err := n.hub.Publish(group, fmt.Sprintf("%p-%d", n, i)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	read := func(sub *bridge.Subscription) []string {
		var ids []string
		for len(ids) < 2*each {
			for _, e := range next(t, sub) {
				ids = append(ids, e.ID+"="+string(e.Data))
			}
		}
		return ids
	}
	orderA, orderB := read(subA), read(subB)
	if strings.Join(orderA, " ") != strings.Join(orderB, " ") {
		t.Fatalf("the nodes disagree on the order:\n%v\n%v", orderA, orderB)
	}
	seen := map[string]bool{}
	for _, x := range orderA {
		if seen[x] {
			t.Fatalf("%s twice", x)
		}
		seen[x] = true
	}
}

// TestReplayOnAnotherNode: a client whose node went away resumes on
// another with its Last-Event-ID: it gets what it missed, nothing twice,
// and then the live events; an id the stream cannot place asks for a
// resync.
func TestReplayOnAnotherNode(t *testing.T) {
	ns := natstest.Start(t)
	a, b := newNode(t, ns.URL, "a"), newNode(t, ns.URL, "b")
	const group = "ext:7"
	subA, _, _, err := a.hub.Subscribe(group, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.hub.Publish(group, "first"); err != nil {
		t.Fatal(err)
	}
	last := next(t, subA)[0].ID
	subA.Close() // the client's node goes away

	// More than the hub's own log holds (4), so node b must read the
	// stream, including a publication of several events.
	for _, msgs := range [][]any{{"m1"}, {"m2", "m3"}, {"m4"}, {"m5"}, {"m6"}} {
		if _, err := a.hub.PublishAll(group, msgs); err != nil {
			t.Fatal(err)
		}
	}
	// Node b sees them through the stream before the client comes back:
	// its own subscription waits for the last one.
	watch, _, _, err := b.hub.Subscribe("ext:other", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.hub.Publish("ext:other", "marker"); err != nil {
		t.Fatal(err)
	}
	next(t, watch)

	sub, replay, resync, err := b.hub.Subscribe(group, last)
	if err != nil || resync {
		t.Fatalf("resume on b: resync %v, %v", resync, err)
	}
	if got := strings.Join(texts(replay), ","); got != `"m1","m2","m3","m4","m5","m6"` {
		t.Fatalf("replayed %s", got)
	}
	// Resuming in the middle of a publication gives the rest of it.
	_, replay, _, _ = a.hub.Subscribe(group, replay[1].ID)
	if got := strings.Join(texts(replay), ","); got != `"m3","m4","m5","m6"` {
		t.Fatalf("replayed from m2: %s", got)
	}
	if _, err := a.hub.Publish(group, "live"); err != nil {
		t.Fatal(err)
	}
	if got := texts(next(t, sub)); len(got) != 1 || got[0] != `"live"` {
		t.Fatalf("after the replay: %v", got)
	}

	for _, id := range []string{"nonsense", "1.2", "otherepoch.1.0", a.events.Epoch() + ".999999.0"} {
		if _, _, resync, err := b.hub.Subscribe(group, id); err != nil || !resync {
			t.Errorf("Last-Event-ID %q: resync %v, %v", id, resync, err)
		}
	}
}
