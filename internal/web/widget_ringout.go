package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/params"
	"github.com/callbridge/widget-server/internal/telephony"
)

// widgetRingOutRoutes mounts the widget's /widget/ringout endpoints: the
// widget's RingOut calling mode places and cancels RingOuts of the signed-in
// extension with them (docs/api-calls.md "Widget endpoints").
func (s *Server) widgetRingOutRoutes(e *echo.Echo) {
	g := e.Group("/widget/ringout", s.sameOrigin)
	g.POST("", s.widgetRingOut, s.signedIn)
	g.DELETE("/:id", s.widgetCancelRingOut, s.signedIn)
}

// widgetRingOutRequest is the body of POST /widget/ringout: from is the
// user's location (its own number rings its widgets), to the number to call.
type widgetRingOutRequest struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// widgetRingOutBody answers the widget: the RingOut's id and status.
type widgetRingOutBody struct {
	ID                 string              `json:"id"`
	TelephonySessionID string              `json:"telephonySessionId"`
	Status             widgetRingOutStatus `json:"status"`
}

// widgetRingOutStatus is a RingOut's status as the API's RingOut resource
// has it: of the call, of the from leg and of the to leg.
type widgetRingOutStatus struct {
	CallStatus   string `json:"callStatus"`
	CallerStatus string `json:"callerStatus"`
	CalleeStatus string `json:"calleeStatus"`
}

// maxRingOutID bounds the digits of a RingOut id; others are not found.
const maxRingOutID = 24

// widgetRingOut answers POST /widget/ringout.
func (s *Server) widgetRingOut(c echo.Context) error {
	var req widgetRingOutRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	u := userOf(c)
	region := u.Account.CountryCode
	from, err := params.PhoneNumber(req.From, "from", region)
	if err != nil {
		return err
	}
	to, err := params.PhoneNumber(req.To, "to", region)
	if err != nil {
		return err
	}
	ro, err := s.Switch.RingOut(c.Request().Context(), u.Extension.ID, from, to, "", false)
	if err != nil {
		return httperror.Param(err, "from") // telephony.ErrForeignNumber: another extension's number
	}
	return c.JSON(http.StatusOK, widgetRingOutBody{ID: ro.ID, TelephonySessionID: ro.TelephonySessionID,
		Status: widgetRingOutStatus{CallStatus: string(ro.Status.Call), CallerStatus: string(ro.Status.Caller),
			CalleeStatus: string(ro.Status.Callee)}})
}

// widgetCancelRingOut answers DELETE /widget/ringout/:id: 204, or 409 when
// the RingOut is no longer in progress.
func (s *Server) widgetCancelRingOut(c echo.Context) error {
	id := c.Param("id")
	if !params.Digits(id, maxRingOutID) {
		return httperror.RingOutCancel(telephony.ErrNoSuchCall)
	}
	if _, err := s.Switch.CancelRingOut(c.Request().Context(), userOf(c).Extension.ID, id); err != nil {
		return httperror.RingOutCancel(err)
	}
	return c.NoContent(http.StatusNoContent)
}
