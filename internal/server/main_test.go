package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/store/pgtest"
)

// TestMain stops the throwaway PostgreSQL cluster, if a test started one
// (pgtest.URL), when the tests are done. Started with nodeEnv set, the test
// binary is not tests but one node of a cluster (startNodeProcess).
func TestMain(m *testing.M) {
	if spec := os.Getenv(nodeEnv); spec != "" {
		os.Exit(runNode(spec))
	}
	pgtest.Main(m)
}

// nodeEnv carries a nodeSpec to a node process.
const nodeEnv = "CALLBRIDGE_TEST_NODE"

// nodeSpec is what a node process runs with.
type nodeSpec struct {
	Database, NATSURL, DemoURL, DataDir string
}

// runNode runs the server of a node process on loopback until it is
// killed; its addresses go to stdout as one JSON line once it listens.
func runNode(spec string) int {
	var s nodeSpec
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		fmt.Fprintln(os.Stderr, "node:", err)
		return 2
	}
	cfg := Config{Listen: "127.0.0.1:0", DemoListen: "127.0.0.1:0", MetricsListen: "127.0.0.1:0", Dev: true,
		Database: s.Database, NATSURL: s.NATSURL, DemoURL: s.DemoURL, DataDir: s.DataDir, RingTimeout: time.Hour,
		APIRateLimit: 10000, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	cfg.Ready = func(a Addrs) { json.NewEncoder(os.Stdout).Encode(a) }
	if err := Run(context.Background(), cfg); err != nil {
		fmt.Fprintln(os.Stderr, "node:", err)
		return 1
	}
	return 0
}

// nodeProcess is a node of a cluster in a process of its own, which a
// test can kill as an operating system kills a server.
type nodeProcess struct {
	*instance
	cmd *exec.Cmd
}

// startNodeProcess starts a node in a child process: this test binary in
// node mode.
func startNodeProcess(t *testing.T, s nodeSpec) *nodeProcess {
	t.Helper()
	if s.DataDir == "" {
		s.DataDir = filepath.Join(t.TempDir(), "data")
	}
	spec, _ := json.Marshal(s)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), nodeEnv+"="+string(spec))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	addrs := make(chan Addrs, 1)
	go func() {
		var a Addrs
		if json.NewDecoder(bufio.NewReader(out)).Decode(&a) == nil {
			addrs <- a
		}
		close(addrs)
		io.Copy(io.Discard, out)
	}()
	select {
	case a, ok := <-addrs:
		if !ok {
			t.Fatal("the node process ended before it listened")
		}
		return &nodeProcess{instance: &instance{Addrs: a, dataDir: s.DataDir}, cmd: cmd}
	case <-time.After(startStopLimit):
		t.Fatal("the node process did not start")
	}
	return nil
}

// signal sends the node process sig (SIGSTOP stalls it, SIGCONT lets it
// go on).
func (n *nodeProcess) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := n.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// kill ends the node as SIGKILL does: nothing of it runs after.
func (n *nodeProcess) kill(t *testing.T) {
	t.Helper()
	if err := n.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	n.cmd.Wait()
}
