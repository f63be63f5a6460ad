package media

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/stun"
)

// sockMux is the ICE UDP mux of the gateway's one socket: the library's
// ICE agents get a connection per local ufrag from it, as from the
// library's own mux, and one goroutine reads the socket. Unlike the
// library's mux it knows the legs behind the ufrags, so once a browser
// leg's SRTP keys are known (direct.go) the reading goroutine decrypts its
// RTP in place and forwards it, with no copy, no allocation and no
// hand-off to another goroutine; everything else (STUN, DTLS, RTCP, and
// RTP before the keys) is queued for the library as before.
type sockMux struct {
	conn   *net.UDPConn
	log    *slog.Logger
	listen []net.Addr
	done   chan struct{} // closed when the reading goroutine ends

	mu      sync.RWMutex
	byUfrag map[string]*muxConn
	byAddr  map[netip.AddrPort]*muxConn
	legs    map[string]*leg // browser legs by their local ufrag, before and after their conn exists
	randoms map[[32]byte]*muxConn
	closed  bool

	// batch reads and writes the socket; while the reading goroutine
	// works through a batch (batching), what is written meanwhile is
	// queued in wslots and sent with one system call at its end.
	batch    *udpBatch
	rbufs    [][]byte
	wmu      sync.Mutex
	batching bool
	wslots   [][]byte
	wused    int

	// directIn and directOut count the RTP packets received and sent on
	// the legs' own SRTP paths (direct.go).
	directIn, directOut atomic.Uint64
}

// muxQueueLimit bounds what a conn queues for the library; beyond it a
// packet is dropped, as a full socket buffer would.
const muxQueueLimit = 512

// muxReadSize is the largest datagram read: more than any MTU, so that an
// oversized one is seen whole and dropped by its reader, not cut.
const muxReadSize = 8192

// muxBatch is how many datagrams one system call reads or writes at most.
const muxBatch = 32

// muxWriteSize is the largest datagram a batch carries; a larger one is
// written at once.
const muxWriteSize = 1500

// newSockMux starts reading conn. listen are the addresses the agents
// gather host candidates for.
func newSockMux(conn *net.UDPConn, listen []net.Addr, log *slog.Logger) (*sockMux, error) {
	rbufs := make([][]byte, muxBatch)
	wslots := make([][]byte, muxBatch)
	for i := range rbufs {
		rbufs[i] = make([]byte, muxReadSize)
		wslots[i] = make([]byte, muxWriteSize)
	}
	batch, err := newUDPBatch(conn, rbufs)
	if err != nil {
		return nil, err
	}
	m := &sockMux{
		batch:   batch,
		rbufs:   rbufs,
		wslots:  wslots,
		conn:    conn,
		log:     log,
		listen:  listen,
		done:    make(chan struct{}),
		byUfrag: make(map[string]*muxConn),
		byAddr:  make(map[netip.AddrPort]*muxConn),
		legs:    make(map[string]*leg),
		randoms: make(map[[32]byte]*muxConn),
	}
	go m.read()
	return m, nil
}

// listenAddrs are the host addresses of a socket bound to local: local
// itself, or, bound to every address, each up interface's IPv4 address
// (loopback only when includeLoopback).
func listenAddrs(local *net.UDPAddr, includeLoopback bool) ([]net.Addr, error) {
	if !local.IP.IsUnspecified() {
		return []net.Addr{local}, nil
	}
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var out []net.Addr
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			n, ok := a.(*net.IPNet)
			if !ok || n.IP.To4() == nil || n.IP.IsLinkLocalUnicast() {
				continue
			}
			if n.IP.IsLoopback() && !includeLoopback {
				continue
			}
			out = append(out, &net.UDPAddr{IP: n.IP.To4(), Port: local.Port})
		}
	}
	return out, nil
}

// GetListenAddresses implements ice.UDPMux.
func (m *sockMux) GetListenAddresses() []net.Addr { return m.listen }

// GetConn implements ice.UDPMux: the one conn of ufrag, made on first use.
func (m *sockMux) GetConn(ufrag string, _ net.Addr) (net.PacketConn, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, io.ErrClosedPipe
	}
	if c, ok := m.byUfrag[ufrag]; ok {
		return c, nil
	}
	c := &muxConn{m: m, ufrag: ufrag, leg: m.legs[ufrag], wake: make(chan struct{}, 1), closed: make(chan struct{})}
	m.byUfrag[ufrag] = c
	return c, nil
}

// RemoveConnByUfrag implements ice.UDPMux.
func (m *sockMux) RemoveConnByUfrag(ufrag string) {
	m.mu.RLock()
	c := m.byUfrag[ufrag]
	m.mu.RUnlock()
	if c != nil {
		_ = c.Close()
	}
}

