package media

import (
	"context"
	"encoding/binary"
	"log/slog"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v2"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v3"
)

// patience bounds a wait for something that comes at once on an idle
// machine: a loaded one may take many times longer, and only a hung test
// reaches it. Tests wait for events, never for a fixed time.
const patience = 30 * time.Second

// testTimeout bounds a whole test: waits fail through their own deadline,
// and anything that hangs past three times patience dumps every goroutine
// and aborts.
func testTimeout(t testing.TB) {
	t.Helper()
	d := 3 * patience
	timer := time.AfterFunc(d, func() {
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		_, _ = os.Stderr.Write(buf[:n])
		panic("test " + t.Name() + " timed out after " + d.String())
	})
	t.Cleanup(func() { timer.Stop() })
}

// checkGoroutines fails the test if, after every other cleanup, more
// goroutines run than before it started. Register it first so that it runs
// last.
func checkGoroutines(t testing.TB) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(patience)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("goroutine leak: %d before, %d after\n%s", before, n, buf)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

func testLogger(t testing.TB) *slog.Logger {
	level := slog.LevelWarn
	if _, bench := t.(*testing.B); bench {
		level = slog.LevelError // shutdown warnings would drown the results
	} else if testing.Verbose() {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: level}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// newTestGateway starts a loopback-only gateway closed at the end of the test.
func newTestGateway(t testing.TB, cfg Config) *Gateway {
	t.Helper()
	cfg.ListenIP = "127.0.0.1"
	cfg.IncludeLoopback = true
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	g, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := g.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return g
}

// clientCodecs are the payload types a test browser offers; two clients
// with different numbers show that forwarding maps them. A zero Opus or
// event type is not offered; usePCMU and usePCMA offer PCMU and PCMA (types
// pcmu and pcma) after Opus.
type clientCodecs struct {
	opus, event8k, event48k, pcmu, pcma webrtc.PayloadType
	usePCMU, usePCMA                    bool
}

var (
	codecsA  = clientCodecs{opus: 111, event8k: 126, event48k: 110} // both event rates, as browsers offer
	codecsB  = clientCodecs{opus: 109, event8k: 101}
	pcmuOnly = clientCodecs{pcmu: 0, usePCMU: true, event8k: 101}
	// chrome offers what a browser does: Opus, then G.711, events at both
	// rates.
	chrome      = clientCodecs{opus: 111, pcmu: 0, usePCMU: true, pcma: 8, usePCMA: true, event8k: 126, event48k: 110}
	opusAndPCMA = clientCodecs{opus: 111, pcma: 8, usePCMA: true, event8k: 126}
)

// received is one RTP packet a test browser got from the gateway.
type received struct {
	pt      uint8
	seq     uint16
	ts      uint32
	ssrc    uint32
	marker  bool
	payload []byte
	at      time.Time
}

// client is an in-process browser: a pion PeerConnection on loopback that
// sends on its own track and records what the gateway sends it.
type client struct {
	t     testing.TB
	name  string
	pc    *webrtc.PeerConnection
	track *testTrack

	mu        sync.Mutex
	got       []received
	total     int
	countOnly bool // keep no packets, only count them (benchmarks)
	closing   bool
	wg        sync.WaitGroup
	cancel    context.CancelFunc
	ctx       context.Context
}

func newClient(t testing.TB, name string, codecs clientCodecs) *client {
	t.Helper()
	me := &webrtc.MediaEngine{}
	register := func(c webrtc.RTPCodecCapability, pt webrtc.PayloadType) {
		if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: c, PayloadType: pt}, webrtc.RTPCodecTypeAudio); err != nil {
			t.Fatalf("register codec: %v", err)
		}
	}
	var mimes []string
	if codecs.opus != 0 {
		register(opusCapability, codecs.opus)
		mimes = append(mimes, opusCapability.MimeType)
	}
	if codecs.usePCMU {
		register(pcmuCapability, codecs.pcmu)
		mimes = append(mimes, pcmuCapability.MimeType)
	}
	if codecs.usePCMA {
		register(pcmaCapability, codecs.pcma)
		mimes = append(mimes, pcmaCapability.MimeType)
	}
	if codecs.event48k != 0 {
		register(webrtc.RTPCodecCapability{MimeType: mimeTelephoneEvent, ClockRate: 48000, SDPFmtpLine: "0-15"}, codecs.event48k)
	}
	if codecs.event8k != 0 {
		register(eventCapability, codecs.event8k)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		t.Fatal(err)
	}
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.LoggerFactory = newPionLoggers(testLogger(t).With(slog.String("client", name)))
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(ir))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatalf("client %s: %v", name, err)
	}
	c := &client{t: t, name: name, pc: pc, track: &testTrack{mimes: mimes, stream: name}}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	t.Cleanup(c.close)
	if _, err := pc.AddTransceiverFromTrack(c.track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv}); err != nil {
		t.Fatalf("client %s: add transceiver: %v", name, err)
	}
	pc.OnTrack(func(track *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
		c.start(func() { c.read(track) })
		c.start(func() { drainRTCP(receiver) })
	})
	return c
}

