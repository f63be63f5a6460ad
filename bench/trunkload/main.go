// Command trunkload measures calls that leave through a SIP trunk: N
// concurrent widget calls to phone numbers, carried by the server to a
// carrier played by SIPp, which answers each in PCMU and sends every RTP
// packet back. It reaches the server through its public surface only: the
// trunk is kept and users are seeded with the operator commands, the server
// runs as its own process, pion clients sign in over HTTP as the widget does
// and dial with POST /widget/calls.
//
// For each step of -calls it places the missing calls at -rate calls a
// second. Every leg sends 20 ms of PCMU (160 bytes, 50 packets/s) whose
// payload carries the send time, a counter and the step number, and measures
// what comes back through the carrier: loss and round-trip latency (client →
// gateway → SIPp → gateway → client). Per step it reports call setup time,
// the server's CPU (and CPU per relayed packet) and RSS, and SIPp's own call
// counts. Calls of earlier steps keep running.
//
//	go run ./bench/trunkload -calls 10,25,50,100 -duration 10s
//
// It writes trunk.json and trunk.md under -out, with SIPp's statistics
// (sipp-stats.csv) beside them, and stops by itself: every step is bounded,
// and -timeout bounds the whole run. Everything listens on loopback.
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
)

type config struct {
	serverBin    string
	serverLog    string
	sipp         string
	calls        []int
	rate         float64
	answerAfter  time.Duration
	duration     time.Duration
	warmup       time.Duration
	payload      int
	rtpBase      int
	seedParallel int
	firstNumber  int
	timeout      time.Duration
	out          string
	cpuprofile   bool
}

// maxCalls bounds the steps: two RTP ports a call from -rtp-base must stay
// below the kernel's ephemeral ports (32768), where the clients bind.
const maxCalls = 5000

func main() { command.Main("trunkload", parseFlags, run) }

func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("trunkload", flag.ContinueOnError)
	var cfg config
	var calls string
	fs.StringVar(&cfg.serverBin, "server-bin", "", "a built widget-server (default: go build ./cmd/widget-server)")
	fs.StringVar(&cfg.serverLog, "server-log", "", "file for the server's log")
	fs.StringVar(&cfg.sipp, "sipp", "sipp", "SIPp, the carrier (Debian's sip-tester)")
	fs.StringVar(&calls, "calls", "10,25,50,100", "concurrent trunk calls, per step")
	fs.Float64Var(&cfg.rate, "rate", 10, "calls placed per second while ramping")
	fs.DurationVar(&cfg.answerAfter, "answer-after", 0, "how long the carrier rings before it answers (SIPp's -d)")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "measurement time per step")
	fs.DurationVar(&cfg.warmup, "warmup", 3*time.Second, "time before each measurement once the step's calls are up")
	fs.IntVar(&cfg.payload, "payload", 160, "RTP payload bytes (160: 20 ms of G.711)")
	fs.IntVar(&cfg.rtpBase, "rtp-base", 20000, "first port of the server's --rtp-ports (two a call)")
	fs.IntVar(&cfg.seedParallel, "seed-parallel", 2, "operator commands run at once when seeding")
	fs.IntVar(&cfg.firstNumber, "first-extension", 10000, "extension number of the first seeded user")
	fs.DurationVar(&cfg.timeout, "timeout", 15*time.Minute, "bound on the whole run")
	fs.StringVar(&cfg.out, "out", "", "directory for trunk.json, trunk.md and SIPp's statistics (default: $TMPDIR/callbridge-bench)")
	fs.BoolVar(&cfg.cpuprofile, "cpuprofile", false, "write the server's CPU profile during the last step's measurement (cpu-calls-N.pprof under -out; at most 25 s)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	var err error
	if cfg.calls, err = command.Steps(calls); err != nil {
		return cfg, fmt.Errorf("-calls: %w", err)
	}
	if len(cfg.calls) == 0 || len(cfg.calls) > pace.MaxSteps {
		return cfg, fmt.Errorf("-calls: from 1 to %d steps", pace.MaxSteps)
	}
	if n := cfg.calls[len(cfg.calls)-1]; n > maxCalls {
		return cfg, fmt.Errorf("-calls: %d is over %d", n, maxCalls)
	}
	if cfg.rate <= 0 || cfg.rate > 1000 {
		return cfg, errors.New("-rate must be between 0 and 1000 calls/s")
	}
	if cfg.answerAfter < 0 || cfg.answerAfter > 20*time.Second {
		return cfg, errors.New("-answer-after must be between 0 and 20s")
	}
	if cfg.duration <= 0 || cfg.duration > 10*time.Minute {
		return cfg, errors.New("-duration must be between 0 and 10m")
	}
	if cfg.payload < pace.MinPayload || cfg.payload > 1200 {
		return cfg, fmt.Errorf("-payload must be between %d and 1200 bytes", pace.MinPayload)
	}
	if cfg.rtpBase < 1024 || cfg.rtpBase%2 != 0 || cfg.rtpBase+2*cfg.calls[len(cfg.calls)-1]+rtpSpare > 32768 {
		return cfg, errors.New("-rtp-base must be even, from 1024, and leave two ports a call below 32768")
	}
	return cfg, nil
}

func run(ctx context.Context, cfg config) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	sipp, err := findSIPp(cfg.sipp)
	if err != nil {
		return err
	}
	// Fail before the run, not after it, if the results cannot be written.
	statsPath, err := measure.OutPath(cfg.out, "sipp-stats.csv")
	if err != nil {
		return err
	}
	res := &Result{Run: measure.NewRun("trunkload", map[string]any{
		"duration_s": cfg.duration.Seconds(), "warmup_s": cfg.warmup.Seconds(), "payload_bytes": cfg.payload,
		"packets_per_s_per_leg": pace.PacketsPerSecond, "codec": "PCMU", "rate_calls_per_s": cfg.rate, "answer_after_ms": cfg.answerAfter.Milliseconds(), "sipp": sippVersion(ctx, sipp),
	})}
	runErr := runTrunk(ctx, cfg, sipp, statsPath, res)
	if len(res.Steps) == 0 {
		return runErr
	}
	md := markdown(res)
	fmt.Print(md + "\n")
	if err := measure.WriteResult(cfg.out, "trunk", res, md); err != nil {
		return err
	}
	return runErr
}
