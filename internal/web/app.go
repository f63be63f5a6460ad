package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/htmlpage"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/locale"
	"github.com/callbridge/widget-server/web/templates"
)

// widgetConfig is the boot configuration embedded in /app for app.js.
type widgetConfig struct {
	ClientID       string            `json:"clientId"`
	AppName        string            `json:"appName"`
	HostOrigin     string            `json:"hostOrigin"`
	AllowedOrigins []string          `json:"allowedOrigins"`
	FromAdapter    bool              `json:"fromAdapter"`
	Flags          bridge.Flags      `json:"flags"`
	Warnings       []string          `json:"warnings"`
	Features       identity.Features `json:"features"`
	Region         region            `json:"region"`
	EventsURL      string            `json:"eventsUrl"`
	TestHooks      bool              `json:"testHooks,omitempty"` // development only: window.cbEvents, cbPhone
	Session        sessionState      `json:"session"`
	ICEServers     []iceServer       `json:"iceServers"`
}

// iceServer is an RTCIceServer for the browser.
type iceServer struct {
	URLs []string `json:"urls"`
}

// app serves the widget page that host pages frame. It refuses (403) a
// missing or unknown clientId and a host origin the app does not list, and
// only the app's origins may frame it (CSP frame-ancestors).
func (s *Server) app(c echo.Context) error {
	q := c.Request().URL.Query()
	clientID := q.Get("clientId")
	if clientID == "" {
		return s.forbidden(c, "pages.noClientIdTitle", "pages.noClientIdText")
	}
	app, err := s.Apps.App(c.Request().Context(), clientID)
	if errors.Is(err, identity.ErrNotFound) {
		return s.forbidden(c, "pages.unknownAppTitle", "pages.unknownAppText")
	}
	if err != nil {
		return err
	}
	hostOrigin := ""
	if v := q.Get("hostOrigin"); v != "" {
		if !app.AllowsOrigin(v) {
			return s.forbidden(c, "pages.originRefusedTitle", "pages.originRefusedText")
		}
		hostOrigin, _ = identity.CanonicalOrigin(v)
	} else if ref, err := url.Parse(c.Request().Referer()); err == nil && ref.Host != "" {
		if o := ref.Scheme + "://" + ref.Host; app.AllowsOrigin(o) {
			hostOrigin, _ = identity.CanonicalOrigin(o)
		}
	}
	w := s.cookie(c.Request())
	changed := !w.live()
	if changed {
		w.renew(randomID(), false)
	}
	if w.host() != hostOrigin || w.app() != app.ClientID {
		// A sign-in belongs to the app and host page it was made for: the
		// widget of another app or site starts signed out.
		if w.signedIn() {
			if err := s.signOut(c.Request().Context(), w); err != nil {
				return err
			}
		}
		w.setHost(hostOrigin)
		w.setApp(app.ClientID)
		changed = true
	}
	if changed {
		if err := s.saveCookie(c, w); err != nil {
			return err
		}
	}
	session, err := s.state(c, w)
	if err != nil {
		return err
	}

	flags, warnings := bridge.ParseFlags(q, app.AllowsOrigin)
	loc, ok := locale.Default.Match(flags.Lang, c.Request().Header.Get("Accept-Language"))
	if !ok {
		warnings = append(warnings, fmt.Sprintf("flag lang=%q: the widget speaks %s; using English", flags.Lang, strings.Join(locale.Default.Languages(), ", ")))
	}
	features := app.Features
	if flags.DisableCall {
		features.Call = false
	}
	if flags.DisableMessages {
		features.SMS = false
	}
	cfg := widgetConfig{
		ClientID:       app.ClientID,
		AppName:        app.Name,
		HostOrigin:     hostOrigin,
		AllowedOrigins: app.Origins,
		FromAdapter:    q.Get("fromAdapter") == "1",
		Flags:          flags,
		Warnings:       append([]string{}, warnings...),
		Features:       features,
		Region:         region{CountryCode: s.cfg.CountryCode, AreaCode: s.cfg.AreaCode},
		EventsURL:      "/widget/events",
		Session:        session,
		ICEServers:     []iceServer{},
		TestHooks:      s.cfg.Dev,
	}
	for _, u := range s.cfg.ICEServers {
		cfg.ICEServers = append(cfg.ICEServers, iceServer{URLs: []string{u}})
	}
	cfg.Session.Features = features
	cfgJSON, err := json.Marshal(cfg) // escapes <, > and & so it is safe inside <script>
	if err != nil {
		return err
	}

	nonce := htmlpage.Nonce()
	styleSrc := []string{"'self'"}
	if flags.StylesURI != "" {
		u, _ := url.Parse(flags.StylesURI)
		styleSrc = append(styleSrc, u.Scheme+"://"+u.Host)
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", htmlpage.CSP(
		htmlpage.Directive("default-src", "'none'"),
		htmlpage.Directive("script-src", "'nonce-"+nonce+"'", "'strict-dynamic'"),
		htmlpage.Directive("style-src", styleSrc...),
		htmlpage.Directive("connect-src", "'self'"),
		htmlpage.Directive("img-src", "'self'", "data:"),
		htmlpage.Directive("media-src", "'self'", "blob:"),
		htmlpage.Directive("font-src", "'self'"),
		htmlpage.Directive("frame-ancestors", app.Origins...),
		htmlpage.Directive("base-uri", "'none'"),
		htmlpage.Directive("form-action", "'self'"),
	))
	h.Set("Permissions-Policy", "microphone=(self), camera=(), geolocation=(), autoplay=(self)")
	// The widget opens the sign-in popup and must keep its opener link.
	h.Set("Cross-Origin-Opener-Policy", "same-origin-allow-popups")
	h.Set("Cache-Control", "no-store")
	c.SetRequest(c.Request().WithContext(locale.With(c.Request().Context(), loc)))
	return htmlpage.Render(c, http.StatusOK, templates.App(templates.AppPage{
		Nonce:      nonce,
		StaticBase: s.Assets.Base(),
		ConfigJSON: string(cfgJSON),
		AppName:    app.Name,
		Theme:      flags.Theme,
		BootScript: s.Assets.BootScript(),
	}))
}

// forbidden answers 403 with a page that says what is wrong (title and
// message are message keys), in the language the widget would have spoken:
// its lang flag, else the browser's. The page may be framed by anyone so the
// host page's owner can read the reason.
func (s *Server) forbidden(c echo.Context, title, message string) error {
	loc, _ := locale.Default.Match(c.QueryParam("lang"), c.Request().Header.Get("Accept-Language"))
	ctx := locale.With(c.Request().Context(), loc)
	c.SetRequest(c.Request().WithContext(ctx))
	c.Response().Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'")
	c.Response().Header().Set("Cache-Control", "no-store")
	return htmlpage.Render(c, http.StatusForbidden, templates.Forbidden(locale.T(ctx, title), locale.T(ctx, message)))
}
