package bridge

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// StreamConfig tunes one event stream.
type StreamConfig struct {
	Heartbeat    time.Duration // comment line interval (default 15s)
	Retry        time.Duration // reconnect delay advised to the client (default 2s)
	WriteTimeout time.Duration // deadline for each write (default 10s)
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

// Stream writes a text/event-stream response: the retry advice, a resync
// marker when needed, the replayed events, then live events and heartbeats
// until the client leaves, the subscription closes or ctx ends. Each write
// carries its own deadline through http.ResponseController, so the server's
// WriteTimeout does not cut a healthy stream.
func Stream(ctx context.Context, w http.ResponseWriter, sub *Subscription, replay []Event, resync bool, cfg StreamConfig) error {
	cfg.defaults()
	defer sub.Close()
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	// net/http buffers the response already; this small buffer only saves
	// calls into it for the short pieces of each event.
	bw := bufio.NewWriterSize(w, streamBufferSize)
	flush := func() error {
		if err := rc.SetWriteDeadline(time.Now().Add(cfg.WriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		return rc.Flush()
	}
	bw.WriteString("retry: " + strconv.FormatInt(cfg.Retry.Milliseconds(), 10) + "\n\n")
	if resync {
		bw.WriteString("data: {\"type\":\"" + ResyncType + "\"}\n\n")
	}
	for _, ev := range replay {
		writeEvent(bw, ev)
	}
	if err := flush(); err != nil {
		return err
	}
	heartbeat := time.NewTicker(cfg.Heartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-sub.C:
			if !ok {
				return nil
			}
			writeEvent(bw, ev)
			// Drain what is already queued into the same flush.
			for drained := false; !drained; {
				select {
				case ev, ok := <-sub.C:
					if !ok {
						return flush()
					}
					writeEvent(bw, ev)
				default:
					drained = true
				}
			}
		case <-heartbeat.C:
			bw.WriteString(": ping\n\n")
		}
		if err := flush(); err != nil {
			return err
		}
	}
}

// streamBufferSize is the stream's own write buffer, per connection.
const streamBufferSize = 512

// writeEvent writes one event; data with line breaks becomes several data:
// lines, as the event-stream format requires. Encoded JSON has none, so
// its data is written as it is, without a copy.
func writeEvent(bw *bufio.Writer, ev Event) {
	if !bytes.ContainsAny(ev.Data, "\r\n") {
		bw.WriteString("id: ")
		bw.WriteString(ev.ID)
		bw.WriteString("\ndata: ")
		bw.Write(ev.Data)
		bw.WriteString("\n\n")
		return
	}
	bw.WriteString("id: ")
	bw.WriteString(ev.ID)
	bw.WriteByte('\n')
	data := bytes.ReplaceAll(ev.Data, []byte("\r\n"), []byte("\n"))
	data = bytes.ReplaceAll(data, []byte("\r"), []byte("\n"))
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		bw.WriteString("data: ")
		bw.Write(line)
		bw.WriteByte('\n')
	}
	bw.WriteByte('\n')
}
