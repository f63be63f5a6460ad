package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callbridge/widget-server/bench/internal/pace"
	"github.com/callbridge/widget-server/bench/internal/target"
)

// Sizes of the relay's packets: the same bytes on the wire as the gateway's
// SRTP packets (12-byte RTP header, the payload, a 16-byte GCM tag).
const (
	rtpHeaderLen = 12
	srtpTagLen   = 16
)

// relayProc is the bare relay running as a child process.
type relayProc struct {
	addr *net.UDPAddr
	pid  int
	cmd  *exec.Cmd
	done chan error
	tmp  string
}

func startRelay(ctx context.Context, bin string, rcvbuf int) (*relayProc, error) {
	r := &relayProc{done: make(chan error, 1)}
	if bin == "" {
		dir, err := os.MkdirTemp("", "callbridge-relay-")
		if err != nil {
			return nil, err
		}
		r.tmp = dir
		bin = filepath.Join(dir, "udprelay")
		if err := target.Build(ctx, "./bench/udprelay", bin); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	r.cmd = exec.Command(bin, "-listen", "127.0.0.1:0", "-duration", "30m", "-rcvbuf", strconv.Itoa(rcvbuf))
	out, err := r.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := r.cmd.Start(); err != nil {
		return nil, err
	}
	r.pid = r.cmd.Process.Pid
	go func() { r.done <- r.cmd.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		r.close()
		return nil, fmt.Errorf("udprelay: %w", err)
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "udprelay listening ")
	if !ok {
		r.close()
		return nil, fmt.Errorf("udprelay said %q", line)
	}
	r.addr, err = net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		r.close()
		return nil, err
	}
	return r, nil
}

func (r *relayProc) close() {
	_ = r.cmd.Process.Signal(os.Interrupt)
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
	if r.tmp != "" {
		os.RemoveAll(r.tmp)
	}
}

// relayLeg is one side of a relayed pair: a connected UDP socket.
type relayLeg struct {
	conn  *net.UDPConn
	pacer *pace.Pacer
	buf   []byte
	got   atomic.Bool
	wg    sync.WaitGroup
}

func newRelayLeg(ctx context.Context, relay *net.UDPAddr, pair uint32, side byte, p *pace.Pacer) (*relayLeg, error) {
	conn, err := net.DialUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, relay)
	if err != nil {
		return nil, err
	}
	hello := make([]byte, 13)
	copy(hello, "CBRELAY1")
	binary.BigEndian.PutUint32(hello[8:], pair)
	hello[12] = side
	ack := make([]byte, 64)
	for try := 0; ; try++ {
		if try == 20 || ctx.Err() != nil {
			conn.Close()
			return nil, errors.New("relay did not answer the hello")
		}
		if _, err := conn.Write(hello); err != nil {
			conn.Close()
			return nil, err
		}
		_ = conn.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
		if n, err := conn.Read(ack); err == nil && n == len(hello) {
			break
		}
	}
	_ = conn.SetReadDeadline(time.Time{})
	l := &relayLeg{conn: conn, pacer: p, buf: make([]byte, rtpHeaderLen+p.Payload()+srtpTagLen)}
	l.buf[0] = 0x80
	l.buf[1] = 111
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		l.read()
	}()
	return l, nil
}

func (l *relayLeg) read() {
	buf := make([]byte, 1500)
	for {
		n, err := l.conn.Read(buf)
		if err != nil {
			return
		}
		now := time.Now()
		if n < rtpHeaderLen+pace.MinPayload || string(buf[:8]) == "CBRELAY1" {
			continue
		}
		l.got.Store(true)
		l.pacer.Received(buf[rtpHeaderLen:n-srtpTagLen], now)
	}
}

// Send implements pace.Sender; the pacer's shard that owns the leg is its
// only caller.
func (l *relayLeg) Send(payload []byte) bool {
	seq := binary.BigEndian.Uint16(l.buf[2:]) + 1
	binary.BigEndian.PutUint16(l.buf[2:], seq)
	copy(l.buf[rtpHeaderLen:], payload)
	_, err := l.conn.Write(l.buf)
	return err == nil
}

func (l *relayLeg) close() {
	l.conn.Close()
	l.wg.Wait()
}

func runRelay(ctx context.Context, cfg config, res *Result) error {
	relay, err := startRelay(ctx, cfg.relayBin, cfg.relayRcvbuf)
	if err != nil {
		return err
	}
	defer relay.close()
	fmt.Fprintf(os.Stderr, "relay: %s (pid %d)\n", relay.addr, relay.pid)
	pacer := pace.New(cfg.shards, cfg.payload)
	stopSending := pacer.Start(ctx)
	var legs []*relayLeg
	defer func() {
		stopSending()
		for _, l := range legs {
			l.close()
		}
	}()
	r := ramp{cfg: cfg, max: &res.RelayMax, maxPPS: &res.RelayMaxPPS}
	for _, n := range cfg.relayCalls {
		started := time.Now()
		for k := len(legs) / 2; k < n; k++ {
			a, err := newRelayLeg(ctx, relay.addr, uint32(k), 0, pacer)
			if err != nil {
				return err
			}
			b, err := newRelayLeg(ctx, relay.addr, uint32(k), 1, pacer)
			if err != nil {
				a.close()
				return err
			}
			legs = append(legs, a, b)
			pacer.Add(a)
			pacer.Add(b)
		}
		setup := time.Since(started)
		st, err := measureStep(ctx, cfg, pacer, len(res.Steps)+1, relay.pid, relay.addr.Port, false, nil)
		st.Target, st.Calls = "relay", n
		st.RelayUsPerPacket, st.ServerUsPerPacket = st.ServerUsPerPacket, 0
		st.SetupSeconds = float64(int(setup.Seconds()*10)) / 10
		for i := 0; i+1 < len(legs); i += 2 {
			if legs[i].got.Load() && legs[i+1].got.Load() {
				st.Established++
			}
		}
		if stop := r.record(res, st); stop || err != nil {
			return err
		}
	}
	return nil
}
