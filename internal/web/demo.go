package web

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/htmlpage"
	"github.com/callbridge/widget-server/web/templates"
)

// DemoClientID is the app the demo host page embeds the widget as.
const DemoClientID = "demo"

var demoContacts = []templates.Contact{
	{Name: "Alice Adams", Company: "Demo Co. — Sales", Phone: "101", Note: "Extension 101"},
	{Name: "Bob Brown", Company: "Demo Co. — Support", Phone: "102", Note: "Extension 102"},
	{Name: "Carol Chen", Company: "Demo Co. — Billing", Phone: "103", Note: "Extension 103"},
	{Name: "Tone line", Company: "Test number", Phone: "+15550100", Note: "Answers and plays a tone"},
	{Name: "Echo line", Company: "Test number", Phone: "+15550101", Note: "Echoes your voice back"},
	{Name: "Busy line", Company: "Test number", Phone: "+15550102", Note: "Always busy (486)"},
}

// Demo returns the handler of the demo host origin: a small CRM page that
// embeds the widget with one script tag, as an integrator would. Its query is
// passed on to adapter.js, so /?disableLoginPopup=1 tries that flag.
func (s *Server) Demo() http.Handler {
	e := s.newEcho()
	e.GET("/", s.demoPage)
	e.GET("/static/:version/:name", s.static)
	e.GET("/oauth/callback", s.demoCallback)
	return e
}

// demoCallback is the demo page's sign-in callback (disableLoginPopup): the
// host's own page receives the code and hands the URL to the demo page that
// opened it, which passes it to the widget.
func (s *Server) demoCallback(c echo.Context) error {
	nonce := callbackPageHeaders(c)
	return htmlpage.Render(c, http.StatusOK, templates.Callback(templates.CallbackPage{Nonce: nonce, StaticBase: s.Assets.Base()}))
}

func (s *Server) demoPage(c echo.Context) error {
	q := url.Values{}
	for k, v := range c.Request().URL.Query() {
		q[k] = v
	}
	if q.Get("clientId") == "" {
		q.Set("clientId", DemoClientID)
	}
	nonce := htmlpage.Nonce()
	c.Response().Header().Set("Content-Security-Policy", htmlpage.CSP(
		htmlpage.Directive("default-src", "'none'"),
		htmlpage.Directive("script-src", "'nonce-"+nonce+"'", "'strict-dynamic'"),
		htmlpage.Directive("style-src", "'self'", "'unsafe-inline'"),
		htmlpage.Directive("img-src", "'self'", "data:"),
		htmlpage.Directive("frame-src", s.cfg.PublicURL),
		htmlpage.Directive("connect-src", "'self'"),
		htmlpage.Directive("base-uri", "'none'"),
		htmlpage.Directive("form-action", "'self'"),
		htmlpage.Directive("frame-ancestors", "'none'"),
	))
	c.Response().Header().Set("Cache-Control", "no-store")
	c.Response().Header().Set("Cross-Origin-Opener-Policy", "same-origin-allow-popups")
	return htmlpage.Render(c, http.StatusOK, templates.Demo(templates.DemoPage{
		Nonce:        nonce,
		AdapterSrc:   s.cfg.PublicURL + "/adapter.js?" + q.Encode(),
		WidgetOrigin: s.cfg.PublicURL,
		StaticBase:   s.Assets.Base(),
		Contacts:     demoContacts,
	}))
}
