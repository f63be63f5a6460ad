// Command cluster measures the server as several nodes against one: the
// same signalling load on ONE node and on THREE (-nodes 1,3), every node a
// widget-server process of its own (its own data dir, listeners and media
// port) on one PostgreSQL database and one NATS JetStream, which the tool
// starts itself: a throwaway PostgreSQL cluster (internal/store/pgtemp), a
// fresh database per step, and a NATS server with JetStream embedded in
// this process, a fresh one per step. The single node runs on PostgreSQL
// and NATS too, so the steps differ in nodes only.
//
// Users spread over the nodes: user i signs in on node i % n, with a
// device and its event stream there, and opens -listeners more streams
// without a device, stream k on node (i+k) % n. Each step has two phases of
// -duration:
//
//   - calls: users 2k and 2k+1 are a pair, on two nodes when n > 1. In a
//     closed loop, 2k dials 2k+1 through its node (which owns the call),
//     2k+1 answers through its own node when its stream rings, and hangs
//     up through it; the next call waits for both streams to tell the end.
//     The legs offer SDP but never connect: no media, signalling only.
//   - events: presence changes (PUT /widget/presence), -changes a second,
//     each of a random user through a random node; the user's listener
//     streams, on every node, count what arrives and its latency from the
//     request.
//
// Run it from the repository root:
//
//	go run ./bench/cluster -nodes 1,3 -users 60 -duration 20s
//
// It writes cluster.json and cluster.md under -out and stops by itself
// (-timeout). It binds and reaches loopback only.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/callbridge/widget-server/bench/internal/command"
	"github.com/callbridge/widget-server/bench/internal/measure"
	"github.com/callbridge/widget-server/bench/internal/target"
	"github.com/callbridge/widget-server/internal/store/pgtemp"
)

type config struct {
	nodes          []int
	users          int
	listeners      int
	duration       time.Duration
	changes        float64
	signInParallel int
	firstExt       int
	binary         string
	logDir         string
	timeout        time.Duration
	out            string
}

func main() { command.Main("cluster", parseFlags, run) }

func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	var cfg config
	nodes := fs.String("nodes", "1,3", "nodes per step (each step starts its own nodes, database and NATS)")
	fs.IntVar(&cfg.users, "users", 60, "signed-in users, extensions from -first-extension on; user i on node i % n, users 2k and 2k+1 a calling pair")
	fs.IntVar(&cfg.listeners, "listeners", 3, "event streams without a device per user, stream k of user i on node (i+k) % n")
	fs.DurationVar(&cfg.duration, "duration", 20*time.Second, "length of each phase (calls, events) of a step")
	fs.Float64Var(&cfg.changes, "changes", 50, "presence changes per second in the events phase, each of a random user through a random node")
	fs.IntVar(&cfg.signInParallel, "signin-parallel", 4, "users signing in at once")
	fs.IntVar(&cfg.firstExt, "first-extension", 30000, "extension number of the first user")
	fs.StringVar(&cfg.binary, "server-bin", "", "a built widget-server (default: go build ./cmd/widget-server)")
	fs.StringVar(&cfg.logDir, "server-logs", "", "directory for the nodes' logs (nodes-N-K.log); default: discarded")
	fs.DurationVar(&cfg.timeout, "timeout", 15*time.Minute, "bound on the whole run")
	fs.StringVar(&cfg.out, "out", "", "directory for cluster.json and cluster.md (default: $TMPDIR/callbridge-bench)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if cfg.nodes, err = command.Steps(*nodes); err != nil || len(cfg.nodes) == 0 {
		return cfg, fmt.Errorf("-nodes %q: want increasing positive numbers (%v)", *nodes, err)
	}
	if cfg.nodes[len(cfg.nodes)-1] > 16 {
		return cfg, errors.New("-nodes: at most 16 nodes")
	}
	if cfg.users < 2 || cfg.users > 10_000 || cfg.users%2 != 0 {
		return cfg, errors.New("-users must be even, in [2, 10000]")
	}
	if cfg.listeners < 1 || cfg.listeners > 10 {
		return cfg, errors.New("-listeners must be in [1, 10]")
	}
	if cfg.duration < time.Second {
		return cfg, errors.New("-duration must be at least 1s")
	}
	if cfg.changes <= 0 || cfg.changes > 10_000 {
		return cfg, errors.New("-changes must be in (0, 10000]")
	}
	cfg.signInParallel = max(cfg.signInParallel, 1)
	return cfg, nil
}

func run(ctx context.Context, cfg config) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	tmp, err := os.MkdirTemp("", "callbridge-cluster-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if cfg.binary == "" {
		cfg.binary = filepath.Join(tmp, "widget-server")
		if err := target.Build(ctx, "./cmd/widget-server", cfg.binary); err != nil {
			return err
		}
	}
	if cfg.logDir != "" {
		if err := os.MkdirAll(cfg.logDir, 0o755); err != nil {
			return err
		}
	}
	pg, err := pgtemp.Start()
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer func() {
		if err := pg.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "cluster: postgres:", err)
		}
	}()
	fmt.Fprintf(os.Stderr, "cluster: PostgreSQL %s started (initdb %s)\n", pg.Version, pg.InitDB.Round(time.Millisecond))

	res := &Result{Run: measure.NewRun("cluster", map[string]any{"users": cfg.users, "listeners_per_user": cfg.listeners,
		"duration_s": cfg.duration.Seconds(), "changes_per_s": cfg.changes, "postgres": pg.Version, "nats": natsVersion()})}
	var runErr error
	for _, n := range cfg.nodes {
		st, err := runStep(ctx, cfg, pg, tmp, n)
		res.Steps = append(res.Steps, st)
		fmt.Fprintf(os.Stderr, "cluster: %+v\n", st)
		if err != nil {
			runErr = fmt.Errorf("%d nodes: %w", n, err)
			break
		}
	}
	md := markdown(res)
	fmt.Print(md + "\n")
	return errors.Join(runErr, measure.WriteResult(cfg.out, "cluster", res, md))
}
