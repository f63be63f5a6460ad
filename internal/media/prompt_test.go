package media

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/thesyncim/gopus"
)

func TestShippedPrompts(t *testing.T) {
	greeting, b := DefaultGreeting(), Beep()
	if d := greeting.Duration(); d < 3*time.Second || d > 8*time.Second {
		t.Errorf("greeting lasts %v", d)
	}
	if d := b.Duration(); !near(d, 400*time.Millisecond, 20*time.Millisecond) {
		t.Errorf("beep lasts %v, want 400ms", d)
	}
	for name, p := range map[string]*Prompt{"greeting": greeting, "beep": b} {
		if len(p.opus) == 0 || len(p.opus) != len(p.samples) {
			t.Fatalf("%s: %d Opus frames", name, len(p.opus))
		}
		for i, n := range p.samples {
			if n != recordSamples {
				t.Fatalf("%s: frame %d of %d samples, want 20 ms", name, i, n)
			}
		}
		// The Opus frames cover the sound decoded for G.711 legs.
		if d := time.Duration(len(p.opus)) * 20 * time.Millisecond; d < p.Duration() || d > p.Duration()+40*time.Millisecond {
			t.Errorf("%s: %d frames for %v of sound", name, len(p.opus), p.Duration())
		}
	}
	pcm := make([]float64, len(b.pcm))
	for i, v := range b.pcm {
		pcm[i] = float64(v)
	}
	if got := toneTime(pcm, 1000, g711ClockRate); got < 360*time.Millisecond {
		t.Errorf("the beep holds %v of 1 kHz", got)
	}
	if _, err := ParseOggOpus([]byte("OggS nonsense")); err == nil {
		t.Error("nonsense parsed")
	}
	stereo := bytes.Clone(beepOpus)
	pages, _ := readOggPages(stereo)
	if len(pages) == 0 {
		t.Fatal("no pages")
	}
	stereo[oggHeaderSize+1+9] = 2 // OpusHead's channel count: the CRC no longer holds
	if _, err := ParseOggOpus(stereo); err == nil {
		t.Error("a damaged file parsed")
	}
}

// isPrompt says whether a received packet is one of the frames of p.
func isPrompt(p *Prompt) func(received) bool {
	return func(r received) bool {
		return slices.ContainsFunc(p.opus, func(f []byte) bool { return bytes.Equal(f, r.payload) })
	}
}

func TestPlayToOpusLegHoldsTheRelay(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	g, ca, _ := bridged(t)
	waitFor(t, "b's audio reaching a", func() bool { return ca.countTagged('B') >= 5 })
	done := make(chan error, 1)
	beep := Beep()
	if err := g.Play("a", []*Prompt{beep}, func(err error) { done <- err }); err != nil {
		t.Fatal(err)
	}
	if err := g.Play("a", []*Prompt{beep}, nil); err == nil {
		t.Error("a second Play while the first plays: no error")
	}
	if err := await(t, "done", done); err != nil {
		t.Fatalf("done(%v)", err)
	}
	after := ca.countTagged('B')
	waitFor(t, "b's audio again", func() bool { return ca.countTagged('B') >= after+5 })

	all := ca.packets(nil)
	first := slices.IndexFunc(all, isPrompt(beep))
	if first < 0 {
		t.Fatal("no prompt frame received")
	}
	var got [][]byte
	for _, p := range all[first:] {
		if !isPrompt(beep)(p) {
			break
		}
		got = append(got, p.payload)
	}
	if !slices.EqualFunc(got, beep.opus, bytes.Equal) {
		t.Fatalf("received %d prompt frames in a row, want the %d of the beep", len(got), len(beep.opus))
	}
	checkStream(t, "toward a", all, 0)
	for i := first + 1; i < first+len(got); i++ {
		if d := all[i].ts - all[i-1].ts; d != recordSamples {
			t.Fatalf("prompt timestamp steps by %d", d)
		}
	}
	if !all[first].marker || !all[first+len(got)].marker {
		t.Error("the prompt's start or the relay's return is not marked")
	}
	// A frame is counted once written: the browser may have it first.
	waitFor(t, "the prompt counted", func() bool {
		s, _ := g.Stats("a")
		return s.PacketsSent >= uint64(len(got))
	})
}

