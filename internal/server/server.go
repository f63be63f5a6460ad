// Package server assembles the widget server from its parts: it opens the
// store, loads the session keys, registers the demo app, builds the handlers
// and runs the HTTP listeners until its context ends. cmd/widget-server and
// the end-to-end tests start the program through Run.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/media"
	"github.com/callbridge/widget-server/internal/messaging"
	"github.com/callbridge/widget-server/internal/oauth"
	"github.com/callbridge/widget-server/internal/store"
	"github.com/callbridge/widget-server/internal/telephony"
	"github.com/callbridge/widget-server/internal/web"
	"github.com/callbridge/widget-server/internal/webhooks"
	"github.com/callbridge/widget-server/web/static"
)

// Config is the whole configuration of one server process.
type Config struct {
	Listen      string // widget listener, host:port
	PublicURL   string // widget base URL as browsers see it; derived from Listen when empty
	DemoListen  string // demo host page listener; "" turns the demo off
	DemoURL     string // demo base URL; derived from DemoListen when empty
	DataDir     string
	LogLevel    slog.Level
	SessionKeys string // hex "hashKey:blockKey"; generated and kept in DataDir when empty
	CountryCode string
	AreaCode    string

	// OIDCIssuer, when set, makes an external OpenID Connect provider sign
	// users in instead of the built-in authorization server; users map to
	// extensions by their verified email.
	OIDCIssuer       string
	OIDCClientID     string
	OIDCClientSecret string

	// MediaPort is the single UDP port of the media gateway (0: any free
	// port); PublicIPs are advertised to browsers behind NAT; ICEServers
	// (STUN/TURN URLs) are handed to browsers.
	MediaPort  int
	PublicIPs  []string
	ICEServers []string
	// RingTimeout ends unanswered calls (default 30 s).
	RingTimeout time.Duration
	// APIRateLimit requests per APIRateWindow are what each extension may
	// make of the platform API (default 60 per 10 s).
	APIRateLimit  int
	APIRateWindow time.Duration
	// EventsHeartbeat is how often an idle event stream sends a heartbeat
	// (default 15 s).
	EventsHeartbeat time.Duration
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

	// DebugListen, when set, serves pprof and expvar (/debug/pprof/,
	// /debug/vars) on this loopback address.
	DebugListen string

	Stdout io.Writer // where the start banner goes; nil for none
	Logger *slog.Logger
	// Ready, when set, is called once both listeners accept connections.
	Ready func(Addrs)
}

// Addrs are the URLs a running server answers on.
type Addrs struct {
	WidgetURL string
	DemoURL   string
}

