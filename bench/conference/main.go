// Command conference measures conference mixing in the media gateway:
// conferences of 5 and of 10 pion peers through a gateway started inside
// this process, against the same peers in two-party calls.
//
// For each step (a conference size and a number of conferences) it opens a
// fresh gateway and one leg per peer (Opus phone legs, and -g711 trunk
// phone legs in PCMU per conference, as phone participants), and runs two
// phases on the same peers and the same traffic: first the legs connected
// two by two as two-party calls (the relay, which copies packets without
// decoding: the baseline), then each conference mixed (SetMix: every member
// speaks and listens). Every peer sends 20 ms packets; what it says is a
// 60 ms burst of tone at the start of its slot of a 2 s period (the
// members of a conference have slots of their own, so that one speaks at a
// time), silence otherwise, encoded once before the run. Each peer decodes
// what it receives and finds where bursts start.
//
// Per phase, after -warmup, over -duration: the process's CPU time
// (getrusage: the gateway and the peers together) per participant, and the
// latency from a burst sent to it heard, p50/p99/max: from the peer handing
// the packet that begins a burst to its track to the burst's first sample
// in a listener's decoded audio, the packet that holds it taken as heard
// when it arrives, both on this machine's clock. It counts the network,
// the gateway (the relay; or the mix's queue, tick, decoding and encoding)
// and the codecs' own delay, not the sender's 20 ms of packetization nor a
// listener's jitter buffer. The difference of the phases' CPU is what
// mixing costs. How late the peers' packets left against their 20 ms
// schedule is reported too: on a loaded machine that is the jitter the
// mix must absorb, as it would a network's.
//
//	go run ./bench/conference -sizes 5,10 -conferences 1,4 -duration 10s
//
// It writes conference.json and conference.md under -out and stops by
// itself: every step is bounded, and -timeout bounds the whole run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/callbridge/widget-server/bench/internal/command"
	"github.com/callbridge/widget-server/bench/internal/measure"
	"github.com/callbridge/widget-server/internal/media"
)

type config struct {
	sizes       []int
	conferences []int
	g711        int
	duration    time.Duration
	warmup      time.Duration
	setup       int
	timeout     time.Duration
	out         string
}

func main() { command.Main("conference", parseFlags, run) }

func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("conference", flag.ContinueOnError)
	var cfg config
	var sizes, conferences string
	fs.StringVar(&sizes, "sizes", "5,10", "members of a conference, per step")
	fs.StringVar(&conferences, "conferences", "1,4", "concurrent conferences, per step (each size with each count)")
	fs.IntVar(&cfg.g711, "g711", 1, "members of each conference that are G.711 (PCMU trunk phone legs); the others are Opus")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "measurement time per phase")
	fs.DurationVar(&cfg.warmup, "warmup", 2*time.Second, "time before each phase's measurement")
	fs.IntVar(&cfg.setup, "setup-parallel", 4, "legs set up at once")
	fs.DurationVar(&cfg.timeout, "timeout", 15*time.Minute, "bound on the whole run")
	fs.StringVar(&cfg.out, "out", "", "directory for conference.json and conference.md (default: $TMPDIR/callbridge-bench)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	var err error
	if cfg.sizes, err = command.Steps(sizes); err != nil {
		return cfg, fmt.Errorf("-sizes: %w", err)
	}
	if cfg.conferences, err = command.Steps(conferences); err != nil {
		return cfg, fmt.Errorf("-conferences: %w", err)
	}
	switch {
	case len(cfg.sizes) == 0 || len(cfg.conferences) == 0:
		return cfg, errors.New("-sizes and -conferences need a step each")
	case cfg.sizes[0] < 2 || cfg.sizes[len(cfg.sizes)-1] > periodLen/(burstFrames+2):
		return cfg, fmt.Errorf("-sizes: from 2 to %d members", periodLen/(burstFrames+2))
	case cfg.conferences[len(cfg.conferences)-1] > 100:
		return cfg, errors.New("-conferences: at most 100")
	case cfg.g711 < 0 || cfg.g711 > cfg.sizes[0]:
		return cfg, errors.New("-g711 must be between 0 and the smallest size")
	case cfg.duration <= 0 || cfg.duration > 10*time.Minute:
		return cfg, errors.New("-duration must be between 0 and 10m")
	case cfg.warmup < 0:
		return cfg, errors.New("-warmup must not be negative")
	}
	return cfg, nil
}

func run(ctx context.Context, cfg config) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	res := &Result{Run: measure.NewRun("conference", map[string]any{
		"duration_s": cfg.duration.Seconds(), "warmup_s": cfg.warmup.Seconds(), "g711_per_conference": cfg.g711,
		"period_ms": (periodLen * frame).Milliseconds(), "burst_ms": (burstFrames * frame).Milliseconds(),
		"peer_opus": "16 kHz mono, gopus encoder, VoIP", "packets_per_s_per_leg": int(time.Second / frame),
	})}
	// Fail before the run, not after it, if the results cannot be written.
	if _, err := measure.OutPath(cfg.out, "conference.json"); err != nil {
		return err
	}
	var runErr error
	for _, size := range cfg.sizes {
		for _, n := range cfg.conferences {
			if runErr = runStep(ctx, cfg, size, n, res); runErr != nil || ctx.Err() != nil {
				break
			}
		}
		if runErr != nil || ctx.Err() != nil {
			break
		}
	}
	if len(res.Steps) == 0 {
		return runErr
	}
	md := markdown(res)
	fmt.Print(md + "\n")
	if err := measure.WriteResult(cfg.out, "conference", res, md); err != nil {
		return err
	}
	return runErr
}

