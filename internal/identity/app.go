// Package identity owns who may use the widget: registered apps (the host
// integrations that embed it), accounts and their extensions with
// passwords, and the built-in OAuth 2 / OpenID Connect authorization server.
// It must not import HTTP frameworks, the store or the telephony switch.
package identity

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Sentinel errors callers test with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrInvalid  = errors.New("invalid")
)

// App is a registered host integration: the pages allowed to embed the widget
// under one clientId and where its sign-in may redirect.
type App struct {
	ClientID     string
	Name         string
	Origins      []string // exact host origins, e.g. "https://crm.example.com"
	RedirectURIs []string // exact redirect URIs for the sign-in flow
	Features     Features
	// SecretHash is the hash of the app's client secret (HashClientSecret);
	// empty for a public client. A confidential app authenticates at the
	// token endpoint and may exchange JWT credentials.
	SecretHash string
}

// Confidential reports whether the app has a client secret.
func (a App) Confidential() bool { return a.SecretHash != "" }

// Features switch parts of the widget on or off for one app.
type Features struct {
	Call    bool `json:"call"`
	SMS     bool `json:"sms"`
	Meeting bool `json:"meeting"`
}

// AppStore persists apps. Implemented by internal/store.
type AppStore interface {
	App(ctx context.Context, clientID string) (App, error)
	Apps(ctx context.Context) ([]App, error)
	PutApp(ctx context.Context, app App) error
	DeleteApp(ctx context.Context, clientID string) error
}

var clientIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// ValidClientID reports whether s can name an app.
func ValidClientID(s string) bool { return clientIDPattern.MatchString(s) }

// AllowsOrigin reports whether origin is exactly one of the app's origins.
// Comparison is on the canonical form, so "HTTPS://CRM.example.com:443" and
// "https://crm.example.com" are the same origin; lookalikes are not.
func (a App) AllowsOrigin(origin string) bool {
	c, err := CanonicalOrigin(origin)
	if err != nil {
		return false
	}
	for _, o := range a.Origins {
		if o == c {
			return true
		}
	}
	return false
}

// Validate checks an app before it is stored and canonicalises its origins.
// Origins and redirect URIs are https, or plain http on a loopback host;
// ValidateRegistration admits the latter only in development mode.
func (a *App) Validate() error {
	if !ValidClientID(a.ClientID) {
		return fmt.Errorf("%w: client id %q: use 1-64 letters, digits, '.', '_' or '-'", ErrInvalid, a.ClientID)
	}
	if strings.TrimSpace(a.Name) == "" {
		a.Name = a.ClientID
	}
	if len(a.Origins) == 0 {
		return fmt.Errorf("%w: app %s needs at least one origin", ErrInvalid, a.ClientID)
	}
	for i, o := range a.Origins {
		c, err := CanonicalOrigin(o)
		if err != nil {
			return fmt.Errorf("%w: app %s: %v", ErrInvalid, a.ClientID, err)
		}
		if u, _ := url.Parse(c); !plainHTTPAllowed(u) {
			return fmt.Errorf("%w: app %s: origin %q must be https (plain http only on loopback)", ErrInvalid, a.ClientID, o)
		}
		a.Origins[i] = c
	}
	for _, r := range a.RedirectURIs {
		u, err := url.Parse(r)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" {
			return fmt.Errorf("%w: app %s: redirect URI %q must be an absolute http(s) URL without fragment", ErrInvalid, a.ClientID, r)
		}
		if !plainHTTPAllowed(u) {
			return fmt.Errorf("%w: app %s: redirect URI %q must be https (plain http only on loopback)", ErrInvalid, a.ClientID, r)
		}
	}
	return nil
}

// CanonicalOrigin parses an origin ("scheme://host[:port]") and returns it
// in canonical form: lower-case scheme and host, default ports dropped.
// Paths, queries, user info and the opaque "null" origin are refused.
func CanonicalOrigin(s string) (string, error) {
	if s == "" || s == "null" {
		return "", fmt.Errorf("origin %q is not a usable origin", s)
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("origin %q: %v", s, err)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" {
		return "", fmt.Errorf("origin %q: scheme must be http or https", s)
	}
	if u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", fmt.Errorf("origin %q: want scheme://host[:port] only", s)
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return "", fmt.Errorf("origin %q: no host", s)
	}
	port := u.Port()
	if port != "" {
		n := 0
		for _, r := range port {
			if r < '0' || r > '9' {
				return "", fmt.Errorf("origin %q: bad port", s)
			}
			n = n*10 + int(r-'0')
			if n > 65535 {
				return "", fmt.Errorf("origin %q: bad port", s)
			}
		}
		if n == 0 {
			return "", fmt.Errorf("origin %q: bad port", s)
		}
	}
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host, nil
}

// ValidateRegistration is Validate for an app being registered: its
// origins and redirect URIs must be https, except plain http on a loopback
// host (localhost, 127.0.0.0/8, [::1]) when allowLoopbackHTTP — on a
// development server only.
func (a *App) ValidateRegistration(allowLoopbackHTTP bool) error {
	if err := a.Validate(); err != nil {
		return err
	}
	if allowLoopbackHTTP {
		return nil
	}
	for _, u := range append(slices.Clone(a.Origins), a.RedirectURIs...) {
		if !strings.HasPrefix(strings.ToLower(u), "https://") {
			return fmt.Errorf("%w: app %s: %q: origins and redirect URIs must be https (http on loopback only in development mode)", ErrInvalid, a.ClientID, u)
		}
	}
	return nil
}

// plainHTTPAllowed reports whether u, an absolute http(s) URL, is https or
// plain http on a loopback host: plain http anywhere else is refused in
// every mode.
func plainHTTPAllowed(u *url.URL) bool {
	if !strings.EqualFold(u.Scheme, "http") {
		return true
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
