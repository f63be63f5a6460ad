package sip

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
)

// parseSources parses AllowedSources: addresses and CIDRs.
func parseSources(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		s = strings.TrimSpace(s)
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("%q is not an address or CIDR", s)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not an address or CIDR", s)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// sources is the set of addresses a trunk's inbound requests may come
// from: the configured ones, or those its host and proxy resolve to.
type sources struct {
	fixed []netip.Prefix // AllowedSources; when set, names are not used
	names []string       // host names to resolve when fixed is empty

	mu       sync.RWMutex
	resolved []netip.Addr
}

func newSources(c TrunkConfig) *sources {
	s := &sources{}
	s.fixed, _ = parseSources(c.AllowedSources) // validated
	if len(s.fixed) > 0 {
		return s
	}
	for _, hp := range []string{c.Host, c.OutboundProxy} {
		if hp == "" {
			continue
		}
		h := hostOnly(hp)
		if a, err := netip.ParseAddr(h); err == nil {
			a = a.Unmap()
			s.fixed = append(s.fixed, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		s.names = append(s.names, h)
	}
	return s
}

// refresh resolves the host names again; a failure keeps the previous
// addresses.
func (s *sources) refresh(ctx context.Context) error {
	if len(s.names) == 0 {
		return nil
	}
	var all []netip.Addr
	var firstErr error
	for _, n := range s.names {
		addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", n)
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("resolve %s: %w", n, err)
			}
			continue
		}
		for _, a := range addrs {
			all = append(all, a.Unmap())
		}
	}
	if len(all) > 0 {
		s.mu.Lock()
		s.resolved = all
		s.mu.Unlock()
	}
	return firstErr
}

// allows reports whether a request from addr ("ip:port") may come from
// the trunk.
func (s *sources) allows(addr string) bool {
	ap, err := netip.ParseAddrPort(addr)
	var ip netip.Addr
	if err == nil {
		ip = ap.Addr()
	} else if ip, err = netip.ParseAddr(hostOnly(addr)); err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range s.fixed {
		if p.Contains(ip) {
			return true
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, a := range s.resolved {
		if a == ip {
			return true
		}
	}
	return false
}
