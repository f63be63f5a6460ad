package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/identity"
)

// Routes mounts the server-to-server routes on the widget origin's echo
// instance: the platform REST API, the authorization server's endpoints and
// the SMS provider's webhook.
func (s *Server) Routes(e *echo.Echo) {
	s.apiRoutes(e)
	s.authServerRoutes(e)
	e.POST("/webhooks/sms/inbound", s.smsInbound)
}

// apiRoutes mounts the platform REST API (docs/api.md; the OpenAPI document
// at /restapi/openapi.json lists exactly these routes). Every call under
// /restapi/v1.0 needs a bearer token from the authorization server and
// counts against its extension's rate limit. In paths, "~" names the
// caller's own account or extension; another extension of the account is
// for administrators only.
func (s *Server) apiRoutes(e *echo.Echo) {
	e.GET("/restapi/openapi.json", s.openAPI)
	// The middleware goes on each route, not on the group: a group's
	// catch-all would answer 404 where the router answers 405.
	mw := []echo.MiddlewareFunc{s.refuseWhileDraining, s.bearer, s.rateLimit}
	g := e.Group("/restapi/v1.0")
	g.GET("/account/:accountId/extension/:extensionId", s.apiGetExtension, mw...)
	g.GET("/account/:accountId/extension/:extensionId/call-log", s.apiCallLog, mw...)
	g.GET("/account/:accountId/extension/:extensionId/call-log/:callRecordId", s.apiCallRecord, mw...)
	g.GET("/account/:accountId/call-log", s.apiAccountCallLog, mw...)
	g.GET("/account/:accountId/call-log/:callRecordId", s.apiAccountCallRecord, mw...)
	g.GET("/account/:accountId/extension/:extensionId/active-calls", s.apiActiveCalls, mw...)
	g.GET("/account/:accountId/extension/:extensionId/presence", s.apiPresence, mw...)
	g.PUT("/account/:accountId/extension/:extensionId/presence", s.apiSetPresence, mw...)
	s.messageAPIRoutes(g, mw)
	s.audioAPIRoutes(g, mw)
	s.telephonyAPIRoutes(g, mw)
	s.subscriptionAPIRoutes(g, mw)
	s.sipDeviceAPIRoutes(g, mw)
	s.answeringRuleAPIRoutes(g, mw)
	s.directoryAPIRoutes(g, mw)
	// WebSocket subscriptions: a socket token for the bearer, and the
	// socket it opens (websocket.go).
	e.POST("/restapi/oauth/wstoken", s.apiWSToken, mw...)
	e.GET(socketPath, s.socket)
}

type ctxKey string

const extensionKey ctxKey = "extension"

