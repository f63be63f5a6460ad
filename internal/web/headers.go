package web

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// secureHeaders sets the headers every response carries. Pages that need a
// looser policy (the framed widget, the demo) replace the CSP themselves.
func secureHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'")
		return next(c)
	}
}

// headKey marks, in the echo context, a HEAD request routed as a GET.
const headKey = "cb.head"

// headAsGet answers HEAD wherever GET answers (RFC 9110 §9.3.2): the request
// is routed as a GET (echo has no HEAD routes of its own), then handled as
// the HEAD it is, with its body dropped, so the status and headers are the
// GET's. Uptime monitors, CDNs and link checkers use HEAD. It is a
// pre-routing middleware; headRouted must be the first ordinary one.
func headAsGet(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Method != http.MethodHead {
			return next(c)
		}
		c.Set(headKey, true)
		r.Method = http.MethodGet
		defer func() { r.Method = http.MethodHead }() // a route was not found
		c.Response().Writer = bodyless{c.Response().Writer}
		return next(c)
	}
}

// headRouted gives a HEAD request routed as a GET its method back, so the
// handlers and net/http see the HEAD it is.
func headRouted(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if isHead(c) {
			c.Request().Method = http.MethodHead
		}
		return next(c)
	}
}

// isHead tells whether the request came as HEAD.
func isHead(c echo.Context) bool { v, _ := c.Get(headKey).(bool); return v }

// bodyless is a ResponseWriter that keeps the headers and status and drops
// the body.
type bodyless struct{ http.ResponseWriter }

func (b bodyless) Write(p []byte) (int, error)       { return len(p), nil }
func (b bodyless) Unwrap() http.ResponseWriter       { return b.ResponseWriter }
func (b bodyless) WriteString(s string) (int, error) { return len(s), nil }
