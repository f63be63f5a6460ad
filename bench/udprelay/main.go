// Command udprelay is the bare UDP relay the media load test compares the
// gateway with: one loopback UDP socket, one reading goroutine, and for each
// packet a map lookup and a write to the sender's partner — no ICE, DTLS,
// SRTP, RTCP or RTP rewriting. It is the ceiling of relaying on this machine
// with the kernel's socket calls, against which the gateway's capacity is
// stated.
//
// A client registers by sending a hello (the 8 bytes "CBRELAY1", a 4-byte
// pair id and a side byte, 0 or 1); the relay answers it with the same bytes.
// Once both sides of a pair are registered every other packet from one is
// written to the other.
//
//	udprelay [-listen 127.0.0.1:0] [-duration 10m] [-readers 1] [-rcvbuf 0]
//
// It prints "udprelay listening ADDR" and stops after -duration, or on
// SIGINT/SIGTERM.
package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// Hello is the registration prefix.
var hello = []byte("CBRELAY1")

type config struct {
	listen   string
	duration time.Duration
	readers  int
	rcvbuf   int
}

func main() {
	var cfg config
	flag.StringVar(&cfg.listen, "listen", "127.0.0.1:0", "loopback UDP address to listen on")
	flag.DurationVar(&cfg.duration, "duration", 10*time.Minute, "stop after this long")
	flag.IntVar(&cfg.readers, "readers", 1, "goroutines reading the socket")
	flag.IntVar(&cfg.rcvbuf, "rcvbuf", 0, "socket receive and send buffer, bytes (0: the kernel's default; capped by net.core.rmem_max)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "udprelay:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config) error {
	addr, err := netip.ParseAddrPort(cfg.listen)
	if err != nil {
		return fmt.Errorf("listen %q: %w", cfg.listen, err)
	}
	if !addr.Addr().IsLoopback() {
		return fmt.Errorf("listen %s: loopback addresses only", addr)
	}
	conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return err
	}
	if cfg.rcvbuf > 0 {
		_ = conn.SetReadBuffer(cfg.rcvbuf)
		_ = conn.SetWriteBuffer(cfg.rcvbuf)
	}
	fmt.Printf("udprelay listening %s\n", conn.LocalAddr())
	ctx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	go func() {
		<-ctx.Done()
		conn.Close()
	}()
	r := &relay{conn: conn, peers: map[netip.AddrPort]netip.AddrPort{}, pairs: map[uint32]*[2]netip.AddrPort{}}
	var wg sync.WaitGroup
	for range max(cfg.readers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.serve()
		}()
	}
	wg.Wait()
	return nil
}

type relay struct {
	conn  *net.UDPConn
	mu    sync.RWMutex
	peers map[netip.AddrPort]netip.AddrPort
	pairs map[uint32]*[2]netip.AddrPort
}

// serve reads packets until the socket closes. It allocates nothing per
// forwarded packet.
func (r *relay) serve() {
	buf := make([]byte, 1500)
	for {
		n, from, err := r.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		r.mu.RLock()
		to, ok := r.peers[from]
		r.mu.RUnlock()
		if ok {
			_, _ = r.conn.WriteToUDPAddrPort(buf[:n], to)
			continue
		}
		if n == len(hello)+5 && bytes.HasPrefix(buf, hello) {
			r.register(binary.BigEndian.Uint32(buf[8:]), buf[12]&1, from)
			_, _ = r.conn.WriteToUDPAddrPort(buf[:n], from)
		}
	}
}

func (r *relay) register(pair uint32, side byte, from netip.AddrPort) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.pairs[pair]
	if p == nil {
		p = &[2]netip.AddrPort{}
		r.pairs[pair] = p
	}
	p[side] = from
	if p[0].IsValid() && p[1].IsValid() {
		r.peers[p[0]], r.peers[p[1]] = p[1], p[0]
	}
}
