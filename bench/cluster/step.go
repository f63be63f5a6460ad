package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/callbridge/widget-server/bench/internal/measure"
	"github.com/callbridge/widget-server/bench/internal/target"
	"github.com/callbridge/widget-server/internal/store/pgtemp"
)

// runStep starts n nodes on a fresh database and NATS, signs the users in
// over them, runs the calls phase and then the events phase, and stops
// them.
func runStep(ctx context.Context, cfg config, pg *pgtemp.Cluster, tmp string, n int) (Step, error) {
	st := Step{Nodes: n, Users: cfg.users, Pairs: cfg.users / 2, Streams: cfg.users * (1 + cfg.listeners)}
	dir := filepath.Join(tmp, "nodes-"+strconv.Itoa(n))
	dbName := "bench_nodes_" + strconv.Itoa(n)
	database, err := newDatabase(ctx, pg, dbName)
	if err != nil {
		return st, err
	}
	ns, err := startNATS(filepath.Join(dir, "nats"))
	if err != nil {
		return st, err
	}
	defer func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	}()
	started := time.Now()
	nodes, err := startNodes(ctx, cfg, dir, database, ns.ClientURL(), n)
	defer stopNodes(nodes)
	if err != nil {
		return st, err
	}
	st.StartSeconds = seconds(time.Since(started))

	users := target.LoadUsers(cfg.firstExt, cfg.users)
	if err := nodes[0].Seed(ctx, users, 4); err != nil {
		return st, err
	}
	started = time.Now()
	streamCtx, stopStreams := context.WithCancel(ctx)
	defer stopStreams()
	tabs, err := openTabs(ctx, streamCtx, cfg, nodes, users)
	if err != nil {
		return st, err
	}
	if err := openListeners(streamCtx, tabs, nodes, cfg.listeners); err != nil {
		return st, err
	}
	// Each node knows the devices of the others before the first call.
	want := make([]int, n)
	for k := range want {
		for i := range tabs {
			if i%n != k {
				want[k]++
			}
		}
	}
	if n > 1 {
		wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		err := waitRemoteDevices(wctx, nodes, want)
		cancel()
		if err != nil {
			return st, err
		}
	}
	st.SignInSeconds = seconds(time.Since(started))
	fmt.Fprintf(os.Stderr, "cluster: %d nodes: %d users signed in, %d streams open, in %.1f s\n", n, len(tabs), st.Streams, st.SignInSeconds)

	pids := make(procs, n)
	for k, nd := range nodes {
		pids[k] = nd.PID
	}

	// Calls.
	s0, _ := pgSessions(ctx, pg, dbName)
	u0 := sampleUsage(pids, pg.PID())
	cr := runCalls(ctx, tabs, cfg.duration)
	u1 := sampleUsage(pids, pg.PID())
	s1, _ := pgSessions(ctx, pg, dbName)
	st.Calls = cr.result(cfg.duration)
	st.Calls.PostgresSessions = s1 - s0
	st.Calls.NodesCPUPct, st.Calls.PostgresCPUPct, st.Calls.ClientCPUPct = pct(u1.nodes-u0.nodes, u0, u1), pct(u1.postgres-u0.postgres, u0, u1), pct(u1.client-u0.client, u0, u1)
	st.Calls.Loadavg = measure.LoadAvg()
	fmt.Fprintf(os.Stderr, "cluster: %d nodes: calls %+v\n", n, st.Calls)

	// Events, once the calls' last events have arrived.
	time.Sleep(time.Second)
	s0, _ = pgSessions(ctx, pg, dbName)
	u0 = sampleUsage(pids, pg.PID())
	er := runEvents(ctx, tabs, nodes, cfg)
	u1 = sampleUsage(pids, pg.PID())
	s1, _ = pgSessions(ctx, pg, dbName)
	st.Events = er
	st.Events.PostgresSessions = s1 - s0
	st.Events.NodesCPUPct, st.Events.PostgresCPUPct, st.Events.ClientCPUPct = pct(u1.nodes-u0.nodes, u0, u1), pct(u1.postgres-u0.postgres, u0, u1), pct(u1.client-u0.client, u0, u1)
	st.Events.Loadavg = measure.LoadAvg()
	st.NodesRSSMB = mb(pids.rss())
	st.StreamsClosed = streamsClosed(tabs)
	return st, nil
}

func seconds(d time.Duration) float64 { return float64(int(d.Seconds()*10)) / 10 }

func mb(b int64) float64 { return float64(int(float64(b)/(1<<20)*10)) / 10 }
