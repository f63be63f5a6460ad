package bridge

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/telephony"
)

// benchSession is a connected call between two extensions, as the switch
// hands it over with each event.
func benchSession() telephony.Session {
	now := time.Unix(1_700_000_000, 0)
	from := telephony.Endpoint{PhoneNumber: "+16505550101", Name: "Alice Adams", ExtensionNumber: "101", ExtensionID: 1}
	to := telephony.Endpoint{PhoneNumber: "+16505550102", Name: "Bob Brown", ExtensionNumber: "102", ExtensionID: 2}
	return telephony.Session{
		ID: "s-4f2a9c0d1e", SessionID: "1700000000000001", Origin: "Call",
		Created: now, Connected: now.Add(3 * time.Second),
		Parties: []telephony.Party{
			{ID: "p-a1b2c3", Direction: telephony.Outbound, From: from, To: to, Status: telephony.StatusAnswered, Owner: 1, Device: "dev-alice-0001"},
			{ID: "p-d4e5f6", Direction: telephony.Inbound, From: from, To: to, Status: telephony.StatusAnswered, Owner: 2, Device: "dev-bob-0002"},
		},
	}
}

// muteEvent is the switch event of a mute toggle on benchSession's caller.
func muteEvent() telephony.Event {
	s := benchSession()
	return telephony.Event{Extension: 1, Sequence: 7, Session: s, Cause: "mute", Device: s.Parties[0].Device}
}

