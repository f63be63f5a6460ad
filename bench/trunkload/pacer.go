package main

import (
	"context"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callbridge/widget-server/bench/internal/measure"
)

// Packet timing: one 20 ms packet per leg per frame (50 packets/s), legs
// spread over the frame's 1 ms slots.
const (
	frame    = 20 * time.Millisecond
	slotTime = time.Millisecond
	slots    = int(frame / slotTime)
)

// A payload starts with, big-endian: the send time (Unix ns), the leg's
// packet counter and the number of the step it was sent in (0: warm-up,
// not counted). The carrier sends it back as it was.
const (
	offSent    = 0
	offCounter = 8
	offStep    = 12
	minPayload = 16
)

// stamp writes a packet's header fields into payload.
func stamp(payload []byte, sent time.Time, counter, step uint32) {
	binary.BigEndian.PutUint64(payload[offSent:], uint64(sent.UnixNano()))
	binary.BigEndian.PutUint32(payload[offCounter:], counter)
	binary.BigEndian.PutUint32(payload[offStep:], step)
}

// unstamp reads them back; ok is false for a payload too short to hold
// them.
func unstamp(payload []byte) (sent time.Time, counter, step uint32, ok bool) {
	if len(payload) < minPayload {
		return time.Time{}, 0, 0, false
	}
	sent = time.Unix(0, int64(binary.BigEndian.Uint64(payload[offSent:])))
	return sent, binary.BigEndian.Uint32(payload[offCounter:]), binary.BigEndian.Uint32(payload[offStep:]), true
}

// stepStats are one measurement's counters. Received packets find them by
// the step number they carry, so late packets count for the step they were
// sent in.
type stepStats struct {
	sent, recv atomic.Uint64
	rtt        *measure.Histogram
}

// sender is what the pacer sends from: a client leg.
type sender interface {
	Send(payload []byte) bool
}

type stream struct {
	s       sender
	counter uint32
	buf     []byte
}

// pacer sends from every leg at 50 packets/s on one goroutine that wakes
// every millisecond, and takes the packets that come back.
type pacer struct {
	payload int
	step    atomic.Uint32
	steps   [64]atomic.Pointer[stepStats]
	mu      sync.Mutex
	slots   [slots][]*stream
	n       int
}

func newPacer(payload int) *pacer { return &pacer{payload: max(payload, minPayload)} }

// add starts sending from s.
func (p *pacer) add(s sender) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.slots[p.n%slots] = append(p.slots[p.n%slots], &stream{s: s, buf: make([]byte, p.payload)})
	p.n++
}

// begin starts counting step id (1…63) and returns its counters.
func (p *pacer) begin(id int) *stepStats {
	st := &stepStats{rtt: new(measure.Histogram)}
	p.steps[id].Store(st)
	p.step.Store(uint32(id))
	return st
}

// end stops counting: packets sent from now on are warm-up.
func (p *pacer) end() { p.step.Store(0) }

// received takes one packet that came back, read at now.
func (p *pacer) received(payload []byte, now time.Time) {
	sent, _, id, ok := unstamp(payload)
	if !ok || id == 0 || id >= uint32(len(p.steps)) {
		return
	}
	st := p.steps[id].Load()
	if st == nil {
		return
	}
	st.recv.Add(1)
	st.rtt.Add(now.Sub(sent))
}

// run sends until ctx ends.
func (p *pacer) run(ctx context.Context) {
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	var batch []*stream
	for n := 0; ; n++ {
		if d := time.Until(start.Add(time.Duration(n) * slotTime)); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			return
		}
		p.mu.Lock()
		batch = append(batch[:0], p.slots[n%slots]...)
		p.mu.Unlock()
		id := p.step.Load()
		st := p.steps[id].Load()
		for _, s := range batch {
			stamp(s.buf, time.Now(), s.counter, id)
			if s.s.Send(s.buf) {
				s.counter++
				if id != 0 && st != nil {
					st.sent.Add(1)
				}
			}
		}
	}
}