// bearer admits requests with a valid access token (RFC 6750) and answers
// 401 with WWW-Authenticate otherwise.
func (s *Server) bearer(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.AuthServer == nil {
			return &httperror.Error{Status: http.StatusNotImplemented, Code: "NoAuthorizationServer", Message: "the API needs the built-in authorization server"}
		}
		h := c.Request().Header.Get("Authorization")
		scheme, token, _ := strings.Cut(h, " ")
		if h == "" || !strings.EqualFold(scheme, "Bearer") {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="restapi"`)
			return &httperror.Error{Status: http.StatusUnauthorized, Code: "TokenMissing", Message: "send an access token: Authorization: Bearer <token>"}
		}
		id, err := s.AuthServer.ValidateAccessToken(c.Request().Context(), strings.TrimSpace(token))
		if err != nil {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="restapi", error="invalid_token", error_description="the access token is expired, revoked or unknown"`)
			return &httperror.Error{Status: http.StatusUnauthorized, Code: "TokenInvalid", Message: "the access token is expired, revoked or unknown", Err: err}
		}
		acct, ext, err := s.Directory.ExtensionWithAccount(c.Request().Context(), id)
		if errors.Is(err, identity.ErrNotFound) || (err == nil && !ext.Enabled()) {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="restapi", error="invalid_token"`)
			return &httperror.Error{Status: http.StatusUnauthorized, Code: "TokenInvalid", Message: "the token's extension no longer exists or is disabled"}
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

// errAdminOnly answers requests for resources of another extension or of the
// whole account by a user who is not an administrator.
var errAdminOnly = &httperror.Error{Status: http.StatusForbidden, Code: "InsufficientPermissions",
	Message: "this resource is for administrators of the account only"}

// apiAccount checks the path's accountId: "~" or the caller's own account's
// id. Other accounts are not found, whether or not they exist.
func apiAccount(c echo.Context) (identity.Account, error) {
	who := caller(c)
	if id := c.Param("accountId"); id != "~" && id != strconv.FormatInt(who.Account.ID, 10) {
		return identity.Account{}, &httperror.Error{Status: http.StatusNotFound, Code: "NotFound", Message: "no such account"}
	}
	return who.Account, nil
}

// apiAdminAccount is apiAccount for resources of the whole account.
func apiAdminAccount(c echo.Context) (identity.Account, error) {
	a, err := apiAccount(c)
	if err == nil && !caller(c).Extension.Admin() {
		return identity.Account{}, errAdminOnly
	}
	return a, err
}

// apiTarget resolves the path's account and extension: the caller's own
// ("~" or its id), or — for an administrator — another extension of the
// same account. Others are refused before anything is looked up.
func (s *Server) apiTarget(c echo.Context) (identity.Account, identity.Extension, error) {
	acct, err := apiAccount(c)
	if err != nil {
		return identity.Account{}, identity.Extension{}, err
	}
	who := caller(c)
	id := c.Param("extensionId")
	if id == "~" || id == strconv.FormatInt(who.Extension.ID, 10) {
		return acct, who.Extension, nil
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return identity.Account{}, identity.Extension{}, &httperror.Error{Status: http.StatusNotFound, Code: "NotFound",
			Message: "no such extension: use its numeric id or ~"}
	}
	if !who.Extension.Admin() {
		return identity.Account{}, identity.Extension{}, errAdminOnly
	}
	a, x, err := s.Directory.ExtensionWithAccount(c.Request().Context(), n)
	if errors.Is(err, identity.ErrNotFound) || err == nil && a.ID != acct.ID {
		return identity.Account{}, identity.Extension{}, &httperror.Error{Status: http.StatusNotFound, Code: "NotFound", Message: "no such extension"}
	}
	if err != nil {
		return identity.Account{}, identity.Extension{}, err
	}
	return a, x, nil
}

// accountURI and extensionURI are the canonical URIs of those resources.
func (s *Server) accountURI(accountID int64) string {
	return s.cfg.PublicURL + "/restapi/v1.0/account/" + strconv.FormatInt(accountID, 10)
}

func (s *Server) extensionURI(accountID, extensionID int64) string {
	return s.accountURI(accountID) + "/extension/" + strconv.FormatInt(extensionID, 10)
}

// apiExtensionRef names an extension inside another resource.
type apiExtensionRef struct {
	ID  int64  `json:"id"`
	URI string `json:"uri"`
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

// extensionType is how the API names an extension's type: User or Department.
func extensionType(x identity.Extension) string {
	if x.Type == "" {
		return string(identity.TypeUser)
	}
	return string(x.Type)
}

// apiGetExtension answers GET /restapi/v1.0/account/~/extension/~, the first
// call every client makes: who am I. Administrators may read other
// extensions of their account by id.
func (s *Server) apiGetExtension(c echo.Context) error {
	a, x, err := s.apiTarget(c)
	if err != nil {
		return err
	}
	first, last, _ := strings.Cut(x.Name, " ")
	numbers := []apiNumber{{PhoneNumber: a.MainNumber, UsageType: "MainCompanyNumber"}}
	for _, n := range x.DirectNumbers {
		numbers = append(numbers, apiNumber{PhoneNumber: n, UsageType: "DirectNumber"})
	}
	base := s.accountURI(a.ID)
	return c.JSON(http.StatusOK, apiExtension{
		URI:              s.extensionURI(a.ID, x.ID),
		ID:               x.ID,
		ExtensionNumber:  x.Number,
		Name:             x.Name,
		Type:             extensionType(x),
		Status:           x.Status,
		Contact:          apiContact{FirstName: first, LastName: last, Email: x.Email, Company: a.Company},
		Permissions:      apiPermissions{Admin: apiEnabled{Enabled: x.Admin()}},
		Account:          apiAccountRef{URI: base, ID: a.ID, MainNumber: a.MainNumber},
		PhoneNumbers:     numbers,
		LoginNumber:      identity.LoginNumber(a, x),
		RegionalSettings: apiRegional{HomeCountry: apiCountry{ISOCode: a.CountryCode}, AreaCode: a.AreaCode},
	})
}
