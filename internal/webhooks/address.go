package webhooks

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"syscall"
)

// Where a receiver may be. A webhook makes this server send a request to an
// address somebody else chose, so that address must not lead into the
// networks the server can reach and the Internet cannot: private and
// shared (CGNAT) ranges, loopback, link-local (cloud metadata), and the
// special ranges, also when written as IPv4 inside IPv6. Literal addresses
// are checked when a subscription is made (checkHost), and every address a
// connection is about to be made to, after name resolution, by the dialer
// (dialGuard), so a name cannot lead there either.

// errForbiddenAddress refuses a receiver's address.
var errForbiddenAddress = errors.New("receivers may not be on this address")

// refusedV4 are the IPv4 ranges no receiver may be on (RFC 6890 and the
// IANA special-purpose registry), loopback apart.
var refusedV4 = []struct {
	prefix netip.Prefix
	what   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "this network"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared address space (CGNAT)"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignments"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("192.88.99.0/24"), "6to4 relay"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved or broadcast"},
}

var (
	loopbackV4 = netip.MustParsePrefix("127.0.0.0/8")
	// IPv6 prefixes that carry an IPv4 address, checked as that address.
	nat64     = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052: the last 32 bits
	sixToFour = netip.MustParsePrefix("2002::/16")    // RFC 3056: bits 16 to 48
)

// refusedV6 are the IPv6 ranges no receiver may be on, ::1 apart. IPv4
// mapped addresses (::ffff:a.b.c.d) are unmapped and checked as IPv4 before.
var refusedV6 = []struct {
	prefix netip.Prefix
	what   string
}{
	{netip.MustParsePrefix("::/96"), "unspecified or IPv4-compatible"},
	{netip.MustParsePrefix("::ffff:0:0:0/96"), "IPv4-translated"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64"},
	{netip.MustParsePrefix("100::/64"), "discard-only"},
	{netip.MustParsePrefix("2001::/32"), "Teredo"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("3fff::/20"), "documentation"},
	{netip.MustParsePrefix("fc00::/7"), "unique local"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

// refusedAddr says why no receiver may be on ip, or "" when one may.
// allowLoopback admits 127/8 and ::1 (development).
func refusedAddr(ip netip.Addr, allowLoopback bool) string {
	ip = ip.WithZone("").Unmap()
	if ip.Is4() {
		if loopbackV4.Contains(ip) {
			if allowLoopback {
				return ""
			}
			return "loopback"
		}
		for _, r := range refusedV4 {
			if r.prefix.Contains(ip) {
				return r.what
			}
		}
		return ""
	}
	if ip == netip.IPv6Loopback() {
		if allowLoopback {
			return ""
		}
		return "loopback"
	}
	for _, r := range refusedV6 {
		if r.prefix.Contains(ip) {
			return r.what
		}
	}
	// NAT64 and 6to4 reach the IPv4 address inside: a public one is as
	// good as any, a private one is refused as such (never loopback).
	b := ip.As16()
	switch {
	case nat64.Contains(ip):
		if why := refusedAddr(netip.AddrFrom4([4]byte(b[12:16])), false); why != "" {
			return "NAT64 of " + why
		}
	case sixToFour.Contains(ip):
		if why := refusedAddr(netip.AddrFrom4([4]byte(b[2:6])), false); why != "" {
			return "6to4 of " + why
		}
	}
	return ""
}

// checkHost applies the rules of a receiver's host (as url.URL.Hostname
// gives it) that need no resolution: a literal IP address must be one a
// receiver may be on, and a host that a resolver may read as an IPv4
// address in another spelling (2130706433, 0177.0.0.1, 0x7f.1, 127.1) is
// refused outright, as is one that is not plain ASCII (which the client
// could rewrite into such a spelling). The error is for the client.
func checkHost(host string, allowLoopback bool) error {
	if host == "" {
		return errors.New("must name a host")
	}
	for i := 0; i < len(host); i++ {
		if c := host[i]; c <= ' ' || c > '~' {
			return errors.New("must name its host in ASCII (an international name in its xn-- form)")
		}
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if why := refusedAddr(ip, allowLoopback); why != "" {
			return fmt.Errorf("may not be on this address (%s)", why)
		}
		return nil
	}
	if endsInNumber(host) {
		return errors.New("must be a host name or an IP address in its usual form")
	}
	return nil
}

// endsInNumber reports whether a host's last label is a number (decimal,
// or hex with 0x), which makes browsers and C resolvers read the whole host
// as an IPv4 address (the WHATWG URL standard's "ends in a number"). No
// real host name does: top-level domains are never numeric.
func endsInNumber(host string) bool {
	host = strings.TrimSuffix(host, ".")
	last := host[strings.LastIndexByte(host, '.')+1:]
	if last == "" {
		return false
	}
	digits := last
	if len(last) >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X') {
		digits = last[2:]
		for _, c := range digits {
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
		return true
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// dialGuard checks the address a connection is about to be made to, after
// name resolution, so a name cannot lead to a forbidden address. It is a
// net.Dialer's Control.
func dialGuard(allowLoopback bool) func(network, address string, _ syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: %s", errForbiddenAddress, address)
		}
		if why := refusedAddr(ap.Addr(), allowLoopback); why != "" {
			return fmt.Errorf("%w: %s is %s", errForbiddenAddress, ap.Addr(), why)
		}
		return nil
	}
}
