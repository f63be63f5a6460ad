package sip

import (
	"context"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TrunkStatus is what the server knows of a trunk, for /readyz and logs.
type TrunkStatus struct {
	Name string
	// Up: calls may use the trunk. A registering trunk is up while
	// registered; one with keep-alive while its OPTIONS are answered.
	Up bool
	// Registered is meaningful for a registering trunk.
	Registered bool
	// Reachable is the last keep-alive's outcome (true without keep-alive).
	Reachable bool
	// RegisteredUntil is when the registration runs out (zero when not
	// registered); the trunk refreshes it before.
	RegisteredUntil time.Time
	// Error is the last failure, "" once the trunk is up again.
	Error string
	// Since is when Up last changed (the start for the first status).
	Since time.Time
	// Node, with several nodes (Config.TrunkLeases), is the node that
	// registers the trunk: Registered and RegisteredUntil are as it
	// reports them. Empty when no node does, and on a single node.
	Node string
}

// trunk is a configured trunk at run time.
type trunk struct {
	cfg TrunkConfig
	ua  *UA
	src *sources
	log *slog.Logger

	host string // ours, in Via and Contact
	port int    // our listener's

	mu sync.Mutex
	st TrunkStatus
	// With TrunkLeases: holding while this node holds the trunk's lease
	// (its registration loop sets the status), seen the holder's last
	// report (which sets it otherwise).
	holding bool
	seen    TrunkHolding

	wg sync.WaitGroup
}

func newTrunk(u *UA, c TrunkConfig) *trunk {
	t := &trunk{cfg: c, ua: u, src: newSources(c), log: u.log.With(slog.String("trunk", c.Name))}
	t.st = TrunkStatus{Name: c.Name, Reachable: c.KeepAlive == 0, Since: time.Now()}
	t.st.Up = t.upLocked()
	return t
}

// start picks our address toward the carrier and starts the trunk's loops.
func (t *trunk) start(ctx context.Context) {
	l := t.ua.listeners[t.cfg.Transport]
	t.port = l.port
	t.host = t.ua.cfg.PublicHost
	if t.host == "" && !l.ip.IsUnspecified() {
		t.host = l.ip.String()
	}
	if t.host == "" {
		t.host = localAddrToward(t.destination())
	}
	if err := t.src.refresh(ctx); err != nil {
		t.log.Warn("sip: trunk sources not resolved", slog.Any("err", err))
	}
	switch {
	case t.cfg.Register && t.ua.cfg.TrunkLeases != nil:
		t.spawn(t.followLoop)
		t.spawn(t.leadLoop)
	case t.cfg.Register:
		t.spawn(func(ctx context.Context) { t.registerLoop(ctx, nil) })
	}
	if t.cfg.KeepAlive > 0 {
		t.spawn(t.keepAliveLoop)
	}
	t.log.Info("sip: trunk started", slog.String("carrier", t.cfg.Host), slog.String("transport", string(t.cfg.Transport)),
		slog.Bool("register", t.cfg.Register), slog.String("host", t.host), slog.Int("port", t.port))
}

func (t *trunk) spawn(f func(ctx context.Context)) {
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		f(t.ua.ctx)
	}()
}

// wait returns when the trunk's loops have.
func (t *trunk) wait() { t.wg.Wait() }

// localAddrToward returns the local address the system routes to dest
// from (no packet is sent), or 127.0.0.1.
func localAddrToward(dest string) string {
	c, err := net.Dial("udp", dest)
	if err != nil {
		return "127.0.0.1"
	}
	defer c.Close()
	h, _, _ := net.SplitHostPort(c.LocalAddr().String())
	return h
}

func (t *trunk) status() TrunkStatus {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.st
}

func (t *trunk) upLocked() bool {
	return (!t.cfg.Register || t.st.Registered) && t.st.Reachable
}

