// Package server assembles the widget server from its parts: it opens the
// store, loads the session keys, registers the demo app, builds the handlers
// and runs the HTTP listeners until its context ends. cmd/widget-server and
// the end-to-end tests start the program through Run.
package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callbridge/widget-server/internal/api"
	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/cluster"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/logctx"
	"github.com/callbridge/widget-server/internal/media"
	"github.com/callbridge/widget-server/internal/messaging"
	"github.com/callbridge/widget-server/internal/metrics"
	"github.com/callbridge/widget-server/internal/oauth"
	"github.com/callbridge/widget-server/internal/presence"
	"github.com/callbridge/widget-server/internal/sip"
	"github.com/callbridge/widget-server/internal/store"
	"github.com/callbridge/widget-server/internal/telephony"
	"github.com/callbridge/widget-server/internal/web"
	"github.com/callbridge/widget-server/internal/webhooks"
	"github.com/callbridge/widget-server/web/static"
)

// Config is the whole configuration of one server process.
type Config struct {
	Listen     string // widget listener, host:port
	PublicURL  string // widget base URL as browsers see it; derived from Listen when empty
	DemoListen string // demo host page listener; "" turns the demo off
	DemoURL    string // demo base URL; derived from DemoListen when empty
	DataDir    string
	// Database is a PostgreSQL URL (postgres://…) for the store; empty:
	// the SQLite database in DataDir.
	Database string
	// NATSURL joins this server to the other nodes of a cluster through
	// NATS JetStream (nats://host:4222, comma-separated for several
	// servers): the widgets' events go through it, so a widget's stream
	// on any node gets the events of every node and resumes on another
	// node without a loss. Empty: a single node.
	NATSURL     string
	LogLevel    slog.Level
	LogFormat   string // text or json: of the Logger cmd/widget-server builds
	SessionKeys string // hex "hashKey:blockKey"; generated and kept (keyring) when empty
	CountryCode string
	AreaCode    string

	// Dev is development mode. Only then are the demo users seeded, may
	// webhooks target plain http and loopback, does the media gateway bind
	// loopback by default and may apps register http loopback origins. The
	// zero value is production; the command line decides it with ResolveDev.
	Dev bool

	// OIDCIssuer, when set, makes an external OpenID Connect provider sign
	// users in instead of the built-in authorization server; users map to
	// extensions by their verified email.
	OIDCIssuer       string
	OIDCClientID     string
	OIDCClientSecret string

	// MediaPort is the single UDP port of the media gateway (0: any free
	// port); PublicIPs are advertised to browsers behind NAT; ICEServers
	// (STUN/TURN URLs) are handed to browsers.
	MediaPort int
	PublicIPs []string
	// MediaListen is the IP the media gateway binds its UDP port on; ""
	// means 127.0.0.1 in development mode and every interface otherwise.
	MediaListen string
	ICEServers  []string
	// RTPPorts is the UDP port range of RTP legs toward carriers (zero:
	// media.DefaultRTPPorts), bound on MediaListen's address; RTPAdvertise
	// is the address they write in SDP (default: the first PublicIPs, else
	// the bound address, else the host's first non-loopback IPv4 address).
	RTPPorts     media.PortRange
	RTPAdvertise string

	// SIPListen are the SIP user agent's listeners, one per transport
	// (docs/sip.md). None: SIP is off unless trunks are kept, and then it
	// listens on 127.0.0.1:5060 (UDP and TCP) in development mode and the
	// start fails in production. SIPPublicHost is the address carriers
	// reach us at, written in Via and Contact (behind NAT: the public IP).
	SIPListen     []sip.Listen
	SIPPublicHost string
	// SIPRealm is the digest realm desk phones register in (default
	// sip.DefaultRealm).
	SIPRealm string
	// RingTimeout is how long a call rings an extension without an
	// answering rule of its own (default 20 s), and calls to numbers
	// outside the account.
	RingTimeout time.Duration
	// AudioDir holds voicemail, recordings and greetings (default "audio"
	// in DataDir); VoicemailLimit is the longest message (default 3 min);
	// AudioRetention removes older voicemail and recordings (0 keeps
	// them); RecordingAnnouncement is played to every party when a
	// recording starts: "" or "off", "beep", or an Ogg Opus file.
	AudioDir              string
	VoicemailLimit        time.Duration
	AudioRetention        time.Duration
	RecordingAnnouncement string
	// APIRateLimit requests per APIRateWindow are what each extension may
	// make of the platform API (default 60 per 10 s).
	APIRateLimit  int
	APIRateWindow time.Duration
	// EventsHeartbeat is how often an idle event stream sends a heartbeat
	// (default 15 s).
	EventsHeartbeat time.Duration
	// Limits caps what one widget session, device and extension may use.
	Limits Limits
	// SMSWebhookURL receives the SMS for numbers not served here (the SMS
	// provider); the secret in SMSWebhookSecretFile signs them and
	// verifies the provider's requests to /webhooks/sms/inbound.
	SMSWebhookURL        string
	SMSWebhookSecretFile string
	// SMSRetryDelay overrides the wait before the provider is tried again
	// (1 s, doubled each time) — for tests.
	SMSRetryDelay time.Duration

	// AccessTokenTTL and RefreshTokenTTL override the built-in server's
	// token lifetimes (one hour; one week of inactivity) — for tests.
	AccessTokenTTL, RefreshTokenTTL time.Duration

	// TrustedProxies are the addresses (CIDRs, or single IPs) of the
	// reverse proxies whose X-Forwarded-For and X-Real-IP headers say where
	// a request comes from; from anyone else those headers are ignored.
	TrustedProxies []string
	// SignInClock overrides the clock of the sign-in back-off — for tests.
	SignInClock func() time.Time

	// DebugListen, when set, serves pprof and expvar (/debug/pprof/,
	// /debug/vars) on this loopback address.
	DebugListen string

	// MetricsListen, when set, serves the Prometheus metrics at /metrics
	// on a listener of its own (host:port), and nothing else there.
	// MetricsToken, when set, is the bearer token /metrics asks for
	// wherever it is served, and it serves them on the widget listener as
	// well. With neither, the metrics are not served (docs/configuration.md).
	MetricsListen string
	MetricsToken  string

	Stdout io.Writer // where the start banner goes; nil for none
	Logger *slog.Logger
	// Ready, when set, is called once both listeners accept connections.
	Ready func(Addrs)
}

