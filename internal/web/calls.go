package web

import (
	"context"
	"errors"
	"net/http"
	"regexp"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/oauth"
	"github.com/callbridge/widget-server/internal/telephony"
)

// Switch is what the widget's call endpoints and the platform API's RingOut
// and call control need of the telephony switch.
type Switch interface {
	RegisterDevice(d telephony.Device) error
	UnregisterDevice(id string)
	Dial(ctx context.Context, device, to, offerSDP string) (telephony.Session, string, error)
	Answer(ctx context.Context, device, sessionID, offerSDP string) (telephony.Session, string, error)
	Reject(ctx context.Context, device, sessionID string) error
	Hangup(ctx context.Context, device, sessionID string) error
	Hold(ctx context.Context, device, sessionID string) error
	Unhold(ctx context.Context, device, sessionID string) error
	Mute(ctx context.Context, device, sessionID string, muted bool) error
	Sessions(extension int64) []telephony.Session
	Session(id string) (telephony.Session, bool)

	// RingOut and call control (api_telephony.go).
	RingOut(ctx context.Context, extension int64, from, to, callerID string, playPrompt bool) (telephony.RingOut, error)
	FindRingOut(extension int64, id string) (telephony.RingOut, bool)
	CancelRingOut(ctx context.Context, extension int64, id string) (telephony.RingOut, error)
	ControlParty(ctx context.Context, owner int64, sessionID, partyID string, action telephony.PartyAction) (telephony.Session, error)
}

// maxSDP bounds an offer; the gateway checks its content.
const maxSDP = 32 << 10

var deviceIDPattern = regexp.MustCompile(`^[A-Za-z0-9-]{8,64}$`)

func (s *Server) callRoutes(e *echo.Echo) {
	g := e.Group("/widget/calls", s.sameOrigin)
	g.GET("", s.listCalls)
	g.POST("", s.dial)
	g.POST("/:id/answer", s.answer)
	g.POST("/:id/:action", s.controlCall)
}

// signedInDevice returns the signed-in session of the request and checks that
// the device was issued to it: a device of another session is refused (403)
// before the switch hears of the request.
func (s *Server) signedInDevice(c echo.Context, device string) (oauth.Session, error) {
	w := s.cookie(c.Request())
	if !w.live() || !w.signedIn() {
		return oauth.Session{}, &Error{Status: http.StatusUnauthorized, Code: "NotSignedIn", Message: "sign in to place calls"}
	}
	sess, err := s.Sessions.Get(c.Request().Context(), w.sid())
	if errors.Is(err, oauth.ErrSessionEnded) {
		return oauth.Session{}, &Error{Status: http.StatusUnauthorized, Code: "NotSignedIn", Message: "your session ended: sign in again"}
	}
	if err != nil {
		return oauth.Session{}, err
	}
	if err := s.checkDevice(w.sid(), device); err != nil {
		return oauth.Session{}, err
	}
	return sess, nil
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
	sess, err := s.signedInDevice(c, req.DeviceID)
	if err != nil {
		return err
	}
	if req.To == "" || len(req.To) > 64 {
		return &Error{Status: http.StatusBadRequest, Code: "InvalidParameter", Message: "to must be a phone or extension number"}
	}
	if req.SDP == "" || len(req.SDP) > maxSDP {
		return &Error{Status: http.StatusBadRequest, Code: "InvalidParameter", Message: "sdp must be an SDP offer of at most 32 KB"}
	}
	ts, answer, err := s.Switch.Dial(c.Request().Context(), req.DeviceID, req.To, req.SDP)
	if err != nil {
		return callError(err)
	}
	call, _ := bridge.CallFor(ts, sess.ExtensionID)
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
	sess, err := s.signedInDevice(c, req.DeviceID)
	if err != nil {
		return err
	}
	if req.SDP == "" || len(req.SDP) > maxSDP {
		return &Error{Status: http.StatusBadRequest, Code: "InvalidParameter", Message: "sdp must be an SDP offer of at most 32 KB"}
	}
	ts, answer, err := s.Switch.Answer(c.Request().Context(), req.DeviceID, c.Param("id"), req.SDP)
	if err != nil {
		return callError(err)
	}
	call, _ := bridge.CallFor(ts, sess.ExtensionID)
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
	sess, err := s.signedInDevice(c, req.DeviceID)
	if err != nil {
		return err
	}
	ctx, id, dev := c.Request().Context(), c.Param("id"), req.DeviceID
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
		return &Error{Status: http.StatusNotFound, Code: "NotFound", Message: "unknown call action " + c.Param("action")}
	}
	if err != nil {
		return callError(err)
	}
	resp := callResponse{}
	if ts, ok := s.Switch.Session(id); ok {
		resp.Call, _ = bridge.CallFor(ts, sess.ExtensionID)
	}
	return c.JSON(http.StatusOK, resp)
}

type callsResponse struct {
	Calls []bridge.WebphoneCall `json:"calls"`
}

func (s *Server) listCalls(c echo.Context) error {
	device := c.QueryParam("deviceId")
	sess, err := s.signedInDevice(c, device)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, callsResponse{Calls: bridge.WebphoneCalls(s.Switch.Sessions(sess.ExtensionID), sess.ExtensionID, device)})
}

func callError(err error) error {
	switch {
	case errors.Is(err, telephony.ErrNoSuchCall):
		return &Error{Status: http.StatusNotFound, Code: "NoSuchCall", Message: "no such call", Err: err}
	case errors.Is(err, telephony.ErrInvalidState):
		return &Error{Status: http.StatusConflict, Code: "InvalidState", Message: "the call cannot do that now", Err: err}
	case errors.Is(err, telephony.ErrNotYourCall):
		return &Error{Status: http.StatusForbidden, Code: "NotYourCall", Message: "this call is not on this device", Err: err}
	case errors.Is(err, telephony.ErrNoDevice):
		return &Error{Status: http.StatusConflict, Code: "NoDevice", Message: "this tab's phone is not connected: reload the widget", Err: err}
	case errors.Is(err, telephony.ErrTooManyCalls):
		return &Error{Status: http.StatusTooManyRequests, Code: "TooManyCalls", Message: "this phone or user already has as many calls as allowed: end one first", RetryAfter: capRetryAfter, Err: err}
	case errors.Is(err, telephony.ErrBadNumber):
		return &Error{Status: http.StatusBadRequest, Code: "InvalidNumber", Message: "that is not a number that can be dialled", Err: err}
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Status: http.StatusBadGateway, Code: "CallFailed", Message: "the call could not be set up", Err: err}
}
