package main

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// scenario is the carrier's SIPp scenario: ring for SIPp's -d, answer
// every call in PCMU, take the caller's BYE.
//
//go:embed carrier.xml
var scenario []byte

// carrier is SIPp playing the carrier: a UAS on 127.0.0.1 that answers
// every call and, with -rtp_echo, sends each RTP packet back to its sender
// from its one media port.
type carrier struct {
	PID       int
	Port      int // SIP, UDP
	MediaPort int // RTP echo; SIPp also echoes on MediaPort+2
	stats     string
	cmd       *exec.Cmd
	done      chan struct{}
	waitErr   error
	out       *bytes.Buffer
	stopOnce  sync.Once
}

// findSIPp finds the SIPp binary or says how to get it.
func findSIPp(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s is missing: SIPp plays the carrier; install Debian's sip-tester (apt-get install sip-tester) or give -sipp", name)
	}
	return p, nil
}

// sippVersion is SIPp's version line, for the results.
func sippVersion(ctx context.Context, bin string) string {
	out, _ := exec.CommandContext(ctx, bin, "-v").CombinedOutput()
	for line := range strings.Lines(string(out)) {
		if l := strings.TrimSpace(line); strings.HasPrefix(l, "SIPp v") {
			return l
		}
	}
	return ""
}

// startCarrier runs SIPp in dir with the scenario, its statistics dumped
// every second to stats, and returns once it holds its SIP port. It rings
// for answerAfter before answering; limit is its -l; it quits by itself
// after bound. SIPp's error log and final screen go next to stats.
func startCarrier(ctx context.Context, bin, dir, stats string, answerAfter time.Duration, limit int, bound time.Duration) (*carrier, error) {
	sf := filepath.Join(dir, "carrier.xml")
	if err := os.WriteFile(sf, scenario, 0o644); err != nil {
		return nil, err
	}
	port, err := freeUDPPort(false)
	if err != nil {
		return nil, err
	}
	media, err := freeUDPPort(true)
	if err != nil {
		return nil, err
	}
	out := filepath.Dir(stats)
	c := &carrier{Port: port, MediaPort: media, stats: stats, done: make(chan struct{}), out: new(bytes.Buffer)}
	_ = os.Remove(stats) // SIPp appends
	args := []string{"-sf", sf, "-i", "127.0.0.1", "-p", strconv.Itoa(port),
		"-mi", "127.0.0.1", "-mp", strconv.Itoa(media), "-rtp_echo", "-d", strconv.FormatInt(answerAfter.Milliseconds(), 10),
		"-l", strconv.Itoa(limit), "-nostdin", "-timeout", strconv.Itoa(int(bound.Seconds())) + "s",
		"-trace_stat", "-stf", stats, "-fd", "1",
		"-trace_err", "-error_file", filepath.Join(out, "sipp-errors.log"),
		"-trace_screen", "-screen_file", filepath.Join(out, "sipp-screen.log")}
	c.cmd = exec.Command(bin, args...)
	c.cmd.Dir = dir
	c.cmd.Stderr = c.out
	// SIPp redraws its screen every second; the final one is in sipp-screen.log.
	c.cmd.Stdout = nil
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start sipp: %w", err)
	}
	c.PID = c.cmd.Process.Pid
	go func() {
		c.waitErr = c.cmd.Wait()
		close(c.done)
	}()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if udpBound(port) {
			return c, nil
		}
		select {
		case <-c.done:
			return nil, fmt.Errorf("sipp exited before binding its port: %v %s", c.waitErr, strings.TrimSpace(c.out.String()))
		case <-ctx.Done():
			c.kill()
			return nil, ctx.Err()
		default:
		}
	}
	c.kill()
	return nil, fmt.Errorf("sipp did not bind 127.0.0.1:%d in 15 s", port)
}

// Stats reads SIPp's latest statistics line.
func (c *carrier) Stats() (sippStats, error) {
	b, err := os.ReadFile(c.stats)
	if err != nil {
		return sippStats{}, err
	}
	return parseSIPpStats(b)
}

// waitIdle waits until SIPp has no call open, or for at most d.
func (c *carrier) waitIdle(d time.Duration) {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if s, err := c.Stats(); err == nil && s.Current == 0 {
			return
		}
	}
}

// stop asks SIPp to quit once its calls have ended (SIGUSR1), gives it
// grace to do so, then makes it (a second SIGUSR1 aborts the calls left,
// then SIGKILL). SIPp writes a last statistics line as it quits.
func (c *carrier) stop(grace time.Duration) error {
	var err error
	c.stopOnce.Do(func() {
		_ = c.cmd.Process.Signal(syscall.SIGUSR1)
		select {
		case <-c.done:
			return
		case <-time.After(grace):
		}
		_ = c.cmd.Process.Signal(syscall.SIGUSR1)
		select {
		case <-c.done:
			err = errors.New("sipp still had calls open when asked to quit; they were aborted")
		case <-time.After(5 * time.Second):
			c.kill()
			err = errors.New("sipp did not quit; killed")
		}
	})
	return err
}

