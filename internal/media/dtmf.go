package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"
)

// DTMF toward a browser: keys pressed on the carrier's side that came
// outside the RTP stream (a SIP INFO) are sent to the browser as RFC 4733
// telephone-events on the leg's own track, as if the carrier had sent them
// in band.
const (
	dtmfDefault   = 100 * time.Millisecond // an event given no duration
	dtmfMax       = 5 * time.Second        // the longest event sent
	dtmfUpdate    = 50 * time.Millisecond  // between the packets of an event (RFC 4733 §2.5.1.3)
	dtmfEnds      = 3                      // end packets sent (RFC 4733 §2.5.1.4)
	dtmfVolume    = 10                     // -10 dBm0
	dtmfQueueSize = 32                     // events waiting to be sent, at most
)

var (
	// ErrBadDigit reports a DTMF digit other than 0-9, *, #, A-D and F
	// (flash).
	ErrBadDigit = errors.New("media: not a DTMF digit")

	errBadDuration = errors.New("media: negative DTMF duration")
	errNoEvents    = errors.New("media: the browser did not negotiate telephone-event/8000")
	errNotBound    = errors.New("media: the browser is not connected yet")
	errDTMFBacklog = errors.New("media: too many DTMF events waiting")
)

// dtmfEvent is the RFC 4733 event code of a digit (§3.2): 0-9, * is 10,
// # 11, A-D 12-15 and flash (F) 16.
func dtmfEvent(digit rune) (uint8, bool) {
	switch {
	case digit >= '0' && digit <= '9':
		return uint8(digit - '0'), true
	case digit == '*':
		return 10, true
	case digit == '#':
		return 11, true
	case digit >= 'A' && digit <= 'D':
		return uint8(digit-'A') + 12, true
	case digit >= 'a' && digit <= 'd':
		return uint8(digit-'a') + 12, true
	case digit == 'F' || digit == 'f':
		return 16, true
	}
	return 0, false
}

// dtmfLength is how long an event asked to last d lasts: 100 ms for 0, at
// most 5 s; a negative d is refused.
func dtmfLength(d time.Duration) (time.Duration, bool) {
	switch {
	case d < 0:
		return 0, false
	case d == 0:
		return dtmfDefault, true
	}
	return min(d, dtmfMax), true
}

// dtmfTone is one event waiting to be sent.
type dtmfTone struct {
	event    uint8
	duration time.Duration
}

// dtmfQueue holds a leg's events waiting to be sent, one after the other,
// by one goroutine that runs while any wait.
type dtmfQueue struct {
	mu      sync.Mutex
	pending []dtmfTone
	running bool
}

// SendDTMF sends the browser of trunk phone leg id an RFC 4733
// telephone-event for digit (0-9, *, #, A-D, F for flash) lasting duration
// (0: 100 ms; at most 5 s), with the leg's telephone-event/8000 payload type
// and its SSRC and numbering. It returns once the event is queued: events
// are sent one after the other, each with a start packet (marked), an
// update every 50 ms and three end packets, all with the event's start as
// timestamp. While one is sent, what the leg's peer sends the browser is
// dropped; its audio then follows on from the event's end. A bad digit
// gives ErrBadDigit; an unknown id, ErrNoSuchLeg; a leg of another kind, a
// browser not connected yet or without telephone-event/8000, an error.
func (g *Gateway) SendDTMF(id string, digit rune, duration time.Duration) error {
	event, ok := dtmfEvent(digit)
	if !ok {
		return fmt.Errorf("send dtmf %s: %q: %w", id, digit, ErrBadDigit)
	}
	duration, ok = dtmfLength(duration)
	if !ok {
		return fmt.Errorf("send dtmf %s: %w", id, errBadDuration)
	}
	g.mu.Lock()
	l := g.legs[id]
	g.mu.Unlock()
	switch {
	case l == nil:
		return fmt.Errorf("send dtmf %s: %w", id, ErrNoSuchLeg)
	case l.kind != KindTrunkPhone:
		return fmt.Errorf("send dtmf %s (%s): %w", id, l.kind, errNotTrunk)
	}
	b := l.out.bound.Load()
	switch {
	case b == nil:
		return fmt.Errorf("send dtmf %s: %w", id, errNotBound)
	case b.pts[classEvent8k] == noPT:
		return fmt.Errorf("send dtmf %s: %w", id, errNoEvents)
	}
	q := &l.dtmf
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) >= dtmfQueueSize {
		return fmt.Errorf("send dtmf %s: %w", id, errDTMFBacklog)
	}
	q.pending = append(q.pending, dtmfTone{event: event, duration: duration})
	if !q.running {
		q.running = l.start(l.playDTMF)
	}
	return nil
}

