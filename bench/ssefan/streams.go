package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callbridge/widget-server/bench/internal/measure"
	"github.com/callbridge/widget-server/bench/internal/widget"
)

type fan struct {
	cfg        config
	debug      *measure.Debug    // the server's debug listener, when this tool started it
	baseVars   measure.DebugVars // its variables before any stream
	addr       string            // server's host:port
	host       string            // Host header
	cookie     string
	clientID   string
	listener   *widget.Client // the session every stream belongs to
	devices    []string       // device of stream i; grown by step only
	cur        atomic.Pointer[counters]
	reconnects atomic.Int64
	open       atomic.Int64
	next       atomic.Int64
	wg         sync.WaitGroup
}

// issueDevices has the listening session issue devices until there is one
// for each of n streams, as each widget tab asks for its own: a few
// requests at a time, over the session's kept-alive connections.
func (f *fan) issueDevices(ctx context.Context, n int) error {
	from := len(f.devices)
	if n <= from {
		return nil
	}
	f.devices = append(f.devices, make([]string, n-from)...)
	const parallel = 4
	next := atomic.Int64{}
	next.Store(int64(from))
	errc := make(chan error, parallel)
	for range parallel {
		go func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					errc <- nil
					return
				}
				rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				d, err := f.listener.NewDevice(rctx)
				cancel()
				if err != nil {
					next.Store(int64(n)) // the others stop too
					errc <- fmt.Errorf("device for stream %d: %w", i, err)
					return
				}
				f.devices[i] = d
			}
		}()
	}
	var first error
	for range parallel {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// openUpTo opens streams until n are open, parallel at a time.
func (f *fan) openUpTo(ctx context.Context, n int) (int, error) {
	sem := make(chan struct{}, max(f.cfg.parallel, 1))
	var failures atomic.Int64
	var wg sync.WaitGroup
	for int(f.next.Load()) < n {
		i := int(f.next.Add(1) - 1)
		if ctx.Err() != nil {
			break
		}
		device := f.devices[i]
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			body, err := f.connect(ctx, i, device)
			if err != nil {
				if failures.Add(1) == 1 {
					fmt.Fprintf(os.Stderr, "ssefan: stream %d: %v\n", i, err)
				}
				return
			}
			f.open.Add(1)
			f.wg.Add(1)
			go f.serve(ctx, i, device, body)
		}()
	}
	wg.Wait()
	if n := failures.Load(); n > 0 {
		return int(n), fmt.Errorf("%d streams failed to open", n)
	}
	return 0, ctx.Err()
}

// connect opens stream i, of device, from its source address and returns
// its body once the server has answered.
func (f *fan) connect(ctx context.Context, i int, device string) (io.ReadCloser, error) {
	return dialStream(ctx, streamTarget{addr: f.addr, host: f.host, clientID: f.clientID}, sourceAddr(i, f.cfg.perSource), device, f.cookie)
}

// streamTarget is the server's event stream endpoint, as the tool reaches it.
type streamTarget struct {
	addr     string // host:port to dial
	host     string // Host header
	clientID string
}

// sourceAddr is the source address of stream i: 127.0.0.2, .3, …,
// perSource streams each, so that ports do not run short.
func sourceAddr(i, perSource int) net.IP {
	n := 2 + i/max(perSource, 1)
	return net.IPv4(127, 0, byte(n>>8), byte(n))
}

// dialStream opens the event stream of device with a session's cookie from
// src and returns its body once the server has answered; the body closes
// when ctx ends.
func dialStream(ctx context.Context, t streamTarget, src net.IP, device, cookie string) (io.ReadCloser, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		return nil, err
	}
	q := url.Values{"clientId": {t.clientID}, "deviceId": {device}}
	req := "GET /widget/events?" + q.Encode() + " HTTP/1.1\r\nHost: " + t.host +
		"\r\nAccept: text/event-stream\r\nCookie: " + cookie + "\r\n\r\n"
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		conn.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(conn, 1024)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		conn.Close()
		return nil, fmt.Errorf("status %d %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	_ = conn.SetDeadline(time.Time{})
	go func() {
		<-ctx.Done()
		conn.Close()
	}()
	return struct {
		io.Reader
		io.Closer
	}{resp.Body, conn}, nil
}

var eventTimeKey = []byte(`"eventTime":"`)

// serve reads stream i until ctx ends, reopening it with the same device
// (as EventSource does) when the server closes it.
func (f *fan) serve(ctx context.Context, i int, device string, body io.ReadCloser) {
	defer f.wg.Done()
	for {
		f.read(body)
		body.Close()
		f.open.Add(-1)
		if ctx.Err() != nil {
			return
		}
		f.reconnects.Add(1)
		var err error
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(2 * time.Second): // the server's retry advice
			}
			if body, err = f.connect(ctx, i, device); err == nil {
				break
			}
		}
		f.open.Add(1)
	}
}

// read counts the telephony-session messages of one stream and their
// delivery latency. It parses only the eventTime field: parsing every
// message fully at this fan-out would cost the server its CPU.
func (f *fan) read(body io.Reader) {
	br := bufio.NewReaderSize(body, 2048)
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A long line: only its start matters.
			for err == bufio.ErrBufferFull {
				_, err = br.ReadSlice('\n')
			}
			continue
		}
		if err != nil {
			return
		}
		now := time.Now()
		k := bytes.Index(line, eventTimeKey)
		if k < 0 {
			continue
		}
		rest := line[k+len(eventTimeKey):]
		end := bytes.IndexByte(rest, '"')
		if end < 0 {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, string(rest[:end]))
		if err != nil {
			continue
		}
		if c := f.cur.Load(); c != nil {
			c.delivered.Add(1)
			c.latency.Add(now.Sub(at))
		}
	}
}

func cookieHeader(c *http.Client, u *url.URL) string {
	var parts []string
	for _, ck := range c.Jar.Cookies(u) {
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	return strings.Join(parts, "; ")
}
