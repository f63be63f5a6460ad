package web

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/params"
)

// Presence is the users' presence as the widget shows and sets it: what
// the user set with the switch's part (internal/api implements it).
type Presence interface {
	// SyncPresence is the extension's presence as rc-adapter-syncPresence.
	SyncPresence(ctx context.Context, ext int64) (bridge.SyncPresence, error)
	// UpdateUserPresence sets what is given of the user status and
	// do-not-disturb: checked (a 400 naming the field), stored, applied,
	// and published: the dispatcher (internal/bridge) tells the extension's
	// widgets and subscriptions.
	UpdateUserPresence(ctx context.Context, ext int64, userStatus, dndStatus *string) error
}

// presenceUpdate is the body of PUT /widget/presence; what is left out stays.
type presenceUpdate struct {
	UserStatus *string `json:"userStatus"`
	DNDStatus  *string `json:"dndStatus"`
}

// widgetSetPresence answers PUT /widget/presence {userStatus?, dndStatus?}:
// the values are checked like the API's PUT presence, stored and applied
// (do-not-disturb stops calls from ringing), the user's widgets are told
// (rc-adapter-syncPresence), and the answer is the new presence in the
// words of that event.
func (s *Server) widgetSetPresence(c echo.Context) error {
	ext := userOf(c).Extension.ID
	var req presenceUpdate
	if err := params.JSON(c, &req); err != nil {
		return err
	}
	if s.Presence == nil {
		return &httperror.Error{Status: http.StatusNotImplemented, Code: "NotImplemented", Message: "presence cannot be set on this server"}
	}
	ctx := c.Request().Context()
	if err := s.Presence.UpdateUserPresence(ctx, ext, req.UserStatus, req.DNDStatus); err != nil {
		return err
	}
	body, err := s.widgetPresence(ctx, ext)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, body)
}