// Run starts the server and blocks until ctx is cancelled, then shuts down
// gracefully: event streams end, in-flight requests get ShutdownTimeout.
func Run(ctx context.Context, cfg Config) error {
	if cfg.CountryCode == "" {
		cfg.CountryCode = "US"
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	db, err := store.Open(ctx, cfg.DataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	hashKey, blockKey, err := loadSessionKeys(cfg.DataDir, cfg.SessionKeys)
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
	var demoLn net.Listener
	demoURL := ""
	if cfg.DemoListen != "" {
		if demoLn, err = net.Listen("tcp", cfg.DemoListen); err != nil {
			return fmt.Errorf("listen %s (demo): %w", cfg.DemoListen, err)
		}
		defer demoLn.Close()
		if demoURL, err = baseURL(cfg.DemoURL, demoLn.Addr(), "127.0.0.1"); err != nil {
			return err
		}
		if err := registerDemoApp(ctx, db, publicURL, demoURL); err != nil {
			return err
		}
	}

	assets, err := web.NewAssets(static.FS)
	if err != nil {
		return err
	}
	dir := identity.NewDirectory(db)
	if isLoopback(widgetLn.Addr()) {
		if err := dir.SeedDemo(ctx); err != nil {
			return fmt.Errorf("seed demo users: %w", err)
		}
	} else {
		log.Warn("not seeding demo users: the server listens beyond loopback", slog.String("listen", widgetLn.Addr().String()))
	}
	// This server calls its own token endpoint and API over loopback, so a
	// public URL behind a proxy need not be reachable from here.
	internalURL := "http://" + loopbackAddr(widgetLn.Addr())
	httpClient := &http.Client{Timeout: 15 * time.Second}
	auth, login, err := signIn(ctx, cfg, db, dir, publicURL, internalURL, httpClient)
	if err != nil {
		return err
	}
	tokenKey, err := secretFile(cfg.DataDir, "token.key", 32)
	if err != nil {
		return err
	}
	sessions, err := oauth.NewSessions(db, login, tokenKey, log)
	if err != nil {
		return err
	}
	// The media gateway binds loopback only while the server does: the
	// local demo and the tests never put a packet on another interface.
	var sw *telephony.Switch
	mediaCfg := media.Config{
		UDPPort: cfg.MediaPort, NAT1To1IPs: cfg.PublicIPs, ICEServers: cfg.ICEServers, Logger: log,
		OnLegFailed: func(id string) { sw.LegFailed(id) },
	}
	if isLoopback(widgetLn.Addr()) {
		mediaCfg.ListenIP, mediaCfg.IncludeLoopback = "127.0.0.1", true
	}
	gw, err := media.New(mediaCfg)
	if err != nil {
		return fmt.Errorf("media gateway: %w", err)
	}
	defer gw.Close()
	bus := telephony.NewBus()
	sw = telephony.New(telephony.Config{RingTimeout: cfg.RingTimeout, Logger: log}, phoneDirectory{db}, gatewayMedia{gw}, bus, db)

	smsSecret, err := messaging.LoadWebhook(cfg.SMSWebhookURL, cfg.SMSWebhookSecretFile)
	if err != nil {
		return err
	}
	var onMessage func(messaging.Change)
	msgs := messaging.New(messaging.Config{
		WebhookURL: cfg.SMSWebhookURL, WebhookSecret: smsSecret, RetryDelay: cfg.SMSRetryDelay, Logger: log,
		AllowLoopback: isLoopback(widgetLn.Addr()), // the provider, like webhook receivers, only in development
		OnChange:      func(c messaging.Change) { onMessage(c) },
	}, db, db)

	// Webhook receivers may be plain http and on loopback only while the
	// server itself listens on loopback (development and tests). Their
	// secrets are sealed in the database under a key of the data dir.
	webhookKey, err := secretFile(cfg.DataDir, "webhook.key", 32)
	if err != nil {
		return err
	}
	hooks := webhooks.New(webhooks.Config{AllowLoopback: isLoopback(widgetLn.Addr()), Logger: log, SecretKey: webhookKey}, db)
	if err := hooks.Load(ctx); err != nil {
		return err
	}
	defer hooks.Close() // after the switch's last events: what is still queued then is dropped

	hub := bridge.NewHub(bridge.HubConfig{})
	srv := web.NewServer(web.Config{
		PublicURL: publicURL, DemoURL: demoURL,
		CountryCode: cfg.CountryCode, AreaCode: cfg.AreaCode, ICEServers: gw.ICEServers(),
		APIRateLimit: cfg.APIRateLimit, APIRateWindow: cfg.APIRateWindow, EventsHeartbeat: cfg.EventsHeartbeat,
	}, web.Deps{
		Log: log, Apps: db, Directory: dir, AuthServer: auth, Throttle: identity.NewThrottle(time.Now),
		Login: login, Sessions: sessions, Switch: sw, Hub: hub,
		Cookies: web.NewSessionStore(hashKey, blockKey), Assets: assets, CallLog: db, Presences: db,
		Messages: msgs, Webhooks: hooks,
	})
	onMessage = srv.MessageEvent
	if err := srv.ApplyStoredPresence(ctx); err != nil {
		return fmt.Errorf("apply stored presence: %w", err)
	}
	bus.Subscribe(srv.CallEvent)
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
	errc := make(chan error, 2)
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
	servers := []*http.Server{serve("widget", widgetLn, srv.Widget())}
	if demoLn != nil {
		servers = append(servers, serve("demo", demoLn, srv.Demo()))
	}
	wg.Add(2)
	go func() { defer wg.Done(); srv.SweepLoop(ctx) }()
	go func() { defer wg.Done(); sessions.Maintain(ctx, time.Minute) }()
	wg.Add(1)
	go func() { defer wg.Done(); msgs.Run(ctx) }() // delivers what is pending, also from before a restart

	log.Info("widget server started", slog.String("widget_url", publicURL), slog.String("demo_url", demoURL),
		slog.String("data_dir", cfg.DataDir), slog.Int("media_udp_port", gw.UDPPort()))
	if cfg.Stdout != nil {
		fmt.Fprintf(cfg.Stdout, "Callbridge widget server: %s\n", publicURL)
		if demoURL != "" {
			fmt.Fprintf(cfg.Stdout, "Demo CRM page (open this): %s/\n", demoURL)
		}
	}
	if cfg.Ready != nil {
		cfg.Ready(Addrs{WidgetURL: publicURL, DemoURL: demoURL})
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	log.Info("shutting down")
	srv.Drain() // the platform API answers 503 from now on
	closeCtx, stopClose := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	sw.Close(closeCtx) // ends every call with a reason and writes its call-log records
	stopClose()
	hub.Shutdown() // ends every event stream so Shutdown need not wait for them
	shutdownCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer stop()
	for _, hs := range servers {
		if err := hs.Shutdown(shutdownCtx); err != nil {
			runErr = errors.Join(runErr, fmt.Errorf("shutdown: %w", err))
		}
	}
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
func signIn(ctx context.Context, cfg Config, db *store.DB, dir *identity.Directory, publicURL, internalURL string, hc *http.Client) (*identity.AuthServer, *oauth.Client, error) {
	if cfg.OIDCIssuer != "" {
		if cfg.OIDCClientID == "" {
			return nil, nil, errors.New("an OpenID Connect issuer needs a client id")
		}
		byEmail := func(ctx context.Context, email string) (int64, error) {
			_, ext, err := dir.ExtensionByEmail(ctx, email)
			if errors.Is(err, identity.ErrNotFound) || err == nil && ext.Department() { // a department does not sign in
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
	secret, err := secretFile(cfg.DataDir, "oauth-hmac.key", 32)
	if err != nil {
		return nil, nil, err
	}
	key, err := signingKey(cfg.DataDir)
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
	login := oauth.NewClient(oauth.ClientConfig{
		Endpoints: oauth.Endpoints{
			AuthURL:   publicURL + "/oauth/authorize",
			TokenURL:  internalURL + "/oauth/token",
			RevokeURL: internalURL + "/oauth/revoke",
		},
		Scopes:     []string{"openid", "offline_access"},
		HTTPClient: hc,
	}, oauth.APIIdentifier{BaseURL: internalURL, HTTP: hc})
	return auth, login, nil
}

func isLoopback(a net.Addr) bool {
	host, _, _ := net.SplitHostPort(a.String())
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackAddr is the address at which this process reaches a listener.
func loopbackAddr(a net.Addr) string {
	host, port, _ := net.SplitHostPort(a.String())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// registerDemoApp keeps the demo app pointing at the demo page's origin; its
// redirect URI is the demo's own sign-in callback (disableLoginPopup).
func registerDemoApp(ctx context.Context, apps identity.AppStore, publicURL, demoURL string) error {
	return apps.PutApp(ctx, identity.App{
		ClientID:     web.DemoClientID,
		Name:         "Demo CRM",
		Origins:      []string{demoURL},
		RedirectURIs: []string{demoURL + "/oauth/callback"},
		Features:     identity.Features{Call: true, SMS: true},
	})
}
