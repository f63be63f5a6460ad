package sip

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTrunkConfigValidate(t *testing.T) {
	ok := TrunkConfig{Name: "carrier-1", Host: "sip.carrier.example:5080", Username: "u", Password: "p", Register: true}
	for _, tt := range []struct {
		name string
		edit func(c *TrunkConfig)
		want string // "" = valid
	}{
		{"registering", func(c *TrunkConfig) {}, ""},
		{"peering by address", func(c *TrunkConfig) { *c = TrunkConfig{Name: "peer", Host: "198.51.100.7"} }, ""},
		{"peering with sources", func(c *TrunkConfig) {
			*c = TrunkConfig{Name: "peer", Host: "sip.example", AllowedSources: []string{"198.51.100.0/24", "2001:db8::1"}}
		}, ""},
		{"tls with proxy and pai", func(c *TrunkConfig) {
			c.Transport, c.OutboundProxy, c.CallerID = "TLS", "[2001:db8::5]:5061", CallerIDPAI
		}, ""},
		{"no name", func(c *TrunkConfig) { c.Name = "" }, "trunk name"},
		{"upper-case name", func(c *TrunkConfig) { c.Name = "Carrier" }, "trunk name"},
		{"no host", func(c *TrunkConfig) { c.Host = "" }, "host is required"},
		{"bad port", func(c *TrunkConfig) { c.Host = "sip.example:99999" }, "port"},
		{"bad host", func(c *TrunkConfig) { c.Host = "sip example" }, "host"},
		{"transport", func(c *TrunkConfig) { c.Transport = "sctp" }, "transport"},
		{"proxy", func(c *TrunkConfig) { c.OutboundProxy = "a b" }, "outbound proxy"},
		{"register without password", func(c *TrunkConfig) { c.Password = "" }, "username and a password"},
		{"password without user", func(c *TrunkConfig) { c.Register, c.Username = false, "" }, "needs a username"},
		{"user with a semicolon", func(c *TrunkConfig) { c.Username = "a;b" }, "characters"},
		{"short expiry", func(c *TrunkConfig) { c.RegisterExpiry = 10 * time.Second }, "registration expiry"},
		{"long expiry", func(c *TrunkConfig) { c.RegisterExpiry = 48 * time.Hour }, "registration expiry"},
		{"from domain", func(c *TrunkConfig) { c.FromDomain = "a_b" }, "from domain"},
		{"caller id policy", func(c *TrunkConfig) { c.CallerID = "rpid" }, "caller id policy"},
		{"pai without user", func(c *TrunkConfig) {
			*c = TrunkConfig{Name: "peer", Host: "198.51.100.7", CallerID: CallerIDPAI}
		}, "P-Asserted-Identity"},
		{"bad source", func(c *TrunkConfig) { c.AllowedSources = []string{"10.0.0.0/33"} }, "allowed sources"},
		{"short keep-alive", func(c *TrunkConfig) { c.KeepAlive = time.Millisecond }, "keep-alive"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want an ErrConfig naming %q", err, tt.want)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	trunk := TrunkConfig{Name: "carrier", Host: "198.51.100.7", Transport: TCP}
	for _, tt := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"valid", Config{Listen: []Listen{{Transport: TCP, Addr: ":5060"}}, Trunks: []TrunkConfig{trunk}}, ""},
		{"no listener", Config{}, "no listen address"},
		{"tls without cert", Config{Listen: []Listen{{Transport: TLS, Addr: ":5061"}}}, "certificate"},
		{"two udp", Config{Listen: []Listen{{Transport: UDP, Addr: ":5060"}, {Transport: UDP, Addr: ":5062"}}}, "one per transport"},
		{"bad addr", Config{Listen: []Listen{{Transport: UDP, Addr: "5060"}}}, "listener"},
		{"no listener for the trunk", Config{Listen: []Listen{{Transport: UDP, Addr: ":5060"}}, Trunks: []TrunkConfig{trunk}}, "no tcp listener"},
		{"twice the same trunk", Config{Listen: []Listen{{Transport: TCP, Addr: ":5060"}}, Trunks: []TrunkConfig{trunk, trunk}}, "two trunks"},
		{"session expires", Config{Listen: []Listen{{Transport: TCP, Addr: ":5060"}}, SessionExpires: time.Minute}, "session expires"},
		{"public host", Config{Listen: []Listen{{Transport: TCP, Addr: ":5060"}}, PublicHost: "a b"}, "public host"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want an ErrConfig naming %q", err, tt.want)
			}
		})
	}
}

func TestTrunkDefaults(t *testing.T) {
	c := TrunkConfig{Name: "c", Host: "sip.example:5080"}.withDefaults()
	if c.Transport != UDP || c.CallerID != CallerIDFrom || c.RegisterExpiry != time.Hour || c.FromDomain != "sip.example" {
		t.Errorf("defaults %+v", c)
	}
}

func TestSourcesAllow(t *testing.T) {
	s := newSources(TrunkConfig{Host: "sip.example", AllowedSources: []string{"198.51.100.0/24", "2001:db8::1"}})
	for addr, want := range map[string]bool{
		"198.51.100.9:5060":          true,
		"198.51.101.9:5060":          false,
		"[2001:db8::1]:5060":         true,
		"[::ffff:198.51.100.3]:5060": true,
		"garbage":                    false,
		"":                           false,
	} {
		if got := s.allows(addr); got != want {
			t.Errorf("allows(%q) = %v, want %v", addr, got, want)
		}
	}
	byHost := newSources(TrunkConfig{Host: "198.51.100.7:5080", OutboundProxy: "203.0.113.1"})
	if !byHost.allows("198.51.100.7:1234") || !byHost.allows("203.0.113.1:5060") || byHost.allows("198.51.100.8:5060") {
		t.Error("a trunk without sources allows exactly its host and proxy")
	}
}
