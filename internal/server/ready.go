package server

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
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
//
// /readyz is on the public listener and its checks write to the disk, so
// their outcome is kept for readyFor: however often it is asked, the
// checks run at most once a second, one request at a time.
type readiness struct {
	ua       *sip.UA // nil: SIP off
	checks   []readyCheck
	log      *slog.Logger
	stopping atomic.Bool
	now      func() time.Time // nil: time.Now

	mu        sync.Mutex
	failed    map[string]bool // the parts failing at the last checks; nil before the first
	checkedAt time.Time
}

// readyFor is how long the outcome of the checks is answered again.
const readyFor = time.Second

// readyCheck is a part /readyz asks; check fails when the part cannot do
// its work now.
type readyCheck struct {
	name  string
	check func(context.Context) error
}

// readyTimeout bounds each check: a part that takes longer to answer is
// not ready.
const readyTimeout = 5 * time.Second

// trunkReadiness is a trunk in /readyz. It names no host, user, node or
// error text: /readyz is on the public listener, and the log has the
// detail (the node that registers a trunk logs that it took it).
type trunkReadiness struct {
	Name       string `json:"name"`
	Up         bool   `json:"up"`
	Registered bool   `json:"registered"` // always false for a peering
	// RegisteredUntil is when the registration runs out (the trunk
	// refreshes it before); absent when not registered.
	RegisteredUntil *time.Time `json:"registeredUntil,omitempty"`
	Reachable       bool       `json:"reachable"` // the last keep-alive's outcome; true without keep-alive
	Since           time.Time  `json:"since"`     // when up last changed
	// RegisteredHere, with several nodes, says whether this node is the
	// one that registers the trunk, whose registration this is; absent
	// when none does.
	RegisteredHere *bool `json:"registeredHere,omitempty"`
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

func (r *readiness) clock() time.Time {
	if r.now != nil {
		return r.now()
	}
	return time.Now()
}

// check runs the checks, unless they ran less than readyFor ago, and
// returns the parts that fail. A request that gives up does not cut the
// checks short for the others that wait on them.
func (r *readiness) check(ctx context.Context) map[string]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := r.clock(); r.failed != nil && !now.Before(r.checkedAt) && now.Sub(r.checkedAt) < readyFor {
		return r.failed
	}
	failed := map[string]bool{}
	for _, rc := range r.checks {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), readyTimeout)
		err := rc.check(cctx)
		cancel()
		if err != nil {
			failed[rc.name] = true
			r.log.WarnContext(ctx, "not ready", slog.String("check", rc.name), slog.Any("err", err))
		}
	}
	r.failed, r.checkedAt = failed, r.clock()
	return failed
}

func (r *readiness) handle(c echo.Context) error {
	body := readyBody{Status: "ready", Checks: map[string]string{}, Trunks: []trunkReadiness{}}
	failed := r.check(c.Request().Context())
	failing := len(failed) > 0
	for _, rc := range r.checks {
		body.Checks[rc.name] = "ok"
		if failed[rc.name] {
			body.Checks[rc.name] = "failing"
		}
	}
	if r.ua != nil {
		for _, st := range r.ua.Status() {
			t := trunkReadiness{Name: st.Name, Up: st.Up, Registered: st.Registered, Reachable: st.Reachable, Since: st.Since.UTC()}
			if st.Node != "" {
				here := st.Node == r.ua.Node()
				t.RegisteredHere = &here
			}
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
