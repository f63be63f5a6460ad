package sip

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrConfig is wrapped by every configuration error; callers test it with
// errors.Is.
var ErrConfig = errors.New("invalid SIP configuration")

// ErrTrunkExists: a trunk of that name is already kept (a store adding a
// trunk says so).
var ErrTrunkExists = errors.New("a trunk of that name exists")

// Transport is the SIP transport of a trunk or a listener.
type Transport string

// Transports.
const (
	UDP Transport = "udp"
	TCP Transport = "tcp"
	TLS Transport = "tls"
)

// CallerIDPolicy says where an outbound call presents its caller id.
type CallerIDPolicy string

// Caller-id policies.
const (
	// CallerIDFrom puts the caller id in the From header's user part.
	CallerIDFrom CallerIDPolicy = "from"
	// CallerIDPAI keeps the trunk's own user in From and presents the
	// caller id in P-Asserted-Identity (RFC 3325), as carriers that
	// authenticate by From expect.
	CallerIDPAI CallerIDPolicy = "pai"
)

// Defaults applied by TrunkConfig.withDefaults.
const (
	DefaultRegisterExpiry = time.Hour
	DefaultSessionExpires = 30 * time.Minute
	minRegisterExpiry     = 60 * time.Second
	minKeepAlive          = time.Second
	// minSessionExpires is RFC 4028's smallest Session-Expires (Min-SE).
	minSessionExpires = 90 * time.Second
)

var trunkName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// TrunkConfig is one trunk to a carrier.
type TrunkConfig struct {
	// Name identifies the trunk in commands, logs and status: lower-case
	// letters, digits, '-' and '_', at most 32.
	Name string
	// Host is the carrier's SIP server, host[:port] (port 5060, or 5061
	// for TLS, when omitted). It is the domain of the Request-URI.
	Host string
	// Transport is udp (the default), tcp or tls.
	Transport Transport
	// OutboundProxy, host[:port], receives every request instead of Host
	// (a loose-routing Route header names it). Empty: requests go to Host.
	OutboundProxy string

	// Username and Password answer the carrier's digest challenges (401 and
	// 407) on REGISTER and INVITE. AuthUsername, when set, is the digest
	// user where it differs from the account's Username.
	Username     string
	Password     string
	AuthUsername string
	// Realm, when set, is the only realm credentials are given to.
	Realm string

	// Register makes the UA register Username at Host. Without it the
	// trunk is a peering authenticated by address (the carrier knows ours).
	Register bool
	// RegisterExpiry is the registration lifetime asked for (default an
	// hour); the UA refreshes before it runs out.
	RegisterExpiry time.Duration

	// FromDomain is the host part of From (default Host without port).
	FromDomain string
	// CallerID is where the caller's number goes: "from" (default) or "pai".
	CallerID CallerIDPolicy

	// AllowedSources are the addresses and CIDRs inbound requests may come
	// from. Empty: the addresses Host and OutboundProxy resolve to.
	AllowedSources []string

	// KeepAlive is the interval of OPTIONS probes that mark the trunk up or
	// down; 0 sends none (the trunk is then up while registered, or always
	// for a peering).
	KeepAlive time.Duration

	// Dial rules (dialrules.go). Prefixes are the E.164 prefixes ("+1",
	// "+4420") of the numbers the trunk takes; none: every number.
	// DenyPrefixes are those it never takes, even where Prefixes admit
	// them. Among the trunks that take a number and are up, the one with
	// the lowest Priority (0-1000) places the call; equal priorities go in
	// configuration order. Emergency numbers ignore the rules.
	Prefixes     []string
	DenyPrefixes []string
	Priority     int
}

// redacted is the trunk as logs and messages may show it: the password
// replaced by a mark that says whether there is one.
func (c TrunkConfig) redacted() TrunkConfig {
	if c.Password != "" {
		c.Password = "[redacted]"
	}
	c.AllowedSources = slices.Clone(c.AllowedSources)
	return c
}

// trunkConfigFields hides TrunkConfig's methods, so that formatting the
// redacted copy does not call String again.
type trunkConfigFields TrunkConfig

// String prints the trunk without its password, whatever verb formats it
// (%v, %+v, %s), so a trunk in a log line or an error keeps its secret.
func (c TrunkConfig) String() string { return fmt.Sprintf("%+v", trunkConfigFields(c.redacted())) }

// GoString is %#v without the password.
func (c TrunkConfig) GoString() string {
	return fmt.Sprintf("sip.TrunkConfig%+v", trunkConfigFields(c.redacted()))
}

// LogValue logs the trunk without its password.
func (c TrunkConfig) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Listen is one address the UA receives SIP on.
type Listen struct {
	Transport Transport
	// Addr is host:port; port 0 picks a free one (tests).
	Addr string
	// CertFile and KeyFile are the TLS certificate (PEM) of a tls listener.
	CertFile, KeyFile string
}