func (c *carrier) kill() {
	_ = c.cmd.Process.Kill()
	<-c.done
}

// sippStats are the figures of one line of SIPp's statistics file
// (-trace_stat, "sipp -h stat"): cumulative counts since it started, and
// the calls open at the time of the line.
type sippStats struct {
	Incoming        uint64 `json:"incoming_calls"`
	Current         uint64 `json:"open_calls"`
	Successful      uint64 `json:"successful_calls"`
	Failed          uint64 `json:"failed_calls"`
	Retransmissions uint64 `json:"retransmissions"`
	OutOfCall       uint64 `json:"out_of_call_msgs"`
	DeadCall        uint64 `json:"dead_call_msgs"`
	Elapsed         string `json:"elapsed"`
}

// parseSIPpStats reads the last complete line of a statistics file: a
// header naming the fields, separated by ';', then one line per dump. A
// line SIPp is still writing (no newline yet) is left for the next read.
func parseSIPpStats(b []byte) (sippStats, error) {
	var st sippStats
	var lines []string
	for line := range strings.Lines(string(b)) {
		if strings.HasSuffix(line, "\n") && strings.TrimSpace(line) != "" {
			lines = append(lines, strings.TrimRight(line, "\r\n"))
		}
	}
	if len(lines) < 2 {
		return st, errors.New("sipp statistics: no line yet")
	}
	head, last := strings.Split(lines[0], ";"), strings.Split(lines[len(lines)-1], ";")
	col := map[string]string{}
	for i, name := range head {
		if i < len(last) && name != "" {
			col[name] = last[i]
		}
	}
	count := func(name string, into *uint64) error {
		v, ok := col[name]
		if !ok {
			return fmt.Errorf("sipp statistics: no field %s", name)
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return fmt.Errorf("sipp statistics: %s %q: %w", name, v, err)
		}
		*into = n
		return nil
	}
	for _, f := range []struct {
		name string
		into *uint64
	}{
		{"IncomingCall(C)", &st.Incoming}, {"CurrentCall", &st.Current},
		{"SuccessfulCall(C)", &st.Successful}, {"FailedCall(C)", &st.Failed},
		{"Retransmissions(C)", &st.Retransmissions}, {"OutOfCallMsgs(C)", &st.OutOfCall},
		{"DeadCallMsgs(C)", &st.DeadCall},
	} {
		if err := count(f.name, f.into); err != nil {
			return sippStats{}, err
		}
	}
	st.Elapsed = col["ElapsedTime(C)"]
	return st, nil
}

// freeUDPPort finds a port on 127.0.0.1 that is free now; with pair, one
// whose neighbour two above is free too (SIPp echoes on its media port and
// on that one).
func freeUDPPort(pair bool) (int, error) {
	for range 50 {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		p := pc.LocalAddr().(*net.UDPAddr).Port
		if !pair {
			pc.Close()
			return p, nil
		}
		other, err := net.ListenPacket("udp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(p+2)))
		pc.Close()
		if err == nil {
			other.Close()
			return p, nil
		}
	}
	return 0, errors.New("no free UDP port pair on 127.0.0.1")
}

// udpBound reports whether a UDP socket holds port (/proc/net/udp).
func udpBound(port int) bool {
	b, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return false
	}
	want := fmt.Sprintf(":%04X", port)
	for line := range strings.Lines(string(b)) {
		if f := strings.Fields(line); len(f) > 1 && strings.HasSuffix(f[1], want) {
			return true
		}
	}
	return false
}

// drops are the kernel's UDP drops during a measurement: at SIPp's echo
// sockets, at the server's RTP legs, and on the whole machine.
type drops struct {
	SIPpEcho uint64 `json:"sipp_echo"`
	RTPLegs  uint64 `json:"server_rtp_legs"`
	Machine  uint64 `json:"machine"` // /proc/net/snmp RcvbufErrors
}

// dropsBetween counts the drops between two readings of /proc/net/udp;
// sockets that closed in between are left out.
func dropsBetween(a, b map[int]uint64, echoPort, rtpFirst, rtpLast int) drops {
	var d drops
	for port, n := range b {
		if n < a[port] {
			continue
		}
		n -= a[port]
		switch {
		case port == echoPort || port == echoPort+2:
			d.SIPpEcho += n
		case port >= rtpFirst && port <= rtpLast:
			d.RTPLegs += n
		}
	}
	return d
}
