package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/callbridge/widget-server/bench/internal/measure"
	"github.com/callbridge/widget-server/bench/internal/pace"
	"github.com/callbridge/widget-server/bench/internal/target"
)

// rtpSpare are the server's RTP ports beyond two a call: a call that
// failed may hold its pair for a moment while the next is placed.
const rtpSpare = 32

// trunkName is the trunk the tool keeps in the server's data directory.
const trunkName = "carrier"

// runTrunk starts SIPp and the server with the trunk kept, runs the steps
// and ends every call. res gets the steps measured even when it fails.
func runTrunk(ctx context.Context, cfg config, sipp, statsPath string, res *Result) (err error) {
	tmp, err := os.MkdirTemp("", "callbridge-trunkload-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := cfg.serverBin
	if bin == "" {
		bin = filepath.Join(tmp, "widget-server")
		if err := target.Build(ctx, "./cmd/widget-server", bin); err != nil {
			return err
		}
	}
	maxN := cfg.calls[len(cfg.calls)-1]
	car, err := startCarrier(ctx, sipp, tmp, statsPath, cfg.answerAfter, maxN, cfg.timeout+time.Minute)
	if err != nil {
		return err
	}
	defer car.kill()
	dataDir := filepath.Join(tmp, "data")
	if _, err := target.Operator(ctx, bin, dataDir, "", "trunks", "add", "--name", trunkName,
		"--host", fmt.Sprintf("127.0.0.1:%d", car.Port), "--priority", "1"); err != nil {
		return err
	}
	sipPort, err := freeUDPPort(false)
	if err != nil {
		return err
	}
	rtpPorts := fmt.Sprintf("%d-%d", cfg.rtpBase, cfg.rtpBase+2*maxN+rtpSpare-1)
	args := []string{"--sip-listen", fmt.Sprintf("udp:127.0.0.1:%d", sipPort), "--rtp-ports", rtpPorts}
	var debug *measure.Debug
	if cfg.cpuprofile {
		addr, err := measure.FreeDebugAddr()
		if err != nil {
			return err
		}
		debug = &measure.Debug{URL: "http://" + addr}
		args = append(args, "--debug-addr", addr)
	}
	res.Settings["server_args"] = strings.Join(args, " ")
	res.Settings["sipp_args"] = fmt.Sprintf("-sf carrier.xml -i 127.0.0.1 -p %d -mi 127.0.0.1 -mp %d -rtp_echo -d %d -l %d", car.Port, car.MediaPort, cfg.answerAfter.Milliseconds(), maxN)
	// One session, one device and one call per user: no cap is crossed.
	srv, err := target.Start(ctx, target.Config{Binary: bin, DataDir: dataDir, LogFile: cfg.serverLog, Args: args})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "trunkload: server %s (pid %d), SIP udp:127.0.0.1:%d, RTP %s; SIPp carrier 127.0.0.1:%d (pid %d), echo on %d\n",
		srv.URL, srv.PID, sipPort, rtpPorts, car.Port, car.PID, car.MediaPort)

	p := pace.New(1, cfg.payload)
	stopSending := p.Start(ctx)
	var calls []*call
	defer func() {
		stopSending()
		hangupAll(calls)
		res.HungUp = len(calls)
		car.waitIdle(15 * time.Second)
		if cerr := srv.Close(); cerr != nil {
			res.Problems = append(res.Problems, "server: "+cerr.Error())
		}
		if serr := car.stop(10 * time.Second); serr != nil {
			res.Problems = append(res.Problems, serr.Error())
		}
		if st, serr := car.Stats(); serr == nil {
			res.SIPp = st
		} else {
			res.Problems = append(res.Problems, serr.Error())
		}
	}()

	var tabs []*tab
	for i, n := range cfg.calls {
		users := target.LoadUsers(cfg.firstNumber, n)
		if err := srv.Seed(ctx, users, cfg.seedParallel); err != nil {
			return err
		}
		if tabs, err = signInAll(ctx, srv, users, tabs); err != nil {
			return err
		}
		before := len(calls)
		started := time.Now()
		var errs []error
		calls, errs = placeAll(ctx, tabs, calls, cfg.rate, p)
		st := Step{Calls: n, Failed: len(errs), RampSeconds: math.Round(time.Since(started).Seconds()*10) / 10}
		setup := new(measure.Histogram)
		for _, c := range calls[before:] {
			setup.Add(c.setup)
		}
		st.Setup = setup.Summary()
		if len(errs) > 0 {
			st.Note = fmt.Sprintf("%d calls did not connect; the first: %v", len(errs), errs[0])
		}
		fmt.Fprintf(os.Stderr, "trunkload: %d calls up (%d failed) in %.1f s; measuring\n", len(calls), len(errs), st.RampSeconds)
		var profile func(context.Context) error
		if debug != nil && i == len(cfg.calls)-1 {
			profile = func(ctx context.Context) error { return saveProfile(ctx, *debug, cfg, n) }
		}
		if err := measureStep(ctx, cfg, p, i+1, srv.PID, car, &st, profile); err != nil {
			return err
		}
		for _, c := range calls {
			if c.leg.Got() {
				st.Established++
			}
		}
		res.Steps = append(res.Steps, st)
		fmt.Fprintf(os.Stderr, "trunkload: %+v\n", st)
		if st.Established == 0 {
			return errors.New("no call hears the carrier: see the step's note, the server's log (-server-log) and sipp-errors.log")
		}
	}
	return nil
}

