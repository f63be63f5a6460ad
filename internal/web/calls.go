package web

import (
	"context"
	"net/http"
	"regexp"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/telephony"
)

// Switch is what the widget's call endpoints and its RingOut need of the
// telephony switch.
type Switch interface {
	RegisterDevice(d telephony.Device) error
	UnregisterDevice(id string)
	Devices(extension int64) []string // the extension's registered devices
	Dial(ctx context.Context, device, to, offerSDP string) (telephony.Session, string, error)
	Answer(ctx context.Context, device, sessionID, offerSDP string) (telephony.Session, string, error)
	Reject(ctx context.Context, device, sessionID string) error
	Hangup(ctx context.Context, device, sessionID string) error
	Hold(ctx context.Context, device, sessionID string) error
	Unhold(ctx context.Context, device, sessionID string) error
	Mute(ctx context.Context, device, sessionID string, muted bool) error
	Sessions(extension int64) []telephony.Session
	Session(id string) (telephony.Session, bool)

	// The widget's RingOut (widget_ringout.go).
	RingOut(ctx context.Context, extension int64, from, to, callerID string, playPrompt bool) (telephony.RingOut, error)
	CancelRingOut(ctx context.Context, extension int64, id string) (telephony.RingOut, error)
}

// maxSDP bounds an offer; the gateway checks its content.
const maxSDP = 32 << 10

var deviceIDPattern = regexp.MustCompile(`^[A-Za-z0-9-]{8,64}$`)

// callRoutes mounts the widget's /widget/calls endpoints: each acts with a
// device of the signed-in session (asUser checks it).
func (s *Server) callRoutes(e *echo.Echo) {
	g := e.Group("/widget/calls", s.sameOrigin)
	g.GET("", s.listCalls, s.asUser(deviceInQuery))
	g.POST("", s.dial, s.asUser(deviceInBody))
	g.POST("/:id/answer", s.answer, s.asUser(deviceInBody))
	g.POST("/:id/:action", s.controlCall, s.asUser(deviceInBody))
}

type dialRequest struct {
	DeviceID string `json:"deviceId"`
	To       string `json:"to"`
	SDP      string `json:"sdp"`
}

type callResponse struct {
	Call bridge.WebphoneCall `json:"call"`
	SDP  string              `json:"sdp,omitempty"`
}

func (s *Server) dial(c echo.Context) error {
	var req dialRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	u := userOf(c)
	if req.To == "" || len(req.To) > 64 {
		return &httperror.Error{Status: http.StatusBadRequest, Code: "InvalidParameter", Message: "to must be a phone or extension number"}
	}
	if req.SDP == "" || len(req.SDP) > maxSDP {
		return &httperror.Error{Status: http.StatusBadRequest, Code: "InvalidParameter", Message: "sdp must be an SDP offer of at most 32 KB"}
	}
	ts, answer, err := s.Switch.Dial(c.Request().Context(), u.Device, req.To, req.SDP)
	if err != nil {
		return err
	}
	call, _ := bridge.CallFor(ts, u.Extension.ID)
	return c.JSON(http.StatusOK, callResponse{Call: call, SDP: answer})
}

type answerRequest struct {
	DeviceID string `json:"deviceId"`
	SDP      string `json:"sdp"`
}

func (s *Server) answer(c echo.Context) error {
	var req answerRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	u := userOf(c)
	if req.SDP == "" || len(req.SDP) > maxSDP {
		return &httperror.Error{Status: http.StatusBadRequest, Code: "InvalidParameter", Message: "sdp must be an SDP offer of at most 32 KB"}
	}
	ts, answer, err := s.Switch.Answer(c.Request().Context(), u.Device, c.Param("id"), req.SDP)
	if err != nil {
		return err
	}
	call, _ := bridge.CallFor(ts, u.Extension.ID)
	return c.JSON(http.StatusOK, callResponse{Call: call, SDP: answer})
}

type controlRequest struct {
	DeviceID string `json:"deviceId"`
}

func (s *Server) controlCall(c echo.Context) error {
	var req controlRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	u := userOf(c)
	var err error
	ctx, id, dev := c.Request().Context(), c.Param("id"), u.Device
	switch c.Param("action") {
	case "reject":
		err = s.Switch.Reject(ctx, dev, id)
	case "hangup":
		err = s.Switch.Hangup(ctx, dev, id)
	case "hold":
		err = s.Switch.Hold(ctx, dev, id)
	case "unhold":
		err = s.Switch.Unhold(ctx, dev, id)
	case "mute":
		err = s.Switch.Mute(ctx, dev, id, true)
	case "unmute":
		err = s.Switch.Mute(ctx, dev, id, false)
	default:
		return &httperror.Error{Status: http.StatusNotFound, Code: "NotFound", Message: "unknown call action " + c.Param("action")}
	}
	if err != nil {
		return err
	}
	resp := callResponse{}
	if ts, ok := s.Switch.Session(id); ok {
		resp.Call, _ = bridge.CallFor(ts, u.Extension.ID)
	}
	return c.JSON(http.StatusOK, resp)
}

type callsResponse struct {
	Calls []bridge.WebphoneCall `json:"calls"`
}

func (s *Server) listCalls(c echo.Context) error {
	u := userOf(c)
	return c.JSON(http.StatusOK, callsResponse{Calls: bridge.WebphoneCalls(s.Switch.Sessions(u.Extension.ID), u.Extension.ID, u.Device)})
}