// attach makes ufrag's conn know l, whose agent uses ufrag.
func (m *sockMux) attach(ufrag string, l *leg) {
	m.mu.Lock()
	m.legs[ufrag] = l
	if c := m.byUfrag[ufrag]; c != nil {
		c.leg = l
	}
	m.mu.Unlock()
}

// detach forgets ufrag's leg.
func (m *sockMux) detach(ufrag string) {
	m.mu.Lock()
	delete(m.legs, ufrag)
	m.mu.Unlock()
}

// Close implements ice.UDPMux: closes the socket and every conn.
func (m *sockMux) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	conns := make([]*muxConn, 0, len(m.byUfrag))
	for _, c := range m.byUfrag {
		conns = append(conns, c)
	}
	m.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
	err := m.conn.Close()
	<-m.done
	return err
}

// read is the socket's one reading goroutine: a batch of datagrams per
// system call, what they make the gateway send written with one more.
func (m *sockMux) read() {
	defer close(m.done)
	var stunMsg stun.Message
	for {
		n, err := m.batch.read()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || m.isClosed() {
				return
			}
			// A read error on a UDP socket (an ICMP error of an earlier
			// write) concerns that packet only.
			m.log.Debug("media: read from the UDP socket", slog.Any("err", err))
			continue
		}
		m.wmu.Lock()
		m.batching = true
		m.wmu.Unlock()
		for i := range n {
			size := m.batch.size(i)
			if size == 0 || size > len(m.rbufs[i]) {
				continue
			}
			pkt := m.rbufs[i][:size]
			from := m.batch.from(i)
			m.mu.RLock()
			c := m.byAddr[from]
			m.mu.RUnlock()
			if c == nil {
				c = m.connOfCheck(&stunMsg, pkt)
				if c == nil {
					continue
				}
			}
			c.receive(pkt, from)
		}
		m.wmu.Lock()
		m.batching = false
		err = m.batch.flush()
		m.wused = 0
		m.wmu.Unlock()
		if err != nil && !m.isClosed() {
			m.log.Debug("media: write to the UDP socket", slog.Any("err", err))
		}
	}
}

func (m *sockMux) isClosed() bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.closed
}

// writeTo sends pkt to to: queued for the end of the batch the reading
// goroutine works through, if any and if there is room, else at once. pkt
// is not kept.
func (m *sockMux) writeTo(pkt []byte, to netip.AddrPort) error {
	m.wmu.Lock()
	if m.batching && m.wused < len(m.wslots) && len(pkt) <= muxWriteSize {
		slot := m.wslots[m.wused][:len(pkt)]
		copy(slot, pkt)
		if m.batch.queue(slot, to) {
			m.wused++
			m.wmu.Unlock()
			return nil
		}
	}
	m.wmu.Unlock()
	_, err := m.conn.WriteToUDPAddrPort(pkt, to)
	return err
}

// connOfCheck finds the conn a connectivity check from an address not seen
// yet is for: the first part of its USERNAME is the local ufrag.
func (m *sockMux) connOfCheck(msg *stun.Message, pkt []byte) *muxConn {
	if !stun.IsMessage(pkt) {
		return nil
	}
	msg.Raw = append(msg.Raw[:0], pkt...)
	if err := msg.Decode(); err != nil {
		return nil
	}
	user, err := msg.Get(stun.AttrUsername)
	if err != nil {
		return nil
	}
	ufrag, _, _ := strings.Cut(string(user), ":")
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.byUfrag[ufrag]
}

// register routes later packets from addr to c (the library writes to an
// address once it checks or answers it).
func (m *sockMux) register(c *muxConn, addr netip.AddrPort) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || c.isClosed() {
		return
	}
	m.byAddr[addr] = c
}

// forget removes c's addresses and its handshake random.
func (m *sockMux) forget(c *muxConn, addrs []netip.AddrPort, random *[32]byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range addrs {
		if m.byAddr[a] == c {
			delete(m.byAddr, a)
		}
	}
	if m.byUfrag[c.ufrag] == c {
		delete(m.byUfrag, c.ufrag)
	}
	if random != nil && m.randoms[*random] == c {
		delete(m.randoms, *random)
	}
}

// muxPacket is one queued datagram.
type muxPacket struct {
	buf  [muxReadSize]byte
	n    int
	from *net.UDPAddr
}

var muxPackets = sync.Pool{New: func() any { return new(muxPacket) }}