// offer creates the client's complete offer.
func (c *client) offer() string {
	c.t.Helper()
	offer, err := c.pc.CreateOffer(nil)
	if err != nil {
		c.t.Fatalf("client %s: create offer: %v", c.name, err)
	}
	gathered := webrtc.GatheringCompletePromise(c.pc)
	if err := c.pc.SetLocalDescription(offer); err != nil {
		c.t.Fatalf("client %s: set local: %v", c.name, err)
	}
	select {
	case <-gathered:
	case <-time.After(patience):
		c.t.Fatalf("client %s: gathering did not complete", c.name)
	}
	return c.pc.LocalDescription().SDP
}

// dial opens a leg for the client on g, applies the answer and waits until
// the client is connected.
func (c *client) dial(g *Gateway, id string, kind Kind) {
	c.t.Helper()
	c.open(g, id, kind)
	waitFor(c.t, "client "+c.name+" connected", c.connected)
}

// connected reports whether the client's ICE and DTLS are up and its track
// bound.
func (c *client) connected() bool {
	return c.pc.ConnectionState() == webrtc.PeerConnectionStateConnected && c.track.bound.Load() != nil
}

// open opens a leg for the client on g and applies the answer.
func (c *client) open(g *Gateway, id string, kind Kind) {
	c.t.Helper()
	c.openWith(id, func(ctx context.Context, offer string) (string, error) { return g.OpenLeg(ctx, id, offer, kind) })
}

// openLike opens a trunk phone leg with the codec of leg like.
func (c *client) openLike(g *Gateway, id, like string) {
	c.t.Helper()
	c.openWith(id, func(ctx context.Context, offer string) (string, error) { return g.OpenLegLike(ctx, id, offer, like) })
}

// openWith gives the client's offer to open and applies the answer.
func (c *client) openWith(id string, open func(ctx context.Context, offer string) (string, error)) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	answer, err := open(ctx, c.offer())
	if err != nil {
		c.t.Fatalf("OpenLeg %s: %v", id, err)
	}
	if strings.Count(answer, "a=candidate") == 0 {
		c.t.Fatalf("answer without candidates:\n%s", answer)
	}
	for line := range strings.Lines(answer) {
		if strings.HasPrefix(line, "a=candidate") && !strings.Contains(line, " 127.0.0.1 ") {
			c.t.Fatalf("answer offers a non-loopback candidate: %s", line)
		}
		if strings.HasPrefix(line, "m=audio") {
			seen := map[string]bool{}
			for _, pt := range strings.Fields(line)[3:] {
				if seen[pt] {
					c.t.Fatalf("answer repeats payload type %s: %s", pt, line)
				}
				seen[pt] = true
			}
		}
	}
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		c.t.Fatalf("client %s: set remote: %v", c.name, err)
	}
}

func (c *client) start(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f()
	}()
}

