package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/callbridge/widget-server/bench/internal/measure"
	"github.com/callbridge/widget-server/bench/internal/target"
	"github.com/callbridge/widget-server/internal/store/pgtemp"
)

func natsVersion() string { return natsserver.VERSION }

// newDatabase creates the database name in the cluster and returns its URL.
func newDatabase(ctx context.Context, pg *pgtemp.Cluster, name string) (string, error) {
	conn, err := pgx.Connect(ctx, pg.URL())
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	u, err := url.Parse(pg.URL())
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

// pgSessions is how many connections the database has had so far.
func pgSessions(ctx context.Context, pg *pgtemp.Cluster, name string) (int64, error) {
	conn, err := pgx.Connect(ctx, pg.URL())
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int64
	err = conn.QueryRow(ctx, "SELECT sessions FROM pg_stat_database WHERE datname = $1", name).Scan(&n)
	return n, err
}

// startNATS starts a NATS server with JetStream in this process, its store
// under dir, on a free loopback port.
func startNATS(dir string) (*natsserver.Server, error) {
	s, err := natsserver.NewServer(&natsserver.Options{
		ServerName: "bench",
		Host:       "127.0.0.1",
		Port:       -1,
		JetStream:  true,
		StoreDir:   dir,
		NoLog:      true,
		NoSigs:     true,
	})
	if err != nil {
		return nil, err
	}
	go s.Start()
	if !s.ReadyForConnections(time.Minute) {
		s.Shutdown()
		return nil, errors.New("the NATS server did not start in a minute")
	}
	return s, nil
}

// node is one widget-server process of the step's cluster.
type node struct {
	*target.Server
	metrics string // base URL of its metrics listener
}

// startNodes starts n nodes on one database and one NATS, one after the
// other as a rolling start does. Each has its own data dir, listeners and
// media port (--media-port 0: a free one); they share the first node's demo
// page as the demo app's origin, which the last node to start would
// otherwise name.
func startNodes(ctx context.Context, cfg config, dir, database, natsURL string, n int) ([]*node, error) {
	var nodes []*node
	for k := range n {
		addr, err := measure.FreeDebugAddr()
		if err != nil {
			return nodes, err
		}
		args := []string{"--nats-url", natsURL, "--metrics-addr", addr}
		if k > 0 {
			args = append(args, "--demo-url", nodes[0].DemoURL)
		}
		scfg := target.Config{Binary: cfg.binary, DataDir: filepath.Join(dir, "node-"+strconv.Itoa(k)), Database: database, Args: args,
			// The calls run in a closed loop: a pair's sessions may send
			// more than a person's requests in 10 s.
			Caps: target.Caps{WidgetRequests: target.Raised}}
		if cfg.logDir != "" {
			scfg.LogFile = filepath.Join(cfg.logDir, fmt.Sprintf("nodes-%d-%d.log", n, k))
		}
		srv, err := target.Start(ctx, scfg)
		if err != nil {
			return nodes, fmt.Errorf("node %d: %w", k, err)
		}
		nodes = append(nodes, &node{Server: srv, metrics: "http://" + addr})
		fmt.Fprintf(os.Stderr, "cluster: node %d of %d: %s (pid %d)\n", k, n, srv.URL, srv.PID)
	}
	return nodes, nil
}

func stopNodes(nodes []*node) {
	for _, nd := range nodes {
		if err := nd.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "cluster: stop node:", err)
		}
	}
}

var remoteDevices = regexp.MustCompile(`(?m)^callbridge_cluster_remote_devices (\d+)$`)

// waitRemoteDevices waits until every node knows the devices of the other
// nodes (want[k] for node k): from then on their calls ring them.
func waitRemoteDevices(ctx context.Context, nodes []*node, want []int) error {
	client := &http.Client{Timeout: 10 * time.Second}
	for k, nd := range nodes {
		for {
			got := -1
			if resp, err := client.Get(nd.metrics + "/metrics"); err == nil {
				b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
				resp.Body.Close()
				if m := remoteDevices.FindSubmatch(b); m != nil {
					got, _ = strconv.Atoi(string(m[1]))
				}
			}
			if got >= want[k] {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("node %d knows %d devices of other nodes, want %d: %w", k, got, want[k], ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

// procs samples the CPU of a set of processes.
type procs []int

// cpu is the processes' CPU time so far.
func (p procs) cpu() time.Duration {
	var sum time.Duration
	for _, pid := range p {
		if s, err := measure.ReadProc(pid); err == nil {
			sum += s.CPU
		}
	}
	return sum
}

// rss is the processes' resident memory, in bytes.
func (p procs) rss() int64 {
	var sum int64
	for _, pid := range p {
		if s, err := measure.ReadProc(pid); err == nil {
			sum += s.RSSBytes
		}
	}
	return sum
}

// waitedCPU is the CPU time of pid's children that have exited and been
// waited for (cutime + cstime): a postmaster's backends that have ended.
func waitedCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 15 {
		return 0
	}
	cu, _ := strconv.ParseInt(f[13], 10, 64)
	cs, _ := strconv.ParseInt(f[14], 10, 64)
	return time.Duration(cu+cs) * time.Second / 100 // USER_HZ
}

// withChildren is pid and its children (a postmaster and its backends).
func withChildren(pid int) procs {
	out := procs{pid}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, child)
		}
	}
	return out
}

// usage is the CPU of the step's processes over a phase.
type usage struct {
	at                      time.Time
	nodes, postgres, client time.Duration
}

func sampleUsage(nodes procs, pgPID int) usage {
	self, _ := measure.ReadProc(os.Getpid())
	return usage{at: time.Now(), nodes: nodes.cpu(), postgres: withChildren(pgPID).cpu() + waitedCPU(pgPID), client: self.CPU}
}

// pct is d over the wall time from a to b, in percent of one core.
func pct(d time.Duration, a, b usage) float64 {
	wall := b.at.Sub(a.at)
	if wall <= 0 {
		return 0
	}
	return float64(int(float64(d)/float64(wall)*1000)) / 10
}
