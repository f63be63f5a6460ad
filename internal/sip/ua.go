package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// allowMethods is the Allow header of our requests and responses.
const allowMethods = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE"

// UA is the SIP user agent of the server: its listeners, its trunks and the
// calls in progress on them. New builds it, Start binds the listeners and
// starts the trunks' registration and keep-alive, Close ends everything.
type UA struct {
	cfg Config
	log *slog.Logger

	sua    *sipgo.UserAgent
	srv    *sipgo.Server
	client *sipgo.Client

	listeners map[Transport]*listener
	trunks    []*trunk
	byName    map[string]*trunk
	reg       *registrar // the phones' bindings (registrar.go)

	// retryMin and retryMax bound the backoff of a failing registration.
	retryMin, retryMax time.Duration
	// ackTimeout is how long a 2xx we sent waits for its ACK (64*T1).
	ackTimeout time.Duration
	// minSE is the shortest session interval a timer runs with (RFC
	// 4028's 90 s; tests shorten it).
	minSE time.Duration

	mu      sync.Mutex
	calls   map[string]*Call   // dialogs, by dialogKey
	placing map[*Call]struct{} // outbound calls whose INVITE transaction runs
	started bool
	closed  bool

	ctx     context.Context // done when Close starts
	stop    context.CancelFunc
	wg      sync.WaitGroup
	closers []io.Closer
}

// listener is one bound listening socket.
type listener struct {
	transport Transport
	ip        net.IP // as bound; unspecified when on all interfaces
	port      int
	closer    io.Closer
}

// New checks cfg and returns a UA that is not yet listening.
func New(cfg Config) (*UA, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "Callbridge"
	}
	if cfg.SessionExpires == 0 {
		cfg.SessionExpires = DefaultSessionExpires
	}
	if cfg.Realm == "" {
		cfg.Realm = DefaultRealm
	}
	log := cfg.Logger.With(slog.String("component", "sip"))
	u := &UA{
		cfg:       cfg,
		log:       log,
		listeners: map[Transport]*listener{},
		byName:    map[string]*trunk{},
		calls:     map[string]*Call{},
		placing:   map[*Call]struct{}{},
		retryMin:  2 * time.Second,
		retryMax:  5 * time.Minute,

		ackTimeout: 64 * sip.T1,
		minSE:      minSessionExpires,
		reg:        newRegistrar(cfg.Realm),
	}
	u.ctx, u.stop = context.WithCancel(context.Background())
	for _, tc := range cfg.Trunks {
		t := newTrunk(u, tc.withDefaults())
		u.trunks = append(u.trunks, t)
		u.byName[t.cfg.Name] = t
	}
	sipLog := log.With(slog.String("layer", "sipgo"))
	sua, err := sipgo.NewUA(
		sipgo.WithUserAgent(cfg.UserAgent),
		sipgo.WithUserAgenTLSConfig(cfg.TLS),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(sipLog)),
		sipgo.WithUserAgentTransactionLayerOptions(
			sip.WithTransactionLayerLogger(sipLog),
			sip.WithTransactionLayerUnhandledResponseHandler(func(r *sip.Response) {
				log.Debug("sip: response outside any transaction", slog.String("status", r.StartLine()))
			}),
		),
	)
	if err != nil {
		return nil, fmt.Errorf("sip user agent: %w", err)
	}
	u.sua = sua
	if u.srv, err = sipgo.NewServer(sua, sipgo.WithServerLogger(sipLog)); err != nil {
		return nil, fmt.Errorf("sip server: %w", err)
	}
	if u.client, err = sipgo.NewClient(sua, sipgo.WithClientLogger(sipLog)); err != nil {
		return nil, fmt.Errorf("sip client: %w", err)
	}
	u.srv.OnInvite(u.onInvite)
	u.srv.OnAck(u.onAck)
	u.srv.OnBye(u.onBye)
	u.srv.OnCancel(u.onCancel)
	u.srv.OnOptions(u.onOptions)
	u.srv.OnInfo(u.onInfo)
	u.srv.OnUpdate(u.onUpdate)
	u.srv.OnRegister(u.onRegister)
	u.srv.OnNoRoute(u.onOther)
	return u, nil
}

