package main

import (
	"context"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callbridge/widget-server/bench/internal/measure"
)

// Packet timing: 20 ms frames, one packet per frame per leg (50 packets/s),
// legs spread evenly over the frame's 1 ms slots.
const (
	frame    = 20 * time.Millisecond
	slotTime = time.Millisecond
	slots    = int(frame / slotTime)
)

// The payload carries, big-endian: the send time (Unix ns), a per-leg
// counter and the number of the step it was sent in.
const (
	offSent    = 0
	offCounter = 8
	offStep    = 12
	minPayload = 16
)

// endpoint is one sending leg: a pion track or a relay socket.
type endpoint interface {
	// send writes one packet carrying payload; it reports success.
	send(payload []byte) bool
}

// stepStats are one measurement step's counters. Receivers find them by the
// step number in the payload, so late packets count for the step they were
// sent in.
type stepStats struct {
	sent, recv atomic.Uint64
	latency    *measure.Histogram
}

// scheduler sends from every endpoint at 50 packets/s, spread over shards
// (goroutines) that wake every millisecond.
type scheduler struct {
	payload int
	step    atomic.Int32 // 0: warm-up, not counted
	steps   [64]atomic.Pointer[stepStats]
	shards  []*shard
	next    atomic.Uint64
}

type shard struct {
	mu  sync.Mutex
	eps [slots][]*sender
}

type sender struct {
	ep      endpoint
	counter uint32
	buf     []byte
}

func newScheduler(nShards, payload int) *scheduler {
	s := &scheduler{payload: max(payload, minPayload)}
	for range max(nShards, 1) {
		s.shards = append(s.shards, &shard{})
	}
	return s
}

// add starts sending from ep.
func (s *scheduler) add(ep endpoint) {
	n := s.next.Add(1) - 1
	sh := s.shards[int(n)%len(s.shards)]
	slot := int(n/uint64(len(s.shards))) % slots
	sh.mu.Lock()
	sh.eps[slot] = append(sh.eps[slot], &sender{ep: ep, buf: make([]byte, s.payload)})
	sh.mu.Unlock()
}

// begin starts counting a new step and returns its stats.
func (s *scheduler) begin(id int) *stepStats {
	st := &stepStats{latency: new(measure.Histogram)}
	s.steps[id].Store(st)
	s.step.Store(int32(id))
	return st
}

// end stops counting: later packets are warm-up again.
func (s *scheduler) end() { s.step.Store(0) }

// received records one packet's payload read at now.
func (s *scheduler) received(payload []byte, now time.Time) {
	if len(payload) < minPayload {
		return
	}
	id := binary.BigEndian.Uint32(payload[offStep:])
	if id == 0 || id >= uint32(len(s.steps)) {
		return
	}
	st := s.steps[id].Load()
	if st == nil {
		return
	}
	st.recv.Add(1)
	sent := int64(binary.BigEndian.Uint64(payload[offSent:]))
	st.latency.Add(time.Duration(now.UnixNano() - sent))
}

// run sends until ctx ends.
func (s *scheduler) run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, sh := range s.shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.runShard(ctx, sh)
		}()
	}
	wg.Wait()
}

func (s *scheduler) runShard(ctx context.Context, sh *shard) {
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	var batch []*sender
	for n := 0; ; n++ {
		due := start.Add(time.Duration(n) * slotTime)
		if d := time.Until(due); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			return
		}
		sh.mu.Lock()
		batch = append(batch[:0], sh.eps[n%slots]...)
		sh.mu.Unlock()
		id := s.step.Load()
		st := s.steps[id].Load()
		for _, snd := range batch {
			binary.BigEndian.PutUint32(snd.buf[offCounter:], snd.counter)
			binary.BigEndian.PutUint32(snd.buf[offStep:], uint32(id))
			binary.BigEndian.PutUint64(snd.buf[offSent:], uint64(time.Now().UnixNano()))
			if snd.ep.send(snd.buf) {
				snd.counter++
				if id != 0 && st != nil {
					st.sent.Add(1)
				}
			}
		}
	}
}
