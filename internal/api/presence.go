package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/params"
	"github.com/callbridge/widget-server/internal/presence"
	"github.com/callbridge/widget-server/internal/telephony"
)

// Presence keeps extensions' presence (internal/presence implements it).
type Presence interface {
	// Presence returns the extension's whole presence and current sequence.
	Presence(ctx context.Context, extension int64) (presence.Presence, uint64, error)
	// User returns what the extension's user set, or the default.
	User(ctx context.Context, extension int64) (presence.UserPresence, error)
	// Set stores and applies what the user set, and publishes the change.
	Set(ctx context.Context, extension int64, p presence.UserPresence) error
}

// currentPresence is the extension's presence as it is now, with its
// sequence; without a presence keeper, the defaults.
func (s *Server) currentPresence(ctx context.Context, ext int64) (presence.Presence, uint64, error) {
	if s.Presence == nil {
		return presence.Of(telephony.NoCall, presence.DefaultUserPresence), 0, nil
	}
	return s.Presence.Presence(ctx, ext)
}

// SyncPresence is rc-adapter-syncPresence for the extension as it is now:
// what the widget's state shows.
func (s *Server) SyncPresence(ctx context.Context, ext int64) (bridge.SyncPresence, error) {
	p, _, err := s.currentPresence(ctx, ext)
	if err != nil {
		return bridge.SyncPresence{}, err
	}
	return bridge.NewSyncPresence(p), nil
}

// apiPresenceBody is the presence resource (seeds/001 "Call States").
type apiPresenceBody struct {
	URI             string                 `json:"uri"`
	Extension       apiPresenceExt         `json:"extension"`
	Sequence        uint64                 `json:"sequence"`
	TelephonyStatus string                 `json:"telephonyStatus"`
	UserStatus      string                 `json:"userStatus"`
	DNDStatus       string                 `json:"dndStatus"`
	PresenceStatus  string                 `json:"presenceStatus"`
	ActiveCalls     *[]bridge.PresenceCall `json:"activeCalls,omitempty"`
}

type apiPresenceExt struct {
	ID              int64  `json:"id"`
	URI             string `json:"uri"`
	ExtensionNumber string `json:"extensionNumber"`
}

// presenceBody builds the presence resource of an extension.
func (s *Server) presenceBody(ctx context.Context, acct identity.Account, ext identity.Extension, detailed bool) (apiPresenceBody, error) {
	sp, seq, err := s.currentPresence(ctx, ext.ID)
	if err != nil {
		return apiPresenceBody{}, err
	}
	uri := s.extensionURI(acct.ID, ext.ID)
	body := apiPresenceBody{
		URI:       uri + "/presence",
		Extension: apiPresenceExt{ID: ext.ID, URI: uri, ExtensionNumber: ext.Number},
		Sequence:  seq, TelephonyStatus: string(sp.TelephonyStatus), UserStatus: sp.UserStatus,
		DNDStatus: sp.DNDStatus, PresenceStatus: sp.PresenceStatus,
	}
	if detailed {
		calls := []bridge.PresenceCall{}
		if s.Switch != nil {
			calls = bridge.PresenceCalls(s.Switch.Sessions(ext.ID), ext.ID)
		}
		body.ActiveCalls = &calls
	}
	return body, nil
}

// apiPresence answers GET …/extension/{extensionId}/presence.
func (s *Server) apiPresence(c echo.Context) error {
	acct, ext, err := s.apiTarget(c)
	if err != nil {
		return err
	}
	detailed := false
	if v, ok := params.First(c.QueryParams(), "detailedTelephonyState"); ok {
		switch strings.ToLower(v) {
		case "true":
			detailed = true
		case "false":
		default:
			return httperror.InvalidParam("detailedTelephonyState", "true or false")
		}
	}
	body, err := s.presenceBody(c.Request().Context(), acct, ext, detailed)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, body)
}

// presenceUpdate is the body of PUT …/presence; what is left out stays.
type presenceUpdate struct {
	UserStatus *string `json:"userStatus"`
	DNDStatus  *string `json:"dndStatus"`
}

// apiSetPresence answers PUT …/extension/{extensionId}/presence: the user
// status and do-not-disturb are stored, DND applies to the switch at once,
// and the extension's widgets are told (rc-adapter-syncPresence).
func (s *Server) apiSetPresence(c echo.Context) error {
	acct, ext, err := s.apiTarget(c)
	if err != nil {
		return err
	}
	var req presenceUpdate
	if err := params.JSON(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if err := s.UpdateUserPresence(ctx, ext.ID, req.UserStatus, req.DNDStatus); err != nil {
		return err
	}
	body, err := s.presenceBody(ctx, acct, ext, false)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, body)
}

// UpdateUserPresence applies a presence update {userStatus?, dndStatus?}
// to the extension (what is left out stays): the values are checked (400
// naming the field), then the presence keeper stores and applies them and
// publishes the change to the widgets and webhook subscriptions. PUT
// …/presence and the widget's PUT /widget/presence both come here.
func (s *Server) UpdateUserPresence(ctx context.Context, ext int64, userStatus, dndStatus *string) error {
	if s.Presence == nil {
		return &httperror.Error{Status: http.StatusNotImplemented, Code: "NotImplemented", Message: "presence cannot be set on this server"}
	}
	p, err := s.Presence.User(ctx, ext)
	if err != nil {
		return err
	}
	if userStatus != nil {
		if p.UserStatus, err = params.Enum("userStatus", *userStatus, presence.UserStatuses); err != nil {
			return err
		}
	}
	if dndStatus != nil {
		if p.DNDStatus, err = params.Enum("dndStatus", *dndStatus, presence.DNDStatuses); err != nil {
			return err
		}
	}
	return s.Presence.Set(ctx, ext, p)
}