// update changes the status (f runs under the trunk's lock) and returns
// it; when a reported field changed it logs and calls the UA's OnStatus
// (outside the lock).
func (t *trunk) update(f func(st *TrunkStatus)) TrunkStatus {
	t.mu.Lock()
	old := t.st
	f(&t.st)
	t.st.Up = t.upLocked()
	if t.st.Up {
		t.st.Error = ""
	}
	if t.st.Up != old.Up {
		t.st.Since = time.Now()
	}
	st := t.st
	t.mu.Unlock()
	if st.Up == old.Up && st.Registered == old.Registered && st.Reachable == old.Reachable &&
		st.RegisteredUntil.Equal(old.RegisteredUntil) && st.Node == old.Node {
		return st
	}
	switch {
	case st.Up == old.Up:
	case st.Up && st.Node != "":
		t.log.Info("sip: trunk up", slog.Bool("registered", st.Registered), slog.Bool("reachable", st.Reachable), slog.String("registeredBy", st.Node))
	case st.Up:
		t.log.Info("sip: trunk up", slog.Bool("registered", st.Registered), slog.Bool("reachable", st.Reachable))
	default:
		t.log.Warn("sip: trunk down", slog.Bool("registered", st.Registered), slog.Bool("reachable", st.Reachable), slog.String("err", st.Error))
	}
	if cb := t.ua.cfg.OnStatus; cb != nil {
		cb(st)
	}
	return st
}

// sipTransport is the transport's name as sipgo writes it.
func (t *trunk) sipTransport() string { return strings.ToUpper(string(t.cfg.Transport)) }

// destination is where requests outside a dialog go: the proxy or the
// host, with the transport's default port.
func (t *trunk) destination() string {
	hp := t.cfg.Host
	if t.cfg.OutboundProxy != "" {
		hp = t.cfg.OutboundProxy
	}
	h, p, _ := splitHostPort(hp)
	if p == 0 {
		p = t.defaultPort()
	}
	return net.JoinHostPort(h, strconv.Itoa(p))
}

func (t *trunk) defaultPort() int {
	if t.cfg.Transport == TLS {
		return 5061
	}
	return 5060
}

// uri returns sip:user@host[:port] toward the carrier, with its transport.
func (t *trunk) uri(user, hostPort string) sip.Uri {
	h, p, _ := splitHostPort(hostPort)
	u := sip.Uri{Scheme: "sip", User: user, Host: h, Port: p, UriParams: sip.NewParams(), Headers: sip.NewParams()}
	if t.cfg.Transport != UDP {
		u.UriParams.Add("transport", string(t.cfg.Transport))
	}
	return u
}

// requestURI is the Request-URI of a call to number (or of a REGISTER or
// OPTIONS when number is "").
func (t *trunk) requestURI(number string) sip.Uri { return t.uri(number, t.cfg.Host) }

// route is the Route header set toward the outbound proxy, or nil.
func (t *trunk) route() *sip.RouteHeader {
	if t.cfg.OutboundProxy == "" {
		return nil
	}
	u := t.uri("", t.cfg.OutboundProxy)
	u.UriParams.Add("lr", "")
	return &sip.RouteHeader{Address: u}
}

// contactURI is our Contact toward the carrier.
func (t *trunk) contactURI() sip.Uri {
	u := sip.Uri{Scheme: "sip", User: t.cfg.Username, Host: t.host, Port: t.port, UriParams: sip.NewParams(), Headers: sip.NewParams()}
	if t.cfg.Transport != UDP {
		u.UriParams.Add("transport", string(t.cfg.Transport))
	}
	return u
}

func (t *trunk) contact() *sip.ContactHeader {
	return &sip.ContactHeader{Address: t.contactURI(), Params: sip.NewParams()}
}

// via is a fresh Via naming our address and a new branch, asking for rport
// (RFC 3581) so responses find us behind NAT.
func (t *trunk) via() *sip.ViaHeader {
	v := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: t.sipTransport(), Host: t.host, Port: t.port, Params: sip.NewParams()}
	v.Params.Add("branch", sip.GenerateBranch())
	v.Params.Add("rport", "")
	return v
}

// aor is the trunk's own address, sip:username@from-domain.
func (t *trunk) aor(user string) sip.Uri {
	return sip.Uri{Scheme: "sip", User: user, Host: t.cfg.FromDomain, UriParams: sip.NewParams(), Headers: sip.NewParams()}
}