// playDTMF sends the leg's queued events until none is left or the leg
// closes.
func (l *leg) playDTMF() {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		q := &l.dtmf
		q.mu.Lock()
		if len(q.pending) == 0 || l.ctx.Err() != nil {
			q.running = false
			q.mu.Unlock()
			return
		}
		tone := q.pending[0]
		q.pending = q.pending[1:]
		q.mu.Unlock()
		l.playEvent(tone, timer)
	}
}

// playEvent sends one event (RFC 4733 §2.5.1): packets at 0, 50, 100 ms…
// while the event lasts, each giving its duration up to the next one (or
// the end), then, at its end, three end packets with its whole duration.
func (l *leg) playEvent(tone dtmfTone, timer *time.Timer) {
	t := l.out
	total := uint16(tone.duration * g711ClockRate / time.Second)
	payload := [4]byte{tone.event, dtmfVolume}
	var ts uint32
	defer func() { t.endEvent(ts + uint32(total)) }()
	start := time.Now()
	for k := 0; time.Duration(k)*dtmfUpdate < tone.duration; k++ {
		at := time.Duration(k) * dtmfUpdate
		if k > 0 && !l.sleepUntil(timer, start.Add(at)) {
			return
		}
		upTo := min(at+dtmfUpdate, tone.duration)
		binary.BigEndian.PutUint16(payload[2:], uint16(upTo*g711ClockRate/time.Second))
		if !l.writeEvent(payload[:], k == 0, &ts) && k == 0 {
			return // never opened: nothing to end
		}
	}
	if !l.sleepUntil(timer, start.Add(tone.duration)) {
		return
	}
	payload[1] |= 0x80 // E: the end
	binary.BigEndian.PutUint16(payload[2:], total)
	for range dtmfEnds {
		l.writeEvent(payload[:], false, &ts)
	}
}

// sleepUntil waits for at, or for the leg to close (false).
func (l *leg) sleepUntil(timer *time.Timer, at time.Time) bool {
	timer.Reset(time.Until(at))
	select {
	case <-l.ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// writeEvent sends one packet of the event being sent. The first opens it:
// its timestamp (stored in ts) follows the last packet sent by the time
// elapsed, it is marked, and nothing else is written on the track until
// endEvent. The others repeat its timestamp. It reports whether the packet
// was sent.
func (l *leg) writeEvent(payload []byte, first bool, ts *uint32) bool {
	t := l.out
	b := t.bound.Load()
	if b == nil || b.pts[classEvent8k] == noPT {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.prompt {
		return false
	}
	if first {
		t.event = true
	}
	seq, at, _ := t.rw.nextLocal(0, !first, g711ClockRate, time.Now())
	if first {
		*ts = at
	}
	t.writer = writerEvent
	if !t.writeLocked(b, b.pts[classEvent8k], first, seq, *ts, payload) {
		return false
	}
	l.packetsSent.Add(1)
	l.bytesSent.Add(uint64(len(payload)))
	return true
}

// endEvent closes the event being sent: what comes next on the track, the
// peer's audio or ringback, follows on from end, the event's timestamp plus
// its duration (RFC 4733 §2.5.1.3), so that no timestamp falls inside it.
func (t *outTrack) endEvent(end uint32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.event && t.rw.started && int32(end-t.rw.lastTS) > 0 {
		t.rw.lastTS = end
		t.rw.lastSent = time.Now()
	}
	t.event = false
}
