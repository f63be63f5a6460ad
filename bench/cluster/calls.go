package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callbridge/widget-server/bench/internal/measure"
	"github.com/callbridge/widget-server/bench/internal/rawleg"
)

// callRun is the calls phase's counters.
type callRun struct {
	completed, failed atomic.Int64
	dial, ring        measure.Histogram
	connect           measure.Histogram
	end               measure.Histogram
	crossNode         atomic.Int64
	mu                sync.Mutex
	lastErr           string
}

// runCalls runs every pair's calls in a closed loop for d: tab 2k calls
// tab 2k+1, which answers when it rings and hangs up once the caller's
// stream says the call is connected. A call counts as completed when both
// streams have said it ended, within d. Each pair places one call first,
// not counted, so that the phase starts with every path warm.
func runCalls(ctx context.Context, tabs []*tab, d time.Duration) *callRun {
	r := &callRun{}
	id, err := rawleg.NewIdentity()
	if err != nil {
		r.lastErr = err.Error()
		return r
	}
	warm := &callRun{}
	var wg sync.WaitGroup
	for k := 0; k+1 < len(tabs); k += 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := warm.call(ctx, id, tabs[k], tabs[k+1]); err != nil {
				r.mu.Lock()
				r.lastErr = "warm-up: " + err.Error()
				r.mu.Unlock()
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(d)
	for k := 0; k+1 < len(tabs); k += 2 {
		wg.Add(1)
		go func(caller, callee *tab) {
			defer wg.Done()
			for ctx.Err() == nil && time.Now().Before(deadline) {
				err := r.call(ctx, id, caller, callee)
				switch {
				case err != nil:
					r.failed.Add(1)
					r.mu.Lock()
					r.lastErr = err.Error()
					r.mu.Unlock()
					// Not a hot loop against a refusing server.
					select {
					case <-ctx.Done():
					case <-time.After(100 * time.Millisecond):
					}
				case time.Now().Before(deadline):
					r.completed.Add(1)
					if caller.node != callee.node {
						r.crossNode.Add(1)
					}
				}
			}
		}(tabs[k], tabs[k+1])
	}
	wg.Wait()
	return r
}

// call is one call from caller to callee: dial through the caller's node,
// answer and hang up through the callee's. The legs offer SDP (one host
// candidate each) but never run ICE: the call carries no media.
func (r *callRun) call(ctx context.Context, id *rawleg.Identity, caller, callee *tab) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	a, offer, err := rawleg.New(id, nil, nil)
	if err != nil {
		return err
	}
	defer a.Close()
	sent := time.Now()
	c, _, err := caller.w.Dial(ctx, caller.device, callee.user.Number, offer)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	r.dial.Add(time.Since(sent))
	// Whatever happens, the call does not outlive this function.
	ended := false
	defer func() {
		if !ended {
			hctx, hcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			_ = caller.w.Control(hctx, caller.device, c.ID, "hangup")
			hcancel()
		}
	}()
	rang, err := callee.wait(ctx, "ring", c.ID)
	if err != nil {
		return err
	}
	r.ring.Add(rang.Sub(sent))

	b, offer, err := rawleg.New(id, nil, nil)
	if err != nil {
		return err
	}
	defer b.Close()
	sent = time.Now()
	if _, err := callee.w.Answer(ctx, callee.device, c.ID, offer); err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	connected, err := caller.wait(ctx, "connected", c.ID)
	if err != nil {
		return err
	}
	r.connect.Add(connected.Sub(sent))

	sent = time.Now()
	if err := callee.w.Control(ctx, callee.device, c.ID, "hangup"); err != nil {
		return fmt.Errorf("hangup: %w", err)
	}
	ended = true
	end, err := caller.wait(ctx, "end", c.ID)
	if err != nil {
		return err
	}
	r.end.Add(end.Sub(sent))
	_, err = callee.wait(ctx, "end", c.ID)
	return err
}

func (r *callRun) result(d time.Duration) CallsResult {
	res := CallsResult{Completed: int(r.completed.Load()), CrossNode: int(r.crossNode.Load()), Failed: int(r.failed.Load()),
		Dial: r.dial.Summary(), Ring: r.ring.Summary(), Connect: r.connect.Summary(), End: r.end.Summary(), LastError: r.lastErr}
	res.PerSec = float64(int(float64(res.Completed)/d.Seconds()*10)) / 10
	return res
}
