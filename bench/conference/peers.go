package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/thesyncim/gopus"

	"github.com/callbridge/widget-server/bench/internal/bounded"
	"github.com/callbridge/widget-server/bench/internal/measure"
	"github.com/callbridge/widget-server/bench/internal/peer"
	"github.com/callbridge/widget-server/internal/media"
	"github.com/callbridge/widget-server/internal/siptest"
)

// member is one peer of a conference: its client leg, what it says, and
// what it makes of what it hears.
type member struct {
	id    string
	g711  bool
	slot  int
	cycle [][]byte
	leg   *peer.Leg
	said  bursts

	// hears are the bursts of those it hears in the current phase;
	// listeners how many hear its own.
	hears     atomic.Pointer[[]*bursts]
	listeners atomic.Int64

	// The receiving side: the leg's read goroutine only.
	dec *gopus.Decoder
	pcm []int16
	on  *onsets
	ph  *atomic.Pointer[phase]
}

// phase is what one phase of a step measures, over its window.
type phase struct {
	from, to  time.Time // the window
	grace     time.Duration
	latency   measure.Histogram // burst sent → heard
	late      measure.Histogram // how late the peers sent their packets
	heard     atomic.Uint64     // bursts sent in the window and heard
	expected  atomic.Uint64     // bursts sent in the window, once per listener
	unmatched atomic.Uint64     // onsets heard that match no burst
	sent      atomic.Uint64     // packets the peers sent in the window
	received  atomic.Uint64     // packets the peers received in the window
}

// counts reports whether t is in the window; bursts reports whether a
// burst sent at t is counted (sent early enough to be heard in it).
func (p *phase) counts(t time.Time) bool { return !t.Before(p.from) && t.Before(p.to) }
func (p *phase) bursts(t time.Time) bool { return !t.Before(p.from) && t.Before(p.to.Add(-p.grace)) }

// conference is the members of one mix, and the goroutine that sends what
// they say.
type conference struct {
	id      string
	size    int
	members []*member
}

// open opens n conferences of size members each on g, the last g711 of
// each a trunk phone leg in PCMU, the others Opus phone legs, setup at a
// time at most.
func open(ctx context.Context, g *media.Gateway, n, size, g711, setup int, ph *atomic.Pointer[phase]) ([]*conference, error) {
	cycles := map[[2]int][][]byte{}
	for i := range size {
		for _, pcmu := range []bool{false, true} {
			c, err := cycle(i, size, pcmu)
			if err != nil {
				return nil, err
			}
			cycles[[2]int{i, b2i(pcmu)}] = c
		}
	}
	var all []*member
	confs := make([]*conference, n)
	for c := range n {
		confs[c] = &conference{id: fmt.Sprintf("conf%d", c), size: size}
		for i := range size {
			m := &member{id: fmt.Sprintf("conf%d-%d", c, i), g711: i >= size-g711, slot: i, ph: ph}
			m.cycle = cycles[[2]int{i, b2i(m.g711)}]
			confs[c].members = append(confs[c].members, m)
			all = append(all, m)
		}
	}
	var mu sync.Mutex
	var firstErr error
	bounded.Do(len(all), setup, func(i int) {
		if err := all[i].open(ctx, g); err != nil {
			mu.Lock()
			if firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
		}
	})
	if firstErr != nil {
		closeAll(confs)
		return nil, firstErr
	}
	return confs, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// open connects the member's client to a leg of its own on g.
func (m *member) open(ctx context.Context, g *media.Gateway) error {
	codec, kind, rate := peer.Opus, media.KindPhone, opusRate
	if m.g711 {
		codec, kind, rate = peer.PCMU, media.KindTrunkPhone, g711Rate
	} else {
		dec, err := gopus.NewDecoder(gopus.DefaultDecoderConfig(opusRate, 1))
		if err != nil {
			return err
		}
		m.dec = dec
	}
	m.pcm = make([]int16, 120*opusRate/1000)
	m.on = newOnsets(rate)
	leg, offer, err := peer.NewWith(codec, nil, m.receive)
	if err != nil {
		return fmt.Errorf("peer %s: %w", m.id, err)
	}
	m.leg = leg
	answer, err := g.OpenLeg(ctx, m.id, offer, kind)
	if err != nil {
		return fmt.Errorf("leg %s: %w", m.id, err)
	}
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := leg.Answer(cctx, answer); err != nil {
		return fmt.Errorf("peer %s: %w", m.id, err)
	}
	return nil
}

// receive is called for each packet the member's client receives: it
// decodes it, looks for a burst's start, and times it.
func (m *member) receive(payload []byte, at time.Time) {
	ph := m.ph.Load()
	if ph == nil {
		return
	}
	if ph.counts(at) {
		ph.received.Add(1)
	}
	var pcm []int16
	rate := opusRate
	if m.dec != nil {
		n, err := m.dec.DecodeInt16(payload, m.pcm)
		if err != nil {
			return
		}
		pcm = m.pcm[:n]
	} else {
		rate = g711Rate
		for i, b := range payload[:min(len(payload), len(m.pcm))] {
			m.pcm[i] = siptest.DecodeULaw(b)
		}
		pcm = m.pcm[:min(len(payload), len(m.pcm))]
	}
	i := m.on.find(pcm)
	if i < 0 {
		return
	}
	heard := at.Add(time.Duration(i) * time.Second / time.Duration(rate))
	hears := m.hears.Load()
	if hears == nil {
		return
	}
	sent, ok := match(*hears, heard, ph.grace)
	switch {
	case !ok:
		if ph.counts(at) {
			ph.unmatched.Add(1)
		}
	case ph.bursts(sent):
		ph.heard.Add(1)
		ph.latency.Add(heard.Sub(sent))
	}
}

// send is the conference's sending goroutine: every member's frame each
// 20 ms from start, on a clock that does not drift, until stop closes.
func (c *conference) send(start time.Time, ph *atomic.Pointer[phase], stop <-chan struct{}) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	slot := slotFrames(c.size)
	for n := 0; ; n++ {
		due := start.Add(time.Duration(n) * frame)
		timer.Reset(time.Until(due))
		select {
		case <-stop:
			return
		case <-timer.C:
		}
		k := n % periodLen
		p := ph.Load()
		if now := time.Now(); p != nil && p.counts(now) {
			p.late.Add(now.Sub(due))
		}
		for _, m := range c.members {
			now := time.Now()
			if k == m.slot*slot {
				m.said.add(now)
				if p != nil && p.bursts(now) {
					p.expected.Add(uint64(m.listeners.Load()))
				}
			}
			if m.leg.Send(m.cycle[k]) && p != nil && p.counts(now) {
				p.sent.Add(1)
			}
		}
	}
}

// closeAll closes every member's client.
func closeAll(confs []*conference) {
	for _, c := range confs {
		for _, m := range c.members {
			if m.leg != nil {
				m.leg.Close()
			}
		}
	}
}