// runStep measures n conferences of size members: the relay phase, then
// the mix phase.
func runStep(ctx context.Context, cfg config, size, n int, res *Result) error {
	g, err := media.New(media.Config{ListenIP: "127.0.0.1", IncludeLoopback: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	defer g.Close()
	var ph atomic.Pointer[phase]
	setupStart := time.Now()
	confs, err := open(ctx, g, n, size, cfg.g711, cfg.setup, &ph)
	if err != nil {
		return fmt.Errorf("%d conferences of %d: %w", n, size, err)
	}
	defer closeAll(confs)
	setup := time.Since(setupStart)
	stop := make(chan struct{})
	defer close(stop)
	start := time.Now()
	for _, c := range confs {
		go c.send(start, &ph, stop)
	}

	var all []*member
	for _, c := range confs {
		all = append(all, c.members...)
	}
	grace := time.Duration(slotFrames(size)) * frame

	// Relay: legs of one codec two by two, across the conferences.
	for _, m := range all {
		m.hears.Store(&[]*bursts{})
		m.listeners.Store(0)
	}
	unpaired := 0
	for _, g711 := range []bool{false, true} {
		var legs []*member
		for _, m := range all {
			if m.g711 == g711 {
				legs = append(legs, m)
			}
		}
		for i := 0; i+1 < len(legs); i += 2 {
			a, b := legs[i], legs[i+1]
			if err := g.Connect(a.id, b.id); err != nil {
				return err
			}
			a.hears.Store(&[]*bursts{&b.said})
			b.hears.Store(&[]*bursts{&a.said})
			a.listeners.Store(1)
			b.listeners.Store(1)
		}
		unpaired += len(legs) % 2
	}
	relay, err := measurePhase(ctx, cfg, &ph, grace)
	if err != nil {
		return err
	}
	relay.Phase, relay.Size, relay.Conferences, relay.Participants = "relay", size, n, len(all)
	relay.SetupSeconds = round(setup.Seconds(), 2)
	relay.CPUPerParticipantPct = round(relay.CPUPct/float64(len(all)), 2)
	if unpaired > 0 {
		relay.Note = fmt.Sprintf("%d leg(s) without a peer of their codec: they send, and receive nothing", unpaired)
	}

	// Mix: each conference, every member speaking and listening.
	for _, c := range confs {
		var set []media.MixMember
		for _, m := range c.members {
			set = append(set, media.MixMember{Leg: m.id, Speak: true, Listen: true})
			var others []*bursts
			for _, o := range c.members {
				if o != m {
					others = append(others, &o.said)
				}
			}
			m.hears.Store(&others)
			m.listeners.Store(int64(size - 1))
		}
		if err := g.SetMix(c.id, set); err != nil {
			return err
		}
	}
	mixed, err := measurePhase(ctx, cfg, &ph, grace)
	if err != nil {
		return err
	}
	mixed.Phase, mixed.Size, mixed.Conferences, mixed.Participants = "mix", size, n, len(all)
	mixed.SetupSeconds = relay.SetupSeconds
	mixed.CPUPerParticipantPct = round(mixed.CPUPct/float64(len(all)), 2)
	for _, c := range confs {
		if err := g.SetMix(c.id, nil); err != nil {
			return err
		}
	}
	res.Steps = append(res.Steps, relay, mixed)
	fmt.Printf("%d×%d: relay %.2f %% a participant, p99 %.1f ms; mix %.2f %%, p99 %.1f ms\n", n, size,
		relay.CPUPerParticipantPct, relay.Latency.P99ms, mixed.CPUPerParticipantPct, mixed.Latency.P99ms)
	return nil
}

// measurePhase waits warmup, then measures the process over duration.
func measurePhase(ctx context.Context, cfg config, ph *atomic.Pointer[phase], grace time.Duration) (Step, error) {
	p := &phase{grace: grace}
	p.from = time.Now().Add(cfg.warmup)
	p.to = p.from.Add(cfg.duration)
	ph.Store(p)
	if err := sleepUntil(ctx, p.from); err != nil {
		return Step{}, err
	}
	before, loadBefore := cpuTime(), measure.LoadAvg()
	if err := sleepUntil(ctx, p.to); err != nil {
		return Step{}, err
	}
	used := cpuTime() - before
	wall := time.Since(p.from)
	// Bursts sent just before the window's end are heard after it.
	if err := sleepUntil(ctx, p.to.Add(grace)); err != nil {
		return Step{}, err
	}
	s := Step{
		CPUPct:    round(float64(used)/float64(wall)*100, 1),
		Latency:   p.latency.Summary(),
		SendLate:  p.late.Summary(),
		Unmatched: p.unmatched.Load(),
		Loadavg:   loadBefore + " → " + measure.LoadAvg(),
	}
	if e := p.expected.Load(); e > 0 {
		s.HeardPct = round(float64(p.heard.Load())/float64(e)*100, 1)
	}
	secs := cfg.duration.Seconds()
	s.SentPPS = round(float64(p.sent.Load())/secs, 0)
	s.ReceivedPPS = round(float64(p.received.Load())/secs, 0)
	return s, nil
}

// cpuTime is the user and system time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func sleepUntil(ctx context.Context, t time.Time) error {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
