package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/params"
)

// widgetJWTRoutes mounts the Settings page's JWT credentials: the user's
// own, or for an administrator those of a user of the account.
func (s *Server) widgetJWTRoutes(e *echo.Echo) {
	g := e.Group("/widget/jwt-credentials", s.sameOrigin)
	g.GET("", s.widgetJWTList, s.signedIn)
	g.POST("", s.widgetJWTCreate, s.signedIn)
	g.DELETE("/:id", s.widgetJWTRevoke, s.signedIn)
}

var errJWTOff = &httperror.Error{Status: http.StatusNotImplemented, Code: "FeatureNotAvailable",
	Message: "JWT credentials are issued by the built-in sign-in only"}

// jwtCredential is a credential as the widget shows it; the JWT itself is
// only in the answer that creates it.
type jwtCredential struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	Status         string `json:"status"`
	ExtensionID    string `json:"extensionId"`
	CreationTime   string `json:"creationTime"`
	ExpirationTime string `json:"expirationTime,omitempty"`
	LastUsedTime   string `json:"lastUsedTime,omitempty"`
	RevocationTime string `json:"revocationTime,omitempty"`
	JWT            string `json:"jwt,omitempty"`
}

func jwtCredentialOf(c identity.JWTCredential, now time.Time) jwtCredential {
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	return jwtCredential{ID: c.ID, Name: c.Name, Status: c.Status(now), ExtensionID: strconv.FormatInt(c.ExtensionID, 10),
		CreationTime: stamp(c.CreatedAt), ExpirationTime: stamp(c.ExpiresAt), LastUsedTime: stamp(c.LastUsedAt),
		RevocationTime: stamp(c.RevokedAt)}
}

// jwtTarget is the extension a request is about: extensionId when given
// (an administrator's choice), else the user's own.
func jwtTarget(c echo.Context, given string) (int64, error) {
	if given == "" || given == "~" {
		return userOf(c).Extension.ID, nil
	}
	id, err := strconv.ParseInt(given, 10, 64)
	if err != nil || id <= 0 {
		return 0, httperror.InvalidParam("extensionId", "an extension id")
	}
	return id, nil
}

func jwtError(err error) error {
	var pe *identity.ParamError
	if errors.As(err, &pe) {
		return httperror.InvalidParam(pe.Param, pe.Message)
	}
	return err
}

// widgetJWTList answers GET /widget/jwt-credentials[?extensionId=].
func (s *Server) widgetJWTList(c echo.Context) error {
	if s.JWT == nil {
		return errJWTOff
	}
	u := userOf(c)
	target, err := jwtTarget(c, c.QueryParam("extensionId"))
	if err != nil {
		return err
	}
	list, err := s.JWT.List(c.Request().Context(), identity.ExtensionActor(u.Extension), target)
	if err != nil {
		return jwtError(err)
	}
	now := time.Now()
	out := make([]jwtCredential, len(list))
	for i, cr := range list {
		out[i] = jwtCredentialOf(cr, now)
	}
	return c.JSON(http.StatusOK, map[string]any{"records": out})
}

// widgetJWTCreate answers POST /widget/jwt-credentials {name,
// expiresInDays, extensionId}: 201 with the credential and, this once,
// its JWT.
func (s *Server) widgetJWTCreate(c echo.Context) error {
	var req struct {
		Name          string `json:"name"`
		ExpiresInDays int    `json:"expiresInDays"`
		ExtensionID   string `json:"extensionId"`
	}
	if err := params.JSON(c, &req); err != nil {
		return err
	}
	if s.JWT == nil {
		return errJWTOff
	}
	target, err := jwtTarget(c, req.ExtensionID)
	if err != nil {
		return err
	}
	if req.ExpiresInDays < 0 || req.ExpiresInDays > int(identity.MaxJWTCredentialLifetime/(24*time.Hour)) {
		return httperror.InvalidParam("expiresInDays", "0 (never) or a number of days up to three years")
	}
	cr, token, err := s.JWT.Create(c.Request().Context(), identity.ExtensionActor(userOf(c).Extension), target,
		req.Name, time.Duration(req.ExpiresInDays)*24*time.Hour)
	if err != nil {
		return jwtError(err)
	}
	out := jwtCredentialOf(cr, time.Now())
	out.JWT = token
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(http.StatusCreated, out)
}

// widgetJWTRevoke answers DELETE /widget/jwt-credentials/:id with the
// credential revoked; the tokens exchanged for it end at once.
func (s *Server) widgetJWTRevoke(c echo.Context) error {
	if s.JWT == nil {
		return errJWTOff
	}
	cr, err := s.JWT.Revoke(c.Request().Context(), identity.ExtensionActor(userOf(c).Extension), c.Param("id"))
	if err != nil {
		return jwtError(err)
	}
	return c.JSON(http.StatusOK, jwtCredentialOf(cr, time.Now()))
}
