package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callbridge/widget-server/bench/internal/measure"
	"github.com/callbridge/widget-server/bench/internal/widget"
)

// eventRun is the events phase's counters; cur is set while it counts.
type eventRun struct {
	expected  atomic.Uint64
	delivered atomic.Uint64
	all       measure.Histogram
	same      measure.Histogram // listener on the node the change went through
	other     measure.Histogram // listener on another node
}

var cur atomic.Pointer[eventRun]

// onPresence counts, on a listener of t on node at, the arrival of t's
// presence change in flight.
func (t *tab) onPresence(at int, ev widget.Event) {
	if ev.Type != "rc-adapter-syncPresence" {
		return
	}
	var m wire
	if json.Unmarshal(ev.Raw, &m) != nil {
		return
	}
	want, _ := t.want.Load().(string)
	if want == "" || m.UserStatus != want {
		return
	}
	for {
		p := t.pending.Load()
		if p <= 0 {
			return // already counted on every listener
		}
		if t.pending.CompareAndSwap(p, p-1) {
			break
		}
	}
	if r := cur.Load(); r != nil {
		r.delivered.Add(1)
		lat := ev.At.Sub(time.Unix(0, t.sentAt.Load()))
		r.all.Add(lat)
		if int(t.via.Load()) == at {
			r.same.Add(lat)
		} else {
			r.other.Add(lat)
		}
	}
}

// runEvents changes the presence of random users, cfg.changes a second
// for cfg.duration, each through a random node, to the status the user
// does not have: each change reaches every listener of the user. A user
// whose change is still in flight is not picked.
func runEvents(ctx context.Context, tabs []*tab, nodes []*node, cfg config) EventsResult {
	r := &eventRun{}
	cur.Store(r)
	defer cur.Store(nil)
	rng := rand.New(rand.NewPCG(uint64(len(nodes)), 2))
	type change struct {
		t    *tab
		node int
	}
	work := make(chan change, 1024)
	var ok, failed atomic.Int64
	var errMu sync.Mutex
	lastErr := ""
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ch := range work {
				if err := setPresence(ctx, ch.t, nodes[ch.node]); err != nil {
					ch.t.pending.Store(0)
					failed.Add(1)
					errMu.Lock()
					lastErr = err.Error()
					errMu.Unlock()
					continue
				}
				ok.Add(1)
				r.expected.Add(uint64(cfg.listeners))
			}
		}()
	}
	// Paced by the clock, not by ticks, which a busy machine drops.
	t := time.NewTicker(10 * time.Millisecond)
	start := time.Now()
	end := time.After(cfg.duration)
	made := 0
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-end:
			break loop
		case <-t.C:
		}
		for due := int(cfg.changes * time.Since(start).Seconds()); made < due; made++ {
			u := idle(tabs, rng)
			if u == nil {
				failed.Add(1) // every user tried has a change in flight
				continue
			}
			u.busy = !u.busy
			status := "Available"
			if u.busy {
				status = "Busy"
			}
			via := rng.IntN(len(nodes))
			u.want.Store(status)
			u.via.Store(int32(via))
			u.pending.Store(int32(cfg.listeners))
			u.sentAt.Store(time.Now().UnixNano())
			select {
			case work <- change{u, via}:
			default: // the senders are behind: the change is not made
				u.pending.Store(0)
				failed.Add(1)
			}
		}
	}
	t.Stop()
	close(work)
	wg.Wait()
	// Let the last changes arrive (bounded).
	deadline := time.Now().Add(5 * time.Second)
	for r.delivered.Load() < r.expected.Load() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	res := EventsResult{Changes: int(ok.Load()), Failed: int(failed.Load()), Expected: r.expected.Load(), Delivered: r.delivered.Load(),
		Latency: r.all.Summary(), SameNode: r.same.Summary(), OtherNode: r.other.Summary(), LastError: lastErr}
	res.ChangesPerSec = float64(int(float64(res.Changes)/cfg.duration.Seconds()*10)) / 10
	res.DeliveredPerSec = float64(int(float64(res.Delivered)/cfg.duration.Seconds()*10)) / 10
	if res.Expected > 0 {
		res.DeliveredPct = float64(int(float64(res.Delivered)/float64(res.Expected)*100000)) / 1000
	}
	return res
}

// idle picks a random user with no change in flight, or nil after a few
// tries.
func idle(tabs []*tab, rng *rand.Rand) *tab {
	for range 16 {
		if t := tabs[rng.IntN(len(tabs))]; t.pending.Load() == 0 {
			return t
		}
	}
	return nil
}

// setPresence sets t's status as its widget does (PUT /widget/presence),
// through node nd.
func setPresence(ctx context.Context, t *tab, nd *node) error {
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	w := t.on(nd)
	status, _ := t.want.Load().(string)
	req, err := http.NewRequestWithContext(rctx, "PUT", w.Base+"/widget/presence", strings.NewReader(`{"userStatus":"`+status+`"}`))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	w.SetHeaders(req.Header)
	resp, err := w.HTTP.Do(req)
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("PUT /widget/presence: %d %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	return nil
}
