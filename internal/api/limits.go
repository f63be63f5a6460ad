package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/httperror"
)

// The platform API's default rate limit per extension.
const (
	DefaultRateLimit  = 60
	DefaultRateWindow = 10 * time.Second
)

// drainRetryAfter is what a client is told to wait while the server shuts down.
const drainRetryAfter = "5"

// Drain makes the platform API answer 503 from now on: the server is shutting
// down and in-flight work is finishing. Clients retry after Retry-After,
// by then against the restarted server.
func (s *Server) Drain() {
	s.draining.Store(true)
	s.sockets.shutdown()
}

func (s *Server) refuseWhileDraining(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.draining.Load() {
			return &httperror.Error{Status: http.StatusServiceUnavailable, Code: "ShuttingDown", RetryAfter: drainRetryAfter,
				Message: "the server is shutting down; retry in a few seconds"}
		}
		return next(c)
	}
}

// rateLimit admits the caller's request if its extension has a token left,
// and tells the client its budget in X-Rate-Limit-* headers either way.
func (s *Server) rateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := s.limiter.Admit(c, caller(c).Extension.ID); err != nil {
			return err
		}
		return next(c)
	}
}