// Limits caps what one widget session, device and extension may use; a
// zero field takes its default (docs/configuration.md). Past a cap the
// widget is answered 429 with Retry-After.
type Limits struct {
	WidgetRequests    int // per WidgetWindow and session, of /widget/* (default 120 per 10 s)
	WidgetWindow      time.Duration
	SMS               int // SMS per SMSWindow and extension sent from the widget (default 30 per minute)
	SMSWindow         time.Duration
	StreamsPerSession int // open event streams (default 20)
	DevicesPerSession int // registered phones (default 10)
	CallsPerDevice    int // calls whose media one phone carries (default 4)
	CallsPerExtension int // calls carried by all phones of an extension (default 20)
	// SocketsPerExtension bounds an extension's WebSocket subscription
	// sessions, connected or awaiting recovery (default 10).
	SocketsPerExtension int
}

// Addrs are the URLs a running server answers on.
type Addrs struct {
	WidgetURL  string
	DemoURL    string
	MetricsURL string // base URL of the metrics listener; "" when off
	// WidgetListen is the widget listener's address (host:port): where a
	// load balancer in front of several nodes sends this one's requests,
	// while WidgetURL is the public URL they all share.
	WidgetListen string
}

// Run starts the server and blocks until ctx is cancelled, then shuts down
// gracefully: event streams end, in-flight requests get ShutdownTimeout.
func Run(ctx context.Context, cfg Config) error {
	if cfg.CountryCode == "" {
		cfg.CountryCode = "US"
	}
	if err := CheckMetricsToken(cfg.MetricsToken); err != nil {
		return err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	// A line logged with a request's or a call's context names it.
	log = slog.New(logctx.NewHandler(log.Handler()))
	db, err := store.OpenDatabase(ctx, cfg.Database, cfg.DataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	// Generated secrets: files of the data dir, or with PostgreSQL the
	// database's, which every node shares.
	keys := newKeyring(db, cfg.DataDir, log)
	hashKey, blockKey, err := loadSessionKeys(ctx, keys, cfg.SessionKeys)
	if err != nil {
		return err
	}

	widgetLn, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	defer widgetLn.Close()
	publicURL, err := baseURL(cfg.PublicURL, widgetLn.Addr(), "localhost")
	if err != nil {
		return err
	}
	logMode(log, cfg.Dev, cfg.PublicURL, widgetLn.Addr())
	var demoLn net.Listener
	demoURL := ""
	if !cfg.Dev && !strings.HasPrefix(strings.ToLower(cfg.DemoURL), "https://") {
		// The demo app's pages would be plain http, which only development
		// mode admits as an app origin.
		if cfg.DemoListen != "" {
			log.Info("demo page off: outside development mode it needs an https demo URL", slog.String("demoListen", cfg.DemoListen))
		}
		if err := retireDemoApp(ctx, db, log); err != nil {
			return err
		}
	} else if cfg.DemoListen != "" {
		if demoLn, err = net.Listen("tcp", cfg.DemoListen); err != nil {
			return fmt.Errorf("listen %s (demo): %w", cfg.DemoListen, err)
		}
		defer demoLn.Close()
		if demoURL, err = baseURL(cfg.DemoURL, demoLn.Addr(), "127.0.0.1"); err != nil {
			return err
		}
		if err := registerDemoApp(ctx, db, demoURL, cfg.Dev); err != nil {
			return err
		}
	}

	var metricsLn net.Listener
	if cfg.MetricsListen != "" {
		if metricsLn, err = net.Listen("tcp", cfg.MetricsListen); err != nil {
			return fmt.Errorf("listen %s (metrics): %w", cfg.MetricsListen, err)
		}
		defer metricsLn.Close()
	}
	// The metrics are counted whether or not they are served: counting
	// costs little, and the parts need not know.
	mx := metrics.New()

	assets, err := web.NewAssets(static.FS)
	if err != nil {
		return err
	}
	dir := identity.NewDirectory(db)
	if err := demoUsers(ctx, dir, cfg.Dev, log); err != nil {
		return err
	}
	// This server calls its own token endpoint and API over loopback, so a
	// public URL behind a proxy need not be reachable from here.
	internalURL := "http://" + loopbackAddr(widgetLn.Addr())
	httpClient := &http.Client{Timeout: 15 * time.Second}
	auth, login, err := signIn(ctx, cfg, db, keys, dir, publicURL, internalURL, httpClient)
	if err != nil {
		return err
	}
	tokenKey, err := secretKey(ctx, keys, tokenKeyFile, 32)
	if err != nil {
		return err
	}
	sessions, err := oauth.NewSessions(db, login, tokenKey, log)
	if err != nil {
		return err
	}
	// In development mode the media gateway binds loopback unless told
	// otherwise: the local demo and the tests never put a packet on another
	// interface. Elsewhere it binds what MediaListen says, by default every
	// interface.
	var sw *telephony.Switch
	mediaCfg := media.Config{
		UDPPort: cfg.MediaPort, NAT1To1IPs: cfg.PublicIPs, ICEServers: cfg.ICEServers, Logger: log,
		OnLegFailed: func(id string) { sw.LegFailed(id) },
		OnLegClosed: observeLegs(mx),
		RTPPorts:    cfg.RTPPorts, RTPAdvertiseIP: cfg.RTPAdvertise,
	}
	if mediaCfg.ListenIP, mediaCfg.IncludeLoopback, err = mediaBinding(cfg.Dev, cfg.MediaListen); err != nil {
		return err
	}
	gw, err := media.New(mediaCfg)
	if err != nil {
		return fmt.Errorf("media gateway: %w", err)
	}
	defer gw.Close()
	bus := telephony.NewBus()
	pres := presence.New(presence.Config{}, db)
	if err := pres.Restore(ctx); err != nil { // do-not-disturb applies from the first call
		return err
	}
	sw = telephony.New(telephony.Config{RingTimeout: cfg.RingTimeout, Logger: log,
		MaxCallsPerDevice: cfg.Limits.CallsPerDevice, MaxCallsPerExtension: cfg.Limits.CallsPerExtension,
		OnCallEnded: mx.CallEnded},
		phoneDirectory{db, db}, gatewayMedia{gw}, bus, pres, db)
	db.SetDefaultRingTimeout(cmp.Or(cfg.RingTimeout, telephony.DefaultRingTimeout))
	sw.SetRules(db)

	// With several nodes, this one's connection to the others, made
	// before the trunks: one node at a time registers each of them. It is
	// closed after the user agent, which gives up its trunks' leases.
	var node *clusterNode // nil: a single node
	if cfg.NATSURL != "" {
		if node, err = connectCluster(cfg.NATSURL, log); err != nil {
			return err
		}
		defer node.leave() // after the hub's last publications: the calls ended at shutdown
	}

	// SIP trunks to carriers, when any are kept or SIP listeners are
	// configured. The user agent is closed after the switch has ended its
	// calls and before the media gateway (deferred after it).
	phones := newDeskPhones(sw, log)
	trunks, err := startTrunks(ctx, cfg, db, sw, phones, node, log)
	if err != nil {
		return err
	}
	closeTrunks := func() {
		if trunks != nil {
			trunks.Close() // ends what calls are left (BYE, CANCEL) and removes registrations
		}
	}
	defer closeTrunks()
	ready := &readiness{ua: trunks, log: log, checks: []readyCheck{
		{"storage", db.CheckWritable},
		{"media", func(context.Context) error { return gw.Ready() }},
	}}

	smsSecret, err := messaging.LoadWebhook(cfg.SMSWebhookURL, cfg.SMSWebhookSecretFile)
	if err != nil {
		return err
	}
	var onMessage func(messaging.Change)
	msgs := messaging.New(messaging.Config{
		WebhookURL: cfg.SMSWebhookURL, WebhookSecret: smsSecret, RetryDelay: cfg.SMSRetryDelay, Logger: log,
		AllowLoopback: cfg.Dev, // the provider, like webhook receivers, on loopback only in development
		OnChange:      func(c messaging.Change) { onMessage(c) },
		Observe:       observeDeliveries(mx),
	}, db, db)

	// Voicemail, recordings and greetings: files under the audio dir,
	// rows in the store. Recordings a stopped server was making are
	// completed before calls are taken again.
	vm, err := startAudio(ctx, cfg, db, gw, msgs, log)
	if err != nil {
		return err
	}
	sw.SetMailbox(vm)

	// Webhook receivers may be plain http and on loopback only in
	// development mode. Their secrets are sealed in the database under a
	// key of the keyring.
	webhookKey, err := secretKey(ctx, keys, webhookKeyFile, 32)
	if err != nil {
		return err
	}
	hooks := webhooks.New(webhooks.Config{AllowLoopback: cfg.Dev, Logger: log, SecretKey: webhookKey, Observe: observeDeliveries(mx)}, db)
	if err := hooks.Load(ctx); err != nil {
		return err
	}
	defer hooks.Close() // after the switch's last events: what is still queued then is stored for the next start

	proxies, err := ParseTrustedProxies(cfg.TrustedProxies)
	if err != nil {
		return err
	}
	hub := bridge.NewHub(bridge.HubConfig{})
	// The widgets and the API reach the calls through callSwitch: with a
	// cluster, the calls of every node.
	var onLost atomic.Pointer[func(cluster.LostCall)] // set once the dispatcher is made, below
	var callSwitch interface {
		web.Switch
		api.Switch
	} = sw
	if node != nil {
		if err := node.joinEvents(ctx, hub); err != nil {
			return err
		}
		ready.checks = append(ready.checks, readyCheck{"nats", node.check})
		calls, err := node.joinCalls(ctx, sw, bus, pres, func(lc cluster.LostCall) {
			if f := onLost.Load(); f != nil {
				(*f)(lc)
			}
		}, phones.event)
		if err != nil {
			return err
		}
		callSwitch = calls
		phones.useCalls(calls) // the phones ring for every node's calls
		mx.WatchCluster(calls.RemoteDevices)
	}
	watchParts(mx, sw, hub, gw, db)
	// The widget shows the platform API's call log and sets presence
	// through it; the dispatcher tells both sides' listeners of changes.
	throttle := identity.NewThrottle(cfg.SignInClock)
	platform := api.NewServer(api.Config{
		PublicURL: publicURL, StaticBase: assets.Base(), RateLimit: cfg.APIRateLimit, RateWindow: cfg.APIRateWindow,
		Registrar: phoneRegistrar(trunks, cfg.SIPRealm, cfg.SIPPublicHost, publicURL),
		// Socket tokens outlive a restart, so that clients reconnect at once.
		Socket: api.SocketConfig{SessionsPerExtension: cfg.Limits.SocketsPerExtension,
			TokenKey: deriveKey(hashKey, "callbridge socket tokens v1")},
	}, api.Deps{
		Log: log, Directory: dir, AuthServer: auth, Throttle: throttle,
		Switch: callSwitch, CallLog: db, Presence: pres, Messages: msgs, Webhooks: hooks, Phones: db,
		Rules: db, Audio: vm,
	})
	srv := web.NewServer(web.Config{
		PublicURL: publicURL, DemoURL: demoURL, Dev: cfg.Dev, TrustedProxies: proxies,
		CountryCode: cfg.CountryCode, AreaCode: cfg.AreaCode, ICEServers: gw.ICEServers(),
		EventsHeartbeat: cfg.EventsHeartbeat,
		WidgetRateLimit: cfg.Limits.WidgetRequests, WidgetRateWindow: cfg.Limits.WidgetWindow,
		SMSRateLimit: cfg.Limits.SMS, SMSRateWindow: cfg.Limits.SMSWindow,
		MaxStreamsPerSession: cfg.Limits.StreamsPerSession, MaxDevicesPerSession: cfg.Limits.DevicesPerSession,
	}, web.Deps{
		Log: log, Apps: db, Directory: dir, Login: login, Sessions: sessions, Switch: callSwitch, Hub: hub,
		Cookies: web.NewSessionStore(hashKey, blockKey), Assets: assets, Messages: msgs, Rules: db, Audio: vm,
		CallLog: platform, Presence: platform, JWT: auth.Credentials(),
		DeviceKey: deriveKey(hashKey, "callbridge device ids v1"),
		Revoked:   platform.ExtensionRevoked,
	})
	if node != nil {
		if err := node.shareLimits(throttle, srv.SMSLimit()); err != nil {
			return err
		}
	}
	// The dispatcher takes the switch's events, presence changes and
	// message changes to the widgets and the webhook subscriptions.
	var notifier bridge.Notifier = hooks
	if node != nil {
		n, err := cluster.NewNotifications(node.nc, hooks, log)
		if err != nil {
			return err
		}
		defer n.Close()
		notifier = n
	}
	dispatch := bridge.NewDispatcher(log, hub, pres, sw, notifier)
	if node != nil {
		seqs, err := cluster.NewSequences(ctx, node.nc, log)
		if err != nil {
			return err
		}
		dispatch.UseSequencer(seqs)
	}
	dispatch.Subscribe(bus, pres)
	bus.Subscribe(phones.event) // desk phones ring and end with their devices
	onMessage = dispatch.MessageEvent
	endLost := func(lc cluster.LostCall) { endLostCall(lc, dispatch, pres, db, log) }
	onLost.Store(&endLost)
	sessions.OnEnd = func(sid string, ext int64, _ error) { srv.SessionEnded(sid, ext) }

	if cfg.DebugListen != "" {
		dbg, err := startDebug(cfg.DebugListen, log)
		if err != nil {
			return err
		}
		defer dbg.Close()
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 3)
	serve := func(name string, ln net.Listener, h http.Handler) *http.Server {
		hs := newHTTPServer(h, log)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("%s listener: %w", name, err)
			}
		}()
		return hs
	}
	servers := []*http.Server{serve("widget", widgetLn, srv.Widget(platform.Routes, ready.routes, widgetMetrics(mx, cfg.MetricsToken)))}
	if demoLn != nil {
		servers = append(servers, serve("demo", demoLn, srv.Demo()))
	}
	metricsURL := ""
	if metricsLn != nil {
		servers = append(servers, serve("metrics", metricsLn, metricsHandler(mx, cfg.MetricsToken, log)))
		metricsURL = "http://" + metricsLn.Addr().String()
		log.Info("metrics listener started", slog.String("addr", metricsLn.Addr().String()), slog.Bool("token", cfg.MetricsToken != ""))
	}
	wg.Add(2)
	go func() { defer wg.Done(); srv.SweepLoop(ctx) }()
	go func() { defer wg.Done(); sessions.Maintain(ctx, time.Minute) }()
	wg.Add(1) // a disable or new password, from any process, cuts the extension's streams and devices here
	go func() { defer wg.Done(); srv.WatchRevocations(ctx, db, revocationPoll) }()
	wg.Add(1)
	go func() { defer wg.Done(); msgs.Run(ctx) }() // delivers what is pending, also from before a restart
	wg.Add(1)
	go func() { defer wg.Done(); hooks.Run(ctx) }() // sends queued notifications, also from before a restart
	wg.Add(1)
	go func() { defer wg.Done(); vm.Run(ctx) }() // removes voicemail and recordings past the retention period

	log.Info("widget server started", slog.String("widgetUrl", publicURL), slog.String("demoUrl", demoURL),
		slog.String("dataDir", cfg.DataDir), slog.String("database", db.Engine()), slog.Bool("cluster", cfg.NATSURL != ""),
		slog.Bool("dev", cfg.Dev),
		slog.String("mediaListen", cmp.Or(mediaCfg.ListenIP, "0.0.0.0")), slog.Int("mediaUdpPort", gw.UDPPort()))
	if cfg.Stdout != nil {
		fmt.Fprintf(cfg.Stdout, "Callbridge widget server: %s\n", publicURL)
		if demoURL != "" {
			fmt.Fprintf(cfg.Stdout, "Demo CRM page (open this): %s/\n", demoURL)
		}
	}
	if cfg.Ready != nil {
		cfg.Ready(Addrs{WidgetURL: publicURL, DemoURL: demoURL, MetricsURL: metricsURL, WidgetListen: widgetLn.Addr().String()})
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	log.Info("shutting down")
	ready.stopping.Store(true)
	platform.Drain() // the platform API answers 503 from now on
	closeCtx, stopClose := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	sw.Close(closeCtx) // ends every call with a reason and writes its call-log records
	stopClose()
	closeTrunks()
	hub.Shutdown() // ends every event stream so Shutdown need not wait for them
	shutdownCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer stop()
	for _, hs := range servers {
		if err := hs.Shutdown(shutdownCtx); err != nil {
			runErr = errors.Join(runErr, fmt.Errorf("shutdown: %w", err))
		}
	}
	srv.Close() // the event streams the hub ended, the devices' grace timers
	cancel()
	wg.Wait()
	return runErr
}

// ShutdownTimeout bounds how long in-flight requests may take after a stop.
const ShutdownTimeout = 10 * time.Second

func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second, // event streams extend their own deadline per write
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// baseURL returns the configured base URL, or one made from the listener's
// port and the given host name. A configured URL must be a bare origin.
func baseURL(configured string, addr net.Addr, host string) (string, error) {
	if configured == "" {
		_, port, _ := net.SplitHostPort(addr.String())
		return "http://" + host + ":" + port, nil
	}
	o, err := identity.CanonicalOrigin(strings.TrimSuffix(configured, "/"))
	if err != nil {
		return "", fmt.Errorf("public URL %q: %w", configured, err)
	}
	return o, nil
}

// signIn sets up who signs users in: the built-in authorization server, or
// an external OpenID Connect provider found by discovery.
func signIn(ctx context.Context, cfg Config, db *store.DB, keys keyring, dir *identity.Directory, publicURL, internalURL string, hc *http.Client) (*identity.AuthServer, *oauth.Client, error) {
	if cfg.OIDCIssuer != "" {
		if cfg.OIDCClientID == "" {
			return nil, nil, errors.New("an OpenID Connect issuer needs a client id")
		}
		byEmail := func(ctx context.Context, email string) (int64, error) {
			_, ext, err := dir.ExtensionByEmail(ctx, email)
			if errors.Is(err, identity.ErrNotFound) || err == nil && (ext.Department() || !ext.Enabled()) { // a department does not sign in, a disabled user may not
				return 0, fmt.Errorf("%w: %s", oauth.ErrUnknownUser, email)
			}
			return ext.ID, err
		}
		p, err := oauth.DiscoverProvider(ctx, cfg.OIDCIssuer, cfg.OIDCClientID, hc, byEmail)
		if err != nil {
			return nil, nil, err
		}
		return nil, oauth.NewClient(oauth.ClientConfig{
			Endpoints: p.Endpoints, ClientID: cfg.OIDCClientID, ClientSecret: cfg.OIDCClientSecret,
			Scopes: []string{"openid", "email", "profile", "offline_access"}, HTTPClient: hc,
		}, p.Identifier), nil
	}
	secret, err := secretKey(ctx, keys, oauthHMACFile, 32)
	if err != nil {
		return nil, nil, err
	}
	key, err := signingKey(ctx, keys)
	if err != nil {
		return nil, nil, err
	}
	auth, err := identity.NewAuthServer(identity.AuthServerConfig{
		Issuer: publicURL, GlobalSecret: secret, SigningKey: key,
		WidgetRedirectURI:   publicURL + "/oauth/redirect",
		AccessTokenLifespan: cfg.AccessTokenTTL, RefreshTokenLifespan: cfg.RefreshTokenTTL,
	}, db, db.OAuth())
	if err != nil {
		return nil, nil, err
	}
	if _, err := auth.JWTCredentials(db, dir); err != nil {
		return nil, nil, err
	}
	login := oauth.NewClient(oauth.ClientConfig{
		Endpoints: oauth.Endpoints{
			AuthURL:   publicURL + "/oauth/authorize",
			TokenURL:  internalURL + "/oauth/token",
			RevokeURL: internalURL + "/oauth/revoke",
		},
		AppSecret:  auth.WidgetClientSecret,
		Scopes:     []string{"openid", "offline_access"},
		HTTPClient: hc,
	}, oauth.APIIdentifier{BaseURL: internalURL, HTTP: hc})
	return auth, login, nil
}

// revocationPoll is how often the server looks for extensions disabled, or
// given a new password, by any process.
const revocationPoll = time.Second

// loopbackAddr is the address at which this process reaches a listener.
func loopbackAddr(a net.Addr) string {
	host, port, _ := net.SplitHostPort(a.String())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// registerDemoApp keeps the demo app pointing at the demo page's origin; its
// redirect URI is the demo's own sign-in callback (disableLoginPopup). Its
// pages may be plain http on loopback only in development mode.
func registerDemoApp(ctx context.Context, apps identity.AppStore, demoURL string, dev bool) error {
	app := identity.App{
		ClientID:     web.DemoClientID,
		Name:         "Demo CRM",
		Origins:      []string{demoURL},
		RedirectURIs: []string{demoURL + "/oauth/callback"},
		Features:     identity.Features{Call: true, SMS: true},
	}
	if err := app.ValidateRegistration(dev); err != nil {
		return fmt.Errorf("demo app: %w", err)
	}
	return apps.PutApp(ctx, app)
}

// retireDemoApp removes a demo app that a development run left with plain
// http pages: outside development mode nothing may embed the widget or
// receive its sign-in from such an origin.
func retireDemoApp(ctx context.Context, apps identity.AppStore, log *slog.Logger) error {
	app, err := apps.App(ctx, web.DemoClientID)
	if errors.Is(err, identity.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("demo app: %w", err)
	}
	if app.ValidateRegistration(false) == nil {
		return nil
	}
	if err := apps.DeleteApp(ctx, app.ClientID); err != nil && !errors.Is(err, identity.ErrNotFound) {
		return fmt.Errorf("remove the demo app: %w", err)
	}
	log.Warn("removed the demo app: its pages are plain http, which only development mode admits",
		slog.String("origins", strings.Join(app.Origins, " ")))
	return nil
}
