package media

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/thesyncim/gopus"
)

// Tones for the recording tests: leg A says 440 Hz, leg B 1 kHz.
const (
	toneA = 440
	toneB = 1000
)

// opusTone encodes n 20 ms frames of a sine at hz, -10 dBFS, as a browser
// would send them, followed by quiet frames of silence: those make sure
// every frame of tone is received before the test looks at the count.
func opusTone(t testing.TB, hz float64, n, quiet int) [][]byte {
	t.Helper()
	enc, err := gopus.NewEncoder(gopus.EncoderConfig{SampleRate: opusRate, Channels: 1, Application: gopus.ApplicationVoIP})
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]float32, recordSamples)
	var out [][]byte
	for i := range n + quiet {
		for k := range pcm {
			pcm[k] = 0
			if i < n {
				pcm[k] = float32(0.3 * math.Sin(2*math.Pi*hz*float64(i*recordSamples+k)/opusRate))
			}
		}
		buf := make([]byte, 1500)
		m, err := enc.Encode(pcm, buf)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, buf[:m])
	}
	return out
}

// g711Tone is opusTone in a G.711 law.
func g711Tone(hz float64, n, quiet int, encode func(int16) byte) [][]byte {
	var out [][]byte
	for i := range n + quiet {
		f := make([]byte, recordPCMFrame)
		for k := range f {
			v := 0.0
			if i < n {
				v = 0.3 * math.MaxInt16 * math.Sin(2*math.Pi*hz*float64(i*recordPCMFrame+k)/g711ClockRate)
			}
			f[k] = encode(int16(math.Round(v)))
		}
		out = append(out, f)
	}
	return out
}

// sendFrames makes the client send frames of class cl, one every 20 ms; the
// channel closes once all are sent.
func (c *client) sendFrames(cl codecClass, frames [][]byte) <-chan struct{} {
	done := make(chan struct{})
	c.start(func() {
		defer close(done)
		ticker := time.NewTicker(20 * time.Millisecond)
		defer ticker.Stop()
		for i := 0; i < len(frames); {
			select {
			case <-c.ctx.Done():
				return
			case <-ticker.C:
			}
			if c.track.send(cl, frames[i]) {
				i++
			}
		}
	})
	return done
}

// sendFrames is the carrier's: PCMU frames, one every 20 ms.
func (c *carrier) sendFrames(frames [][]byte) <-chan struct{} {
	done := make(chan struct{})
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer close(done)
		ticker := time.NewTicker(20 * time.Millisecond)
		defer ticker.Stop()
		for _, f := range frames {
			select {
			case <-c.stop:
				return
			case <-ticker.C:
			}
			c.send(c.pcmu, f, true)
		}
	}()
	return done
}

// sendDigit sends a key press as RFC 4733 events: a marked start packet,
// an update, and three end packets, all with one timestamp.
func (c *client) sendDigit(t testing.TB, code uint8) {
	t.Helper()
	for i, p := range [][]byte{
		{code, 10, 0, 160}, {code, 10, 0x01, 0x40},
		{code, 0x80 | 10, 0x01, 0x90}, {code, 0x80 | 10, 0x01, 0x90}, {code, 0x80 | 10, 0x01, 0x90},
	} {
		if !c.track.send(classEvent8k, p) {
			t.Fatalf("event packet %d not sent", i)
		}
	}
}

// await waits for a value on ch, failing the test after patience.
func await[T any](t testing.TB, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(patience):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}

// waitReceived waits until leg id has received at least n packets.
func waitReceived(t testing.TB, g *Gateway, id string, n uint64) {
	t.Helper()
	waitFor(t, "leg "+id+" receives its packets", func() bool {
		s, _ := g.Stats(id)
		return s.PacketsReceived >= n
	})
}

// goertzel is the power of frequency hz in x, sampled at rate.
func goertzel(x []float64, hz, rate float64) float64 {
	w := 2 * math.Cos(2*math.Pi*hz/rate)
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = v+w*s1-s2, s1
	}
	return s1*s1 + s2*s2 - w*s1*s2
}

// toneTime is how long x (at rate) carries hz: the 20 ms blocks loud
// enough (above -30 dBFS) whose power lies mostly at hz.
func toneTime(x []float64, hz, rate float64) time.Duration {
	n, _ := toneBlocks(x, hz, rate)
	return time.Duration(n) * 20 * time.Millisecond
}

