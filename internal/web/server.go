// Package web serves the widget's HTTP side: the iframe page /app and the
// widget's endpoints /widget/* (one middleware resolves their signed-in
// user), the event stream, the sign-in popup's landing page, the static
// files and adapter.js, and the demo host page on its own origin. It
// builds the widget origin's echo instance, on which internal/server mounts
// the platform API's routes as well. It translates HTTP to calls on
// identity, bridge and the rest, and back; it holds no domain rules of its
// own, and its errors are internal/httperror's.
//
// It must not import internal/api (the call log and presence it shows come
// through the CallHistory and Presence interfaces) nor internal/server.
package web

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/logctx"
	"github.com/callbridge/widget-server/internal/oauth"
	"github.com/callbridge/widget-server/internal/ratelimit"
)

// Config is what the handlers need to know about their deployment.
type Config struct {
	// PublicURL is the widget's own base URL as browsers see it.
	PublicURL string
	// DemoURL is the demo host page's base URL ("" when the demo is off).
	DemoURL string
	// Dev is development mode (server.Config.Dev): a developer's machine,
	// where plain http on loopback stands in for https and the widget page
	// turns on the hooks the browser tests use.
	Dev bool
	// TrustedProxies are the reverse proxies whose X-Forwarded-For and
	// X-Real-IP say a request's browser address; none: the peer's address.
	TrustedProxies []*net.IPNet
	// CountryCode and AreaCode are the region reported to the widget until
	// a signed-in account says otherwise.
	CountryCode, AreaCode string
	// ICEServers are the STUN/TURN URLs the widget's RTCPeerConnections use.
	ICEServers []string
	// EventsHeartbeat is how often an idle event stream sends a heartbeat
	// (default 15 s); the widget reopens a stream silent for twice as long.
	EventsHeartbeat time.Duration
	// WidgetRateLimit requests per WidgetRateWindow are what each widget
	// session may make of /widget/* (default 120 per 10 s); more are
	// answered 429 with Retry-After.
	WidgetRateLimit  int
	WidgetRateWindow time.Duration
	// SMSRateLimit messages per SMSRateWindow are what each extension may
	// send from the widget (default 30 per minute).
	SMSRateLimit  int
	SMSRateWindow time.Duration
	// MaxStreamsPerSession and MaxDevicesPerSession cap the event streams
	// and phone devices one widget session holds open (defaults 20 and 10).
	MaxStreamsPerSession int
	MaxDevicesPerSession int
}

// The widget's default rate limits: requests per session, SMS per extension.
const (
	DefaultWidgetRateLimit  = 120
	DefaultWidgetRateWindow = 10 * time.Second
	DefaultSMSRateLimit     = 30
	DefaultSMSRateWindow    = time.Minute
)

// Deps are the parts the handlers use.
type Deps struct {
	Log       *slog.Logger
	Apps      identity.AppStore
	Directory *identity.Directory
	Login     *oauth.Client
	Sessions  *oauth.Sessions
	Switch    Switch // nil: calling is off
	Hub       *bridge.Hub
	Cookies   sessions.Store
	Assets    *Assets
	Messages  Messages       // nil: messaging is off
	Audio     Audio          // nil: no voicemail or recording content
	CallLog   CallHistory    // nil: the call log is empty
	Presence  Presence       // nil: presence is the default and cannot be set
	Rules     AnsweringRules // nil: answering rules cannot be seen or set
	// JWT manages the users' JWT credentials for server apps; nil: there
	// are none (an external provider signs users in).
	JWT *identity.JWTCredentials
	// DeviceKey signs the device ids issued to sessions (32 bytes or more);
	// nil: a random key, so ids last as long as the process.
	DeviceKey []byte
	// Revoked, when set, is also told of each extension whose credentials
	// ended (ExtensionRevoked): the platform API ends its sockets.
	Revoked func(extensionID int64)
}

// Server holds the handlers' dependencies.
type Server struct {
	Deps
	cfg     Config
	log     *slog.Logger
	stream  bridge.StreamConfig
	streams sync.WaitGroup // goroutines of the event streams (bridge.Stream)
	devices devices

	widgetLimit *ratelimit.Limiter[string] // of /widget/*, per session
	smsLimit    *ratelimit.Limiter[int64]  // of SMS sent from the widget, per extension
	deviceKey   []byte
}

