package server

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/sip"
)

// readiness answers /readyz: whether this process should get traffic, and
// the status of each SIP trunk.
//
// A trunk that is down does not fail readiness. Readiness tells a load
// balancer or an orchestrator whether to send requests to this process; a
// carrier that stops answering is down for every process alike, and this
// one still serves the widget, calls inside the account and messages. Taking
// it out of rotation would cut all of that and bring the trunk back no
// sooner. So a trunk down makes the status "degraded" with 200, for
// monitoring to alert on (the log says "sip: trunk down" too), and only a
// process that is shutting down answers 503.
//
// The parts a process cannot serve without do fail it: its storage must
// take writes, and its media gateway must hold its UDP port. Each is named
// "ok" or "failing" in checks; why one fails goes to the log.
type readiness struct {
	ua       *sip.UA // nil: SIP off
	checks   []readyCheck
	log      *slog.Logger
	stopping atomic.Bool
}

// readyCheck is a part /readyz asks; check fails when the part cannot do
// its work now.
type readyCheck struct {
	name  string
	check func(context.Context) error
}

// readyTimeout bounds each check: a part that takes longer to answer is
// not ready.
const readyTimeout = 5 * time.Second

// trunkReadiness is a trunk in /readyz. It names no host, user or error
// text: /readyz is on the public listener, and the log has the detail.
type trunkReadiness struct {
	Name       string `json:"name"`
	Up         bool   `json:"up"`
	Registered bool   `json:"registered"` // always false for a peering
	// RegisteredUntil is when the registration runs out (the trunk
	// refreshes it before); absent when not registered.
	RegisteredUntil *time.Time `json:"registeredUntil,omitempty"`
	Reachable       bool       `json:"reachable"` // the last keep-alive's outcome; true without keep-alive
	Since           time.Time  `json:"since"`     // when up last changed
}

type readyBody struct {
	Status string            `json:"status"` // ready, degraded, failing or stopping
	Checks map[string]string `json:"checks"` // each part: ok or failing
	Trunks []trunkReadiness  `json:"trunks"`
	// ErrorCode and Message explain a 503, as every error body does.
	ErrorCode string `json:"errorCode,omitempty"`
	Message   string `json:"message,omitempty"`
}

func (r *readiness) routes(e *echo.Echo) { e.GET("/readyz", r.handle) }

func (r *readiness) handle(c echo.Context) error {
	body := readyBody{Status: "ready", Checks: map[string]string{}, Trunks: []trunkReadiness{}}
	failing := false
	for _, rc := range r.checks {
		ctx, cancel := context.WithTimeout(c.Request().Context(), readyTimeout)
		err := rc.check(ctx)
		cancel()
		body.Checks[rc.name] = "ok"
		if err != nil {
			failing = true
			body.Checks[rc.name] = "failing"
			r.log.WarnContext(c.Request().Context(), "not ready", slog.String("check", rc.name), slog.Any("err", err))
		}
	}
	if r.ua != nil {
		for _, st := range r.ua.Status() {
			t := trunkReadiness{Name: st.Name, Up: st.Up, Registered: st.Registered, Reachable: st.Reachable, Since: st.Since.UTC()}
			if st.Registered && !st.RegisteredUntil.IsZero() {
				until := st.RegisteredUntil.UTC()
				t.RegisteredUntil = &until
			}
			if !st.Up {
				body.Status = "degraded"
			}
			body.Trunks = append(body.Trunks, t)
		}
	}
	if r.stopping.Load() {
		body.Status, body.ErrorCode, body.Message = "stopping", "ShuttingDown", "the server is shutting down"
		return c.JSON(http.StatusServiceUnavailable, body)
	}
	if failing {
		body.Status, body.ErrorCode, body.Message = "failing", "ServiceUnavailable", "a part the server needs is failing: see checks"
		return c.JSON(http.StatusServiceUnavailable, body)
	}
	return c.JSON(http.StatusOK, body)
}
