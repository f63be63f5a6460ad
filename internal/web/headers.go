package web

import (
	"crypto/rand"
	"encoding/base64"
	"strings"

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

// newNonce returns a fresh CSP nonce.
func newNonce() string {
	b := make([]byte, 18)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// csp builds a Content-Security-Policy header from directive → sources.
// Directives keep the given order.
type csp []directive

type directive struct {
	name    string
	sources []string
}

func (p csp) String() string {
	var b strings.Builder
	for i, d := range p {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(d.name)
		for _, s := range d.sources {
			b.WriteByte(' ')
			b.WriteString(s)
		}
	}
	return b.String()
}