// NewServer wires the handlers.
func NewServer(cfg Config, deps Deps) *Server {
	if cfg.WidgetRateLimit <= 0 || cfg.WidgetRateWindow <= 0 {
		cfg.WidgetRateLimit, cfg.WidgetRateWindow = DefaultWidgetRateLimit, DefaultWidgetRateWindow
	}
	if cfg.SMSRateLimit <= 0 || cfg.SMSRateWindow <= 0 {
		cfg.SMSRateLimit, cfg.SMSRateWindow = DefaultSMSRateLimit, DefaultSMSRateWindow
	}
	if cfg.MaxStreamsPerSession <= 0 {
		cfg.MaxStreamsPerSession = DefaultMaxStreamsPerSession
	}
	if cfg.MaxDevicesPerSession <= 0 {
		cfg.MaxDevicesPerSession = DefaultMaxDevicesPerSession
	}
	key := deps.DeviceKey
	if len(key) == 0 {
		key = make([]byte, 32)
		rand.Read(key)
	}
	s := &Server{Deps: deps, cfg: cfg, log: deps.Log,
		stream:      bridge.StreamConfig{Heartbeat: cfg.EventsHeartbeat},
		widgetLimit: ratelimit.New[string](cfg.WidgetRateLimit, cfg.WidgetRateWindow, time.Now),
		smsLimit:    ratelimit.New[int64](cfg.SMSRateLimit, cfg.SMSRateWindow, time.Now),
		devices:     devices{maxStreams: cfg.MaxStreamsPerSession, maxDevices: cfg.MaxDevicesPerSession},
		deviceKey:   key}
	s.stream.Streams = &s.streams
	return s
}

// SMSLimit is the limit of the SMS each extension sends from the widget:
// with several nodes, the server makes it count every node's
// (ratelimit.Limiter.ShareWith).
func (s *Server) SMSLimit() *ratelimit.Limiter[int64] { return s.smsLimit }

// Close waits, at shutdown, for what the server started outside a
// request: the event streams, which end once the hub shuts down (each
// within its write timeout), and the devices' grace periods, which it
// stops. Call it after the hub's Shutdown.
func (s *Server) Close() {
	s.devices.stop()
	s.streams.Wait()
}

// maxBody bounds every request body of the widget origin.
const maxBody = "64K"

func (s *Server) newEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.IPExtractor = clientIP(s.cfg.TrustedProxies)
	e.HTTPErrorHandler = httperror.Handler(s.log)
	e.Pre(headAsGet)
	e.Use(headRouted)
	e.Use(middleware.RequestIDWithConfig(middleware.RequestIDConfig{
		// Every line logged for the request (the *Context methods) names it.
		RequestIDHandler: func(c echo.Context, id string) {
			r := c.Request()
			c.SetRequest(r.WithContext(logctx.With(r.Context(), slog.String("requestId", id))))
		},
	}))
	e.Use(s.recoverPanics)
	e.Use(s.logRequests)
	e.Use(secureHeaders)
	e.Use(middleware.BodyLimit(maxBody))
	return e
}

// Widget returns the handler of the widget origin: the widget's routes and
// those each of mounts adds (internal/server mounts the platform API's).
func (s *Server) Widget(mounts ...func(*echo.Echo)) http.Handler {
	e := s.newEcho()
	e.GET("/adapter.js", func(c echo.Context) error {
		s.Assets.ServeAdapter(c.Response(), c.Request())
		return nil
	})
	// The contract's TypeScript definitions, for integrators' editors and
	// compilers, at a fixed URL next to adapter.js.
	e.GET("/adapter.d.ts", func(c echo.Context) error {
		s.Assets.ServeFile(c.Response(), c.Request(), "adapter.d.ts")
		return nil
	})
	e.GET("/static/:version/:name", s.static)
	// The widget page is HTML rendered per request; gzip takes it from
	// about 27 KB to 4 KB on the wire (docs/performance.md).
	gzipPage := middleware.GzipWithConfig(middleware.GzipConfig{Level: 6})
	e.GET("/app", s.app, gzipPage)
	e.GET("/app.html", s.app, gzipPage)
	e.GET("/widget/events", s.events)
	e.GET("/oauth/redirect", s.redirectPage)
	s.loginRoutes(e)
	if s.Switch != nil {
		s.callRoutes(e)
		s.widgetRingOutRoutes(e)
	}
	s.widgetMessageRoutes(e)
	s.widgetAudioRoutes(e)
	s.widgetHistoryRoutes(e)
	s.widgetRuleRoutes(e)
	s.widgetJWTRoutes(e)
	for _, mount := range mounts {
		mount(e)
	}
	e.GET("/healthz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	e.GET("/", func(c echo.Context) error {
		if s.cfg.DemoURL != "" {
			return c.Redirect(http.StatusFound, s.cfg.DemoURL+"/")
		}
		return c.JSON(http.StatusOK, map[string]string{"service": "callbridge widget server"})
	})
	return e
}

func (s *Server) static(c echo.Context) error {
	s.Assets.ServeVersioned(c.Response(), c.Request(), c.Param("version"), c.Param("name"))
	return nil
}

// SweepLoop forgets idle event groups until ctx ends.
func (s *Server) SweepLoop(ctx context.Context) {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.Hub.Sweep(now)
		}
	}
}

func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		s.log.LogAttrs(c.Request().Context(), slog.LevelDebug, "request",
			slog.String("method", c.Request().Method), slog.String("path", c.Request().URL.Path),
			slog.Int("status", c.Response().Status), slog.Duration("took", time.Since(start)))
		return nil
	}
}

func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				err = &httperror.Error{Status: http.StatusInternalServerError, Code: "InternalError", Message: "internal server error"}
				s.log.ErrorContext(c.Request().Context(), "panic in handler", slog.Any("panic", r), slog.String("path", c.Request().URL.Path))
			}
		}()
		return next(c)
	}
}