// toneBlocks counts the 20 ms blocks of x that carry hz, and the runs
// they make: a gap in what a leg sent (a sender late on a loaded machine)
// is silence in a recording, and the block after it decodes with the
// decoder's ramp, which may not count.
func toneBlocks(x []float64, hz, rate float64) (n, runs int) {
	block := int(rate / 50)
	in := false
	for i := 0; i+block <= len(x); i += block {
		b := x[i : i+block]
		var energy float64
		for _, v := range b {
			energy += v * v
		}
		rms := math.Sqrt(energy / float64(block))
		// Goertzel's power over a block is about (N/2)² A²/… : compare
		// against the energy as a pure tone of that RMS would give.
		tone := rms > 0.03*math.MaxInt16 && goertzel(b, hz, rate) > 0.5*energy*float64(block)/2
		if tone {
			n++
			if !in {
				runs++
			}
		}
		in = tone
	}
	return n, runs
}

// toneNear reports whether x carries hz for want, within 100 ms, and
// says for how long and in how many runs: each gap in a tone (its sender
// late on a loaded machine) may cost a block at its end.
func toneNear(x []float64, hz, rate float64, want time.Duration) (time.Duration, int, bool) {
	n, runs := toneBlocks(x, hz, rate)
	got := time.Duration(n) * 20 * time.Millisecond
	return got, runs, got <= want+100*time.Millisecond && got >= want-100*time.Millisecond-time.Duration(runs)*20*time.Millisecond
}

func near(got, want, tolerance time.Duration) bool {
	return got >= want-tolerance && got <= want+tolerance
}

// checkOgg checks a recorded Ogg Opus file page by page and decodes it: it
// returns each channel's samples at 48 kHz, pre-skip removed and cut at the
// last granule position.
func checkOgg(t *testing.T, data []byte, channels int) [][]float64 {
	t.Helper()
	pages, err := readOggPages(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) < 3 {
		t.Fatalf("%d pages", len(pages))
	}
	var last uint64
	for i, p := range pages {
		switch {
		case !p.crcOK:
			t.Fatalf("page %d: bad CRC", i)
		case p.seq != uint32(i):
			t.Fatalf("page %d has sequence number %d", i, p.seq)
		case p.serial != pages[0].serial:
			t.Fatalf("page %d of another stream", i)
		case (p.flags&oggFlagBOS != 0) != (i == 0):
			t.Fatalf("page %d: BOS flag %v", i, p.flags&oggFlagBOS != 0)
		case (p.flags&oggFlagEOS != 0) != (i == len(pages)-1):
			t.Fatalf("page %d: EOS flag %v", i, p.flags&oggFlagEOS != 0)
		case i < 2 && (p.granule != 0 || len(p.lacing) != 1):
			t.Fatalf("header page %d: granule %d, %d segments", i, p.granule, len(p.lacing))
		case i >= 2 && p.granule < last:
			t.Fatalf("page %d: granule position %d after %d", i, p.granule, last)
		}
		last = p.granule
	}
	packets, err := oggPackets(pages)
	if err != nil {
		t.Fatal(err)
	}
	head, err := parseOpusHead(packets[0])
	if err != nil {
		t.Fatal(err)
	}
	want := opusHead{channels: uint8(channels), preSkip: opusPreSkip, inputRate: opusRate}
	if channels == 2 {
		want.family, want.streams, want.coupled, want.channelMapping = 1, 2, 0, []byte{0, 1}
	}
	if head.channels != want.channels || head.preSkip != want.preSkip || head.inputRate != want.inputRate ||
		head.family != want.family || head.streams != want.streams || head.coupled != want.coupled ||
		!slices.Equal(head.channelMapping, want.channelMapping) || packets[0][8] != 1 {
		t.Fatalf("OpusHead %+v, want %+v", head, want)
	}
	if string(packets[1][:8]) != "OpusTags" {
		t.Fatalf("second packet %q", packets[1][:8])
	}
	var total uint64
	for _, p := range packets[2:] {
		total += recordSamples
		_ = p
	}
	if total != last {
		t.Fatalf("last granule position %d, packets hold %d samples", last, total)
	}

	dec, err := gopus.NewMultistreamDecoder(opusRate, channels, max(1, int(head.streams)), int(head.coupled), []byte{0, 1}[:channels])
	if err != nil {
		t.Fatal(err)
	}
	out := make([][]float64, channels)
	buf := make([]int16, 5760*channels)
	for i, p := range packets[2:] {
		n, err := dec.DecodeInt16(p, buf)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		for k := range n * channels {
			out[k%channels] = append(out[k%channels], float64(buf[k]))
		}
	}
	for c := range out {
		out[c] = out[c][opusPreSkip:last]
	}
	return out
}

