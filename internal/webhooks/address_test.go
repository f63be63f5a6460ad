package webhooks

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

// addressForm is one way to write a receiver's address that must not reach
// a private, local or special network.
type addressForm struct {
	name string
	url  string // as a client registers it
	// dial is the address a connection would be made to after name
	// resolution; "" when only the spelling is refused (no resolver
	// returns it).
	dial string
	// loopback: the form is the machine itself, which development admits.
	loopback bool
}

// refusedForms are the addresses the review found reachable, and their
// relatives: each must be refused at registration and at dial time.
var refusedForms = []addressForm{
	// IPv4 ranges.
	{name: "10/8", url: "https://10.0.0.1/hook", dial: "10.0.0.1"},
	{name: "10/8 last", url: "https://10.255.255.254/", dial: "10.255.255.254"},
	{name: "172.16/12", url: "https://172.16.0.1/", dial: "172.16.0.1"},
	{name: "172.16/12 last", url: "https://172.31.255.254/", dial: "172.31.255.254"},
	{name: "192.168/16", url: "https://192.168.1.1:8443/", dial: "192.168.1.1"},
	{name: "100.64/10 CGNAT", url: "https://100.64.0.1/", dial: "100.64.0.1"},
	{name: "100.64/10 CGNAT last", url: "https://100.127.255.254/", dial: "100.127.255.254"},
	{name: "127/8", url: "https://127.0.0.1/", dial: "127.0.0.1", loopback: true},
	{name: "127/8 other", url: "https://127.1.2.3/", dial: "127.1.2.3", loopback: true},
	{name: "169.254/16 metadata", url: "https://169.254.169.254/latest/meta-data/", dial: "169.254.169.254"},
	{name: "0/8 unspecified", url: "https://0.0.0.0/", dial: "0.0.0.0"},
	{name: "0/8 this network", url: "https://0.1.2.3/", dial: "0.1.2.3"},
	{name: "224/4 multicast", url: "https://224.0.0.1/", dial: "224.0.0.1"},
	{name: "224/4 multicast SSDP", url: "https://239.255.255.250/", dial: "239.255.255.250"},
	{name: "192.0.0/24 protocol assignments", url: "https://192.0.0.170/", dial: "192.0.0.170"},
	{name: "198.18/15 benchmarking", url: "https://198.18.0.1/", dial: "198.18.0.1"},
	{name: "198.18/15 benchmarking last", url: "https://198.19.255.254/", dial: "198.19.255.254"},
	{name: "240/4 reserved", url: "https://240.0.0.1/", dial: "240.0.0.1"},
	{name: "broadcast", url: "https://255.255.255.255/", dial: "255.255.255.255"},
	{name: "192.0.2/24 documentation", url: "https://192.0.2.1/", dial: "192.0.2.1"},
	{name: "198.51.100/24 documentation", url: "https://198.51.100.7/", dial: "198.51.100.7"},
	{name: "203.0.113/24 documentation", url: "https://203.0.113.9/", dial: "203.0.113.9"},

	// IPv6 ranges.
	{name: "::1 loopback", url: "https://[::1]/", dial: "::1", loopback: true},
	{name: ":: unspecified", url: "https://[::]/", dial: "::"},
	{name: "fe80::/10 link-local", url: "https://[fe80::1]/", dial: "fe80::1"},
	{name: "fe80::/10 with zone", url: "https://[fe80::1%25eth0]:8443/", dial: "fe80::1%eth0"},
	{name: "fec0::/10 site-local", url: "https://[fec0::1]/", dial: "fec0::1"},
	{name: "fc00::/7 unique local", url: "https://[fc00::1]/", dial: "fc00::1"},
	{name: "fc00::/7 fd", url: "https://[fd12:3456:789a::1]/", dial: "fd12:3456:789a::1"},
	{name: "fd00:ec2::254 metadata", url: "https://[fd00:ec2::254]/latest/meta-data/", dial: "fd00:ec2::254"},
	{name: "ff00::/8 multicast", url: "https://[ff02::1]/", dial: "ff02::1"},
	{name: "2001:db8::/32 documentation", url: "https://[2001:db8::1]/", dial: "2001:db8::1"},
	{name: "100::/64 discard", url: "https://[100::1]/", dial: "100::1"},

	// IPv4 inside IPv6.
	{name: "mapped loopback", url: "https://[::ffff:127.0.0.1]/", dial: "::ffff:127.0.0.1", loopback: true},
	{name: "mapped loopback hex", url: "https://[::ffff:7f00:1]/", dial: "::ffff:7f00:1", loopback: true},
	{name: "mapped 10/8", url: "https://[::ffff:10.0.0.1]/", dial: "::ffff:10.0.0.1"},
	{name: "mapped metadata", url: "https://[::ffff:169.254.169.254]/", dial: "::ffff:169.254.169.254"},
	{name: "mapped 192.168/16 hex", url: "https://[::ffff:c0a8:101]/", dial: "::ffff:c0a8:101"},
	{name: "translated ::ffff:0:0:0/96", url: "https://[::ffff:0:7f00:1]/", dial: "::ffff:0:7f00:1"},
	{name: "compatible loopback", url: "https://[::127.0.0.1]/", dial: "::127.0.0.1"},
	{name: "compatible 10/8", url: "https://[::10.0.0.1]/", dial: "::10.0.0.1"},
	{name: "compatible public", url: "https://[::8.8.8.8]/", dial: "::8.8.8.8"},
	{name: "NAT64 10/8", url: "https://[64:ff9b::10.0.0.1]/", dial: "64:ff9b::10.0.0.1"},
	{name: "NAT64 loopback", url: "https://[64:ff9b::7f00:1]/", dial: "64:ff9b::7f00:1"},
	{name: "NAT64 metadata", url: "https://[64:ff9b::169.254.169.254]/", dial: "64:ff9b::169.254.169.254"},
	{name: "NAT64 local-use /48", url: "https://[64:ff9b:1::8.8.8.8]/", dial: "64:ff9b:1::808:808"},
	{name: "6to4 loopback", url: "https://[2002:7f00:1::1]/", dial: "2002:7f00:1::1"},
	{name: "6to4 10/8", url: "https://[2002:a00:1::1]/", dial: "2002:a00:1::1"},
	{name: "6to4 metadata", url: "https://[2002:a9fe:a9fe::]/", dial: "2002:a9fe:a9fe::"},
	{name: "Teredo", url: "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", dial: "2001:0:4136:e378:8000:63bf:3fff:fdd2"},

	// Spellings a resolver may read as an IPv4 address.
	{name: "decimal", url: "https://2130706433/"},
	{name: "decimal 10/8", url: "https://167772161/"},
	{name: "decimal metadata", url: "https://2852039166/latest/meta-data/"},
	{name: "octal", url: "https://0177.0.0.1/"},
	{name: "octal 10/8", url: "https://012.0.0.1/"},
	{name: "hex", url: "https://0x7f.1/"},
	{name: "hex whole", url: "https://0x7f000001/"},
	{name: "hex upper", url: "https://0X7F.0.0.1/"},
	{name: "mixed", url: "https://0x7f.0.0.01/"},
	{name: "short", url: "https://127.1/"},
	{name: "short private", url: "https://10.1/"},
	{name: "leading zeros", url: "https://127.000.000.001/"},
	{name: "trailing dot", url: "https://127.0.0.1./"},
	{name: "five parts", url: "https://1.2.3.4.5/"},
	{name: "numeric last label", url: "https://internal.123/"},
	{name: "percent-encoded", url: "https://%31%32%37.0.0.1/"},
	{name: "full-width digits", url: "https://１２７.０.０.１/"},
	{name: "ideographic dots", url: "https://127。0。0。1/"},
}