func (c *client) read(track *webrtc.TrackRemote) {
	for {
		p, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		c.mu.Lock()
		c.total++
		if c.countOnly {
			c.mu.Unlock()
			continue
		}
		c.got = append(c.got, received{
			pt: p.PayloadType, seq: p.SequenceNumber, ts: p.Timestamp, ssrc: p.SSRC, marker: p.Marker,
			payload: append([]byte(nil), p.Payload...), at: time.Now(),
		})
		c.mu.Unlock()
	}
}

// sendCounter sends a synthetic Opus packet every 20 ms until the client
// closes: tag, then a big-endian counter.
func (c *client) sendCounter(tag byte) {
	c.sendCounterAs(classOpus, tag)
}

// sendCounterAs is sendCounter with packets of class cl (Opus, PCMU, PCMA).
func (c *client) sendCounterAs(cl codecClass, tag byte) {
	c.start(func() {
		ticker := time.NewTicker(20 * time.Millisecond)
		defer ticker.Stop()
		var n uint32
		for {
			select {
			case <-c.ctx.Done():
				return
			case <-ticker.C:
			}
			payload := make([]byte, 5)
			payload[0] = tag
			binary.BigEndian.PutUint32(payload[1:], n)
			if c.track.send(cl, payload) {
				n++
			}
		}
	})
}

// packets returns a copy of what the client has received so far, filtered.
func (c *client) packets(keep func(received) bool) []received {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []received
	for _, p := range c.got {
		if keep == nil || keep(p) {
			out = append(out, p)
		}
	}
	return out
}

func (c *client) countTagged(tag byte) int {
	return len(c.packets(func(p received) bool { return len(p.payload) == 5 && p.payload[0] == tag }))
}

func (c *client) close() {
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	c.cancel()
	_ = c.pc.Close()
	c.wg.Wait()
}

// testTrack is the test browser's outgoing track: like the gateway's, it
// writes headers it builds itself, so the test can send telephone-event
// packets on the same stream. It binds to the first negotiated codec among
// its mime types.
type testTrack struct {
	mimes  []string
	stream string
	bound  atomic.Pointer[binding]
	mu     sync.Mutex
	seq    uint16
	ts     uint32
}

func (t *testTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	for _, c := range ctx.CodecParameters() {
		if slices.ContainsFunc(t.mimes, func(m string) bool { return strings.EqualFold(m, c.MimeType) }) {
			t.bound.Store(&binding{id: ctx.ID(), w: ctx.WriteStream(), ssrc: uint32(ctx.SSRC()), pts: newPayloadTypes(ctx.CodecParameters())})
			return c, nil
		}
	}
	return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
}

func (t *testTrack) Unbind(webrtc.TrackLocalContext) error { t.bound.Store(nil); return nil }
func (t *testTrack) ID() string                            { return "audio" }
func (t *testTrack) RID() string                           { return "" }
func (t *testTrack) StreamID() string                      { return t.stream }
func (t *testTrack) Kind() webrtc.RTPCodecType             { return webrtc.RTPCodecTypeAudio }

// send writes one packet of class cl with the client's payload type for it.
func (t *testTrack) send(cl codecClass, payload []byte) bool {
	b := t.bound.Load()
	if b == nil || b.pts[cl] == noPT {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	h := rtp.Header{Version: 2, PayloadType: b.pts[cl], SequenceNumber: t.seq, Timestamp: t.ts, SSRC: b.ssrc}
	t.seq++
	switch cl {
	case classOpus:
		t.ts += 960
	case classPCMU, classPCMA:
		t.ts += 160
	}
	_, err := b.w.WriteRTP(&h, payload)
	return err == nil
}

// drainRTCP reads the RTCP of a client's receiver, so that its report
// interceptor sees the gateway's sender reports.
func drainRTCP(receiver *webrtc.RTPReceiver) {
	buf := make([]byte, rtpBufferSize)
	for {
		if _, _, err := receiver.Read(buf); err != nil {
			return
		}
	}
}

// waitFor polls cond until it holds, failing the test after patience.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