// Start binds the listeners and starts each trunk's registration and
// keep-alive. ctx bounds the start only; Close stops the UA.
func (u *UA) Start(ctx context.Context) error {
	u.mu.Lock()
	if u.started || u.closed {
		u.mu.Unlock()
		return fmt.Errorf("start sip: %w", ErrCallState)
	}
	u.started = true
	u.mu.Unlock()
	var lc net.ListenConfig
	for _, l := range u.cfg.Listen {
		t := Transport(strings.ToLower(string(l.Transport)))
		var (
			ln   *listener
			err  error
			addr net.Addr
		)
		switch t {
		case UDP:
			var pc net.PacketConn
			if pc, err = lc.ListenPacket(ctx, "udp", l.Addr); err == nil {
				addr = pc.LocalAddr()
				ln = &listener{transport: t, closer: pc}
				u.goServe(func() error { return u.srv.ServeUDP(pc) })
			}
		case TCP:
			var nl net.Listener
			if nl, err = lc.Listen(ctx, "tcp", l.Addr); err == nil {
				addr = nl.Addr()
				ln = &listener{transport: t, closer: nl}
				u.goServe(func() error { return u.srv.ServeTCP(nl) })
			}
		case TLS:
			var cert tls.Certificate
			if cert, err = tls.LoadX509KeyPair(l.CertFile, l.KeyFile); err != nil {
				err = fmt.Errorf("load certificate: %w", err)
				break
			}
			var nl net.Listener
			if nl, err = lc.Listen(ctx, "tcp", l.Addr); err == nil {
				nl = tls.NewListener(nl, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
				addr = nl.Addr()
				ln = &listener{transport: t, closer: nl}
				u.goServe(func() error { return u.srv.ServeTLS(nl) })
			}
		}
		if err != nil {
			u.Close()
			return fmt.Errorf("listen sip %s %s: %w", t, l.Addr, err)
		}
		host, port, _ := net.SplitHostPort(addr.String())
		ln.ip = net.ParseIP(host)
		fmt.Sscan(port, &ln.port)
		u.listeners[t] = ln
		u.mu.Lock()
		u.closers = append(u.closers, ln.closer)
		u.mu.Unlock()
		u.log.Info("sip: listening", slog.String("transport", string(t)), slog.String("addr", addr.String()))
	}
	if err := u.waitServing(ctx); err != nil {
		u.Close()
		return err
	}
	for _, t := range u.trunks {
		t.start(ctx)
	}
	return nil
}

// waitServing returns once the UDP listener serves: requests are sent
// from its socket, which the transport finds only then.
func (u *UA) waitServing(ctx context.Context) error {
	l := u.listeners[UDP]
	if l == nil {
		return nil
	}
	addr := (&sip.Addr{IP: l.ip, Port: l.port}).String()
	pool := u.sua.TransportLayer().Pool("udp")
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if c := pool.Get(addr); c != nil {
			c.TryClose() // Get took a reference
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("sip udp listener %s: %w", addr, ctx.Err())
		case <-tick.C:
		}
	}
}

// goServe runs a listener's serve loop, owned by the UA.
func (u *UA) goServe(serve func() error) {
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		if err := serve(); err != nil && !errors.Is(err, net.ErrClosed) && u.ctx.Err() == nil {
			u.log.Error("sip: listener stopped", slog.Any("err", err))
		}
	}()
}

// Addr returns the bound address of the listener of transport t (its port
// when the configuration asked for port 0); ok is false without one.
func (u *UA) Addr(t Transport) (addr netip.AddrPort, ok bool) {
	l := u.listeners[t]
	if l == nil {
		return netip.AddrPort{}, false
	}
	ip, _ := netip.AddrFromSlice(l.ip)
	return netip.AddrPortFrom(ip.Unmap(), uint16(l.port)), true
}

// Node names this node as TrunkStatus.Node names a trunk's registering
// node; "" without several nodes (Config.TrunkLeases).
func (u *UA) Node() string {
	if u.cfg.TrunkLeases == nil {
		return ""
	}
	return u.cfg.TrunkLeases.Node()
}

// Status returns every trunk's status, in configuration order.
func (u *UA) Status() []TrunkStatus {
	out := make([]TrunkStatus, 0, len(u.trunks))
	for _, t := range u.trunks {
		out = append(out, t.status())
	}
	return out
}

// TrunkStatus returns the status of the named trunk.
func (u *UA) TrunkStatus(name string) (TrunkStatus, bool) {
	t := u.byName[name]
	if t == nil {
		return TrunkStatus{}, false
	}
	return t.status(), true
}

// Close ends the UA: calls in progress are ended (BYE, or CANCEL while
// they ring), registrations are removed, listeners closed, and every
// goroutine of the UA has returned when it does. It waits a few seconds
// at most for the carriers' answers.
func (u *UA) Close() error {
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		return nil
	}
	u.closed = true
	calls := make([]*Call, 0, len(u.calls))
	for _, c := range u.calls {
		calls = append(calls, c)
	}
	u.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, c := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.shutdown(ctx)
		}()
	}
	wg.Wait()
	u.mu.Lock()
	placing := make([]*Call, 0, len(u.placing))
	for c := range u.placing {
		placing = append(placing, c)
	}
	u.mu.Unlock()
	u.stop() // outbound calls still ringing cancel; trunk loops unregister
	u.reg.close()
	for _, c := range placing {
		select {
		case <-c.inviteDone:
		case <-ctx.Done():
		}
	}
	for _, t := range u.trunks {
		t.wait()
	}
	u.mu.Lock()
	closers := u.closers
	u.mu.Unlock()
	for _, c := range closers {
		c.Close()
	}
	err := u.sua.Close()
	u.wg.Wait()
	return err
}

