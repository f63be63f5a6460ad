package bridge

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestAppendEventSplitsLines(t *testing.T) {
	got := string(appendEvent(nil, Event{ID: "b.7", Data: []byte("one\ntwo\r\nthree\rfour")}))
	want := "id: b.7\ndata: one\ndata: two\ndata: three\ndata: four\n\n"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestStreamOverHTTP runs a real HTTP server: the stream takes the
// connection over; the client gets retry, the replay, live events with ids
// (a publication of several in order), heartbeats, and the stream ends when
// the hub shuts down.
func TestStreamOverHTTP(t *testing.T) {
	h := NewHub(HubConfig{})
	first, _ := h.Publish("g", msg{"x", 1})
	h.Publish("g", msg{"x", 2})
	ended := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sub, replay, resync, err := h.Subscribe("g", r.Header.Get("Last-Event-ID"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("X-Frame-Options", "DENY")
		if err := Stream(r.Context(), w, sub, replay, resync, StreamConfig{Heartbeat: 50 * time.Millisecond}, func() { close(ended) }); err != nil {
			t.Errorf("stream: %v", err)
		}
	}))
	defer srv.Close()

	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Last-Event-ID", first.ID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("headers %v", resp.Header)
	}
	next := lineReader(t, resp.Body)
	var heartbeat string
	expect := func(want string) {
		t.Helper()
		for {
			got := next()
			if got == "" || (want != got && (got == "event: heartbeat" || got == heartbeat)) {
				continue
			}
			if got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
			return
		}
	}
	heartbeat = `data: {"type":"cb-heartbeat","intervalMs":50}`
	expect("retry: 2000")
	expect("event: heartbeat")
	expect(heartbeat)
	expect("id: " + h.boot + ".2")
	expect(`data: {"type":"x","n":2}`)
	h.Publish("g", msg{"x", 3})
	expect("id: " + h.boot + ".3")
	expect(`data: {"type":"x","n":3}`)
	h.PublishAll("g", []any{msg{"x", 4}, msg{"x", 5}})
	expect("id: " + h.boot + ".4")
	expect(`data: {"type":"x","n":4}`)
	expect("id: " + h.boot + ".5")
	expect(`data: {"type":"x","n":5}`)
	expect("event: heartbeat")
	expect(heartbeat)
	h.Shutdown()
	for l := next(); l != "<eof>"; l = next() {
	}
	select {
	case <-ended:
	case <-time.After(patience):
		t.Fatal("done not called after the hub shut down")
	}
}

// TestStreamNoticesClientLeaving: a taken-over stream ends, closes its
// subscription and calls done as soon as the client goes, without waiting
// for a write to fail.
func TestStreamNoticesClientLeaving(t *testing.T) {
	h := NewHub(HubConfig{})
	ended := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sub, _, _, _ := h.Subscribe("g", "")
		Stream(r.Context(), w, sub, nil, false, StreamConfig{Heartbeat: time.Hour}, func() { close(ended) })
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if got := lineReader(t, resp.Body)(); got != "retry: 2000" {
		t.Fatalf("first line %q", got)
	}
	if n := h.Subscribers("g"); n != 1 {
		t.Fatalf("subscribers = %d, want 1", n)
	}
	resp.Body.Close()
	select {
	case <-ended:
	case <-time.After(patience):
		t.Fatal("stream did not notice the client leaving")
	}
	if n := h.Subscribers("g"); n != 0 {
		t.Fatalf("subscribers = %d after the client left", n)
	}
}

// lineReader returns a function giving the body's next line, "<eof>" at its
// end; it fails the test after patience without a line.
func lineReader(t *testing.T, body io.Reader) func() string {
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	return func() string {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				return "<eof>"
			}
			return l
		case <-time.After(patience):
			t.Fatal("timeout reading stream")
			return ""
		}
	}
}

func TestStreamResyncMarker(t *testing.T) {
	h := NewHub(HubConfig{})
	sub, replay, resync, _ := h.Subscribe("g", "old.1")
	rec := httptest.NewRecorder()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	Stream(ctx, rec, sub, replay, resync, StreamConfig{}, nil)
	if !strings.Contains(rec.Body.String(), `data: {"type":"cb-resync"}`) {
		t.Fatalf("no resync marker in %q", rec.Body.String())
	}
	if h.Subscribers("g") != 0 {
		t.Fatal("stream did not close its subscription")
	}
}

