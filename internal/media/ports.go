package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
)

// PortRange is an inclusive range of UDP ports for RTP legs. Each leg takes
// an even port for RTP and the odd one above it for RTCP (RFC 3550 §11), so
// a range holds (Max-Min+1)/2 legs at most.
type PortRange struct{ Min, Max int }

// DefaultRTPPorts is the range RTP legs use when Config.RTPPorts is zero:
// 500 legs.
var DefaultRTPPorts = PortRange{Min: 20000, Max: 20999}

// ParsePortRange reads "min-max", as an operator writes it.
func ParsePortRange(s string) (PortRange, error) {
	lo, hi, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return PortRange{}, fmt.Errorf("media: port range %q: want min-max", s)
	}
	first, err1 := strconv.Atoi(strings.TrimSpace(lo))
	last, err2 := strconv.Atoi(strings.TrimSpace(hi))
	if err := errors.Join(err1, err2); err != nil {
		return PortRange{}, fmt.Errorf("media: port range %q: %w", s, err)
	}
	r := PortRange{Min: first, Max: last}
	return r, r.check()
}

func (r PortRange) String() string { return fmt.Sprintf("%d-%d", r.Min, r.Max) }

// pairs returns the first even port of the range and how many even/odd
// pairs it holds.
func (r PortRange) pairs() (first, n int) {
	first = r.Min + r.Min%2
	if r.Max <= first {
		return first, 0
	}
	return first, (r.Max - first + 1) / 2
}

func (r PortRange) check() error {
	if r.Min < 1 || r.Max > 65535 || r.Min > r.Max {
		return fmt.Errorf("media: RTP port range %s out of 1-65535", r)
	}
	if _, n := r.pairs(); n == 0 {
		return fmt.Errorf("media: RTP port range %s holds no even port with its odd neighbour", r)
	}
	return nil
}

// portPool hands out the port pairs of a range, binding both sockets of a
// pair before it counts as taken: a port another program holds is skipped.
// It goes round the range, so that a pair just released is the last to be
// taken again (late packets of an ended call then find no one).
type portPool struct {
	ip     net.IP // nil: every interface
	rng    PortRange
	first  int
	mu     sync.Mutex
	inUse  []bool // by pair
	next   int
	inUseN int
}

func newPortPool(ip net.IP, r PortRange) *portPool {
	first, n := r.pairs()
	return &portPool{ip: ip, rng: r, first: first, inUse: make([]bool, n)}
}

// open binds the next free pair: RTP on the even port, RTCP on the odd one.
func (p *portPool) open() (rtpConn, rtcpConn *net.UDPConn, port int, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.inUse)
	for i := range n {
		k := (p.next + i) % n
		if p.inUse[k] {
			continue
		}
		port := p.first + 2*k
		a, err := net.ListenUDP("udp4", &net.UDPAddr{IP: p.ip, Port: port})
		if err != nil {
			continue
		}
		b, err := net.ListenUDP("udp4", &net.UDPAddr{IP: p.ip, Port: port + 1})
		if err != nil {
			_ = a.Close()
			continue
		}
		p.inUse[k] = true
		p.inUseN++
		p.next = (k + 1) % n
		return a, b, port, nil
	}
	return nil, nil, 0, fmt.Errorf("%w in %s (%d of %d pairs taken by legs)", ErrNoPorts, p.rng, p.inUseN, n)
}

// release returns the pair of port to the pool; its sockets are closed.
func (p *portPool) release(port int) {
	k := (port - p.first) / 2
	p.mu.Lock()
	defer p.mu.Unlock()
	if k >= 0 && k < len(p.inUse) && p.inUse[k] {
		p.inUse[k] = false
		p.inUseN--
	}
}

// taken is how many pairs legs hold.
func (p *portPool) taken() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inUseN
}

// rtpSetup checks the RTP settings of cfg and returns the port pool and the
// address to advertise.
func rtpSetup(cfg Config) (*portPool, netip.Addr, error) {
	r := cfg.RTPPorts
	if r == (PortRange{}) {
		r = DefaultRTPPorts
	}
	if err := r.check(); err != nil {
		return nil, netip.Addr{}, err
	}
	listen := cfg.RTPListenIP
	if listen == "" {
		listen = cfg.ListenIP
	}
	var ip net.IP
	var bound netip.Addr
	if listen != "" {
		a, err := netip.ParseAddr(listen)
		if err != nil || !a.Is4() {
			return nil, netip.Addr{}, fmt.Errorf("media: RTP listen IP %q is not an IPv4 address", listen)
		}
		ip = net.IP(a.AsSlice())
		if !a.IsUnspecified() {
			bound = a
		}
	}
	advertise := cfg.RTPAdvertiseIP
	if advertise == "" && len(cfg.NAT1To1IPs) > 0 {
		advertise = cfg.NAT1To1IPs[0]
	}
	var adv netip.Addr
	switch {
	case advertise != "":
		a, err := netip.ParseAddr(advertise)
		if err != nil || !a.Is4() || a.IsUnspecified() {
			return nil, netip.Addr{}, fmt.Errorf("media: RTP advertised IP %q is not an IPv4 address", advertise)
		}
		adv = a
	case bound.IsValid():
		adv = bound
	default:
		adv = hostAddress()
	}
	return newPortPool(ip, r), adv, nil
}

// hostAddress is the host's first non-loopback IPv4 address, for a gateway
// bound to every interface with nothing to advertise configured.
func hostAddress() netip.Addr {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return netip.Addr{}
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				ip = ip.Unmap()
				if ip.Is4() && !ip.IsLoopback() && !ip.IsLinkLocalUnicast() {
					return ip
				}
			}
		}
	}
	return netip.Addr{}
}
