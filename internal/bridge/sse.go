package bridge

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// StreamConfig tunes one event stream.
type StreamConfig struct {
	Heartbeat time.Duration // heartbeat event interval (default 15s)
	Retry     time.Duration // reconnect delay advised to the client (default 2s)
	// WriteTimeout bounds a write the client does not take: a stream whose
	// write makes no progress for between half of it and all of it ends
	// (default 10s). The deadline is moved only when less than half of it
	// is left, not at every write.
	WriteTimeout time.Duration
	// Streams, when set, counts the goroutines of taken-over streams, so
	// that their owner can wait for them to end at shutdown.
	Streams *sync.WaitGroup
}

func (c *StreamConfig) defaults() {
	if c.Heartbeat <= 0 {
		c.Heartbeat = 15 * time.Second
	}
	if c.Retry <= 0 {
		c.Retry = 2 * time.Second
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
}

// HeartbeatType is the type of the heartbeat event a stream sends first and
// then every StreamConfig.Heartbeat. It is a named event ("event: heartbeat")
// without an id, so it does not move the client's Last-Event-ID, and an
// EventSource hands it only to a "heartbeat" listener: the widget uses it to
// notice a stream that stalls without an error, and reopens it.
const HeartbeatType = "cb-heartbeat"

// Stream answers with a text/event-stream: the retry advice, a heartbeat, a
// resync marker when needed, the replayed events, then live events and
// heartbeats until the client leaves, the subscription closes or the write
// deadline passes. It
// closes sub, and calls done (if not nil) once the stream has ended, however
// it ended.
//
// On an HTTP/1.x connection Stream takes the connection over from net/http
// and returns at once; the stream goes on in a goroutine of its own that
// holds only the socket and the subscription, so the request, net/http's
// connection buffers and the handler's stack are freed for the stream's
// whole life. The response is then delimited by the connection's close.
// Where the connection cannot be taken over (HTTP/2, a test recorder), the
// stream is written through w until ctx ends, and Stream returns then.
func Stream(ctx context.Context, w http.ResponseWriter, sub *Subscription, replay []Event, resync bool, cfg StreamConfig, done func()) error {
	cfg.defaults()
	if done == nil {
		done = func() {}
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	first := getBuf()
	*first = appendPreamble(*first, cfg, resync, replay)

	rc := http.NewResponseController(w)
	// Counted before the connection leaves the HTTP server's care, so that
	// a server that has shut down and then waits sees every stream.
	if cfg.Streams != nil {
		cfg.Streams.Add(1)
	}
	conn, brw, err := rc.Hijack()
	if err != nil && cfg.Streams != nil {
		cfg.Streams.Done()
	}
	if err == nil {
		head := responseHead(h)
		pending := brw.Reader.Buffered()
		go func() {
			if cfg.Streams != nil {
				defer cfg.Streams.Done()
			}
			defer done()
			defer sub.Close()
			defer conn.Close()
			if pending > 0 {
				putBuf(first)
				return // the client spoke after its request: not an event-stream client
			}
			streamConn(conn, head, first, sub, cfg)
		}()
		return nil
	}
	defer done()
	defer sub.Close()
	if !errors.Is(err, http.ErrNotSupported) {
		putBuf(first)
		return err
	}
	w.WriteHeader(http.StatusOK)
	send := func(bufs net.Buffers) error {
		if err := rc.SetWriteDeadline(time.Now().Add(cfg.WriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		for _, b := range bufs {
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		return rc.Flush()
	}
	// The request's end closes the subscription, which ends the pump.
	stop := context.AfterFunc(ctx, sub.Close)
	defer stop()
	return pump(sub, first, cfg, send)
}

// responseHead is the status line and headers of a taken-over stream.
func responseHead(h http.Header) []byte {
	h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	h.Set("Connection", "close")
	var b bytes.Buffer
	b.WriteString("HTTP/1.1 200 OK\r\n")
	_ = h.Write(&b) // sorted, and values cleaned of line breaks
	b.WriteString("\r\n")
	return b.Bytes()
}

// streamConn runs a taken-over stream. The client never speaks on an event
// stream, so a reader goroutine only waits for it to leave (or to send
// anything, which ends the stream too) and then closes the subscription:
// the stream notices a closed tab at once instead of at its next write,
// and waits on its subscription alone.
func streamConn(conn net.Conn, head []byte, first *[]byte, sub *Subscription, cfg StreamConfig) {
	left := make(chan struct{})
	go func() {
		var b [1]byte
		_, _ = conn.Read(b[:])
		sub.Close()
		close(left)
	}()
	cw := newConnWriter(conn, head, cfg.WriteTimeout)
	_ = pump(sub, first, cfg, cw.write)
	conn.Close() // ends the reader, which the stream waits for
	<-left
}

// connWriter writes a taken-over stream to its connection: what one wake
// of the stream has to send, in one system call.
type connWriter struct {
	conn     net.Conn
	head     []byte // the response head, sent with the first write
	timeout  time.Duration
	deadline time.Time // the connection's write deadline
	// vectored: the connection writes net.Buffers with one writev (a TCP
	// or Unix socket); others get them copied into one buffer.
	vectored bool
	bufs     net.Buffers // what is being written; its own field, so that it does not escape per write
}

func newConnWriter(conn net.Conn, head []byte, timeout time.Duration) *connWriter {
	w := &connWriter{conn: conn, head: head, timeout: timeout}
	switch conn.(type) {
	case *net.TCPConn, *net.UnixConn:
		w.vectored = true
	}
	return w
}

// write writes bufs in order. The byte slices are the events as the hub
// formatted them, shared by every stream: they are handed to the kernel as
// they are (writev), not copied. The write deadline, which costs a timer
// update, is moved only when less than half of the timeout is left, so a
// stream that writes often sets it once every timeout/2.
func (w *connWriter) write(bufs net.Buffers) error {
	if now := time.Now(); w.deadline.Sub(now) < w.timeout/2 {
		w.deadline = now.Add(w.timeout)
		if err := w.conn.SetWriteDeadline(w.deadline); err != nil {
			return err
		}
	}
	if w.head != nil {
		// Head and first events in one write.
		bufs = append(net.Buffers{w.head}, bufs...)
		w.head = nil
	}
	if w.vectored {
		w.bufs = bufs
		_, err := w.bufs.WriteTo(w.conn)
		w.bufs = nil
		return err
	}
	b := getBuf()
	for _, p := range bufs {
		*b = append(*b, p...)
	}
	_, err := w.conn.Write(*b)
	putBuf(b)
	return err
}

// pump sends first, then every publication of sub as it arrives, draining
// what is already queued into the same write, and a heartbeat every
// cfg.Heartbeat. It returns when the subscription closes (the client left,
// it fell behind, or the hub shut down) or a write fails.
//
// The stream waits on its subscription's channel alone: its heartbeat timer
// hands it an empty publication through that channel rather than being a
// second channel to select on, so a wake costs a plain receive.
func pump(sub *Subscription, first *[]byte, cfg StreamConfig, send func(net.Buffers) error) error {
	out := getBufs()
	*out = append(*out, *first)
	err := send(*out)
	putBufs(out)
	putBuf(first)
	if err != nil {
		return err
	}
	hb := startHeartbeat(sub, cfg.Heartbeat)
	defer hb.stop()
	beat := heartbeatFrame(cfg)
	for {
		evs, ok := <-sub.C
		if !ok {
			return nil
		}
		out := getBufs()
		*out = appendPublication(*out, evs, beat)
		// Drain what is already queued into the same write.
		open := true
	drain:
		for {
			select {
			case evs, ok := <-sub.C:
				if !ok {
					open = false
					break drain
				}
				*out = appendPublication(*out, evs, beat)
			default:
				break drain
			}
		}
		err := send(*out)
		putBufs(out)
		if err != nil || !open {
			return err
		}
	}
}

// appendPublication appends a publication's events, or the heartbeat for
// the empty publication the heartbeat timer sends.
func appendPublication(bufs net.Buffers, evs []Event, beat []byte) net.Buffers {
	if len(evs) == 0 {
		return append(bufs, beat)
	}
	return appendFrames(bufs, evs)
}

// streamHeartbeat is a stream's heartbeat timer: every interval it hands the
// subscription an empty publication (Subscription.heartbeat).
type streamHeartbeat struct {
	sub      *Subscription
	interval time.Duration

	mu      sync.Mutex
	t       *time.Timer
	stopped bool
}

func startHeartbeat(sub *Subscription, interval time.Duration) *streamHeartbeat {
	hb := &streamHeartbeat{sub: sub, interval: interval}
	hb.mu.Lock()
	hb.t = time.AfterFunc(interval, hb.fire)
	hb.mu.Unlock()
	return hb
}

func (hb *streamHeartbeat) fire() {
	hb.sub.heartbeat()
	hb.mu.Lock()
	defer hb.mu.Unlock()
	if !hb.stopped {
		hb.t.Reset(hb.interval)
	}
}

func (hb *streamHeartbeat) stop() {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	hb.stopped = true
	hb.t.Stop()
}

// heartbeatFrames holds the heartbeat event of each interval in use,
// formatted once and shared by every stream.
var heartbeatFrames sync.Map // time.Duration → []byte

func heartbeatFrame(cfg StreamConfig) []byte {
	if b, ok := heartbeatFrames.Load(cfg.Heartbeat); ok {
		return b.([]byte)
	}
	b, _ := heartbeatFrames.LoadOrStore(cfg.Heartbeat, appendHeartbeat(nil, cfg))
	return b.([]byte)
}

// appendFrames appends the events of a publication as the hub formatted
// them, without copying their bytes.
func appendFrames(bufs net.Buffers, evs []Event) net.Buffers {
	for _, ev := range evs {
		if ev.frame != nil {
			bufs = append(bufs, ev.frame)
		} else {
			bufs = append(bufs, formatEvent(nil, ev))
		}
	}
	return bufs
}

// appendPreamble appends what a stream starts with: the retry advice, a
// heartbeat (which tells the client the interval), the resync marker, and
// the replayed events.
func appendPreamble(b []byte, cfg StreamConfig, resync bool, replay []Event) []byte {
	b = append(b, "retry: "...)
	b = strconv.AppendInt(b, cfg.Retry.Milliseconds(), 10)
	b = append(b, "\n\n"...)
	b = appendHeartbeat(b, cfg)
	if resync {
		b = append(b, "data: {\"type\":\""+ResyncType+"\"}\n\n"...)
	}
	return appendEvents(b, replay)
}

// appendHeartbeat appends a heartbeat event, which carries its interval.
func appendHeartbeat(b []byte, cfg StreamConfig) []byte {
	b = append(b, "event: heartbeat\ndata: {\"type\":\""+HeartbeatType+"\",\"intervalMs\":"...)
	b = strconv.AppendInt(b, cfg.Heartbeat.Milliseconds(), 10)
	return append(b, "}\n\n"...)
}

func appendEvents(b []byte, evs []Event) []byte {
	for _, ev := range evs {
		b = appendEvent(b, ev)
	}
	return b
}

// appendEvent appends one event as the stream writes it: formatted once by
// the hub when it was published, whatever the number of streams.
func appendEvent(b []byte, ev Event) []byte {
	if ev.frame != nil {
		return append(b, ev.frame...)
	}
	return formatEvent(b, ev)
}

// formatEvent appends one event; data with line breaks becomes several
// data: lines, as the event-stream format requires. Encoded JSON has none,
// so its data is appended as it is.
func formatEvent(b []byte, ev Event) []byte {
	b = append(b, "id: "...)
	b = append(b, ev.ID...)
	if !bytes.ContainsAny(ev.Data, "\r\n") {
		b = append(b, "\ndata: "...)
		b = append(b, ev.Data...)
		return append(b, "\n\n"...)
	}
	b = append(b, '\n')
	data := bytes.ReplaceAll(ev.Data, []byte("\r\n"), []byte("\n"))
	data = bytes.ReplaceAll(data, []byte("\r"), []byte("\n"))
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		b = append(b, "data: "...)
		b = append(b, line...)
		b = append(b, '\n')
	}
	return append(b, '\n')
}

// Write buffers are shared by all streams: a stream holds one only while it
// writes, so an idle stream holds none.
var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, 4096)
	return &b
}}

// maxPooledBuf keeps the buffer of an unusually large replay out of the pool.
const maxPooledBuf = 64 << 10

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) > maxPooledBuf {
		return
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}

// The lists of slices a stream hands to one write are pooled the same way.
var bufsPool = sync.Pool{New: func() any {
	b := make(net.Buffers, 0, 8)
	return &b
}}

// maxPooledBufs keeps the list of a stream that drained a long queue out of
// the pool.
const maxPooledBufs = 256

func getBufs() *net.Buffers { return bufsPool.Get().(*net.Buffers) }

// putBufs returns a list to the pool, emptied: it must not keep the events
// it pointed at alive.
func putBufs(b *net.Buffers) {
	if cap(*b) > maxPooledBufs {
		return
	}
	clear((*b)[:cap(*b)])
	*b = (*b)[:0]
	bufsPool.Put(b)
}