// Config is a UA: its listeners, trunks and what it reports to.
type Config struct {
	Listen []Listen
	Trunks []TrunkConfig
	// PublicHost is the address carriers reach us at, written in Via and
	// Contact (behind NAT: the public IP). Empty: the listener's address,
	// or the local address that routes to the trunk when it listens on
	// all interfaces.
	PublicHost string
	// UserAgent is the User-Agent header (default "Callbridge").
	UserAgent string
	// SessionExpires is the session interval outbound calls ask for (RFC
	// 4028; default 30 minutes, at least 90 s).
	SessionExpires time.Duration
	// TLS configures the client side of tls trunks (root CAs); nil uses
	// the system's roots.
	TLS *tls.Config
	// Handler receives inbound calls; nil refuses them with 480.
	Handler InboundHandler
	// OnStatus, when set, is called after a trunk's status changes.
	OnStatus func(TrunkStatus)
	// TrunkLeases, when set (several nodes run these trunks), lets one
	// node at a time register each registering trunk (lease.go); the
	// others report its registration as the trunk's. Nil: the UA
	// registers its trunks itself.
	TrunkLeases TrunkLeases

	// Devices turns the registrar on (registrar.go): phones register with
	// the credentials it finds, from any address. Nil: REGISTER is
	// refused (405) and INVITEs from addresses of no trunk get 403.
	Devices Devices
	// Realm is the registrar's digest realm (default DefaultRealm).
	Realm string
	// DeviceHandler receives calls from registered phones; nil refuses
	// them with 480.
	DeviceHandler DeviceHandler
	// OnRegistration, when set, is called when a phone's binding is
	// added or changes address (registered true), and when it is removed
	// or runs out (false). Calls are made one at a time, in order.
	OnRegistration func(b Binding, registered bool)

	Logger *slog.Logger
}

func cfgErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, a...))
}

// withDefaults returns the trunk with its defaults filled in.
func (c TrunkConfig) withDefaults() TrunkConfig {
	c.Name = strings.TrimSpace(c.Name)
	c.Host = strings.TrimSpace(c.Host)
	c.Transport = Transport(strings.ToLower(string(c.Transport)))
	if c.Transport == "" {
		c.Transport = UDP
	}
	c.CallerID = CallerIDPolicy(strings.ToLower(string(c.CallerID)))
	if c.CallerID == "" {
		c.CallerID = CallerIDFrom
	}
	if c.RegisterExpiry == 0 {
		c.RegisterExpiry = DefaultRegisterExpiry
	}
	if c.FromDomain == "" {
		if h, _, err := splitHostPort(c.Host); err == nil {
			c.FromDomain = h
		}
	}
	c.Prefixes, c.DenyPrefixes = canonicalPrefixes(c.Prefixes), canonicalPrefixes(c.DenyPrefixes)
	return c
}

// Canonical returns the trunk as it is kept: validated, its name, host,
// transport and caller-id policy trimmed and lower-cased as Validate reads
// them, its prefixes in canonical form. Defaults are not filled in, so a
// kept trunk follows them.
func (c TrunkConfig) Canonical() (TrunkConfig, error) {
	if err := c.Validate(); err != nil {
		return c, err
	}
	c.Name, c.Host, c.OutboundProxy = strings.TrimSpace(c.Name), strings.TrimSpace(c.Host), strings.TrimSpace(c.OutboundProxy)
	c.FromDomain = strings.TrimSpace(c.FromDomain)
	c.Transport = Transport(strings.ToLower(string(c.Transport)))
	c.CallerID = CallerIDPolicy(strings.ToLower(string(c.CallerID)))
	c.AllowedSources = slices.Clone(c.AllowedSources)
	for i, s := range c.AllowedSources {
		c.AllowedSources[i] = strings.TrimSpace(s)
	}
	c.Prefixes, c.DenyPrefixes = canonicalPrefixes(c.Prefixes), canonicalPrefixes(c.DenyPrefixes)
	return c, nil
}

