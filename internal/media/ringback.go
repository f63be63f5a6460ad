package media

import (
	"fmt"
	"math"
	"sync"
	"time"
)

// Ringback is what a browser caller hears while a call that leaves through
// a trunk rings and the carrier sends no early media: the North American
// ringing tone (ANSI T1.401: 440 Hz and 480 Hz summed, 2 s on, 4 s off),
// made by the gateway in the leg's G.711 law and sent on the leg's own
// track, so that the carrier's audio follows on in the same stream.
const (
	ringLowHz, ringHighHz = 440, 480
	ringLevel             = -16.0                            // dBFS of each of the two tones
	ringOnFrames          = int(2 * time.Second / toneFrame) // 100 frames of tone,
	ringCycleFrames       = int(6 * time.Second / toneFrame) // then 200 of silence
	ringRamp              = toneRate * 5 / 1000              // samples: 5 ms fades, no click
	ringBurst             = ringOnFrames * toneFrameSize     // samples of tone a cycle
)

// ringTable is the ringback cadence in one G.711 law, made once: the 2 s
// burst of tone, ramps included, and a frame of silence.
type ringTable struct {
	burst   []byte
	silence []byte
}

// frame returns the n-th 20 ms frame of the cadence (0 ≤ n <
// ringCycleFrames). Its bytes are shared and must not be changed.
func (t *ringTable) frame(n int) []byte {
	if n < ringOnFrames {
		return t.burst[n*toneFrameSize : (n+1)*toneFrameSize]
	}
	return t.silence
}

func newRingTable(encode func(int16) byte) *ringTable {
	amp := math.MaxInt16 * math.Pow(10, ringLevel/20)
	burst := make([]byte, ringBurst)
	for i := range burst {
		x := float64(i) / toneRate
		v := amp * (math.Sin(2*math.Pi*ringLowHz*x) + math.Sin(2*math.Pi*ringHighHz*x))
		// Raised-cosine ramps at both ends of the burst.
		if edge := min(i, ringBurst-1-i); edge < ringRamp {
			v *= 0.5 - 0.5*math.Cos(math.Pi*float64(edge)/ringRamp)
		}
		burst[i] = encode(int16(math.Round(v)))
	}
	silence := make([]byte, toneFrameSize)
	for i := range silence {
		silence[i] = encode(0)
	}
	return &ringTable{burst: burst, silence: silence}
}

// ringTables holds the tables of both laws, made on first use and shared by
// every leg.
var ringTables = sync.OnceValue(func() [numClasses]*ringTable {
	var t [numClasses]*ringTable
	t[classPCMU] = newRingTable(ulaw)
	t[classPCMA] = newRingTable(alaw)
	return t
})

// ringback is a trunk phone leg's ringback: whether it is on, and its one
// goroutine, which runs while it is on and sends while the leg has no peer.
type ringback struct {
	mu      sync.Mutex
	on      bool
	running bool
	wake    chan struct{} // the goroutine looks again at on and the peer
}

// Ringback turns the ringback of trunk phone leg id on or off. While it is on
// and the leg has no peer (before Connect, or once unlinked), the gateway
// sends the browser the ringing tone in the leg's G.711 law, 20 ms a packet,
// with the leg's SSRC and numbering: Connect (early media or the answer)
// stops it at once, and the peer's audio follows on in the same stream. It
// stops when turned off or when the leg closes; the caller turns it off once
// the call is answered, so that it does not come back should the peer go.
// An unknown id gives ErrNoSuchLeg; a leg of another kind, an error.
func (g *Gateway) Ringback(id string, on bool) error {
	g.mu.Lock()
	l := g.legs[id]
	g.mu.Unlock()
	switch {
	case l == nil:
		return fmt.Errorf("ringback %s: %w", id, ErrNoSuchLeg)
	case l.kind != KindTrunkPhone:
		return fmt.Errorf("ringback %s (%s): %w", id, l.kind, errNotTrunk)
	}
	table := ringTables()[l.audio]
	l.ring.mu.Lock()
	defer l.ring.mu.Unlock()
	l.ring.on = on
	if on && !l.ring.running {
		l.ring.running = l.start(func() { l.playRingback(table) })
	}
	l.peerChanged()
	return nil
}

// peerChanged tells the leg's ringback, if it has one, to look again.
func (l *leg) peerChanged() {
	select {
	case l.ring.wake <- struct{}{}:
	default:
	}
}

// lockTracks locks the outgoing tracks of legs that have one, and returns
// what unlocks them. Connect holds the gateway's lock, so that two never
// lock tracks at once.
func lockTracks(legs ...*leg) (unlock func()) {
	for _, l := range legs {
		if l.out != nil {
			l.out.mu.Lock()
		}
	}
	return func() {
		for _, l := range legs {
			if l.out != nil {
				l.out.mu.Unlock()
			}
		}
	}
}

// ringing reports whether the ringback is on; when it is not, the goroutine
// that asks ends.
func (l *leg) ringing() bool {
	l.ring.mu.Lock()
	defer l.ring.mu.Unlock()
	if !l.ring.on || l.ctx.Err() != nil {
		l.ring.running = false
		return false
	}
	return true
}

// playRingback is the ringback's goroutine: while the leg has no peer it
// sends a frame every 20 ms, the cadence starting over each time it starts
// sending; while it has one, it waits without a timer.
func (l *leg) playRingback(table *ringTable) {
	var ticker *time.Ticker
	defer func() {
		if ticker != nil {
			ticker.Stop()
		}
	}()
	n, due, fresh := 0, false, false
	for l.ringing() {
		if l.peer.Load() != nil {
			if ticker != nil {
				ticker.Stop()
				ticker = nil
			}
			select {
			case <-l.ctx.Done():
			case <-l.ring.wake:
			}
			continue
		}
		if ticker == nil {
			ticker = time.NewTicker(toneFrame)
			n, due, fresh = 0, true, true
		}
		if due {
			if l.sendRingFrame(table.frame(n), fresh) {
				fresh = false
			}
			n = (n + 1) % ringCycleFrames
			due = false
		}
		select {
		case <-l.ctx.Done():
		case <-l.ring.wake:
		case <-ticker.C:
			due = true
		}
	}
}

// sendRingFrame sends one frame of ringback, unless the leg has a peer
// (checked under the track's lock, so that no frame follows the peer's
// first packet) or a telephone-event is being sent. fresh: the frame does
// not follow on from the last one, whatever was written since.
func (l *leg) sendRingFrame(frame []byte, fresh bool) bool {
	t := l.out
	b := t.bound.Load()
	if b == nil {
		return false
	}
	pt := b.pts[t.audio]
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.event || t.prompt || l.peer.Load() != nil {
		return false
	}
	followsOn := !fresh && t.writer == writerRing
	seq, ts, jumped := t.rw.nextLocal(toneFrameSize, followsOn, t.codec.ClockRate, time.Now())
	t.writer = writerRing
	if !t.writeLocked(b, pt, jumped, seq, ts, frame) {
		return false
	}
	l.packetsSent.Add(1)
	l.bytesSent.Add(uint64(len(frame)))
	return true
}
