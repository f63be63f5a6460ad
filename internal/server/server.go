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
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/store"
	"github.com/callbridge/widget-server/internal/web"
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
	hub := bridge.NewHub(bridge.HubConfig{})
	srv := web.NewServer(web.Config{
		PublicURL: publicURL, DemoURL: demoURL,
		CountryCode: cfg.CountryCode, AreaCode: cfg.AreaCode,
	}, log, db, hub, web.NewSessionStore(hashKey, blockKey), assets)

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
	wg.Add(1)
	go func() { defer wg.Done(); srv.SweepLoop(ctx) }()

	log.Info("widget server started", slog.String("widget_url", publicURL), slog.String("demo_url", demoURL),
		slog.String("data_dir", cfg.DataDir))
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

// registerDemoApp keeps the demo app pointing at the demo page's origin.
func registerDemoApp(ctx context.Context, apps identity.AppStore, publicURL, demoURL string) error {
	redirect, _ := url.JoinPath(publicURL, "/oauth/redirect")
	return apps.PutApp(ctx, identity.App{
		ClientID:     web.DemoClientID,
		Name:         "Demo CRM",
		Origins:      []string{demoURL},
		RedirectURIs: []string{redirect},
		Features:     identity.Features{Call: true, SMS: true},
	})
}
