package rawleg

import (
	"net"
	"net/netip"
	"os"
	"sync"
	"time"
)

// dtlsConn is the net.Conn the DTLS library runs over: it reads the DTLS
// records the leg's reader hands it (datagrams whose first byte is 20–63)
// and writes to the remote address through the leg's socket, which is
// connected to it.
type dtlsConn struct {
	sock   *net.UDPConn
	remote netip.AddrPort
	in     chan []byte
	closed chan struct{}
	once   sync.Once
	rd     deadline
}

// dtlsQueue is how many records wait for the DTLS library; more are
// dropped, as a full socket buffer would.
const dtlsQueue = 64

func newDTLSConn(sock *net.UDPConn, remote netip.AddrPort) *dtlsConn {
	return &dtlsConn{sock: sock, remote: remote, in: make(chan []byte, dtlsQueue), closed: make(chan struct{}), rd: newDeadline()}
}

// push hands the conn a copy of one record; it never blocks.
func (c *dtlsConn) push(b []byte) {
	select {
	case c.in <- append([]byte(nil), b...):
	default:
	}
}

func (c *dtlsConn) Read(p []byte) (int, error) {
	for {
		expired := c.rd.wait()
		select {
		case b := <-c.in:
			return copy(p, b), nil
		case <-c.closed:
			return 0, net.ErrClosed
		case <-expired:
			if c.rd.passed() {
				return 0, os.ErrDeadlineExceeded
			}
		}
	}
}

func (c *dtlsConn) Write(p []byte) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	return c.sock.Write(p)
}

// Close stops reads; the socket is the leg's to close.
func (c *dtlsConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

func (c *dtlsConn) LocalAddr() net.Addr                { return c.sock.LocalAddr() }
func (c *dtlsConn) RemoteAddr() net.Addr               { return net.UDPAddrFromAddrPort(c.remote) }
func (c *dtlsConn) SetDeadline(t time.Time) error      { c.rd.set(t); return nil }
func (c *dtlsConn) SetReadDeadline(t time.Time) error  { c.rd.set(t); return nil }
func (c *dtlsConn) SetWriteDeadline(t time.Time) error { return nil } // a UDP write does not wait

// deadline is a read deadline that a blocked read notices when it passes
// or when it is changed.
type deadline struct {
	mu    sync.Mutex
	at    time.Time
	timer *time.Timer
	wake  chan struct{} // closed when the deadline passes or changes
	woken bool
}

func newDeadline() deadline { return deadline{wake: make(chan struct{})} }

// wait is the channel a read selects on; once it is closed, passed says
// whether the deadline has passed or only changed.
func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.wake
}

func (d *deadline) passed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return !d.at.IsZero() && !time.Now().Before(d.at)
}

// set moves the deadline to t (zero: none) and wakes the reads waiting on
// the old one, which then wait on the new one.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	d.wakeLocked()
	d.wake, d.woken, d.at = make(chan struct{}), false, t
	if t.IsZero() {
		return
	}
	wake := d.wake
	d.timer = time.AfterFunc(time.Until(t), func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.wake == wake {
			d.wakeLocked()
		}
	})
}

func (d *deadline) wakeLocked() {
	if !d.woken {
		close(d.wake)
		d.woken = true
	}
}