// Validate reports the first thing wrong with the trunk (after defaults),
// as an error wrapping ErrConfig that names the field.
func (c TrunkConfig) Validate() error {
	c = c.withDefaults()
	if !trunkName.MatchString(c.Name) {
		return cfgErr("trunk name %q: use 1-32 lower-case letters, digits, '-' or '_'", c.Name)
	}
	if c.Host == "" {
		return cfgErr("trunk %s: host is required", c.Name)
	}
	if _, _, err := splitHostPort(c.Host); err != nil {
		return cfgErr("trunk %s: host %q: %v", c.Name, c.Host, err)
	}
	switch c.Transport {
	case UDP, TCP, TLS:
	default:
		return cfgErr("trunk %s: transport %q: use udp, tcp or tls", c.Name, c.Transport)
	}
	if c.OutboundProxy != "" {
		if _, _, err := splitHostPort(c.OutboundProxy); err != nil {
			return cfgErr("trunk %s: outbound proxy %q: %v", c.Name, c.OutboundProxy, err)
		}
	}
	if c.Register && (c.Username == "" || c.Password == "") {
		return cfgErr("trunk %s: registration needs a username and a password", c.Name)
	}
	if c.Password != "" && c.Username == "" && c.AuthUsername == "" {
		return cfgErr("trunk %s: a password needs a username", c.Name)
	}
	for _, s := range []struct{ field, v string }{{"username", c.Username}, {"auth username", c.AuthUsername}} {
		if s.v != "" && !validUser(s.v) {
			return cfgErr("trunk %s: %s %q has characters a SIP URI cannot carry", c.Name, s.field, s.v)
		}
	}
	if c.Register && c.RegisterExpiry < minRegisterExpiry {
		return cfgErr("trunk %s: registration expiry %s is under %s", c.Name, c.RegisterExpiry, minRegisterExpiry)
	}
	if c.RegisterExpiry < 0 || c.RegisterExpiry > 24*time.Hour {
		return cfgErr("trunk %s: registration expiry %s is not between %s and 24h", c.Name, c.RegisterExpiry, minRegisterExpiry)
	}
	if !validHost(c.FromDomain) {
		return cfgErr("trunk %s: from domain %q is not a host name or address", c.Name, c.FromDomain)
	}
	switch c.CallerID {
	case CallerIDFrom, CallerIDPAI:
	default:
		return cfgErr("trunk %s: caller id policy %q: use from or pai", c.Name, c.CallerID)
	}
	if c.CallerID == CallerIDPAI && c.Username == "" {
		return cfgErr("trunk %s: caller id in P-Asserted-Identity needs a username for From", c.Name)
	}
	if _, err := parseSources(c.AllowedSources); err != nil {
		return cfgErr("trunk %s: allowed sources: %v", c.Name, err)
	}
	if c.KeepAlive < 0 || (c.KeepAlive > 0 && c.KeepAlive < minKeepAlive) {
		return cfgErr("trunk %s: keep-alive interval %s: use 0 (off) or at least %s", c.Name, c.KeepAlive, minKeepAlive)
	}
	return c.validateDialRules()
}

// Validate checks the listeners and every trunk, and that each trunk's
// transport has a listener (its Contact must name a port that answers).
func (c Config) Validate() error {
	if len(c.Listen) == 0 {
		return cfgErr("no listen address")
	}
	have := map[Transport]bool{}
	for _, l := range c.Listen {
		t := Transport(strings.ToLower(string(l.Transport)))
		switch t {
		case UDP, TCP:
		case TLS:
			if l.CertFile == "" || l.KeyFile == "" {
				return cfgErr("tls listener %s needs a certificate and a key file", l.Addr)
			}
		default:
			return cfgErr("listener %s: transport %q: use udp, tcp or tls", l.Addr, l.Transport)
		}
		if have[t] {
			return cfgErr("two %s listeners: one per transport", t)
		}
		have[t] = true
		if _, _, err := net.SplitHostPort(l.Addr); err != nil {
			return cfgErr("listener %q: %v", l.Addr, err)
		}
	}
	if c.PublicHost != "" && !validHost(c.PublicHost) {
		return cfgErr("public host %q is not a host name or address", c.PublicHost)
	}
	if c.Realm != "" && !ValidRealm(c.Realm) {
		return cfgErr("realm %q: use 1-64 printable characters without quotes or backslashes", c.Realm)
	}
	if c.SessionExpires != 0 && c.SessionExpires < minSessionExpires {
		return cfgErr("session expires %s is under RFC 4028's minimum of %s", c.SessionExpires, minSessionExpires)
	}
	names := map[string]bool{}
	for _, t := range c.Trunks {
		if err := t.Validate(); err != nil {
			return err
		}
		t = t.withDefaults()
		if names[t.Name] {
			return cfgErr("two trunks named %s", t.Name)
		}
		names[t.Name] = true
		if !have[t.Transport] {
			return cfgErr("trunk %s uses %s but no %s listener is configured", t.Name, t.Transport, t.Transport)
		}
	}
	return nil
}

// splitHostPort splits host[:port] (IPv6 in brackets) and checks both.
func splitHostPort(s string) (string, int, error) {
	if s == "" {
		return "", 0, errors.New("empty")
	}
	host, port := s, 0
	if h, p, err := net.SplitHostPort(s); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return "", 0, fmt.Errorf("port %q is not 1-65535", p)
		}
		host, port = h, n
	} else if strings.Count(s, ":") == 1 {
		return "", 0, err
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if !validHost(host) {
		return "", 0, fmt.Errorf("%q is not a host name or address", host)
	}
	return host, port, nil
}

// hostOnly returns the host of host[:port], or s when it does not parse.
func hostOnly(s string) string {
	if h, _, err := splitHostPort(s); err == nil {
		return h
	}
	return s
}

var hostName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?$`)

func validHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	return len(h) <= 253 && hostName.MatchString(h)
}

// validUser reports whether s can be a SIP URI's user part as we write it
// (RFC 3261 25.1 unreserved and user-unreserved characters, less ';' and
// '?' that other parsers take for parameters).
func validUser(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("-_.!~*'()&=+$,/", r):
		default:
			return false
		}
	}
	return true
}
