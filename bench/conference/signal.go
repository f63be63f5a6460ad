package main

import (
	"math"
	"sync"
	"time"

	"github.com/thesyncim/gopus"

	"github.com/callbridge/widget-server/internal/siptest"
)

// What each peer says: a burst of tone of burstFrames at the start of its
// slot of every period, silence otherwise. A conference's members have
// slots of their own (period / size), so that one speaks at a time and a
// listener can tell which burst it hears by when it hears it.
const (
	frame       = 20 * time.Millisecond
	periodLen   = 100 // frames: 2 s
	burstFrames = 3   // 60 ms
	burstHz     = 1000
	burstLevel  = 0.3 * math.MaxInt16 // about -10 dBFS
	opusRate    = 16000               // the peers encode and decode Opus at 16 kHz
	g711Rate    = 8000
	opusTicks   = 960 // RTP timestamp units of 20 ms of Opus
)

// onsetLevel is the sample magnitude a burst's start is recognised at,
// about -24 dBFS; onsetQuiet is how long before it must be quieter.
const (
	onsetLevel = 2000
	onsetQuiet = 30 * time.Millisecond
)

// slotFrames is how far apart the bursts of a conference's members are.
func slotFrames(size int) int { return periodLen / size }

// cycle is one period of what the member in slot i of a conference of
// size says, as 20 ms payloads of codec (Opus, or PCMU when g711).
func cycle(i, size int, g711 bool) ([][]byte, error) {
	rate := opusRate
	if g711 {
		rate = g711Rate
	}
	n := rate / 50
	var enc *gopus.Encoder
	if !g711 {
		var err error
		enc, err = gopus.NewEncoder(gopus.EncoderConfig{SampleRate: opusRate, Channels: 1, Application: gopus.ApplicationVoIP})
		if err != nil {
			return nil, err
		}
	}
	start := i * slotFrames(size)
	pcm := make([]int16, n)
	out := make([][]byte, periodLen)
	// Two periods through the encoder, the second kept: its state at the
	// start of the kept period is the one it has when the cycle repeats.
	for f := range 2 * periodLen {
		k := f % periodLen
		for s := range pcm {
			pcm[s] = 0
			if k >= start && k < start+burstFrames {
				pcm[s] = int16(burstLevel * math.Sin(2*math.Pi*burstHz*float64((k-start)*n+s)/float64(rate)))
			}
		}
		if f < periodLen && g711 {
			continue
		}
		var payload []byte
		if g711 {
			payload = make([]byte, n)
			for s, v := range pcm {
				payload[s] = siptest.EncodeULaw(v)
			}
		} else {
			buf := make([]byte, 1500)
			m, err := enc.EncodeInt16(pcm, buf)
			if err != nil {
				return nil, err
			}
			payload = buf[:m]
		}
		if f >= periodLen {
			out[k] = payload
		}
	}
	return out, nil
}

// onsets finds where bursts start in a listener's decoded audio: a sample
// at or above onsetLevel after at least onsetQuiet of samples below it.
type onsets struct {
	rate  int
	quiet int // samples below onsetLevel since the last one above, capped
}

func newOnsets(rate int) *onsets {
	q := int(onsetQuiet * time.Duration(rate) / time.Second)
	return &onsets{rate: rate, quiet: q}
}

// find returns the offset in pcm of the first burst start in it, or -1.
func (o *onsets) find(pcm []int16) int {
	need := int(onsetQuiet * time.Duration(o.rate) / time.Second)
	at := -1
	for i, v := range pcm {
		if v >= onsetLevel || v <= -onsetLevel {
			if o.quiet >= need && at < 0 {
				at = i
			}
			o.quiet = 0
			continue
		}
		o.quiet = min(o.quiet+1, need)
	}
	return at
}

// bursts are the send times of a peer's last two bursts.
type bursts struct {
	mu   sync.Mutex
	last [2]time.Time // newest first
}

func (b *bursts) add(at time.Time) {
	b.mu.Lock()
	b.last[1], b.last[0] = b.last[0], at
	b.mu.Unlock()
}

// before returns the latest burst sent at or before t.
func (b *bursts) before(t time.Time) (time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, at := range b.last {
		if !at.IsZero() && !at.After(t) {
			return at, true
		}
	}
	return time.Time{}, false
}

// match attributes a burst heard at heard to the speaker of from that sent
// one last before it, no more than window earlier: the time it was sent.
func match(from []*bursts, heard time.Time, window time.Duration) (time.Time, bool) {
	var best time.Time
	for _, b := range from {
		if at, ok := b.before(heard); ok && at.After(best) {
			best = at
		}
	}
	if best.IsZero() || heard.Sub(best) > window {
		return time.Time{}, false
	}
	return best, true
}
