package api

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"
	"golang.org/x/text/language"

	"github.com/callbridge/widget-server/internal/htmlpage"
	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/locale"
	"github.com/callbridge/widget-server/web/templates"
)

// csrfCookie carries the sign-in form's CSRF token (double submit). The page
// is a top-level window on our origin, so a Lax cookie is enough.
const (
	csrfCookie = "__Host-cb_csrf"
	csrfField  = "csrf_token"
)

// authServerRoutes mounts the built-in authorization server's endpoints:
// the sign-in page, token and revocation (RFC 6749, RFC 7009), under
// /oauth and /restapi/oauth, the keys and the metadata (RFC 8414). With an
// external provider there are none.
func (s *Server) authServerRoutes(e *echo.Echo) {
	if s.AuthServer == nil {
		return
	}
	token := func(c echo.Context) error {
		s.AuthServer.Token(c.Response(), c.Request())
		return nil
	}
	revoke := func(c echo.Context) error {
		s.AuthServer.Revoke(c.Response(), c.Request())
		return nil
	}
	// The same endpoints under /restapi/oauth too, where the platform's
	// SDKs look for them: code written for the platform needs no option
	// but its server.
	for _, prefix := range []string{"/oauth", "/restapi/oauth"} {
		e.GET(prefix+"/authorize", s.authorizeForm)
		e.POST(prefix+"/authorize", s.authorizeSubmit)
		e.POST(prefix+"/token", token)
		e.POST(prefix+"/revoke", revoke)
	}
	e.GET("/oauth/jwks", func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "public, max-age=3600")
		return c.JSON(http.StatusOK, s.AuthServer.JWKS())
	})
	metadata := func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "public, max-age=3600")
		return c.JSON(http.StatusOK, s.AuthServer.Metadata())
	}
	e.GET("/.well-known/oauth-authorization-server", metadata)
	e.GET("/.well-known/openid-configuration", metadata)
}

// authorizeForm shows the sign-in page for a valid authorization request.
func (s *Server) authorizeForm(c echo.Context) error {
	ctx := c.Request().Context()
	ar, err := s.AuthServer.ParseAuthorize(ctx, c.Request())
	if err != nil {
		return s.authorizeFailed(c, ar, err)
	}
	return s.renderLogin(c, http.StatusOK, ar, "", "")
}

// authorizeSubmit checks the credentials and, when they are right, sends the
// browser back to the client with a code. Repeated failures for a user (an
// extension, however its name is spelled) or from a browser address (behind
// a trusted proxy, the one it reports) slow down (identity.Throttle).
func (s *Server) authorizeSubmit(c echo.Context) error {
	ctx := c.Request().Context()
	r := c.Request()
	if err := r.ParseForm(); err != nil {
		return &httperror.Error{Status: http.StatusBadRequest, Code: "InvalidForm", Message: "the form could not be read"}
	}
	ar, err := s.AuthServer.ParseAuthorize(ctx, r)
	if err != nil {
		return s.authorizeFailed(c, ar, err)
	}
	cookie, cerr := r.Cookie(csrfCookie)
	if cerr != nil || cookie.Value == "" || subtle.ConstantTimeCompare([]byte(cookie.Value), []byte(r.PostForm.Get(csrfField))) != 1 {
		return s.renderLogin(c, http.StatusForbidden, ar, r.PostForm.Get("username"), "pages.formExpired")
	}
	username := strings.TrimSpace(r.PostForm.Get("username"))
	password := r.PostForm.Get("password")
	user, ip := s.Directory.SignInKey(ctx, username), c.RealIP()
	if wait := s.Throttle.Wait(user, ip); wait > 0 {
		secs := int(wait.Seconds() + 0.999)
		c.Response().Header().Set("Retry-After", fmt.Sprint(secs))
		return s.renderLogin(c, http.StatusTooManyRequests, ar, username, "pages.tooManyAttempts", "count", secs)
	}
	acct, ext, err := s.Directory.Authenticate(ctx, username, password)
	if err != nil {
		s.Throttle.Failure(user, ip)
		s.log.InfoContext(ctx, "sign-in refused", slog.String("username", username), slog.String("ip", ip))
		return s.renderLogin(c, http.StatusUnauthorized, ar, username, "pages.wrongPassword")
	}
	s.Throttle.Success(user, ip)
	if err := s.AuthServer.Grant(ctx, c.Response(), ar, acct, ext); err != nil {
		if httperror.LogStorageFailure(s.log, c, err) {
			// The code could not be stored: say so, rather than send the
			// app an error that reads as a refusal.
			c.Response().Header().Set("Retry-After", httperror.StorageRetryAfter)
			return s.renderLogin(c, http.StatusServiceUnavailable, ar, username, "pages.signInUnavailable")
		}
		s.AuthServer.WriteAuthorizeError(ctx, c.Response(), ar, err)
	}
	return nil
}