// measureStep runs one step's warm-up and measurement; profile, if not
// nil, runs during the measurement.
func measureStep(ctx context.Context, cfg config, p *pace.Pacer, id, serverPID int, car *carrier, st *Step, profile func(context.Context) error) error {
	if err := p.Warm(ctx, cfg.warmup); err != nil {
		return err
	}
	self := os.Getpid()
	s0, err := measure.ReadProc(serverPID)
	if err != nil {
		return fmt.Errorf("server process: %w", err)
	}
	c0, _ := measure.ReadProc(car.PID)
	t0, _ := measure.ReadProc(self)
	e0, u0 := measure.UDPRcvbufErrors(), measure.ReadUDPDrops()
	profiled := make(chan error, 1)
	if profile != nil {
		go func() { profiled <- profile(ctx) }()
	} else {
		profiled <- nil
	}
	stats := p.Count(ctx, id, cfg.duration)
	if err := <-profiled; err != nil {
		st.Note = strings.TrimSpace(st.Note + " CPU profile: " + err.Error())
	}
	s1, _ := measure.ReadProc(serverPID)
	c1, _ := measure.ReadProc(car.PID)
	t1, _ := measure.ReadProc(self)
	st.Loadavg = measure.LoadAvg()
	time.Sleep(time.Second) // packets still coming back count for this step; SIPp dumps its statistics
	st.Drops = dropsBetween(u0, measure.ReadUDPDrops(), car.MediaPort, cfg.rtpBase, cfg.rtpBase+2*cfg.calls[len(cfg.calls)-1]+rtpSpare-1)
	st.Drops.Machine = measure.UDPRcvbufErrors() - e0
	secs := s1.At.Sub(s0.At).Seconds()
	f := stats.Figures(secs)
	st.SentPPS, st.ReceivedPPS, st.LossPct = f.SentPPS, f.ReceivedPPS, f.LossPct
	st.RoundTrip = stats.Latency.Summary()
	st.ServerCPUPct = measure.CPUPercent(s0, s1)
	st.ServerCPUPerPacketUs = perPacketUs(s1.CPU-s0.CPU, f.Sent+f.Received)
	st.ServerRSSMB = math.Round(float64(s1.RSSBytes)/(1<<20)*10) / 10
	st.ServerThreads = s1.Threads
	st.SIPpCPUPct = measure.CPUPercent(c0, c1)
	st.ToolCPUPct = measure.CPUPercent(t0, t1)
	if s, err := car.Stats(); err == nil {
		st.SIPp = s
	}
	return ctx.Err()
}

// saveProfile writes the server's CPU profile over the measurement of the
// step of n calls (its -duration, at most 25 s).
func saveProfile(ctx context.Context, d measure.Debug, cfg config, n int) error {
	secs := max(1, min(int(cfg.duration.Seconds()), 25))
	b, err := d.Get(ctx, fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs))
	if err != nil {
		return err
	}
	path, err := measure.OutPath(cfg.out, fmt.Sprintf("cpu-calls-%d.pprof", n))
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// perPacketUs is cpu spread over packets, in µs to two decimals.
func perPacketUs(cpu time.Duration, packets uint64) float64 {
	if packets == 0 {
		return 0
	}
	return math.Round(float64(cpu)/float64(time.Microsecond)/float64(packets)*100) / 100
}
