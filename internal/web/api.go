package web

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/identity"
)

// apiRoutes mounts the platform REST API. Every call needs a bearer token
// from the authorization server.
func (s *Server) apiRoutes(e *echo.Echo) {
	g := e.Group("/restapi/v1.0", s.bearer)
	g.GET("/account/~/extension/~", s.apiCurrentExtension)
}

type ctxKey string

const extensionKey ctxKey = "extension"

// bearer admits requests with a valid access token (RFC 6750) and answers
// 401 with WWW-Authenticate otherwise.
func (s *Server) bearer(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.AuthServer == nil {
			return &Error{Status: http.StatusNotImplemented, Code: "NoAuthorizationServer", Message: "the API needs the built-in authorization server"}
		}
		h := c.Request().Header.Get("Authorization")
		scheme, token, _ := strings.Cut(h, " ")
		if h == "" || !strings.EqualFold(scheme, "Bearer") {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="restapi"`)
			return &Error{Status: http.StatusUnauthorized, Code: "TokenMissing", Message: "send an access token: Authorization: Bearer <token>"}
		}
		id, err := s.AuthServer.ValidateAccessToken(c.Request().Context(), strings.TrimSpace(token))
		if err != nil {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="restapi", error="invalid_token", error_description="the access token is expired, revoked or unknown"`)
			return &Error{Status: http.StatusUnauthorized, Code: "TokenInvalid", Message: "the access token is expired, revoked or unknown", Err: err}
		}
		acct, ext, err := s.Directory.ExtensionWithAccount(c.Request().Context(), id)
		if errors.Is(err, identity.ErrNotFound) || (err == nil && !ext.Enabled()) {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="restapi", error="invalid_token"`)
			return &Error{Status: http.StatusUnauthorized, Code: "TokenInvalid", Message: "the token's extension no longer exists or is disabled"}
		}
		if err != nil {
			return err
		}
		c.Set(string(extensionKey), apiCaller{acct, ext})
		return next(c)
	}
}

type apiCaller struct {
	Account   identity.Account
	Extension identity.Extension
}

func caller(c echo.Context) apiCaller {
	v, _ := c.Get(string(extensionKey)).(apiCaller)
	return v
}

// apiExtension is the extension resource (seeds/001 field names).
type apiExtension struct {
	URI              string         `json:"uri"`
	ID               int64          `json:"id"`
	ExtensionNumber  string         `json:"extensionNumber"`
	Name             string         `json:"name"`
	Type             string         `json:"type"`
	Status           string         `json:"status"`
	Contact          apiContact     `json:"contact"`
	Permissions      apiPermissions `json:"permissions"`
	Account          apiAccountRef  `json:"account"`
	PhoneNumbers     []apiNumber    `json:"phoneNumbers"`
	LoginNumber      string         `json:"loginNumber"`
	RegionalSettings apiRegional    `json:"regionalSettings"`
}

type apiContact struct {
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	Email     string `json:"email"`
	Company   string `json:"company"`
}

type apiPermissions struct {
	Admin apiEnabled `json:"admin"`
}

type apiEnabled struct {
	Enabled bool `json:"enabled"`
}

type apiAccountRef struct {
	URI        string `json:"uri"`
	ID         int64  `json:"id"`
	MainNumber string `json:"mainNumber"`
}

type apiNumber struct {
	PhoneNumber string `json:"phoneNumber"`
	UsageType   string `json:"usageType"`
}

type apiRegional struct {
	HomeCountry apiCountry `json:"homeCountry"`
	AreaCode    string     `json:"areaCode"`
}

type apiCountry struct {
	ISOCode string `json:"isoCode"`
}

// apiCurrentExtension answers GET /restapi/v1.0/account/~/extension/~, the
// first call every client makes: who am I.
func (s *Server) apiCurrentExtension(c echo.Context) error {
	who := caller(c)
	a, x := who.Account, who.Extension
	first, last, _ := strings.Cut(x.Name, " ")
	numbers := []apiNumber{{PhoneNumber: a.MainNumber, UsageType: "MainCompanyNumber"}}
	for _, n := range x.DirectNumbers {
		numbers = append(numbers, apiNumber{PhoneNumber: n, UsageType: "DirectNumber"})
	}
	base := fmt.Sprintf("%s/restapi/v1.0/account/%d", s.cfg.PublicURL, a.ID)
	return c.JSON(http.StatusOK, apiExtension{
		URI:              fmt.Sprintf("%s/extension/%d", base, x.ID),
		ID:               x.ID,
		ExtensionNumber:  x.Number,
		Name:             x.Name,
		Type:             "User",
		Status:           x.Status,
		Contact:          apiContact{FirstName: first, LastName: last, Email: x.Email, Company: a.Company},
		Permissions:      apiPermissions{Admin: apiEnabled{Enabled: x.Admin()}},
		Account:          apiAccountRef{URI: base, ID: a.ID, MainNumber: a.MainNumber},
		PhoneNumbers:     numbers,
		LoginNumber:      identity.LoginNumber(a, x),
		RegionalSettings: apiRegional{HomeCountry: apiCountry{ISOCode: a.CountryCode}, AreaCode: a.AreaCode},
	})
}
