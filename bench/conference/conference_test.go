package main

import (
	"testing"
	"time"

	"github.com/thesyncim/gopus"

	"github.com/callbridge/widget-server/internal/siptest"
)

func TestOnsetsFindABurstAfterQuiet(t *testing.T) {
	o := newOnsets(g711Rate) // 30 ms of quiet: 240 samples
	quiet := make([]int16, 160)
	loud := make([]int16, 160)
	starting := make([]int16, 160)
	for i := range loud {
		loud[i] = -3000
		if i >= 100 {
			starting[i] = 3000
		}
	}
	if got := o.find(starting); got != 100 {
		t.Errorf("a burst from the start: found at %d, want 100", got)
	}
	if got := o.find(loud); got != -1 {
		t.Errorf("the burst going on: found at %d, want none", got)
	}
	o.find(quiet) // 20 ms: not quiet long enough
	if got := o.find(loud); got != -1 {
		t.Errorf("after 20 ms of quiet: found at %d, want none", got)
	}
	o.find(quiet)
	o.find(quiet)
	if got := o.find(loud); got != 0 {
		t.Errorf("after 40 ms of quiet: found at %d, want 0", got)
	}
}

func TestMatchTakesTheLatestBurstBefore(t *testing.T) {
	t0 := time.Now()
	var a, b bursts
	a.add(t0)
	b.add(t0.Add(200 * time.Millisecond))
	a.add(t0.Add(2 * time.Second))
	from := []*bursts{&a, &b}
	for _, tc := range []struct {
		heard time.Duration
		want  time.Duration
		ok    bool
	}{
		{30 * time.Millisecond, 0, true},
		{230 * time.Millisecond, 200 * time.Millisecond, true},
		{2030 * time.Millisecond, 2 * time.Second, true},
		{1500 * time.Millisecond, 0, false}, // 1.3 s after b's: too late
		{-time.Millisecond, 0, false},       // before any
	} {
		got, ok := match(from, t0.Add(tc.heard), 400*time.Millisecond)
		if ok != tc.ok || (ok && !got.Equal(t0.Add(tc.want))) {
			t.Errorf("heard at %v: %v, %v; want %v, %v", tc.heard, got.Sub(t0), ok, tc.want, tc.ok)
		}
	}
}

// Each member's cycle holds its burst in its own slot, and only there.
func TestCycleBurstInItsSlot(t *testing.T) {
	const size = 5
	dec, err := gopus.NewDecoder(gopus.DefaultDecoderConfig(opusRate, 1))
	if err != nil {
		t.Fatal(err)
	}
	for _, g711 := range []bool{false, true} {
		c, err := cycle(2, size, g711)
		if err != nil {
			t.Fatal(err)
		}
		o := newOnsets(opusRate)
		if g711 {
			o = newOnsets(g711Rate)
		}
		buf := make([]int16, 2000)
		var found []int
		for round := range 2 {
			for k, payload := range c {
				var pcm []int16
				if g711 {
					for i, b := range payload {
						buf[i] = siptest.DecodeULaw(b)
					}
					pcm = buf[:len(payload)]
				} else {
					n, err := dec.DecodeInt16(payload, buf)
					if err != nil {
						t.Fatal(err)
					}
					pcm = buf[:n]
				}
				if o.find(pcm) >= 0 && round == 1 {
					found = append(found, k)
				}
			}
		}
		if want := 2 * slotFrames(size); len(found) != 1 || found[0] != want {
			t.Errorf("g711 %v: bursts start in frames %v, want [%d]", g711, found, want)
		}
	}
}