// dialogKey identifies a dialog by Call-ID and both tags (RFC 3261 12).
func dialogKey(callID, localTag, remoteTag string) string {
	return callID + "\x00" + localTag + "\x00" + remoteTag
}

// addCall records an established or early dialog; false when the UA is
// closing.
func (u *UA) addCall(c *Call) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return false
	}
	u.calls[c.key] = c
	return true
}

func (u *UA) removeCall(c *Call) {
	u.mu.Lock()
	if u.calls[c.key] == c {
		delete(u.calls, c.key)
	}
	u.mu.Unlock()
}

// callFor finds the dialog of a request we receive: To carries our tag.
func (u *UA) callFor(req *sip.Request) *Call {
	cid, to, from := req.CallID(), req.To(), req.From()
	if cid == nil || to == nil || from == nil {
		return nil
	}
	lt, _ := to.Params.Get("tag")
	rt, _ := from.Params.Get("tag")
	if lt == "" {
		return nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.calls[dialogKey(cid.Value(), lt, rt)]
}

// trunkFor returns the trunk whose allowed sources include addr.
func (u *UA) trunkFor(addr string) *trunk {
	for _, t := range u.trunks {
		if t.src.allows(addr) {
			return t
		}
	}
	return nil
}

// CallCount returns the number of calls in progress, for tests and
// metrics.
func (u *UA) CallCount() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.calls)
}

// --- sending -----------------------------------------------------------

// sendOpt prepares a request we built for the transport: a fresh Via
// naming our address (keepVia keeps the one a CANCEL copies from its
// INVITE), a Content-Length, and for UDP the listening socket as sender so
// the carrier sees the port our Contact names.
func (u *UA) sendOpt(t *trunk, keepVia bool) sipgo.ClientRequestOption {
	return func(_ *sipgo.Client, r *sip.Request) error {
		if !keepVia {
			r.RemoveHeader("Via")
			r.PrependHeader(t.via())
		}
		if r.Body() == nil {
			r.SetBody(nil)
		}
		if l := u.listeners[t.cfg.Transport]; l != nil && t.cfg.Transport == UDP {
			r.Laddr = sip.Addr{IP: l.ip, Port: l.port, Hostname: l.ip.String()}
		}
		return nil
	}
}

// request starts a client transaction for req on trunk t.
func (u *UA) request(ctx context.Context, t *trunk, req *sip.Request, keepVia bool) (sip.ClientTransaction, error) {
	if u.ctx.Err() != nil && !req.IsCancel() && req.Method != sip.BYE && req.Method != sip.REGISTER {
		return nil, ErrClosed
	}
	return u.client.TransactionRequest(ctx, req, u.sendOpt(t, keepVia))
}

// write sends req (an ACK) without a transaction.
func (u *UA) write(t *trunk, req *sip.Request) error {
	return u.client.WriteRequest(req, u.sendOpt(t, false))
}

// roundTrip sends req and returns its final response. It ends the
// transaction when ctx is done.
func (u *UA) roundTrip(ctx context.Context, t *trunk, req *sip.Request, keepVia bool) (*sip.Response, error) {
	tx, err := u.request(ctx, t, req, keepVia)
	if err != nil {
		return nil, err
	}
	defer tx.Terminate()
	return finalResponse(ctx, tx)
}

// finalResponse waits for the final response of tx.
func finalResponse(ctx context.Context, tx sip.ClientTransaction) (*sip.Response, error) {
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				continue
			}
			return res, nil
		case <-tx.Done():
			if err := tx.Err(); err != nil {
				return nil, err
			}
			return nil, sip.ErrTransactionTerminated
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// authRoundTrip is roundTrip answering up to two digest challenges (401,
// 407; a second for a stale nonce). build returns a fresh request each
// time (a new CSeq).
func (u *UA) authRoundTrip(ctx context.Context, t *trunk, build func() *sip.Request) (*sip.Response, error) {
	req := build()
	for attempt := 0; ; attempt++ {
		res, err := u.roundTrip(ctx, t, req, false)
		if err != nil {
			return nil, err
		}
		if (res.StatusCode != 401 && res.StatusCode != 407) || attempt == 2 {
			return res, nil
		}
		next := build()
		copyAuth(req, next)
		if err := t.authorize(next, res); err != nil {
			return res, err
		}
		req = next
	}
}

// respond sends a response to a server transaction and logs a failure.
func (u *UA) respond(tx sip.ServerTransaction, req *sip.Request, code int, reason string, hdrs ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		u.log.Debug("sip: respond failed", slog.Int("code", code), slog.String("method", string(req.Method)), slog.Any("err", err))
	}
}
