package bridge

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestWriteEventSplitsLines(t *testing.T) {
	var b strings.Builder
	bw := bufio.NewWriter(&b)
	writeEvent(bw, Event{ID: "b.7", Data: []byte("one\ntwo\r\nthree\rfour")})
	bw.Flush()
	want := "id: b.7\ndata: one\ndata: two\ndata: three\ndata: four\n\n"
	if b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
}

// TestStreamOverHTTP runs a real HTTP server: the client gets retry, the
// replay, live events with ids, heartbeats, and the stream ends when the hub
// shuts down.
func TestStreamOverHTTP(t *testing.T) {
	h := NewHub(HubConfig{})
	first, _ := h.Publish("g", msg{"x", 1})
	h.Publish("g", msg{"x", 2})
	done := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sub, replay, resync, err := h.Subscribe("g", r.Header.Get("Last-Event-ID"))
		if err != nil {
			http.Error(w, err.Error(), 503)
			return
		}
		done <- Stream(r.Context(), w, sub, replay, resync, StreamConfig{Heartbeat: 50 * time.Millisecond})
	}))
	defer srv.Close()

	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Last-Event-ID", first.ID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func() string {
		select {
		case l, ok := <-lines:
			if !ok {
				return "<eof>"
			}
			return l
		case <-time.After(3 * time.Second):
			t.Fatal("timeout reading stream")
			return ""
		}
	}
	expect := func(want string) {
		t.Helper()
		for {
			got := next()
			if got == "" || (got == ": ping" && want != got) {
				continue
			}
			if got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
			return
		}
	}
	expect("retry: 2000")
	expect("id: " + h.boot + ".2")
	expect(`data: {"type":"x","n":2}`)
	h.Publish("g", msg{"x", 3})
	expect("id: " + h.boot + ".3")
	expect(`data: {"type":"x","n":3}`)
	expect(": ping")
	h.Shutdown()
	for l := next(); l != "<eof>"; l = next() {
	}
	if err := <-done; err != nil {
		t.Fatalf("stream: %v", err)
	}
}

func TestStreamResyncMarker(t *testing.T) {
	h := NewHub(HubConfig{})
	sub, replay, resync, _ := h.Subscribe("g", "old.1")
	rec := httptest.NewRecorder()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	Stream(ctx, rec, sub, replay, resync, StreamConfig{})
	if !strings.Contains(rec.Body.String(), `data: {"type":"cb-resync"}`) {
		t.Fatalf("no resync marker in %q", rec.Body.String())
	}
	if h.Subscribers("g") != 0 {
		t.Fatal("stream did not close its subscription")
	}
}