// authorizeFailed answers a bad authorization request: to the client's
// redirect URI when that one is trustworthy, else on a page of our own.
func (s *Server) authorizeFailed(c echo.Context, ar *identity.AuthorizeRequest, err error) error {
	if s.AuthServer.RedirectsToClient(ar) {
		s.AuthServer.WriteAuthorizeError(c.Request().Context(), c.Response(), ar, err)
		return nil
	}
	c.Response().Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
	s.log.InfoContext(c.Request().Context(), "authorization request refused", slog.Any("err", err))
	ctx := withSignInLocale(c, c.FormValue("ui_locales"))
	return htmlpage.Render(c, http.StatusBadRequest, templates.Forbidden(
		locale.T(ctx, "pages.invalidLinkTitle"), locale.T(ctx, "pages.invalidLinkText")))
}

// withSignInLocale puts the sign-in pages' language in the request's
// context, and returns that: the first language of the authorization
// request's ui_locales (OpenID Connect; the widget sends its own) when it
// is a well-formed tag, else the browser's.
func withSignInLocale(c echo.Context, uiLocales string) context.Context {
	l, _ := locale.Default.Match(uiLocale(uiLocales), c.Request().Header.Get("Accept-Language"))
	ctx := locale.With(c.Request().Context(), l)
	c.SetRequest(c.Request().WithContext(ctx))
	return ctx
}

// uiLocale is the first tag of ui_locales, a space-separated list of
// language tags in order of preference, or "" when it is not a well-formed
// tag.
func uiLocale(param string) string {
	first, _, _ := strings.Cut(strings.TrimLeft(param, " "), " ")
	if first == "" || len(first) > maxLanguageTag {
		return ""
	}
	if _, err := language.Parse(first); err != nil {
		return ""
	}
	return first
}

// maxLanguageTag bounds the ui_locales tag the server parses; real ones
// are far shorter.
const maxLanguageTag = 64

// renderLogin shows the sign-in page, in the language of the authorization
// request's ui_locales (carried through the form, as theme is) or of the
// browser. message is the key of what the page says went wrong, with its
// placeholders' name, value pairs; "" for nothing.
func (s *Server) renderLogin(c echo.Context, status int, ar *identity.AuthorizeRequest, username, message string, args ...any) error {
	token := csrfToken()
	http.SetCookie(c.Response(), &http.Cookie{
		Name: csrfCookie, Value: token, Path: "/", MaxAge: 3600,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
	form := ar.GetRequestForm()
	ctx := withSignInLocale(c, form.Get("ui_locales"))
	if message != "" {
		message = locale.T(ctx, message, args...)
	}
	names := make([]string, 0, len(form))
	for k := range form {
		if k != "username" && k != "password" && k != csrfField {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	var hidden []templates.HiddenField
	for _, k := range names {
		for _, v := range form[k] {
			hidden = append(hidden, templates.HiddenField{Name: k, Value: v})
		}
	}
	formAction := []string{"'self'"}
	for _, r := range ar.GetClient().GetRedirectURIs() {
		if u, err := url.Parse(r); err == nil {
			formAction = append(formAction, u.Scheme+"://"+u.Host)
		}
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", htmlpage.CSP(
		htmlpage.Directive("default-src", "'none'"),
		htmlpage.Directive("style-src", "'self'"),
		htmlpage.Directive("img-src", "'self'", "data:"),
		htmlpage.Directive("form-action", formAction...),
		htmlpage.Directive("frame-ancestors", "'none'"),
		htmlpage.Directive("base-uri", "'none'"),
	))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	return htmlpage.Render(c, status, templates.Login(templates.LoginPage{
		Nonce: htmlpage.Nonce(), StaticBase: s.cfg.StaticBase, AppName: ar.ClientName, Action: "/oauth/authorize",
		Hidden: hidden, Username: username, Error: message, CSRFField: csrfField, CSRFToken: token,
		Theme: templates.LoginTheme(form.Get("theme")),
	}))
}

// csrfToken is a fresh value of the sign-in form's CSRF cookie and field.
func csrfToken() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