// readWAV checks a recorded WAV header and returns each channel's samples.
func readWAV(t *testing.T, data []byte, channels int) [][]float64 {
	t.Helper()
	if len(data) < wavHeaderSize {
		t.Fatalf("WAV of %d bytes", len(data))
	}
	size := binary.LittleEndian.Uint32(data[40:])
	if want := wavHeader(channels, g711ClockRate, size); string(data[:wavHeaderSize]) != string(want) {
		t.Fatalf("WAV header %x, want %x", data[:wavHeaderSize], want)
	}
	if int(size) != len(data)-wavHeaderSize {
		t.Fatalf("WAV data size %d, file holds %d", size, len(data)-wavHeaderSize)
	}
	out := make([][]float64, channels)
	for i := wavHeaderSize; i+1 < len(data); i += 2 {
		k := (i - wavHeaderSize) / 2
		out[k%channels] = append(out[k%channels], float64(int16(binary.LittleEndian.Uint16(data[i:]))))
	}
	return out
}

// onStop returns an OnStop that hands the result over, and the channel.
func onStop() (func(RecordResult), <-chan RecordResult) {
	ch := make(chan RecordResult, 1)
	return func(r RecordResult) { ch <- r }, ch
}

// phonePair opens Opus legs a and b, connected, neither sending yet.
func phonePair(t *testing.T) (*Gateway, *client, *client) {
	t.Helper()
	g := newTestGateway(t, Config{})
	ca := newClient(t, "a", codecsA)
	cb := newClient(t, "b", codecsB)
	ca.dial(g, "a", KindPhone)
	cb.dial(g, "b", KindPhone)
	if err := g.Connect("a", "b"); err != nil {
		t.Fatal(err)
	}
	return g, ca, cb
}