// TestStreamsOwned: a taken-over stream's goroutines are counted in
// StreamConfig.Streams, so its owner can wait for them; once the hub shuts
// down they end, the stream's done has run and the connection is closed.
func TestStreamsOwned(t *testing.T) {
	h := NewHub(HubConfig{})
	var streams sync.WaitGroup
	var ended atomic.Bool
	taken := make(chan struct{}) // the handler handed the connection over
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(taken)
		sub, replay, resync, err := h.Subscribe("g", "")
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		if err := Stream(r.Context(), w, sub, replay, resync, StreamConfig{Streams: &streams}, func() { ended.Store(true) }); err != nil {
			t.Errorf("stream: %v", err)
		}
	}))
	defer srv.Close()

	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	next := lineReader(t, resp.Body)
	if got := next(); got != "retry: 2000" {
		t.Fatalf("first line %q", got)
	}
	<-taken
	h.Shutdown()
	waited := make(chan struct{})
	go func() { streams.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(30 * time.Second): // against a hang only
		t.Fatal("the stream's goroutines did not end after the hub shut down")
	}
	if !ended.Load() {
		t.Error("Wait returned before the stream's done ran")
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Errorf("after the stream ended: %v", err)
	}
}

// TestPumpCoalesces: publications already queued when a stream wakes go out
// in one write, in order, as the hub's own bytes (not copies).
func TestPumpCoalesces(t *testing.T) {
	h := NewHub(HubConfig{})
	sub, _, _, _ := h.Subscribe("g", "")
	var published []Event
	for i := 1; i <= 3; i++ {
		evs, err := h.PublishAll("g", []any{msg{"x", 2 * i}, msg{"x", 2*i + 1}})
		if err != nil {
			t.Fatal(err)
		}
		published = append(published, evs...)
	}
	h.Shutdown() // the pump ends once it has written what is queued
	var writes []net.Buffers
	first := getBuf()
	*first = append(*first, "preamble"...)
	err := pump(sub, first, StreamConfig{Heartbeat: time.Hour}, func(bufs net.Buffers) error {
		writes = append(writes, append(net.Buffers(nil), bufs...))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(writes) != 2 || string(writes[0][0]) != "preamble" {
		t.Fatalf("%d writes, want the preamble and one more", len(writes))
	}
	if len(writes[1]) != len(published) {
		t.Fatalf("second write has %d slices, want %d", len(writes[1]), len(published))
	}
	for i, b := range writes[1] {
		if &b[0] != &published[i].frame[0] {
			t.Errorf("slice %d is not the hub's frame of event %s", i, published[i].ID)
		}
		if want := "id: " + published[i].ID + "\ndata: " + string(published[i].Data) + "\n\n"; string(b) != want {
			t.Errorf("slice %d = %q, want %q", i, b, want)
		}
	}
}

// deadlineConn is a connection that is no socket (so its writer copies)
// and records the write deadlines set on it.
type deadlineConn struct {
	net.Conn
	out       strings.Builder
	writes    int
	deadlines []time.Time
}

func (c *deadlineConn) Write(b []byte) (int, error) {
	c.writes++
	return c.out.Write(b)
}

func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	c.deadlines = append(c.deadlines, t)
	return nil
}

// TestConnWriter: the head goes out with the first write; each write is one
// call on the connection; the deadline is set once while more than half of
// the timeout is left.
func TestConnWriter(t *testing.T) {
	c := &deadlineConn{}
	w := newConnWriter(c, []byte("HEAD\r\n\r\n"), time.Hour)
	if w.vectored {
		t.Fatal("a connection that is no socket is written vectored")
	}
	if err := w.write(net.Buffers{[]byte("a"), []byte("b")}); err != nil {
		t.Fatal(err)
	}
	if err := w.write(net.Buffers{[]byte("c")}); err != nil {
		t.Fatal(err)
	}
	if got := c.out.String(); got != "HEAD\r\n\r\nabc" || c.writes != 2 {
		t.Fatalf("wrote %q in %d writes, want %q in 2", got, c.writes, "HEAD\r\n\r\nabc")
	}
	if len(c.deadlines) != 1 {
		t.Fatalf("deadline set %d times, want once", len(c.deadlines))
	}
	// Less than half of the timeout left: the next write moves it.
	w.deadline = time.Now().Add(10 * time.Minute)
	if err := w.write(net.Buffers{[]byte("d")}); err != nil {
		t.Fatal(err)
	}
	if len(c.deadlines) != 2 || time.Until(c.deadlines[1]) < 30*time.Minute {
		t.Fatalf("deadlines %v: want a second one about an hour ahead", c.deadlines)
	}
}
