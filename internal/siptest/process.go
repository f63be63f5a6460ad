package siptest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// bound is how long a test waits for a peer to bind its port or to end.
// It is generous: it guards against a hang, the tests wait for events.
const bound = 90 * time.Second

// Process is SIPp or baresip running for a test. It is killed when the
// test ends, unless it has exited by then.
type Process struct {
	t       testing.TB
	name    string
	cmd     *exec.Cmd
	out     lockedBuffer
	done    chan error // its exit; whoever takes it puts it back
	errFile string     // where SIPp writes the messages it did not expect
}

// start runs bin with args in dir. logOutput puts its output into the
// test's log if the test fails.
func start(t testing.TB, bin, dir string, args []string, logOutput bool) *Process {
	t.Helper()
	p := &Process{t: t, name: filepath.Base(bin), done: make(chan error, 1)}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", p.name, err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.Stop()
		if logOutput && t.Failed() {
			t.Logf("%s:\n%s", p.name, p.out.String())
		}
	})
	return p
}

// exited reports whether the process has ended, and its error if so.
func (p *Process) exited() (bool, error) {
	select {
	case err := <-p.done:
		p.done <- err
		return true, err
	default:
		return false, nil
	}
}

// Finish waits for the process to end and fails the test unless it exited
// with 0: for SIPp, every call of its scenario succeeded.
func (p *Process) Finish() {
	p.t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			p.t.Fatalf("%s failed: %v\n%s", p.name, err, p.report())
		}
	case <-time.After(bound):
		p.t.Fatalf("%s did not finish\n%s", p.name, p.report())
	}
}

// Stop kills the process, unless it has exited, and waits for its end.
func (p *Process) Stop() {
	if ok, _ := p.exited(); ok {
		return
	}
	p.cmd.Process.Kill()
	err := <-p.done
	p.done <- err
}

// Quit asks the process to end (SIGTERM) and returns at once: baresip
// removes its registrations as it quits.
func (p *Process) Quit() {
	p.cmd.Process.Signal(syscall.SIGTERM)
}

// waitBound returns once the process holds port, UDP or TCP. It reads the
// kernel's socket tables rather than trying to bind the port, which the
// process could then find taken.
func (p *Process) waitBound(port int) {
	p.t.Helper()
	want := fmt.Sprintf(":%04X ", port)
	for deadline := time.Now().Add(bound); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ok, err := p.exited(); ok {
			p.t.Fatalf("%s exited before binding port %d: %v\n%s", p.name, port, err, p.report())
		}
		for _, f := range []string{"/proc/net/udp", "/proc/net/udp6", "/proc/net/tcp", "/proc/net/tcp6"} {
			b, _ := os.ReadFile(f)
			for _, line := range strings.Split(string(b), "\n") {
				if fields := strings.Fields(line); len(fields) > 1 && strings.HasSuffix(fields[1]+" ", want) {
					return
				}
			}
		}
	}
	p.t.Fatalf("%s never bound port %d", p.name, port)
}

// report is the end of the process's output, and SIPp's unexpected
// messages.
func (p *Process) report() string {
	lines := strings.Split(p.out.String(), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	s := strings.Join(lines, "\n")
	if p.errFile != "" {
		if errs, err := os.ReadFile(p.errFile); err == nil && len(errs) > 0 {
			s += "\n" + string(errs)
		}
	}
	return s
}

// lockedBuffer is a bytes.Buffer a process writes while a test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