func TestRecordTwoOpusLegsInOneStereoFile(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	g, ca, cb := phonePair(t)
	path := filepath.Join(t.TempDir(), "call.ogg")
	stop, stopped := onStop()
	if err := g.Record("r1", RecordOptions{Path: path, Legs: []string{"a", "b"}, OnStop: stop}); err != nil {
		t.Fatal(err)
	}
	const frames, quiet = 50, 5
	sentA := ca.sendFrames(classOpus, opusTone(t, toneA, frames, quiet))
	sentB := cb.sendFrames(classOpus, opusTone(t, toneB, frames, quiet))
	await(t, "a's tone sent", sentA)
	await(t, "b's tone sent", sentB)
	waitReceived(t, g, "a", frames+quiet)
	waitReceived(t, g, "b", frames+quiet)
	// Forwarding goes on while recording: b heard a.
	if n := len(cb.packets(nil)); n < frames {
		t.Errorf("b received %d packets of a's %d", n, frames)
	}

	res, err := g.StopRecording("r1")
	if err != nil {
		t.Fatal(err)
	}
	if got := await(t, "OnStop", stopped); got != res {
		t.Errorf("OnStop got %+v, StopRecording %+v", got, res)
	}
	if _, err := g.StopRecording("r1"); !errors.Is(err, ErrNoSuchRecording) {
		t.Errorf("second StopRecording: %v, want ErrNoSuchRecording", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if res.Reason != RecordStopped || res.ContentType != ContentTypeOgg || res.Bytes != int64(len(data)) || res.Err != nil {
		t.Fatalf("result %+v; file of %d bytes", res, len(data))
	}
	ch := checkOgg(t, data, 2)
	if d := time.Duration(len(ch[0])) * time.Second / opusRate; d != res.Duration {
		t.Errorf("file plays %v, result says %v", d, res.Duration)
	}
	sent := frames * 20 * time.Millisecond
	t.Logf("file of %v: left %v of %v Hz, right %v of %v Hz; %d dropped", res.Duration,
		toneTime(ch[0], toneA, opusRate), toneA, toneTime(ch[1], toneB, opusRate), toneB, res.Dropped)
	for _, c := range []struct {
		name       string
		x          []float64
		want, not  float64
		wantLength time.Duration
	}{{"left", ch[0], toneA, toneB, sent}, {"right", ch[1], toneB, toneA, sent}} {
		if got, runs, ok := toneNear(c.x, c.want, opusRate, c.wantLength); !ok {
			t.Errorf("%s channel: %v of %v Hz in %d runs, want %v", c.name, got, c.want, runs, c.wantLength)
		}
		if got := toneTime(c.x, c.not, opusRate); got != 0 {
			t.Errorf("%s channel: %v of %v Hz, the other leg's", c.name, got, c.not)
		}
	}
	if res.Duration < sent {
		t.Errorf("file of %v holds less than the %v sent", res.Duration, sent)
	}
}

func TestRecordG711LegsInStereoWAV(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	g := newTrunkGateway(t, Config{})
	b, car := trunkCall(t, g, false, carrierOpts{}, pcmuOnly)
	path := filepath.Join(t.TempDir(), "call.wav")
	stop, stopped := onStop()
	if err := g.Record("r2", RecordOptions{Path: path, Legs: []string{"b", "c"}, OnStop: stop}); err != nil {
		t.Fatal(err)
	}
	const frames, quiet = 50, 5
	sentB := b.sendFrames(classPCMU, g711Tone(toneA, frames, quiet, ulaw))
	sentC := car.sendFrames(g711Tone(toneB, frames, quiet, ulaw))
	await(t, "the browser's tone sent", sentB)
	await(t, "the carrier's tone sent", sentC)
	waitReceived(t, g, "b", frames+quiet)
	waitReceived(t, g, "c", frames+quiet)
	res, err := g.StopRecording("r2")
	if err != nil {
		t.Fatal(err)
	}
	await(t, "OnStop", stopped)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if res.Reason != RecordStopped || res.ContentType != ContentTypeWAV || res.Bytes != int64(len(data)) || res.Err != nil {
		t.Fatalf("result %+v; file of %d bytes", res, len(data))
	}
	ch := readWAV(t, data, 2)
	if d := time.Duration(len(ch[0])) * time.Second / g711ClockRate; d != res.Duration {
		t.Errorf("file plays %v, result says %v", d, res.Duration)
	}
	sent := frames * 20 * time.Millisecond
	t.Logf("file of %v: left %v of %v Hz, right %v of %v Hz", res.Duration,
		toneTime(ch[0], toneA, g711ClockRate), toneA, toneTime(ch[1], toneB, g711ClockRate), toneB)
	if got, runs, ok := toneNear(ch[0], toneA, g711ClockRate, sent); !ok {
		t.Errorf("left: %v of the browser's tone in %d runs, want %v", got, runs, sent)
	}
	if got, runs, ok := toneNear(ch[1], toneB, g711ClockRate, sent); !ok {
		t.Errorf("right: %v of the carrier's tone in %d runs, want %v", got, runs, sent)
	}
	if toneTime(ch[0], toneB, g711ClockRate) != 0 || toneTime(ch[1], toneA, g711ClockRate) != 0 {
		t.Error("a channel holds the other leg's tone")
	}
}

func TestRecordMixedCodecsRefused(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	g := newTrunkGateway(t, Config{})
	trunkCall(t, g, false, carrierOpts{}, pcmuOnly)
	a := newClient(t, "a", codecsA)
	a.dial(g, "a", KindPhone)
	path := filepath.Join(t.TempDir(), "x")
	if err := g.Record("r", RecordOptions{Path: path, Legs: []string{"a", "b"}}); !errors.Is(err, ErrCodecMismatch) {
		t.Errorf("Opus and G.711: %v, want ErrCodecMismatch", err)
	}
	if err := g.Record("r", RecordOptions{Path: path, Legs: []string{"a", "nope"}}); !errors.Is(err, ErrNoSuchLeg) {
		t.Errorf("unknown leg: %v, want ErrNoSuchLeg", err)
	}
	if err := g.Record("r", RecordOptions{Path: path}); err == nil {
		t.Error("no legs: no error")
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused recording left a file: %v", err)
	}
	if err := g.Record("r", RecordOptions{Path: path, Legs: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	if err := g.Record("r3", RecordOptions{Path: path + "3", Legs: []string{"a"}}); err == nil {
		t.Error("a leg recorded twice at once")
	}
	if err := g.SetRecordingLegs("r", []string{"b"}); !errors.Is(err, ErrCodecMismatch) {
		t.Errorf("SetRecordingLegs to a G.711 leg: %v", err)
	}
	if _, err := g.StopRecording("r"); err != nil {
		t.Fatal(err)
	}
}

// TestRecordVoicemail records one leg with no peer, as voicemail does:
// pause and resume leave the paused time out, '#' ends the recording.
func TestRecordVoicemailPauseAndDigit(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	g := newTestGateway(t, Config{})
	a := newClient(t, "a", codecsA)
	a.dial(g, "a", KindPhone)
	path := filepath.Join(t.TempDir(), "vm.ogg")
	stop, stopped := onStop()
	var mu sync.Mutex
	var digits []rune
	start := time.Now()
	err := g.Record("vm", RecordOptions{Path: path, Legs: []string{"a"}, StopDigits: "#", OnStop: stop,
		OnDigit: func(d rune) { mu.Lock(); digits = append(digits, d); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	const part = 25
	tone := opusTone(t, toneA, 3*part, 0)
	await(t, "first part sent", a.sendFrames(classOpus, tone[:part]))
	waitReceived(t, g, "a", part)
	pausedAt := time.Now()
	if err := g.PauseRecording("vm", true); err != nil {
		t.Fatal(err)
	}
	await(t, "second part sent", a.sendFrames(classOpus, tone[part:2*part]))
	waitReceived(t, g, "a", 2*part)
	resumedAt := time.Now()
	if err := g.PauseRecording("vm", false); err != nil {
		t.Fatal(err)
	}
	await(t, "third part sent", a.sendFrames(classOpus, append(tone[2*part:], opusTone(t, 0, 0, 3)...)))
	waitReceived(t, g, "a", 3*part+3)
	a.sendDigit(t, 5) // '5'
	a.sendDigit(t, 11)
	end := time.Now()
	res := await(t, "OnStop", stopped)
	if res.Reason != RecordDigit || res.Err != nil {
		t.Fatalf("result %+v, want Reason Digit", res)
	}
	mu.Lock()
	got := string(digits)
	mu.Unlock()
	if got != "5#" {
		t.Errorf("OnDigit got %q, want \"5#\"", got)
	}
	if _, err := g.StopRecording("vm"); !errors.Is(err, ErrNoSuchRecording) {
		t.Errorf("StopRecording after the digit: %v", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ch := checkOgg(t, data, 1)
	want := end.Sub(start) - resumedAt.Sub(pausedAt)
	t.Logf("recording of %v (%v less %v paused), %v of tone", res.Duration, end.Sub(start), resumedAt.Sub(pausedAt), toneTime(ch[0], toneA, opusRate))
	if !near(res.Duration, want, 100*time.Millisecond) {
		t.Errorf("recording of %v, want %v (%v less the %v paused)", res.Duration, want, end.Sub(start), resumedAt.Sub(pausedAt))
	}
	if got, runs, ok := toneNear(ch[0], toneA, opusRate, 2*part*20*time.Millisecond); !ok {
		t.Errorf("%v of tone in %d runs, want %v: what was sent while paused is left out", got, runs, 2*part*20*time.Millisecond)
	}
}

func TestRecordStopsAtLimitAndWhenLegsClose(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	g := newTrunkGateway(t, Config{})
	trunkCall(t, g, false, carrierOpts{}, pcmuOnly)
	dir := t.TempDir()

	stop, stopped := onStop()
	if err := g.Record("lim", RecordOptions{Path: filepath.Join(dir, "lim.wav"), Legs: []string{"c"}, MaxDuration: 300 * time.Millisecond, OnStop: stop}); err != nil {
		t.Fatal(err)
	}
	res := await(t, "OnStop at the limit", stopped)
	if res.Reason != RecordLimit || res.Duration != 300*time.Millisecond || res.Bytes != wavHeaderSize+300*8*2 {
		t.Errorf("result %+v, want Limit after 300ms", res)
	}
	if _, err := g.StopRecording("lim"); !errors.Is(err, ErrNoSuchRecording) {
		t.Errorf("StopRecording after the limit: %v", err)
	}

	stop, stopped = onStop()
	if err := g.Record("closed", RecordOptions{Path: filepath.Join(dir, "closed.wav"), Legs: []string{"b", "c"}, OnStop: stop}); err != nil {
		t.Fatal(err)
	}
	g.CloseLeg("c")
	// One leg left: the recording goes on, with silence on the right.
	if err := g.SetRecordingLegs("closed", []string{"b", "c"}); err != nil {
		t.Fatal(err)
	}
	g.CloseLeg("b")
	res = await(t, "OnStop once the legs closed", stopped)
	if res.Reason != RecordLegClosed || res.Err != nil {
		t.Errorf("result %+v, want LegClosed", res)
	}
}

// fullDisk is a file that takes limit bytes, then fails as a full disk does.
type fullDisk struct {
	*os.File
	limit int64
}

func (f *fullDisk) Write(b []byte) (int, error) {
	off, err := f.Seek(0, 1)
	if err != nil {
		return 0, err
	}
	if off+int64(len(b)) <= f.limit {
		return f.File.Write(b)
	}
	n, _ := f.File.Write(b[:max(0, f.limit-off)])
	return n, &fs.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
}

func TestRecordDiskFullKeepsWhatWasWritten(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	// The headers (101 bytes) and the first second of silence (a page
	// of 227 bytes) fit; the next page does not.
	const limit, kept = 400, 328
	create := createRecordFile
	createRecordFile = func(path string) (recordFile, error) {
		f, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		return &fullDisk{File: f, limit: limit}, nil
	}
	t.Cleanup(func() { createRecordFile = create })

	g := newTestGateway(t, Config{})
	a := newClient(t, "a", codecsA)
	a.dial(g, "a", KindPhone)
	path := filepath.Join(t.TempDir(), "full.ogg")
	stop, stopped := onStop()
	if err := g.Record("full", RecordOptions{Path: path, Legs: []string{"a"}, OnStop: stop}); err != nil {
		t.Fatal(err)
	}
	res := await(t, "OnStop on the full disk", stopped)
	if !errors.Is(res.Err, syscall.ENOSPC) || res.Reason != RecordStopped {
		t.Fatalf("result %+v, want ENOSPC", res)
	}
	data, err := os.ReadFile(path)
	if err != nil || len(data) != kept || res.Bytes != kept {
		t.Fatalf("file of %d bytes (%v), result says %d; want %d", len(data), err, res.Bytes, kept)
	}
	pages, err := readOggPages(data)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pages {
		if !p.crcOK {
			t.Fatalf("page %d: bad CRC", i)
		}
	}
	if want := time.Second - opusPreSkip*time.Second/opusRate; len(pages) != 3 || res.Duration != want {
		t.Errorf("%d pages, %v; want 3 pages, %v", len(pages), res.Duration, want)
	}
}

// tapped is pair with a recording's tap on the sending leg.
func tapped(t testing.TB) (*leg, *source, *recordTap, []byte) {
	from, s, _ := pair(codecList(111, 126, 0), codecList(109, 101, 0))
	r := &recording{opus: true, events: make(chan recEvent, recordEvents)}
	tap := newRecordTap(r, from)
	from.rec.Store(tap)
	return from, s, tap, packet(t, 111, 1, 960, 42, make([]byte, 80))
}

// The forwarding path hands packets to a recording without allocating, and
// drops (counting) what a recording that falls behind has no room for.
func TestRecordTapAllocatesNothingAndDropsWhenFull(t *testing.T) {
	from, s, tap, pkt := tapped(t)
	allocs := testing.AllocsPerRun(1000, func() {
		from.forwardPacket(s, pkt)
		tap.free <- <-tap.queue // the recording takes it
	})
	if allocs != 0 {
		t.Errorf("%v allocations a packet", allocs)
	}
	for range recordQueue + 5 {
		from.forwardPacket(s, pkt)
	}
	if len(tap.queue) != recordQueue || tap.dropped.Load() != 5 {
		t.Errorf("queue %d, dropped %d; want %d and 5", len(tap.queue), tap.dropped.Load(), recordQueue)
	}
	if st := from.stats(); st.PacketsReceived < recordQueue+5 {
		t.Errorf("forwarding stopped counting: %+v", st)
	}
}

// BenchmarkForwardRecorded is BenchmarkForward with the leg recorded.
func BenchmarkForwardRecorded(b *testing.B) {
	from, s, tap, pkt := tapped(b)
	b.ReportAllocs()
	for b.Loop() {
		from.forwardPacket(s, pkt)
		tap.free <- <-tap.queue
	}
}

// TestRecordAcrossHoldAndTransfer: a held leg gives silence and the
// timeline goes on; a transfer's new party takes the channel of the one it
// replaced.
func TestRecordAcrossHoldAndTransfer(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	g, ca, cb := phonePair(t)
	const part = 25
	const toneC = 700
	toneOfA, toneOfB, toneOfC := opusTone(t, toneA, 2*part, 0), opusTone(t, toneB, 500, 0), opusTone(t, toneC, part, 3)
	path := filepath.Join(t.TempDir(), "transfer.ogg")
	stop, stopped := onStop()
	if err := g.Record("rt", RecordOptions{Path: path, Legs: []string{"a", "b"}, OnStop: stop}); err != nil {
		t.Fatal(err)
	}
	cb.sendFrames(classOpus, toneOfB) // b talks all along
	await(t, "a's first words", ca.sendFrames(classOpus, toneOfA[:part]))
	waitReceived(t, g, "a", part)
	g.SetForward("a", false) // hold: nothing of a is recorded
	await(t, "a's words on hold", ca.sendFrames(classOpus, toneOfA[part:]))
	waitReceived(t, g, "a", 2*part)

	cc := newClient(t, "c", codecsA)
	cc.dial(g, "c", KindPhone)
	if err := g.Connect("c", "b"); err != nil {
		t.Fatal(err)
	}
	if err := g.SetRecordingLegs("rt", []string{"c", "b"}); err != nil {
		t.Fatal(err)
	}
	g.CloseLeg("a")
	await(t, "c's words", cc.sendFrames(classOpus, toneOfC))
	waitReceived(t, g, "c", part+3)
	fromB, _ := g.Stats("b") // b began after Record
	res, err := g.StopRecording("rt")
	if err != nil {
		t.Fatal(err)
	}
	await(t, "OnStop", stopped)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ch := checkOgg(t, data, 2)
	sent := part * 20 * time.Millisecond
	left := []time.Duration{toneTime(ch[0], toneA, opusRate), toneTime(ch[0], toneC, opusRate), toneTime(ch[0], toneB, opusRate)}
	right := toneTime(ch[1], toneB, opusRate)
	t.Logf("file of %v: left %v of a, %v of c, %v of b; right %v of b", res.Duration, left[0], left[1], left[2], right)
	_, _, okA := toneNear(ch[0], toneA, opusRate, sent)
	_, _, okC := toneNear(ch[0], toneC, opusRate, sent)
	if !okA || !okC || left[2] != 0 {
		t.Errorf("left: %v of a, %v of c (want %v each, nothing sent on hold), %v of b", left[0], left[1], sent, left[2])
	}
	// b's voice runs through: while a was held and across the transfer.
	// Each gap in it (b's sender late) may cost a block at its end.
	_, runs := toneBlocks(ch[1], toneB, opusRate)
	if want := time.Duration(fromB.PacketsReceived-res.Dropped) * 20 * time.Millisecond; right > want+100*time.Millisecond ||
		right < want-100*time.Millisecond-time.Duration(runs)*20*time.Millisecond {
		t.Errorf("right: %v of b in %d runs, want the %v b sent", right, runs, want)
	}
}

func TestOpusSilenceDecodesToSilence(t *testing.T) {
	dec, err := gopus.NewDecoder(gopus.DefaultDecoderConfig(opusRate, 1))
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]int16, recordSamples)
	for range 3 {
		n, err := dec.DecodeInt16(opusSilence, pcm)
		if err != nil || n != recordSamples {
			t.Fatalf("decoded %d samples: %v", n, err)
		}
		for i, v := range pcm {
			if v != 0 {
				t.Fatalf("sample %d is %d", i, v)
			}
		}
	}
}
