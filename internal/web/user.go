package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/oauth"
)

// widgetUser is who a widget request comes from: its signed-in server-side
// session, the session's extension with its account, and on the routes
// that take one the phone device (issued to that session) it acts with.
type widgetUser struct {
	Session   oauth.Session
	Account   identity.Account
	Extension identity.Extension
	Device    string
}

// userKey holds, in the echo context, the widgetUser asUser resolved.
const userKey = "cb.user"

var (
	errNotSignedIn = &httperror.Error{Status: http.StatusUnauthorized, Code: "NotSignedIn", Message: "sign in first"}
	// errSessionOver answers a session that ended on the server (timed
	// out, refused refresh, revoked) or whose extension is disabled or
	// gone: the widget reloads its state and finds itself signed out.
	errSessionOver = &httperror.Error{Status: http.StatusUnauthorized, Code: "NotSignedIn",
		Message: "your session ended: sign in again", Err: oauth.ErrSessionEnded}
)

// deviceIn says where a route's request names its device: nowhere, in the
// deviceId query parameter, or in the deviceId field of its JSON body.
type deviceIn int

const (
	noDevice deviceIn = iota
	deviceInQuery
	deviceInBody
)

// asUser is the middleware of every widget endpoint that acts as a user:
// it admits a request whose cookie names a live signed-in session of an
// extension that exists and is enabled, and answers 401 NotSignedIn
// otherwise. On a route that takes a device it then checks that the device
// was issued to that session: a malformed id is 400, a device of another
// session 403 DeviceNotYours, before the switch hears of the request. The
// handler finds the user with userOf. It runs after sameOrigin, which has
// checked the page's app against the session's.
func (s *Server) asUser(where deviceIn) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			u, err := s.resolveUser(c.Request().Context(), s.cookie(c.Request()))
			if err != nil {
				return err
			}
			switch where {
			case deviceInQuery:
				u.Device = c.QueryParam("deviceId")
			case deviceInBody:
				if u.Device, err = peekDeviceID(c); err != nil {
					return err
				}
			}
			if where != noDevice {
				if err := s.checkDevice(u.Session.ID, u.Device); err != nil {
					return err
				}
			}
			c.Set(userKey, u)
			return next(c)
		}
	}
}

// signedIn is asUser on a route that takes no device.
func (s *Server) signedIn(next echo.HandlerFunc) echo.HandlerFunc { return s.asUser(noDevice)(next) }

// peekDeviceID reads the deviceId of a JSON body and leaves the body to be
// read again by the handler. It refuses what the handler's bindJSON would
// (a body that is not JSON), so no request goes on unchecked.
func peekDeviceID(c echo.Context) (string, error) {
	r := c.Request()
	if r.ContentLength == 0 {
		return "", nil // an empty body is an empty object
	}
	if err := checkJSONType(r); err != nil {
		return "", err
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return "", err // http.MaxBytesError: 413
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var v struct {
		DeviceID string `json:"deviceId"`
	}
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&v); err != nil {
		return "", invalidJSON(err)
	}
	return v.DeviceID, nil
}

// userOf is the user asUser admitted.
func userOf(c echo.Context) widgetUser {
	u, _ := c.Get(userKey).(widgetUser)
	return u
}

// resolveUser finds the user of a widget cookie: errNotSignedIn when it
// holds no signed-in session, errSessionOver (which wraps
// oauth.ErrSessionEnded) when the session ended or its extension is
// disabled or gone, which also ends the session.
func (s *Server) resolveUser(ctx context.Context, w widgetCookie) (widgetUser, error) {
	if !w.live() || !w.signedIn() || s.Sessions == nil {
		return widgetUser{}, errNotSignedIn
	}
	sess, err := s.Sessions.Get(ctx, w.sid())
	if errors.Is(err, oauth.ErrSessionEnded) {
		return widgetUser{}, errSessionOver
	}
	if err != nil {
		return widgetUser{}, err
	}
	acct, ext, err := s.Directory.ExtensionWithAccount(ctx, sess.ExtensionID)
	if errors.Is(err, identity.ErrNotFound) || err == nil && !ext.Enabled() {
		s.Sessions.End(ctx, sess.ID)
		return widgetUser{}, errSessionOver
	}
	if err != nil {
		return widgetUser{}, err
	}
	return widgetUser{Session: sess, Account: acct, Extension: ext}, nil
}
