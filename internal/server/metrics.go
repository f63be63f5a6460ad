package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/media"
	"github.com/callbridge/widget-server/internal/messaging"
	"github.com/callbridge/widget-server/internal/metrics"
	"github.com/callbridge/widget-server/internal/outbox"
	"github.com/callbridge/widget-server/internal/store"
	"github.com/callbridge/widget-server/internal/telephony"
	"github.com/callbridge/widget-server/internal/webhooks"
)

// MinMetricsToken is the shortest bearer token /metrics accepts.
const MinMetricsToken = 16

// CheckMetricsToken refuses a token too short to guess at, or one a
// header cannot carry.
func CheckMetricsToken(token string) error {
	if token == "" {
		return nil
	}
	if len(token) < MinMetricsToken || strings.ContainsFunc(token, func(r rune) bool { return r <= ' ' || r > '~' }) {
		return fmt.Errorf("metrics token: want at least %d printable characters without spaces (such as the output of: openssl rand -hex 32)", MinMetricsToken)
	}
	return nil
}

// requestMetrics counts each request of the widget origin by the route
// template it matched (never its path: ids stay out of the labels), its
// method and its status, and times it unless it is an event stream, which
// lasts as long as the widget is open. It answers a handler's error itself,
// as logRequests does, so the status counted is the one sent.
func requestMetrics(m *metrics.Metrics) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			if err := next(c); err != nil {
				c.Error(err)
			}
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			stream := strings.HasPrefix(c.Response().Header().Get(echo.HeaderContentType), "text/event-stream")
			m.Request(route, methodLabel(c.Request().Method), c.Response().Status, time.Since(start), stream)
			return nil
		}
	}
}

// methodLabel keeps the method label to the methods HTTP defines.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "OTHER"
}

// metricsAuth asks for the bearer token, when there is one. Both sides are
// hashed before the constant-time compare, so neither the token nor its
// length shows in the time the answer takes.
func metricsAuth(token string) echo.MiddlewareFunc {
	want := sha256.Sum256([]byte(token))
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if token == "" {
				return next(c)
			}
			scheme, got, _ := strings.Cut(c.Request().Header.Get(echo.HeaderAuthorization), " ")
			if !strings.EqualFold(scheme, "Bearer") || got == "" {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="metrics"`)
				return &httperror.Error{Status: http.StatusUnauthorized, Code: "TokenMissing", Message: "send the metrics token: Authorization: Bearer <token>"}
			}
			h := sha256.Sum256([]byte(got))
			if subtle.ConstantTimeCompare(h[:], want[:]) != 1 {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="metrics", error="invalid_token"`)
				return &httperror.Error{Status: http.StatusUnauthorized, Code: "TokenInvalid", Message: "the metrics token is wrong"}
			}
			return next(c)
		}
	}
}

// widgetMetrics mounts on the widget origin the counting of its requests
// and, when there is a token, /metrics behind it. Middleware added with Use
// applies to the routes mounted before it too: echo builds the chain per
// request.
func widgetMetrics(m *metrics.Metrics, token string) func(*echo.Echo) {
	return func(e *echo.Echo) {
		e.Use(requestMetrics(m))
		if token != "" {
			e.GET("/metrics", echo.WrapHandler(m.Handler()), metricsAuth(token))
		}
	}
}

// metricsHandler is the handler of the metrics listener: /metrics only,
// behind the token when there is one.
func metricsHandler(m *metrics.Metrics, token string, log *slog.Logger) http.Handler {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = httperror.Handler(log)
	e.GET("/metrics", echo.WrapHandler(m.Handler()), metricsAuth(token))
	return e
}

// mediaKinds are the kinds of media leg exported, each even when none is
// open.
var mediaKinds = []media.Kind{media.KindPhone, media.KindTone, media.KindEcho, media.KindTrunkPhone, media.KindRTP}

// watchParts has the metrics read the parts' own counters at each scrape.
func watchParts(m *metrics.Metrics, sw *telephony.Switch, hub *bridge.Hub, gw *media.Gateway, db *store.DB) {
	m.Watch(metrics.Sources{
		Calls: sw.ActiveCalls,
		Streams: func() metrics.StreamTotals {
			st := hub.Stats()
			return metrics.StreamTotals{Open: st.Open, Opened: st.Opened, Dropped: st.Dropped}
		},
		Media: func() metrics.MediaTotals {
			t := gw.Totals()
			legs := make(map[string]int, len(mediaKinds))
			for _, k := range mediaKinds {
				legs[k.String()] = t.Legs[k]
			}
			return metrics.MediaTotals{Legs: legs, PacketsReceived: t.PacketsReceived, PacketsSent: t.PacketsSent,
				BytesReceived: t.BytesReceived, BytesSent: t.BytesSent,
				DirectReceived: t.DirectReceived, DirectSent: t.DirectSent}
		},
		Storage: func() metrics.StorageErrors {
			c := db.ErrorCounts()
			return metrics.StorageErrors{Unavailable: c.Unavailable, Refused: c.Refused}
		},
		Queued:     db.JobCounts,
		QueueKinds: []string{webhooks.JobKind, messaging.KindSMS, messaging.KindLocal},
	})
}

// observeDeliveries counts the outbox's attempts.
func observeDeliveries(m *metrics.Metrics) outbox.Observer {
	return func(kind string, o outbox.Outcome) { m.Delivery(kind, string(o)) }
}

// observeLegs counts the legs the gateway closes.
func observeLegs(m *metrics.Metrics) func(media.Kind, media.LegStats) {
	return func(k media.Kind, s media.LegStats) {
		// Until the peer's first receiver report, its figures are zero.
		reported := s.JitterMs != 0 || s.PacketsLost != 0 || s.RTTMs != 0
		m.LegEnded(k.String(), s.PacketsLost+s.InboundLost, s.JitterMs, reported)
	}
}
