package telephony_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/callbridge/widget-server/internal/telephony"
)

// TestCallsCounted: ActiveCalls counts the sessions in progress, and
// OnCallEnded hears of each session that ends, once, with the caller's
// result.
func TestCallsCounted(t *testing.T) {
	var mu sync.Mutex
	var ended []string
	r := newRig(t, func(c *telephony.Config) {
		c.OnCallEnded = func(result string) { mu.Lock(); ended = append(ended, result); mu.Unlock() }
	})
	ctx := context.Background()
	if n := r.sw.ActiveCalls(); n != 0 {
		t.Fatalf("active calls at start = %d", n)
	}
	connected := r.connected(t)
	ringing := r.dial(t, "c1", "101")
	if n := r.sw.ActiveCalls(); n != 2 {
		t.Fatalf("active calls = %d, want 2", n)
	}
	if err := r.sw.Hangup(ctx, "a1", connected.ID); err != nil {
		t.Fatal(err)
	}
	if err := r.sw.Hangup(ctx, "c1", ringing.ID); err != nil { // the caller gives up: canceled
		t.Fatal(err)
	}
	if err := r.sw.Hangup(ctx, "a1", connected.ID); err == nil {
		t.Fatal("a call hung up twice")
	}
	if n := r.sw.ActiveCalls(); n != 0 {
		t.Fatalf("active calls after the hangups = %d", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{telephony.ResultConnected, telephony.ResultCanceled}; !slices.Equal(ended, want) {
		t.Fatalf("ended = %q, want %q", ended, want)
	}
}
