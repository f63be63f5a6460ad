// Command loadgen measures the media gateway under load through the
// server's public surface only, and the bare UDP relay ceiling on the same
// machine in the same run.
//
// For each step of -calls it seeds users with the operator commands, signs
// them in over HTTP as the widget does, opens their event streams, and
// places two-party calls (POST /widget/calls, the callee's ring on its
// stream, POST /widget/calls/{id}/answer) on loopback, with raw SRTP legs
// (bench/internal/rawleg; -client pion: a PeerConnection each). Every leg
// sends 20 ms Opus-sized RTP (50 packets/s) carrying its send time and a
// counter; the other leg measures loss and one-way latency. Calls of earlier
// steps keep running. It then does the same with plain UDP sockets through
// bench/udprelay for each step of -relay-calls. Per step it reports, among
// the rest, the server's and its own CPU per packet forwarded and, from the
// server's /debug/vars, the collector's share of its CPU and its allocations
// per packet.
//
//	go run ./bench/loadgen -calls 50,100,200 -duration 10s -out /tmp/results
//
// It writes media.json and media.md under -out and stops by itself: every
// step is bounded, and -timeout bounds the whole run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/callbridge/widget-server/bench/internal/command"
	"github.com/callbridge/widget-server/bench/internal/measure"
	"github.com/callbridge/widget-server/bench/internal/pace"
	"github.com/callbridge/widget-server/bench/internal/peer"
	"github.com/callbridge/widget-server/bench/internal/target"
)

type config struct {
	server        target.Config
	relayBin      string
	relayRcvbuf   int
	calls         []int
	relayCalls    []int
	duration      time.Duration
	warmup        time.Duration
	payload       int
	srtp          string
	client        string
	shards        int
	setupParallel int
	seedParallel  int
	maxLossPct    float64
	maxP99        time.Duration
	stopAfter     int
	timeout       time.Duration
	out           string
	cpuprofile    string
	firstNumber   int
}

func main() { command.Main("loadgen", parseFlags, run) }

func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	var cfg config
	var calls, relayCalls string
	cfg.server.AddFlags(fs)
	fs.BoolVar(&cfg.server.Embed, "embed", false, "run the server inside this process (for -cpuprofile)")
	fs.StringVar(&cfg.relayBin, "relay-bin", "", "a built udprelay (default: go build ./bench/udprelay)")
	fs.IntVar(&cfg.relayRcvbuf, "relay-rcvbuf", 0, "the relay's socket buffer, bytes (0: the kernel's default, as the gateway's socket has)")
	fs.StringVar(&calls, "calls", "50,100,150,200,300,400,500", "concurrent calls through the gateway, per step (empty: skip)")
	fs.StringVar(&relayCalls, "relay-calls", "500,1000,2000,3000,4000", "concurrent pairs through the bare relay, per step (empty: skip)")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "measurement time per step")
	fs.DurationVar(&cfg.warmup, "warmup", 3*time.Second, "time before each measurement once the step's calls are up")
	fs.IntVar(&cfg.payload, "payload", 80, "RTP payload bytes (80: a 20 ms Opus frame at 32 kbit/s)")
	fs.StringVar(&cfg.srtp, "srtp", "default", "SRTP profiles the clients accept: default, gcm128, gcm256, cm")
	fs.StringVar(&cfg.client, "client", "raw", "the clients' legs: raw (a socket, ICE, DTLS and SRTP by hand) or pion (a PeerConnection each)")
	fs.IntVar(&cfg.shards, "shards", 2, "sending goroutines")
	fs.IntVar(&cfg.setupParallel, "setup-parallel", 4, "calls set up at once")
	fs.IntVar(&cfg.seedParallel, "seed-parallel", 2, "operator commands run at once when seeding")
	fs.Float64Var(&cfg.maxLossPct, "max-loss", 0.5, "goal: packet loss below this, percent")
	fs.DurationVar(&cfg.maxP99, "max-p99", 5*time.Millisecond, "goal: p99 one-way latency below this")
	fs.IntVar(&cfg.stopAfter, "stop-after-misses", 2, "stop ramping after this many steps in a row miss the goals")
	fs.DurationVar(&cfg.timeout, "timeout", 25*time.Minute, "bound on the whole run")
	fs.StringVar(&cfg.out, "out", "", "directory for media.json and media.md (default: $TMPDIR/callbridge-bench)")
	fs.StringVar(&cfg.cpuprofile, "cpuprofile", "", "with -embed: CPU profile of the last gateway step's measurement (server goroutines carry the label side=server)")
	fs.IntVar(&cfg.firstNumber, "first-extension", 10000, "extension number of the first seeded user")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	var err error
	if cfg.calls, err = command.Steps(calls); err != nil {
		return cfg, fmt.Errorf("-calls: %w", err)
	}
	if cfg.relayCalls, err = command.Steps(relayCalls); err != nil {
		return cfg, fmt.Errorf("-relay-calls: %w", err)
	}
	if _, ok := peer.SRTPProfiles[cfg.srtp]; !ok {
		return cfg, fmt.Errorf("-srtp %q: want default, gcm128, gcm256 or cm", cfg.srtp)
	}
	if cfg.client != "raw" && cfg.client != "pion" {
		return cfg, fmt.Errorf("-client %q: want raw or pion", cfg.client)
	}
	if cfg.cpuprofile != "" && !cfg.server.Embed {
		return cfg, errors.New("-cpuprofile needs -embed: the server has no profiling endpoint")
	}
	if cfg.duration <= 0 || cfg.duration > 10*time.Minute {
		return cfg, errors.New("-duration must be between 0 and 10m")
	}
	return cfg, nil
}

func run(ctx context.Context, cfg config) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	res := &Result{Run: measure.NewRun("loadgen", map[string]any{
		"duration_s": cfg.duration.Seconds(), "warmup_s": cfg.warmup.Seconds(), "payload_bytes": cfg.payload, "relay_rcvbuf": cfg.relayRcvbuf,
		"packets_per_s_per_leg": pace.PacketsPerSecond, "srtp": cfg.srtp, "client": cfg.client, "embedded_server": cfg.server.Embed,
		"goal_loss_pct": cfg.maxLossPct, "goal_p99_ms": float64(cfg.maxP99) / float64(time.Millisecond),
	})}
	// Fail before the run, not after it, if the results cannot be written.
	if _, err := measure.OutPath(cfg.out, "media.json"); err != nil {
		return err
	}
	if len(cfg.calls) > 0 {
		if err := runGateway(ctx, cfg, res); err != nil {
			return err
		}
	}
	if len(cfg.relayCalls) > 0 && ctx.Err() == nil {
		if err := runRelay(ctx, cfg, res); err != nil {
			return err
		}
	}
	if res.RelayMaxPPS > 0 {
		res.RatioOfRelay = float64(int(res.GatewayMaxPPS/res.RelayMaxPPS*1000)) / 1000
	}
	md := markdown(res)
	fmt.Print(md + "\n")
	return measure.WriteResult(cfg.out, "media", res, md)
}
