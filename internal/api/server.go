// Package api serves the server-to-server face of the widget server: the
// platform REST API under /restapi/v1.0 (bearer tokens, rate limits per
// extension, paging, the OpenAPI document), the endpoints of the built-in
// authorization server (/oauth/authorize, token, revoke, keys and
// metadata), the socket of WebSocket subscriptions and the SMS provider's
// inbound webhook. It translates HTTP to
// calls on identity, telephony, messaging, webhooks and the desk phones'
// credentials, and back; errors are internal/httperror's.
//
// Its routes are mounted on the widget origin by internal/server. It must
// not import internal/web (the widget's side, which reaches the call log
// and presence through interfaces this package implements), nor
// internal/server.
package api

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/ratelimit"
	"github.com/callbridge/widget-server/internal/sip"
	"github.com/callbridge/widget-server/internal/telephony"
)

// Config is what the handlers need to know about their deployment.
type Config struct {
	// PublicURL is the widget server's base URL as browsers and clients
	// see it; resources' uri fields start with it.
	PublicURL string
	// StaticBase is the path prefix of the static files the sign-in page
	// loads (web.Assets.Base).
	StaticBase string
	// RateLimit requests per RateWindow are what each extension may make of
	// the platform API (default 60 per 10 s); more are answered 429.
	RateLimit  int
	RateWindow time.Duration
	// Registrar is where desk phones register (default realm
	// sip.DefaultRealm); without endpoints phones cannot be added through
	// the API.
	Registrar Registrar
	// Socket tunes WebSocket subscriptions (websocket.go).
	Socket SocketConfig
}

// Switch is what the platform API needs of the telephony switch: the
// sessions and the extension's live calls, RingOut, and call control with
// the devices a call can move to, and conferences.
type Switch interface {
	Sessions(extension int64) []telephony.Session
	Session(id string) (telephony.Session, bool)
	ActiveRecords(extension int64) []telephony.CallRecord
	RingOut(ctx context.Context, extension int64, from, to, callerID string, playPrompt bool) (telephony.RingOut, error)
	FindRingOut(extension int64, id string) (telephony.RingOut, bool)
	CancelRingOut(ctx context.Context, extension int64, id string) (telephony.RingOut, error)
	ControlParty(ctx context.Context, owner int64, sessionID, partyID string, action telephony.PartyAction) (telephony.Session, error)
	RecordParty(ctx context.Context, owner int64, sessionID, partyID string, action telephony.RecordAction) (telephony.Session, error)
	Transfer(ctx context.Context, device, sessionID, to string) (telephony.Session, error)
	Forward(ctx context.Context, device, sessionID, to string) (telephony.Session, error)
	Ignore(ctx context.Context, device, sessionID string) error
	Devices(extension int64) []string
	Bridge(ctx context.Context, owner int64, sessionID, partyID, otherSessionID, otherPartyID string) (telephony.Session, error)
	Move(ctx context.Context, owner int64, sessionID, partyID string, devices []string) error
	StartConference(ctx context.Context, owner int64, sessionID, partyID string) (telephony.Conference, error)
	MergeParty(ctx context.Context, owner int64, sessionID, partyID, otherSessionID, otherPartyID string) (telephony.Conference, error)
	RemoveParticipant(ctx context.Context, owner int64, id, partyID string) error
	MuteParticipant(ctx context.Context, owner int64, id, partyID string, muted bool) error
	EndConference(ctx context.Context, owner int64, id string) error
	ConferenceOf(ext int64, sessionID string) (telephony.Conference, bool)
}

// Deps are the parts the handlers use.
type Deps struct {
	Log        *slog.Logger
	Directory  *identity.Directory
	AuthServer *identity.AuthServer // nil when an external provider signs users in
	Throttle   *identity.Throttle
	Switch     Switch         // nil: calling is off
	CallLog    CallLogStore   // nil: the call log is empty
	Presence   Presence       // nil: presence is the default and cannot be set
	Messages   Messages       // nil: messaging is off
	Webhooks   Subscriptions  // nil: webhook subscriptions are off
	Phones     SIPDevices     // nil: desk phones are not managed through the API
	Rules      AnsweringRules // nil: answering rules are not managed through the API
	Audio      Audio          // nil: no recordings, and voicemail has no content
}

// Server holds the handlers' dependencies.
type Server struct {
	Deps
	cfg      Config
	log      *slog.Logger
	limiter  *ratelimit.Limiter[int64] // of the platform API, per extension
	draining atomic.Bool               // the server is shutting down

	sockets      *socketHub   // WebSocket subscriptions' sessions
	socketTokens socketTokens // of /restapi/oauth/wstoken
	socketAPI    *echo.Echo   // the routes requests over a socket reach
}

// NewServer wires the handlers.
func NewServer(cfg Config, deps Deps) *Server {
	if cfg.RateLimit <= 0 {
		cfg.RateLimit = DefaultRateLimit
	}
	if cfg.RateWindow <= 0 {
		cfg.RateWindow = DefaultRateWindow
	}
	if cfg.Registrar.Realm == "" {
		cfg.Registrar.Realm = sip.DefaultRealm
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	cfg.Socket = cfg.Socket.withDefaults()
	s := &Server{Deps: deps, cfg: cfg, log: deps.Log,
		limiter: ratelimit.New[int64](cfg.RateLimit, cfg.RateWindow, time.Now)}
	s.sockets = newSocketHub(cfg.Socket, deps.Log)
	if deps.Webhooks != nil {
		s.sockets.drop = func(sess *socketSession) { deps.Webhooks.DropSink(sess) }
	}
	s.socketTokens = newSocketTokens(cfg.Socket.TokenKey, time.Now)
	s.socketAPI = s.newSocketAPI()
	return s
}