// muxConn is the connection of one ICE agent (one local ufrag).
type muxConn struct {
	m     *sockMux
	ufrag string
	leg   *leg // under m.mu: the browser leg of this ufrag, if any

	// direct is the leg's SRTP path once its keys are known (direct.go).
	direct atomic.Pointer[directPath]
	// hello is what the DTLS handshake's hellos said (direct.go); under mu.
	hello dtlsHello

	mu     sync.Mutex
	queue  []*muxPacket
	addrs  map[netip.AddrPort]*net.UDPAddr // every address written to or read from
	routed map[netip.AddrPort]bool         // the addresses written to: the mux routes them here
	wake   chan struct{}
	closed chan struct{}
	once   sync.Once
}

// receive handles one datagram from from, on the reading goroutine; pkt is
// the reader's buffer, valid until receive returns.
func (c *muxConn) receive(pkt []byte, from netip.AddrPort) {
	if d := c.direct.Load(); d != nil && isSRTP(pkt) && d.receive(pkt, from) {
		return
	}
	if isDTLSHandshake(pkt) {
		c.sniff(pkt, false)
	}
	c.push(pkt, from)
}

// push queues a copy of pkt for the library.
func (c *muxConn) push(pkt []byte, from netip.AddrPort) {
	c.mu.Lock()
	if c.isClosed() {
		c.mu.Unlock()
		return
	}
	if len(c.queue) >= muxQueueLimit {
		c.mu.Unlock()
		return
	}
	p := muxPackets.Get().(*muxPacket)
	p.n = copy(p.buf[:], pkt)
	p.from = c.addrLocked(from)
	c.queue = append(c.queue, p)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// addrLocked is the net.UDPAddr of a, made once per address. c.mu is held.
func (c *muxConn) addrLocked(a netip.AddrPort) *net.UDPAddr {
	if ua, ok := c.addrs[a]; ok {
		return ua
	}
	if c.addrs == nil {
		c.addrs = make(map[netip.AddrPort]*net.UDPAddr)
	}
	ua := net.UDPAddrFromAddrPort(a)
	c.addrs[a] = ua
	return ua
}

// ReadFrom implements net.PacketConn: the oldest queued datagram.
func (c *muxConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		c.mu.Lock()
		if len(c.queue) > 0 {
			p := c.queue[0]
			c.queue[0] = nil
			c.queue = c.queue[1:]
			c.mu.Unlock()
			n, from := copy(b, p.buf[:p.n]), p.from
			short := n < p.n
			p.from = nil
			muxPackets.Put(p)
			if short {
				return 0, nil, io.ErrShortBuffer
			}
			return n, from, nil
		}
		c.mu.Unlock()
		select {
		case <-c.wake:
		case <-c.closed:
			return 0, nil, io.EOF
		}
	}
}

// WriteTo implements net.PacketConn: sent at once on the shared socket.
func (c *muxConn) WriteTo(b []byte, to net.Addr) (int, error) {
	if c.isClosed() {
		return 0, io.ErrClosedPipe
	}
	ua, ok := to.(*net.UDPAddr)
	if !ok {
		return 0, errors.New("media: not a UDP address")
	}
	ap := ua.AddrPort()
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	c.mu.Lock()
	routed := c.routed[ap]
	if !routed {
		if c.routed == nil {
			c.routed = make(map[netip.AddrPort]bool)
		}
		c.routed[ap] = true
	}
	c.mu.Unlock()
	if !routed {
		c.m.register(c, ap)
	}
	if isDTLSHandshake(b) {
		c.sniff(b, true)
	}
	if err := c.m.writeTo(b, ap); err != nil {
		return 0, err
	}
	return len(b), nil
}

// Close implements net.PacketConn.
func (c *muxConn) Close() error {
	c.once.Do(func() {
		close(c.closed)
		c.mu.Lock()
		addrs := make([]netip.AddrPort, 0, len(c.routed))
		for a := range c.routed {
			addrs = append(addrs, a)
		}
		for _, p := range c.queue {
			p.from = nil
			muxPackets.Put(p)
		}
		c.queue = nil
		var random *[32]byte
		if c.hello.client {
			r := c.hello.clientRandom
			random = &r
		}
		c.mu.Unlock()
		c.m.forget(c, addrs, random)
	})
	return nil
}

func (c *muxConn) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

func (c *muxConn) LocalAddr() net.Addr              { return c.m.conn.LocalAddr() }
func (c *muxConn) SetDeadline(time.Time) error      { return nil }
func (c *muxConn) SetReadDeadline(time.Time) error  { return nil }
func (c *muxConn) SetWriteDeadline(time.Time) error { return nil }
