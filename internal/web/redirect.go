package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/htmlpage"
	"github.com/callbridge/widget-server/internal/locale"
	"github.com/callbridge/widget-server/web/templates"
)

// redirectPage is where the sign-in popup lands: its script hands the URL
// (with code and state) to the widget that opened it, at our exact origin.
// The URL is the registered redirect URI with nothing of the widget's, so
// the page speaks the browser's language.
func (s *Server) redirectPage(c echo.Context) error {
	nonce := callbackPageHeaders(c)
	loc, _ := locale.Default.Match("", c.Request().Header.Get("Accept-Language"))
	c.SetRequest(c.Request().WithContext(locale.With(c.Request().Context(), loc)))
	return htmlpage.Render(c, http.StatusOK, templates.Redirect(templates.RedirectPage{
		Nonce: nonce, StaticBase: s.Assets.Base(), WidgetOrigin: s.cfg.PublicURL,
	}))
}

// callbackPageHeaders secures a page that receives a sign-in redirect and
// hands its URL to the window that opened it: one nonce script, no framing,
// no caching, and no referrer that could carry the code onwards. It returns
// the nonce.
func callbackPageHeaders(c echo.Context) string {
	nonce := htmlpage.Nonce()
	h := c.Response().Header()
	h.Set("Content-Security-Policy", htmlpage.CSP(
		htmlpage.Directive("default-src", "'none'"),
		htmlpage.Directive("script-src", "'nonce-"+nonce+"'"),
		htmlpage.Directive("style-src", "'self'"),
		htmlpage.Directive("frame-ancestors", "'none'"),
		htmlpage.Directive("base-uri", "'none'"),
	))
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	return nonce
}
