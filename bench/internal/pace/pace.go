// Package pace sends the load tools' audio and counts what comes back:
// every leg sends one packet per 20 ms frame (50 packets/s), the legs spread
// over the frame's 1 ms slots on one or more sending goroutines (shards),
// and every payload is stamped with its send time, the leg's packet counter
// and the number of the measurement step it was sent in. A packet that
// comes back, from the other leg of a call or from an echo, counts for the
// step it was sent in with its latency, however late it arrives.
//
// It owns the payload's stamp and the step counters. It must not import
// the clients (bench/internal/peer) or anything of the server: a leg is
// whatever can send a payload.
package pace

import (
	"context"
	"encoding/binary"
	"math"
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

// PacketsPerSecond is how many packets each leg sends a second.
const PacketsPerSecond = int(time.Second / frame)

// A payload starts with, big-endian: the send time (Unix ns), the leg's
// packet counter and the number of the step it was sent in (0: warm-up,
// not counted). Whoever sends it back sends it as it was.
const (
	offSent    = 0
	offCounter = 8
	offStep    = 12
	// MinPayload is the shortest payload that holds the stamp.
	MinPayload = 16
)

// MaxSteps is the highest step number a pacer counts.
const MaxSteps = 63

// Stamp writes a packet's stamp into payload.
func Stamp(payload []byte, sent time.Time, counter, step uint32) {
	binary.BigEndian.PutUint64(payload[offSent:], uint64(sent.UnixNano()))
	binary.BigEndian.PutUint32(payload[offCounter:], counter)
	binary.BigEndian.PutUint32(payload[offStep:], step)
}

// Unstamp reads it back; ok is false for a payload too short to hold it.
func Unstamp(payload []byte) (sent time.Time, counter, step uint32, ok bool) {
	if len(payload) < MinPayload {
		return time.Time{}, 0, 0, false
	}
	sent = time.Unix(0, int64(binary.BigEndian.Uint64(payload[offSent:])))
	return sent, binary.BigEndian.Uint32(payload[offCounter:]), binary.BigEndian.Uint32(payload[offStep:]), true
}

// StepStats are one measurement step's counters. Received packets find
// them by the step number they carry, so late packets count for the step
// they were sent in.
type StepStats struct {
	Sent, Received atomic.Uint64
	// Latency is, per packet received, now minus its send time: one way
	// between two legs, the round trip through an echo.
	Latency *measure.Histogram
}

// Figures are a step's packet figures over the seconds it was measured.
type Figures struct {
	Sent, Received uint64
	SentPPS        float64 // packets/s sent, all legs
	ReceivedPPS    float64 // packets/s received
	LossPct        float64 // share of sent packets not received, percent to three decimals
}

// Figures reads the counters, as rates over secs.
func (s *StepStats) Figures(secs float64) Figures {
	f := Figures{Sent: s.Sent.Load(), Received: s.Received.Load()}
	if secs > 0 {
		f.SentPPS = math.Round(float64(f.Sent) / secs)
		f.ReceivedPPS = math.Round(float64(f.Received) / secs)
	}
	f.LossPct = LossPct(f.Sent, f.Received)
	return f
}

// LossPct is the share of sent packets that did not come back, in percent
// to three decimals; never negative.
func LossPct(sent, recv uint64) float64 {
	if sent == 0 || recv >= sent {
		return 0
	}
	return math.Round((1-float64(recv)/float64(sent))*100000) / 1000
}

// Sender is one leg the pacer sends from: a client's track or a socket.
type Sender interface {
	// Send writes one packet carrying payload and reports success. Only
	// the shard that owns the leg calls it.
	Send(payload []byte) bool
}

type stream struct {
	s       Sender
	counter uint32
	buf     []byte
}

// shard is one sending goroutine's legs, by slot.
type shard struct {
	mu    sync.Mutex
	slots [slots][]*stream
}

// Pacer sends from every leg at 50 packets/s and takes the packets that
// come back.
type Pacer struct {
	payload int
	step    atomic.Uint32
	steps   [MaxSteps + 1]atomic.Pointer[StepStats]
	shards  []*shard
	n       atomic.Uint64
}

// New returns a pacer that sends payload bytes a packet (at least
// MinPayload) on shards goroutines (at least one).
func New(shards, payload int) *Pacer {
	p := &Pacer{payload: max(payload, MinPayload)}
	for range max(shards, 1) {
		p.shards = append(p.shards, &shard{})
	}
	return p
}

// Payload is the size of the payloads the pacer sends.
func (p *Pacer) Payload() int { return p.payload }

// Add starts sending from s: legs go round the shards, then round the
// slots.
func (p *Pacer) Add(s Sender) {
	n := p.n.Add(1) - 1
	sh := p.shards[int(n%uint64(len(p.shards)))]
	slot := int(n/uint64(len(p.shards))) % slots
	sh.mu.Lock()
	sh.slots[slot] = append(sh.slots[slot], &stream{s: s, buf: make([]byte, p.payload)})
	sh.mu.Unlock()
}

// Begin starts counting step id (1…MaxSteps) and returns its counters.
func (p *Pacer) Begin(id int) *StepStats {
	st := &StepStats{Latency: new(measure.Histogram)}
	p.steps[id].Store(st)
	p.step.Store(uint32(id))
	return st
}

// End stops counting: packets sent from now on are warm-up.
func (p *Pacer) End() { p.step.Store(0) }

// Warm lets the legs send uncounted for d, or until ctx ends.
func (p *Pacer) Warm(ctx context.Context, d time.Duration) error {
	p.End()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// Count counts step id for d, or until ctx ends, and returns its counters;
// packets of the step that come back later still count.
func (p *Pacer) Count(ctx context.Context, id int, d time.Duration) *StepStats {
	st := p.Begin(id)
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
	p.End()
	return st
}

// Received takes one packet that came back, read at now.
func (p *Pacer) Received(payload []byte, now time.Time) {
	sent, _, id, ok := Unstamp(payload)
	if !ok || id == 0 || id >= uint32(len(p.steps)) {
		return
	}
	st := p.steps[id].Load()
	if st == nil {
		return
	}
	st.Received.Add(1)
	st.Latency.Add(now.Sub(sent))
}

// Start sends on its own goroutines until stop is called; stop returns once
// they have ended.
func (p *Pacer) Start(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, sh := range p.shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.run(ctx, sh)
		}()
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

// run sends from one shard's legs until ctx ends.
func (p *Pacer) run(ctx context.Context, sh *shard) {
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
		sh.mu.Lock()
		batch = append(batch[:0], sh.slots[n%slots]...)
		sh.mu.Unlock()
		id := p.step.Load()
		st := p.steps[id].Load()
		for _, s := range batch {
			Stamp(s.buf, time.Now(), s.counter, id)
			if s.s.Send(s.buf) {
				s.counter++
				if id != 0 && st != nil {
					st.Sent.Add(1)
				}
			}
		}
	}
}
