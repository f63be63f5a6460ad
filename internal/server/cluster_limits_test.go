package server

import (
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/cluster/natstest"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/ratelimit"
)

// TestLimitsAcrossNodes: two nodes joined through NATS share the sign-in
// throttle and the widget's SMS limit. Three failed sign-ins through node a
// make the user wait on node b too, and a success through node a lets
// them in on both; the SMS an extension sent through node a count on node
// b. Waits for each note to arrive, never for a clock.
func TestLimitsAcrossNodes(t *testing.T) {
	ns := natstest.Start(t)
	type side struct {
		throttle *identity.Throttle
		sms      *ratelimit.Limiter[int64]
	}
	var sides [2]side
	for i := range sides {
		node, err := connectCluster(ns.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(node.leave)
		sides[i] = side{identity.NewThrottle(nil), ratelimit.New[int64](2, time.Hour, time.Now)}
		if err := node.shareLimits(sides[i].throttle, sides[i].sms); err != nil {
			t.Fatal(err)
		}
	}
	a, b := sides[0], sides[1]
	const user, ext = "ext:2", int64(2)
	for range 3 {
		a.throttle.Failure(user, "192.0.2.1")
	}
	waitFor(t, "node b to slow the user down", func() bool { return b.throttle.Wait(user, "192.0.2.7") > 0 })
	a.throttle.Success(user, "192.0.2.1")
	waitFor(t, "node b to let the user in", func() bool { return b.throttle.Wait(user, "192.0.2.7") == 0 })

	if _, _, ok := a.sms.Take(ext); !ok {
		t.Fatal("the first SMS refused")
	}
	waitFor(t, "node b to count the SMS sent through node a", func() bool { return b.sms.Left(ext) == 1 })
	if _, _, ok := b.sms.Take(ext); !ok {
		t.Fatal("the second SMS refused")
	}
	waitFor(t, "node a to count the SMS sent through node b", func() bool { return a.sms.Left(ext) == 0 })
}

// waitFor polls ok until it holds, failing after a while.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(patience); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
	}
}
