package rawleg

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"
)

// TestDTLSConnRead: a read gets the records pushed, in order; a deadline in
// the past, set before or during a read, ends it with the deadline error
// (which the DTLS library's context handling relies on to stop a read); a
// cleared deadline lets reads wait again; Close ends a read.
func TestDTLSConnRead(t *testing.T) {
	c := newDTLSConn(nil, netip.AddrPort{})
	c.push([]byte{22, 1})
	c.push([]byte{22, 2})
	buf := make([]byte, 16)
	for want := byte(1); want <= 2; want++ {
		if n, err := c.Read(buf); err != nil || n != 2 || buf[1] != want {
			t.Fatalf("read %d: %d bytes %v, %v", want, n, buf[:n], err)
		}
	}

	_ = c.SetReadDeadline(time.Now().Add(-time.Second))
	if _, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past its deadline: %v", err)
	}

	_ = c.SetReadDeadline(time.Time{})
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(buf)
		done <- err
	}()
	// Whether the read is already waiting or not, a deadline in the past ends it.
	_ = c.SetReadDeadline(time.Unix(1, 0))
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read whose deadline passed: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a waiting read did not see its deadline pass")
	}

	_ = c.SetReadDeadline(time.Time{})
	go func() {
		_, err := c.Read(buf)
		done <- err
	}()
	c.push([]byte{23, 3})
	if err := <-done; err != nil || buf[1] != 3 {
		t.Fatalf("read after the deadline was cleared: %v, %v", buf[:2], err)
	}

	go func() {
		_, err := c.Read(buf)
		done <- err
	}()
	c.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read on a closed conn: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end a waiting read")
	}
}

// TestDTLSConnDropsWhenFull: records beyond the queue are dropped, as a
// full socket buffer drops datagrams, and push never blocks; what is queued
// is a copy.
func TestDTLSConnDropsWhenFull(t *testing.T) {
	c := newDTLSConn(nil, netip.AddrPort{})
	for i := range dtlsQueue + 10 {
		c.push([]byte{22, byte(i)})
	}
	if len(c.in) != dtlsQueue {
		t.Errorf("%d records queued, want %d", len(c.in), dtlsQueue)
	}

	// The reader reuses its buffer: the queue holds copies.
	c = newDTLSConn(nil, netip.AddrPort{})
	src := []byte{22, 1}
	c.push(src)
	src[1] = 99
	if got := <-c.in; got[1] != 1 {
		t.Errorf("the queue holds the reader's buffer, not a copy")
	}
}
