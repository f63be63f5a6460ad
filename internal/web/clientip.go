package web

import (
	"net"
	"net/http"

	"github.com/labstack/echo/v4"
)

// clientIP returns how a request's browser address is found (c.RealIP):
// the peer's address, or, when the peer is one of the trusted proxies, the
// address the proxy reports in X-Forwarded-For (the nearest untrusted hop)
// or else X-Real-IP. Echo's own default would believe those headers from
// anyone, which lets a client choose the address its sign-in failures count
// against.
func clientIP(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	xff, xri := echo.ExtractIPFromXFFHeader(opts...), echo.ExtractIPFromRealIPHeader(opts...)
	return func(r *http.Request) string {
		if len(r.Header.Values(echo.HeaderXForwardedFor)) > 0 {
			return xff(r)
		}
		return xri(r)
	}
}