func TestPlayToG711Legs(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	g := newTrunkGateway(t, Config{})
	b, car := trunkCall(t, g, false, carrierOpts{pcma: true}, opusAndPCMA)
	if err := g.Connect("b", "c"); err != nil {
		t.Fatal(err)
	}
	beep := Beep()
	frames := (len(beep.pcm) + toneFrameSize - 1) / toneFrameSize
	for _, id := range []string{"b", "c"} {
		done := make(chan error, 1)
		if err := g.Play(id, []*Prompt{beep, beep}, func(err error) { done <- err }); err != nil {
			t.Fatal(err)
		}
		if err := await(t, "done", done); err != nil {
			t.Fatalf("%s: done(%v)", id, err)
		}
	}
	// done says the gateway sent the last frame; wait until it arrived. On
	// a loaded machine a frame may find the leg's stream not ready yet and
	// not go out (the sequence has no gap then): two may be missing.
	const missing = 2
	isFrame := func(r received) bool { return len(r.payload) == toneFrameSize }
	for name, got := range map[string]func(func(received) bool) []received{"browser": b.packets, "carrier": car.packets} {
		waitFor(t, name+" receiving the prompts", func() bool { return len(got(isFrame)) >= 2*frames-missing })
	}
	for name, pkts := range map[string][]received{"browser": b.packets(nil), "carrier": car.packets(nil)} {
		var audio []received
		for _, p := range pkts {
			if len(p.payload) == toneFrameSize {
				audio = append(audio, p)
			}
		}
		if len(audio) < 2*frames-missing || len(audio) > 2*frames {
			t.Fatalf("%s received %d frames, want %d", name, len(audio), 2*frames)
		}
		checkStream(t, name, audio, toneFrameSize)
		var pcm []float64
		for _, p := range audio {
			for _, c := range p.payload {
				pcm = append(pcm, float64(alawPCM[c]))
			}
		}
		if got, want := toneTime(pcm, 1000, g711ClockRate), 2*beep.Duration(); got < want-80*time.Millisecond {
			t.Errorf("%s: %v of 1 kHz, want %v", name, got, want)
		}
	}
}

func TestPlayEndsWhenTheLegCloses(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	g := newTestGateway(t, Config{})
	a := newClient(t, "a", codecsA)
	a.dial(g, "a", KindPhone)
	done := make(chan error, 1)
	greeting := DefaultGreeting()
	if err := g.Play("a", []*Prompt{greeting, Beep()}, func(err error) { done <- err }); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the greeting starts", func() bool { return len(a.packets(isPrompt(greeting))) > 0 })
	g.CloseLeg("a")
	if err := await(t, "done", done); !errors.Is(err, ErrLegClosed) {
		t.Fatalf("done(%v), want ErrLegClosed", err)
	}
	if err := g.Play("a", []*Prompt{greeting}, nil); !errors.Is(err, ErrNoSuchLeg) {
		t.Errorf("Play to a closed leg: %v", err)
	}
}

// oggFile writes frames of a tone at hz, encoded for channels, as an Ogg
// Opus file of mapping family 0, as the recorder writes a mono one.
func oggFile(t *testing.T, channels, frames int, hz float64) []byte {
	t.Helper()
	enc, err := gopus.NewEncoder(gopus.EncoderConfig{SampleRate: opusRate, Channels: channels, Application: gopus.ApplicationAudio})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := newOggWriter(&buf, 1)
	if err := w.header(opusHead{channels: uint8(channels), preSkip: opusPreSkip, inputRate: opusRate}.marshal(), true); err != nil {
		t.Fatal(err)
	}
	if err := w.header(opusTags(), false); err != nil {
		t.Fatal(err)
	}
	pcm := make([]float32, recordSamples*channels)
	for i := range frames {
		for k := range recordSamples {
			v := float32(0.3 * math.Sin(2*math.Pi*hz*float64(i*recordSamples+k)/opusRate))
			for c := range channels {
				pcm[k*channels+c] = v
			}
		}
		pkt := make([]byte, 1500)
		n, err := enc.Encode(pcm, pkt)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.add(pkt[:n], recordSamples); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.finish(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestParseOggOpusMonoAndStereo(t *testing.T) {
	const frames = 30
	want := frames*20*time.Millisecond - opusPreSkip*time.Second/opusRate
	for _, channels := range []int{1, 2} {
		p, err := ParseOggOpus(oggFile(t, channels, frames, 1000))
		if err != nil {
			t.Fatalf("%d channels: %v", channels, err)
		}
		if len(p.opus) != frames || !near(p.Duration(), want, time.Millisecond) {
			t.Errorf("%d channels: %d frames, %v; want %d, %v", channels, len(p.opus), p.Duration(), frames, want)
		}
		pcm := make([]float64, len(p.pcm))
		for i, v := range p.pcm {
			pcm[i] = float64(v)
		}
		if got := toneTime(pcm, 1000, g711ClockRate); got < want-60*time.Millisecond {
			t.Errorf("%d channels: %v of 1 kHz in %v", channels, got, want)
		}
	}
	var buf bytes.Buffer
	w := newOggWriter(&buf, 1)
	_ = w.header(opusHead{channels: 2, preSkip: opusPreSkip, inputRate: opusRate, family: 1, streams: 2, channelMapping: []byte{0, 1}}.marshal(), true)
	_ = w.header(opusTags(), false)
	_ = w.add(opusSilence, recordSamples)
	_ = w.finish()
	if _, err := ParseOggOpus(buf.Bytes()); err == nil {
		t.Error("a two-stream file parsed as a prompt")
	}
}
