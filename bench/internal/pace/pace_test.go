package pace

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestStampRoundTrip(t *testing.T) {
	buf := make([]byte, 160)
	sent := time.Unix(1796408928, 869694000)
	Stamp(buf, sent, 4242, 7)
	got, counter, step, ok := Unstamp(buf)
	if !ok || !got.Equal(sent) || counter != 4242 || step != 7 {
		t.Errorf("Unstamp = %v %d %d %v, want %v 4242 7 true", got, counter, step, ok, sent)
	}
	if _, _, _, ok := Unstamp(buf[:MinPayload-1]); ok {
		t.Error("a payload too short to hold the stamp was read")
	}
}

func TestPacerCountsByStep(t *testing.T) {
	p := New(1, 160)
	st := p.Begin(2)
	buf := make([]byte, 160)
	now := time.Now()
	for _, c := range []struct {
		step uint32
		rtt  time.Duration
	}{{2, 3 * time.Millisecond}, {2, time.Millisecond}, {0, time.Millisecond}, {3, time.Millisecond}, {99, time.Millisecond}} {
		Stamp(buf, now.Add(-c.rtt), 0, c.step)
		p.Received(buf, now)
	}
	p.Received(buf[:4], now)
	if n := st.Received.Load(); n != 2 {
		t.Errorf("step 2 received %d packets, want 2 (warm-up, other steps and short payloads are not its)", n)
	}
	if s := st.Latency.Summary(); s.MaxMs != 3 {
		t.Errorf("latency max %v ms, want 3", s.MaxMs)
	}
}

func TestFigures(t *testing.T) {
	for _, c := range []struct {
		sent, recv uint64
		want       float64
	}{{0, 0, 0}, {1000, 1000, 0}, {1000, 1001, 0}, {1000, 999, 0.1}, {3, 2, 33.333}} {
		if got := LossPct(c.sent, c.recv); got != c.want {
			t.Errorf("LossPct(%d, %d) = %v, want %v", c.sent, c.recv, got, c.want)
		}
	}
	var st StepStats
	st.Sent.Store(1001)
	st.Received.Store(999)
	if f := st.Figures(2); f.SentPPS != 501 || f.ReceivedPPS != 500 || f.LossPct != 0.2 {
		t.Errorf("Figures(2) = %+v", f)
	}
}

// echo sends every packet straight back to the pacer, as a carrier's echo
// does, and says when it has seen n.
type echo struct {
	p    *Pacer
	mu   sync.Mutex
	seen map[uint32]int // packets by step
	want int
	done chan struct{}
}

func (e *echo) Send(payload []byte) bool {
	_, _, step, _ := Unstamp(payload)
	e.p.Received(payload, time.Now())
	e.mu.Lock()
	defer e.mu.Unlock()
	e.seen[step]++
	if e.seen[step] == e.want {
		close(e.done)
	}
	return true
}

// TestShardsSendFromEveryLeg: legs spread over two shards each send, and
// what they send while a step is counted is counted for it.
func TestShardsSendFromEveryLeg(t *testing.T) {
	p := New(2, 80)
	legs := make([]*echo, 5)
	for i := range legs {
		legs[i] = &echo{p: p, seen: map[uint32]int{}, want: 3, done: make(chan struct{})}
		p.Add(legs[i])
	}
	st := p.Begin(1)
	stop := p.Start(context.Background())
	for _, l := range legs {
		<-l.done
	}
	stop()
	if s, r := st.Sent.Load(), st.Received.Load(); s < 15 || r != s {
		t.Errorf("sent %d, received %d: want at least 15, all back", s, r)
	}
	for i, sh := range p.shards {
		n := 0
		for _, s := range sh.slots {
			n += len(s)
		}
		if want := []int{3, 2}[i]; n != want {
			t.Errorf("shard %d holds %d legs, want %d", i, n, want)
		}
	}
}
