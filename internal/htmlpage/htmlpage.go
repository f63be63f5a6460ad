// Package htmlpage answers with the server's HTML pages (the widget's page,
// the sign-in page, the demo's): the Content-Security-Policy each is served
// under, a fresh nonce for its scripts, and the templ component rendered
// with a status, headers only for HEAD.
//
// It must not import internal/web, internal/api or internal/server.
package htmlpage

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"
)

// Nonce returns a fresh CSP nonce.
func Nonce() string {
	b := make([]byte, 18)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Directive is one directive of a Content-Security-Policy: its name and
// sources.
func Directive(name string, sources ...string) string {
	var b strings.Builder
	b.WriteString(name)
	for _, s := range sources {
		b.WriteByte(' ')
		b.WriteString(s)
	}
	return b.String()
}

// CSP is the Content-Security-Policy header of the directives, in the
// given order.
func CSP(directives ...string) string { return strings.Join(directives, "; ") }

// Render answers status with the component as an HTML page.
func Render(c echo.Context, status int, comp templ.Component) error {
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	c.Response().WriteHeader(status)
	if strings.EqualFold(c.Request().Method, http.MethodHead) {
		return nil
	}
	return comp.Render(c.Request().Context(), c.Response())
}
