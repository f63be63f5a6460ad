package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/params"
)

// widgetHeader must accompany every state-changing widget request. A page on
// another site cannot send it without a CORS preflight, which this server
// never grants, so together with the Origin check it stops cross-site
// request forgery even though the session cookie is SameSite=None.
const widgetHeader = "X-Callbridge"

func (s *Server) loginRoutes(e *echo.Echo) {
	g := e.Group("/widget", s.sameOrigin)
	g.POST("/devices", s.issueDevice, s.signedIn)
	g.GET("/state", s.getState)
	g.POST("/login", s.loginStart)
	g.POST("/login/complete", s.loginComplete)
	g.POST("/logout", s.logout)
}

// sameOrigin admits only the widget's own scripts: the custom header on every
// request (a cross-origin page cannot send it without a preflight we never
// grant), and an Origin, where the browser sends one, equal to ours. The
// page also names its app (X-Callbridge-Client), which must be the app the
// session belongs to, and each session has a request budget.
func (s *Server) sameOrigin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Header.Get(widgetHeader) != "1" {
			return &httperror.Error{Status: http.StatusForbidden, Code: "MissingHeader", Message: "widget requests must carry the " + widgetHeader + " header"}
		}
		if o := r.Header.Get("Origin"); o != "" && o != s.cfg.PublicURL {
			return &httperror.Error{Status: http.StatusForbidden, Code: "ForeignOrigin", Message: "requests from other origins are refused"}
		}
		w := s.cookie(r)
		if err := s.checkClient(w, r.Header.Get(clientHeader)); err != nil {
			return err
		}
		key := "ip:" + c.RealIP()
		if w.live() {
			key = w.sid()
		}
		if err := s.widgetLimit.Admit(c, key); err != nil {
			return err
		}
		return next(c)
	}
}

func (s *Server) getState(c echo.Context) error {
	w := s.cookie(c.Request())
	if !w.live() {
		return errNoSession
	}
	st, err := s.state(c, w)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

var errNoSession = &httperror.Error{Status: http.StatusUnauthorized, Code: "NoSession", Message: "no widget session: reload the widget"}

type loginStartRequest struct {
	Mode string `json:"mode"` // popup (default) or host
}

type loginStartResponse struct {
	OAuthURI string `json:"oAuthUri"`
}

// loginStart begins a sign-in: the state and PKCE verifier go into this
// session's cookie, the authorization URL back to the widget. In host mode
// the code is delivered to the host page's registered callback instead of
// our redirect page (disableLoginPopup).
func (s *Server) loginStart(c echo.Context) error {
	var req loginStartRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	w := s.cookie(c.Request())
	if !w.live() {
		return errNoSession
	}
	app, err := s.Apps.App(c.Request().Context(), w.app())
	if errors.Is(err, identity.ErrNotFound) {
		return errNoSession
	}
	if err != nil {
		return err
	}
	redirect := s.cfg.PublicURL + "/oauth/redirect"
	switch req.Mode {
	case "", "popup":
	case "host":
		if redirect = hostRedirect(app, w.host()); redirect == "" {
			return &httperror.Error{Status: http.StatusBadRequest, Code: "NoHostRedirect",
				Message: "app " + app.ClientID + " has no redirect URI on " + w.host() + ": register one to sign in with disableLoginPopup"}
		}
	default:
		return &httperror.Error{Status: http.StatusBadRequest, Code: "InvalidParameter", Message: "mode must be popup or host"}
	}
	flow, uri := s.Login.Start(app.ClientID, redirect, time.Now())
	w.setFlow(flow)
	if err := s.saveCookie(c, w); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, loginStartResponse{OAuthURI: uri})
}

// hostRedirect picks the app's redirect URI on the host page's origin.
func hostRedirect(app identity.App, host string) string {
	for _, r := range app.RedirectURIs {
		if u, err := url.Parse(r); err == nil && host != "" && u.Scheme+"://"+u.Host == host {
			return r
		}
	}
	return ""
}

type loginCompleteRequest struct {
	CallbackURI string `json:"callbackUri"`
}

// loginComplete finishes a sign-in from the redirect URL: checks and
// exchanges the code, keeps the tokens server-side, and gives the cookie a
// new session id. Other tabs on the old id are told to reload their state.
func (s *Server) loginComplete(c echo.Context) error {
	var req loginCompleteRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	w := s.cookie(c.Request())
	if !w.live() {
		return errNoSession
	}
	flow := w.flow()
	w.clearFlow() // one attempt per flow, whatever the outcome
	if err := s.saveCookie(c, w); err != nil {
		return err
	}
	tok, extID, err := s.Login.Complete(ctx, flow, req.CallbackURI, time.Now())
	if err != nil {
		return err // oauth.ErrNoFlow, ErrStateMismatch, ErrExchange …: the table's answers
	}
	sess, err := s.Sessions.Create(ctx, flow.ClientID, extID, tok)
	if err != nil {
		return err
	}
	old := w.sid()
	w.renew(sess.ID, true)
	if err := s.saveCookie(c, w); err != nil {
		return err
	}
	s.resync(old, 0)
	st, err := s.state(c, w)
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "signed in", slog.Int64("extension", extID), slog.String("clientId", flow.ClientID))
	return c.JSON(http.StatusOK, st)
}

// logout revokes the session's tokens, forgets them and starts an anonymous
// session. Other tabs on the old id are told to reload their state.
func (s *Server) logout(c echo.Context) error {
	ctx := c.Request().Context()
	w := s.cookie(c.Request())
	if !w.live() {
		return errNoSession
	}
	if err := s.signOut(ctx, w); err != nil {
		return err
	}
	if err := s.saveCookie(c, w); err != nil {
		return err
	}
	st, err := s.state(c, w)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

// signOut ends the cookie's signed-in session, if any, and gives the cookie
// a new anonymous session id; the caller saves the cookie. Other tabs on the
// old id are told to reload their state.
func (s *Server) signOut(ctx context.Context, w widgetCookie) error {
	old := w.sid()
	var ext int64
	if w.signedIn() {
		if sess, err := s.Sessions.Get(ctx, old); err == nil {
			ext = sess.ExtensionID
		}
		if err := s.Sessions.End(ctx, old); err != nil {
			return err
		}
	}
	w.clearFlow()
	w.renew(randomID(), false)
	s.resync(old, ext)
	return nil
}

// bindJSON decodes a JSON body strictly; an empty body is an empty object.
func bindJSON(c echo.Context, v any) error {
	r := c.Request()
	if r.ContentLength == 0 {
		return nil
	}
	if err := checkJSONType(r); err != nil {
		return err
	}
	if err := params.Decoder(r.Body).Decode(v); err != nil {
		return invalidJSON(err)
	}
	return nil
}

// jsonUTF8 is JSON with the charset some clients still name (RFC 8259
// defines none; UTF-8 is the only encoding).
const jsonUTF8 = "application/json; charset=UTF-8"

// checkJSONType refuses a body that does not say it is JSON.
func checkJSONType(r *http.Request) error {
	if ct := r.Header.Get(echo.HeaderContentType); ct != "" && ct != echo.MIMEApplicationJSON && ct != jsonUTF8 {
		return &httperror.Error{Status: http.StatusUnsupportedMediaType, Code: "UnsupportedMediaType", Message: "send application/json"}
	}
	return nil
}

func invalidJSON(err error) error {
	return &httperror.Error{Status: http.StatusBadRequest, Code: "InvalidJSON", Message: "the body is not valid JSON for this request: " + err.Error()}
}