// allowedForms are public addresses, and names, that must stay usable.
var allowedForms = []addressForm{
	{name: "public IPv4", url: "https://93.184.215.14/", dial: "93.184.215.14"},
	{name: "next to 172.16/12", url: "https://172.32.0.1/", dial: "172.32.0.1"},
	{name: "next to 100.64/10", url: "https://100.128.0.1/", dial: "100.128.0.1"},
	{name: "next to 192.0.0/24", url: "https://192.0.1.1/", dial: "192.0.1.1"},
	{name: "next to 198.18/15", url: "https://198.20.0.1/", dial: "198.20.0.1"},
	{name: "public IPv6", url: "https://[2606:4700:4700::1111]/", dial: "2606:4700:4700::1111"},
	{name: "NAT64 public", url: "https://[64:ff9b::8.8.8.8]/", dial: "64:ff9b::808:808"},
	{name: "6to4 public", url: "https://[2002:808:808::1]/", dial: "2002:808:808::1"},
	{name: "name", url: "https://crm.example.com/hooks/phone"},
	{name: "name of hex letters", url: "https://cafe.be/"},
	{name: "name with digits", url: "https://10.example.com/"},
	{name: "name with a port", url: "https://crm.example.com:8443/"},
}

// noDial fails the test when a request is made: a refused address must be
// refused before anything is sent.
type noDial struct{ t *testing.T }