// BenchmarkEncodeEvent is the cost of turning one switch event into the
// rc-* messages of an extension's widgets and encoding them, as
// Hub.Publish does once per message whatever the number of subscribers.
func BenchmarkEncodeEvent(b *testing.B) {
	s := benchSession()
	p := s.Parties[0]
	b.Run("rc-call-mute-notify", func(b *testing.B) {
		env := Envelope{To: p.Device, Message: CallNotify{Type: EventCallMute, Call: webphoneCall(s, p)}}
		b.ReportAllocs()
		for range b.N {
			if _, err := json.Marshal(env); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("rc-telephony-session-notify", func(b *testing.B) {
		msg := TelephonySessionNotify{Type: EventTelephonySession, TelephonySession: telephonySession(s, nil, 7, time.Now())}
		b.ReportAllocs()
		for range b.N {
			if _, err := json.Marshal(msg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("mute: map and encode all", func(b *testing.B) {
		m := NewCallMapper()
		ev := muteEvent()
		b.ReportAllocs()
		for range b.N {
			for _, env := range m.Messages(ev) {
				if _, err := json.Marshal(env); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// BenchmarkWriteEvent is one subscriber's share of a delivery: copying a
// published event into a write buffer and writing it out, as streams did
// before they handed the hub's bytes to the kernel as they are.
func BenchmarkWriteEvent(b *testing.B) {
	msg := TelephonySessionNotify{Type: EventTelephonySession, TelephonySession: telephonySession(benchSession(), nil, 7, time.Now())}
	ev, err := NewHub(HubConfig{}).Publish("ext:1", msg)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(ev.Data)))
	for range b.N {
		buf := getBuf()
		*buf = appendEvent(*buf, ev)
		if _, err := io.Discard.Write(*buf); err != nil {
			b.Fatal(err)
		}
		putBuf(buf)
	}
}

// BenchmarkStreamWrite is one stream's write of a publication (the three
// messages of a mute toggle) to a loopback TCP connection whose other end
// reads everything: "copy" copies the events into a pooled buffer, sets the
// write deadline and writes, as streams did before; "writev" is the
// stream's writer, which hands the hub's slices to one writev and moves the
// deadline only when half of it is used up.
func BenchmarkStreamWrite(b *testing.B) {
	h := NewHub(HubConfig{})
	var msgs []any
	for _, env := range NewCallMapper().Messages(muteEvent()) {
		msgs = append(msgs, env)
	}
	evs, err := h.PublishAll("ext:1", msgs)
	if err != nil {
		b.Fatal(err)
	}
	size := 0
	for _, ev := range evs {
		size += len(ev.frame)
	}
	run := func(b *testing.B, write func(conn net.Conn) func() error) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer ln.Close()
		read := make(chan error, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				read <- err
				return
			}
			defer c.Close()
			_, err = io.Copy(io.Discard, c)
			read <- err
		}()
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		w := write(conn)
		b.ReportAllocs()
		b.SetBytes(int64(size))
		b.ResetTimer()
		for range b.N {
			if err := w(); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		conn.Close()
		if err := <-read; err != nil {
			b.Fatal(err)
		}
	}
	b.Run("copy", func(b *testing.B) {
		run(b, func(conn net.Conn) func() error {
			return func() error {
				buf := getBuf()
				*buf = appendEvents(*buf, evs)
				defer putBuf(buf)
				if err := conn.SetWriteDeadline(time.Now().Add(10 * time.Second)); err != nil {
					return err
				}
				_, err := conn.Write(*buf)
				return err
			}
		})
	})
	b.Run("writev", func(b *testing.B) {
		run(b, func(conn net.Conn) func() error {
			cw := newConnWriter(conn, nil, 10*time.Second)
			return func() error {
				out := getBufs()
				*out = appendFrames(*out, evs)
				err := cw.write(*out)
				putBufs(out)
				return err
			}
		})
	})
}

// BenchmarkBroadcast publishes one event to a group of n subscribers and
// waits until every subscriber has formatted it and written it out (to
// io.Discard: the socket write is not included). ns/delivery is the time
// per subscriber.
func BenchmarkBroadcast(b *testing.B) {
	data := TelephonySessionNotify{Type: EventTelephonySession, TelephonySession: telephonySession(benchSession(), nil, 7, time.Now())}
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			broadcast(b, n, []any{data})
		})
	}
}

// BenchmarkBroadcastCallEvent publishes the three messages of one switch
// event (a mute toggle) to n subscribers: as one publication, as the server
// does, and one message at a time. ns/delivery is per subscriber and switch
// event.
func BenchmarkBroadcastCallEvent(b *testing.B) {
	m := NewCallMapper()
	var msgs []any
	for _, env := range m.Messages(muteEvent()) {
		msgs = append(msgs, env)
	}
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("publication=one/subscribers=%d", n), func(b *testing.B) {
			broadcast(b, n, msgs)
		})
		b.Run(fmt.Sprintf("publication=each/subscribers=%d", n), func(b *testing.B) {
			broadcast(b, n, msgs[:1], msgs[1:]...)
		})
	}
}

// broadcast publishes msgs as one publication, then each of more as one of
// its own, and waits until every subscriber's stream loop has written every
// event (to io.Discard).
func broadcast(b *testing.B, n int, msgs []any, more ...any) {
	h := NewHub(HubConfig{})
	var done sync.WaitGroup
	var subs sync.WaitGroup
	cfg := StreamConfig{Heartbeat: time.Hour}
	cfg.defaults()
	for range n {
		s, _, _, err := h.Subscribe("ext:1", "")
		if err != nil {
			b.Fatal(err)
		}
		subs.Add(1)
		first := getBuf()
		*first = appendPreamble(*first, cfg, false, nil)
		preamble := true
		send := func(bufs net.Buffers) error {
			events := len(bufs)
			if preamble {
				preamble, events = false, 0
			}
			for _, b := range bufs {
				if _, err := io.Discard.Write(b); err != nil {
					return err
				}
			}
			done.Add(-events)
			return nil
		}
		go func() {
			defer subs.Done()
			_ = pump(s, first, cfg, send)
		}()
	}
	events := len(msgs) + len(more)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		done.Add(n * events)
		if _, err := h.PublishAll("ext:1", msgs); err != nil {
			b.Fatal(err)
		}
		for _, msg := range more {
			if _, err := h.Publish("ext:1", msg); err != nil {
				b.Fatal(err)
			}
		}
		done.Wait()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/delivery")
	h.Shutdown()
	subs.Wait()
}
