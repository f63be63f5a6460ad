package cluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/cluster"
	"github.com/callbridge/widget-server/internal/cluster/natstest"
	"github.com/callbridge/widget-server/internal/presence"
)

// TestUserPresenceAcrossNodes: what a user sets through one node's keeper
// decides which calls ring on the others: those running then, and one
// that starts later. Each node's own later change stays its own.
func TestUserPresenceAcrossNodes(t *testing.T) {
	ns := natstest.Start(t)
	ctx := context.Background()
	join := func(name string) *presence.Keeper {
		nc, err := cluster.Connect(ns.URL, name, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		k := presence.New(presence.Config{}, nil)
		u, err := cluster.ShareUserPresences(ctx, nc, name, k, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(u.Close)
		return k
	}
	a, b := join("a"), join("b")
	if err := a.Set(ctx, 7, presence.UserPresence{UserStatus: presence.Busy, DNDStatus: presence.DoNotAcceptAnyCalls}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "node b takes no calls for 7", func() bool { return !b.TakesDirectCalls(7) && !b.TakesDepartmentCalls(7) })
	if up, _ := b.User(ctx, 7); up.UserStatus != presence.Busy {
		t.Fatalf("node b: user presence of 7: %+v", up)
	}
	// A node that starts later knows it before its first call.
	if c := join("c"); c.TakesDirectCalls(7) {
		t.Fatal("node c, started after the change, takes calls for 7")
	}
	if !a.TakesDirectCalls(8) || !b.TakesDirectCalls(8) {
		t.Fatal("an extension that set nothing takes no calls")
	}
	if err := b.Set(ctx, 7, presence.UserPresence{DNDStatus: presence.TakeDepartmentCallsOnly}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "node a takes department calls only for 7", func() bool { return !a.TakesDirectCalls(7) && a.TakesDepartmentCalls(7) })
}

// waitUntil polls ok until it holds, failing after a while.
func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
	}
}
