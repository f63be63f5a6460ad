package web

import (
	"context"
	"errors"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/oauth"
)

// sessionState is what the widget knows of its session: the fields of
// rc-login-status-notify, the region, and who is signed in. It is embedded at
// boot, answered by GET /widget/state and pushed as cb-session.
type sessionState struct {
	LoggedIn              bool              `json:"loggedIn"`
	LoginNumber           string            `json:"loginNumber"`
	ContractedCountryCode string            `json:"contractedCountryCode"`
	Admin                 bool              `json:"admin"`
	Features              identity.Features `json:"features"`
	Region                region            `json:"region"`
	Extension             *extensionInfo    `json:"extension"`
	Account               *accountInfo      `json:"account"`
	Presence              *presenceState    `json:"presence"`
	// DeviceID is a phone device issued to the signed-in session for the
	// tab that asked; every answer carries a new one.
	DeviceID string `json:"deviceId,omitempty"`
}

type region struct {
	CountryCode string `json:"countryCode"`
	AreaCode    string `json:"areaCode"`
}

type extensionInfo struct {
	ID     int64  `json:"id"`
	Number string `json:"number"`
	Name   string `json:"name"`
	Email  string `json:"email"`
}

type accountInfo struct {
	Company    string `json:"company"`
	MainNumber string `json:"mainNumber"`
}

// presenceState is the rc-adapter-syncPresence payload.
type presenceState struct {
	TelephonyStatus string `json:"telephonyStatus"`
	UserStatus      string `json:"userStatus"`
	DNDStatus       string `json:"dndStatus"`
	PresenceStatus  string `json:"presenceStatus"`
}

func (s *Server) signedOutState(app identity.App) sessionState {
	return sessionState{
		ContractedCountryCode: s.cfg.CountryCode,
		Features:              app.Features,
		Region:                region{CountryCode: s.cfg.CountryCode, AreaCode: s.cfg.AreaCode},
	}
}

// signedInState describes a signed-in extension. Presence is the
// default, no call, available, taking calls, until signedIn fills in the
// extension's (without a Presence, it stays).
func (s *Server) signedInState(app identity.App, acct identity.Account, ext identity.Extension) sessionState {
	return sessionState{
		LoggedIn:              true,
		LoginNumber:           identity.LoginNumber(acct, ext),
		ContractedCountryCode: acct.CountryCode,
		Admin:                 ext.Admin(),
		Features:              app.Features,
		Region:                region{CountryCode: acct.CountryCode, AreaCode: acct.AreaCode},
		Extension:             &extensionInfo{ID: ext.ID, Number: ext.Number, Name: ext.Name, Email: ext.Email},
		Account:               &accountInfo{Company: acct.Company, MainNumber: acct.MainNumber},
		Presence:              &presenceState{TelephonyStatus: "NoCall", UserStatus: "Available", DNDStatus: "TakeAllCalls", PresenceStatus: "Available"},
	}
}

// errOtherApp: the signed-in session was made for another app than the
// widget page's.
var errOtherApp = errors.New("session of another app")

// state returns the session's state. A signed-in session that ended on the
// server (timeout, refused refresh, revoked) turns the cookie anonymous again.
func (s *Server) state(c echo.Context, w widgetCookie) (sessionState, error) {
	ctx := c.Request().Context()
	app, err := s.Apps.App(ctx, w.app())
	if err != nil && !errors.Is(err, identity.ErrNotFound) {
		return sessionState{}, err
	}
	if !w.signedIn() {
		return s.signedOutState(app), nil
	}
	st, err := s.userState(ctx, app, w)
	if err == nil {
		st.DeviceID = s.newDeviceID(w.sid())
	}
	if errors.Is(err, errOtherApp) {
		if err := s.signOut(ctx, w); err != nil {
			return sessionState{}, err
		}
		return s.signedOutState(app), s.saveCookie(c, w)
	}
	if errors.Is(err, oauth.ErrSessionEnded) || errors.Is(err, errNotSignedIn) {
		w.renew(randomID(), false)
		return s.signedOutState(app), s.saveCookie(c, w)
	}
	return st, err
}

// userState is the state of a cookie that says it is signed in: the user
// resolveUser finds, or its error; errOtherApp for a session of another app
// than the widget page's.
func (s *Server) userState(ctx context.Context, app identity.App, w widgetCookie) (sessionState, error) {
	u, err := s.resolveUser(ctx, w)
	if err != nil {
		return sessionState{}, err
	}
	if u.Session.ClientID != app.ClientID {
		return sessionState{}, errOtherApp
	}
	st := s.signedInState(app, u.Account, u.Extension)
	if s.Presence != nil {
		if st.Presence, err = s.widgetPresence(ctx, u.Extension.ID); err != nil {
			return sessionState{}, err
		}
	}
	return st, nil
}

// widgetPresence is the extension's presence in the words of the widget's
// session state (rc-adapter-syncPresence).
func (s *Server) widgetPresence(ctx context.Context, ext int64) (*presenceState, error) {
	p, err := s.Presence.SyncPresence(ctx, ext)
	if err != nil {
		return nil, err
	}
	return &presenceState{TelephonyStatus: p.TelephonyStatus, UserStatus: p.UserStatus, DNDStatus: p.DNDStatus, PresenceStatus: p.PresenceStatus}, nil
}

// SessionEnded tells a session's widgets that it ended on the server (the
// sessions keeper calls it): they reload their state, which is signed out.
func (s *Server) SessionEnded(sid string, extensionID int64) {
	s.resync(sid, extensionID)
}

// resync asks the widgets of a session to reload their state. Signed-out
// tabs listen on the session's group, signed-in ones on their extension's;
// other sessions of the extension reload too and find nothing changed.
func (s *Server) resync(sid string, extensionID int64) {
	msg := map[string]string{"type": bridge.ResyncType}
	s.Hub.Publish(bridge.SessionGroup(sid), msg)
	if extensionID != 0 {
		s.Hub.Publish(bridge.ExtensionGroup(extensionID), msg)
	}
}