func (d noDial) RoundTrip(r *http.Request) (*http.Response, error) {
	d.t.Errorf("a request was made to %s", r.URL)
	return nil, errors.New("no request expected")
}

// TestForbiddenAddressesRefusedAtRegistration: every form is refused with
// a clear 400 (a ParamError naming deliveryMode.address) before the address
// check sends anything, in production and in development (where only the
// loopback forms in their usual spelling are admitted).
func TestForbiddenAddressesRefusedAtRegistration(t *testing.T) {
	ctx := context.Background()
	for _, dev := range []bool{false, true} {
		svc := New(Config{AllowLoopback: dev, Client: &http.Client{Transport: noDial{t}}}, nil)
		defer svc.Close()
		owner := Owner{AccountID: 1, ExtensionID: 1}
		req := func(address string) Request {
			return Request{Filters: []Filter{{AccountID: 1, ExtensionID: 1, Kind: KindPresence}}, Delivery: &Delivery{Address: address}}
		}
		mode := map[bool]string{false: "production", true: "development"}[dev]
		for _, f := range refusedForms {
			if dev && f.loopback {
				continue
			}
			urls := []string{f.url}
			if dev {
				urls = append(urls, "http://"+strings.TrimPrefix(f.url, "https://"))
			}
			for _, u := range urls {
				t.Run(mode+"/"+f.name+"/"+u[:strings.Index(u, ":")], func(t *testing.T) {
					_, err := svc.Create(ctx, owner, req(u))
					var pe *ParamError
					if !errors.As(err, &pe) || pe.Param != "deliveryMode.address" {
						t.Fatalf("%s: %v, want a refusal of deliveryMode.address", u, err)
					}
				})
			}
		}
	}
}

// TestAllowedAddressesPassRegistration: public addresses and names pass the
// rules of an address (the check of the receiver comes after).
func TestAllowedAddressesPassRegistration(t *testing.T) {
	svc := New(Config{}, nil)
	defer svc.Close()
	for _, f := range allowedForms {
		t.Run(f.name, func(t *testing.T) {
			if err := svc.checkAddress(f.url); err != nil {
				t.Fatalf("%s: %v", f.url, err)
			}
		})
	}
}

// TestDialGuard: after name resolution, a connection to any refused
// address is not made, whatever name led to it; public ones are.
func TestDialGuard(t *testing.T) {
	for _, dev := range []bool{false, true} {
		guard := dialGuard(dev)
		mode := map[bool]string{false: "production", true: "development"}[dev]
		for _, f := range refusedForms {
			if f.dial == "" {
				continue
			}
			t.Run(mode+"/"+f.name, func(t *testing.T) {
				err := guard("tcp", net.JoinHostPort(f.dial, "443"), nil)
				switch {
				case dev && f.loopback && err != nil:
					t.Fatalf("%s refused in development: %v", f.dial, err)
				case !(dev && f.loopback) && !errors.Is(err, errForbiddenAddress):
					t.Fatalf("%s: %v, want it refused", f.dial, err)
				}
			})
		}
		for _, f := range allowedForms {
			if f.dial == "" {
				continue
			}
			t.Run(mode+"/allowed/"+f.name, func(t *testing.T) {
				if err := guard("tcp", net.JoinHostPort(f.dial, "443"), nil); err != nil {
					t.Fatalf("%s: %v", f.dial, err)
				}
			})
		}
	}
}

// FuzzCheckAddress: the rules of an address never panic, and an address
// they admit whose host is an IP address passes the dial guard too, so a
// literal is never admitted at registration only to be refused later, nor
// the other way round.
func FuzzCheckAddress(f *testing.F) {
	for _, form := range append(append([]addressForm(nil), refusedForms...), allowedForms...) {
		f.Add(form.url, false)
		f.Add(form.url, true)
	}
	f.Fuzz(func(t *testing.T, raw string, dev bool) {
		svc := &Service{cfg: Config{AllowLoopback: dev}}
		if svc.checkAddress(raw) != nil {
			return
		}
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("%q admitted but does not parse: %v", raw, err)
		}
		ip, err := netip.ParseAddr(u.Hostname())
		if err != nil {
			if endsInNumber(u.Hostname()) {
				t.Fatalf("%q admitted with a host that ends in a number", raw)
			}
			return
		}
		if err := dialGuard(dev)("tcp", netip.AddrPortFrom(ip, 443).String(), nil); err != nil {
			t.Fatalf("%q admitted but its address is refused at dial time: %v", raw, err)
		}
	})
}
