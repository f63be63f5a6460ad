package media

import (
	"errors"
	"io"
	"testing"

	"github.com/pion/transport/v2/packetio"
)

// TestTrackBufferHandsOver checks the buffer's two lives: it queues what
// comes before the leg takes it over and gives it back in order, then
// forwards each packet as it is written, and refuses writes once closed.
func TestTrackBufferHandsOver(t *testing.T) {
	l := &leg{kind: KindTone}
	b, ok := l.newBuffer(packetio.RTPBufferPacket, 42).(*trackBuffer)
	if !ok || l.buffer(42) != b {
		t.Fatal("the RTP buffer is not the leg's")
	}
	pkts := make([][]byte, trackQueueLimit+3)
	for i := range pkts {
		pkts[i] = packet(t, 111, uint16(i), uint32(i)*960, 42, []byte{byte(i)})
		if _, err := b.Write(pkts[i]); err != nil {
			t.Fatalf("Write %d: %v", i, err)
		}
	}
	pkts[0][12] = 0xFF // the buffer keeps copies
	if l.packetsReceived.Load() != 0 {
		t.Fatal("a packet was forwarded before the leg took the buffer over")
	}

	s := newSource(nil)
	b.handOver(s)
	buf := make([]byte, rtpBufferSize)
	for i := range trackQueueLimit {
		n, err := b.Read(buf)
		if err != nil || n != len(pkts[i]) || buf[12] != byte(i) {
			t.Fatalf("Read %d = %d bytes (%x), %v; want packet %d", i, n, buf[:n], err, i)
		}
	}
	if _, err := b.Read(buf); !errors.Is(err, errHandedOver) {
		t.Fatalf("Read of an empty buffer handed over: %v, want errHandedOver", err)
	}

	if _, err := b.Write(pkts[1]); err != nil {
		t.Fatalf("Write after the take-over: %v", err)
	}
	if got := l.packetsReceived.Load(); got != 1 {
		t.Fatalf("%d packets forwarded by Write, want 1", got)
	}
	if l.recv.c.maxSeq != 1 {
		t.Errorf("the reports counted sequence %d, want 1", l.recv.c.maxSeq)
	}

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Write(pkts[2]); err == nil {
		t.Error("Write after Close succeeded")
	}
	if l.packetsReceived.Load() != 1 {
		t.Error("a packet was forwarded after Close")
	}
}

// TestTrackBufferCloseEndsRead checks that a reader waiting for the first
// packet is released by Close.
func TestTrackBufferCloseEndsRead(t *testing.T) {
	testTimeout(t)
	l := &leg{kind: KindTone}
	b := l.newBuffer(packetio.RTPBufferPacket, 7)
	done := make(chan error, 1)
	go func() {
		_, err := b.Read(make([]byte, rtpBufferSize))
		done <- err
	}()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, io.EOF) {
		t.Fatalf("Read after Close: %v, want io.EOF", err)
	}
}
