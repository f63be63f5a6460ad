package media

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

// sentEvent is what a test browser saw of one telephone-event: its packets,
// in order, and where they sit among everything it received.
type sentEvent struct {
	ts            uint32
	pkts          []received
	firstAt, last int // indices in the browser's packets
}

// eventsIn groups the telephone-event packets (payload type pt) of pkts by
// timestamp.
func eventsIn(pkts []received, pt uint8) []sentEvent {
	var out []sentEvent
	for i, p := range pkts {
		if p.pt != pt {
			continue
		}
		if n := len(out); n == 0 || out[n-1].ts != p.ts {
			out = append(out, sentEvent{ts: p.ts, firstAt: i})
		}
		e := &out[len(out)-1]
		e.pkts = append(e.pkts, p)
		e.last = i
	}
	return out
}

func countEnds(pkts []received, pt uint8) int {
	n := 0
	for _, p := range pkts {
		if p.pt == pt && len(p.payload) == 4 && p.payload[1]&0x80 != 0 {
			n++
		}
	}
	return n
}

func TestSendDTMFToBrowser(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	g := newTrunkGateway(t, Config{})
	b, car := trunkCall(t, g, false, carrierOpts{}, chrome)
	car.sendCounter('C')
	waitFor(t, "the carrier's audio", func() bool { return b.countTagged('C') >= 5 })

	const eventPT = 126 // chrome's telephone-event/8000
	// Each asked duration, and what the browser must see: the duration
	// of each update (the start included), then three end packets with
	// the last one.
	wants := []struct {
		digit     rune
		d         time.Duration
		event     uint8
		durations []uint16
	}{
		{'5', 120 * time.Millisecond, 5, []uint16{400, 800, 960}},
		{'#', 0, 11, []uint16{400, 800}}, // 100 ms by default
		{'F', 30 * time.Millisecond, 16, []uint16{240}},
		{'b', 101 * time.Millisecond, 13, []uint16{400, 800, 808}},
	}
	for _, w := range wants {
		if err := g.SendDTMF("b", w.digit, w.d); err != nil {
			t.Fatalf("SendDTMF(%q): %v", w.digit, err)
		}
	}
	ends := 3 * len(wants)
	waitFor(t, "the events' end packets", func() bool { return countEnds(b.packets(nil), eventPT) >= ends })
	// Audio after the last event.
	after := b.countTagged('C')
	waitFor(t, "the carrier's audio after the events", func() bool { return b.countTagged('C') >= after+5 })

	all := b.packets(nil)
	events := eventsIn(all, eventPT)
	if len(events) != len(wants) {
		t.Fatalf("%d events, want %d", len(events), len(wants))
	}
	for i, e := range events {
		w := wants[i]
		if len(e.pkts) != len(w.durations)+3 {
			t.Fatalf("event %d: %d packets, want %d", i, len(e.pkts), len(w.durations)+3)
		}
		total := w.durations[len(w.durations)-1]
		for j, p := range e.pkts {
			if len(p.payload) != 4 {
				t.Fatalf("event %d packet %d: payload %x", i, j, p.payload)
			}
			end := j >= len(w.durations)
			dur := binary.BigEndian.Uint16(p.payload[2:])
			wantDur := total
			if !end {
				wantDur = w.durations[j]
			}
			switch {
			case p.payload[0] != w.event:
				t.Errorf("event %d packet %d: event %d, want %d", i, j, p.payload[0], w.event)
			case (p.payload[1]&0x80 != 0) != end:
				t.Errorf("event %d packet %d: end bit %v", i, j, !end)
			case p.payload[1]&0x3F != dtmfVolume:
				t.Errorf("event %d packet %d: volume %d", i, j, p.payload[1]&0x3F)
			case dur != wantDur:
				t.Errorf("event %d packet %d: duration %d, want %d", i, j, dur, wantDur)
			case p.marker != (j == 0):
				t.Errorf("event %d packet %d: marker %v", i, j, p.marker)
			}
		}
		// Nothing of the carrier's while the event is sent; its audio
		// afterwards starts past the event's end.
		for k := e.firstAt; k <= e.last; k++ {
			if all[k].pt != eventPT {
				t.Fatalf("event %d: packet %d of another type (%d) amid it", i, k, all[k].pt)
			}
		}
		if e.last+1 < len(all) {
			next := all[e.last+1]
			if int32(next.ts-(e.ts+uint32(total))) < 0 {
				t.Errorf("event %d: the packet after it is at %d, inside the event (%d + %d)", i, next.ts, e.ts, total)
			}
		}
		if e.firstAt > 0 && int32(e.ts-all[e.firstAt-1].ts) <= 0 {
			t.Errorf("event %d starts at %d, not after the packet before it (%d)", i, e.ts, all[e.firstAt-1].ts)
		}
	}
	checkStream(t, "toward the browser", all, 0)
	for i := 1; i < len(all); i++ {
		if d := int32(all[i].ts - all[i-1].ts); d < 0 {
			t.Fatalf("timestamp goes back by %d at packet %d", -d, i)
		}
	}
}

func TestSendDTMFRefused(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	g := newTrunkGateway(t, Config{})
	newClient(t, "browser", pcmuOnly).dial(g, "b", KindTrunkPhone)
	noEvents := pcmuOnly
	noEvents.event8k = 0
	newClient(t, "plain", noEvents).dial(g, "plain", KindTrunkPhone)
	newClient(t, "phone", codecsA).open(g, "phone", KindPhone)

	for _, tc := range []struct {
		name  string
		id    string
		digit rune
		d     time.Duration
		want  error // nil: any error
	}{
		{"letter", "b", 'x', 0, ErrBadDigit},
		{"E", "b", 'E', 0, ErrBadDigit},
		{"NUL", "b", 0, 0, ErrBadDigit},
		{"high rune", "b", '٣', 0, ErrBadDigit},
		{"negative duration", "b", '1', -time.Millisecond, errBadDuration},
		{"unknown leg", "nobody", '1', 0, ErrNoSuchLeg},
		{"phone leg", "phone", '1', 0, errNotTrunk},
		{"no telephone-event", "plain", '1', 0, errNoEvents},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := g.SendDTMF(tc.id, tc.digit, tc.d); !errors.Is(err, tc.want) {
				t.Fatalf("SendDTMF = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDTMFDigitsAndLengths(t *testing.T) {
	for digit, want := range map[rune]uint8{
		'0': 0, '9': 9, '*': 10, '#': 11, 'A': 12, 'd': 15, 'F': 16, 'f': 16,
	} {
		if got, ok := dtmfEvent(digit); !ok || got != want {
			t.Errorf("dtmfEvent(%q) = %d, %v; want %d", digit, got, ok, want)
		}
	}
	for _, tc := range []struct {
		in, want time.Duration
		ok       bool
	}{
		{0, 100 * time.Millisecond, true},
		{40 * time.Millisecond, 40 * time.Millisecond, true},
		{5 * time.Second, 5 * time.Second, true},
		{time.Hour, 5 * time.Second, true},
		{-1, 0, false},
	} {
		if got, ok := dtmfLength(tc.in); got != tc.want || ok != tc.ok {
			t.Errorf("dtmfLength(%v) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
