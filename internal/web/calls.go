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
	AnswerWith(ctx context.Context, device, sessionID, offerSDP string, opt telephony.AnswerOptions) (telephony.Session, string, error)
	Reject(ctx context.Context, device, sessionID string) error
	Hangup(ctx context.Context, device, sessionID string) error
	Hold(ctx context.Context, device, sessionID string) error
	Unhold(ctx context.Context, device, sessionID string) error
	Mute(ctx context.Context, device, sessionID string, muted bool) error
	Sessions(extension int64) []telephony.Session
	Session(id string) (telephony.Session, bool)

	// A device's second call, and handing calls on (widget_callcontrol.go).
	SwitchCall(ctx context.Context, device, sessionID string) error
	Ignore(ctx context.Context, device, sessionID string) error
	Transfer(ctx context.Context, device, sessionID, to string) (telephony.Session, error)
	Forward(ctx context.Context, device, sessionID, to string) (telephony.Session, error)
	Bridge(ctx context.Context, owner int64, sessionID, partyID, otherSessionID, otherPartyID string) (telephony.Session, error)
	Move(ctx context.Context, owner int64, sessionID, partyID string, devices []string) error
	Pickup(ctx context.Context, device, sessionID, offerSDP string) (telephony.Session, string, error)
	// Rejoin connects the device's audio again to a call whose audio moved
	// to another node (telephony.CauseRejoin).
	Rejoin(ctx context.Context, device, sessionID, offerSDP string) (telephony.Session, string, error)

	// Voicemail and recording of the device's calls (controlCall's
	// toVoicemail and the record actions): telephony.ErrNoMailbox where
	// the server has neither.
	ToVoicemail(ctx context.Context, device, sessionID string) error
	Record(ctx context.Context, device, sessionID string, action telephony.RecordAction) (telephony.Session, error)

	// Conferences of the user's calls (widget_conference.go).
	Conferences

	// The widget's RingOut (widget_ringout.go).
	RingOut(ctx context.Context, extension int64, from, to, callerID string, playPrompt bool) (telephony.RingOut, error)
	CancelRingOut(ctx context.Context, extension int64, id string) (telephony.RingOut, error)
}

// maxSDP bounds an offer; the gateway checks its content.
const maxSDP = 32 << 10

var deviceIDPattern = regexp.MustCompile(`^[A-Za-z0-9-]{8,64}$`)

// callRoutes mounts the widget's /widget/calls endpoints: each acts with a
// device of the signed-in session (asUser checks it), on a call of the
// session's user (ownCall checks it). It also mounts the transfer picker's
// /widget/extensions, and the host's /widget/conferences (a conference the
// user is in: ownConference checks it).
func (s *Server) callRoutes(e *echo.Echo) {
	g := e.Group("/widget/calls", s.sameOrigin)
	g.GET("", s.listCalls, s.asUser(deviceInQuery))
	g.POST("", s.dial, s.asUser(deviceInBody))
	g.POST("/:id/answer", s.answer, s.asUser(deviceInBody))
	g.POST("/:id/transfer", s.transferCall, s.asUser(deviceInBody))
	g.POST("/:id/forward", s.forwardCall, s.asUser(deviceInBody))
	g.POST("/:id/bridge", s.bridgeCalls, s.asUser(deviceInBody))
	g.POST("/:id/move", s.moveCall, s.asUser(deviceInBody))
	g.POST("/:id/pickup", s.pickupCall, s.asUser(deviceInBody))
	g.POST("/:id/rejoin", s.rejoinCall, s.asUser(deviceInBody))
	g.POST("/:id/merge", s.mergeCalls, s.asUser(deviceInBody))
	g.POST("/:id/:action", s.controlCall, s.asUser(deviceInBody))
	e.GET("/widget/extensions", s.widgetExtensions, s.sameOrigin, s.signedIn)
	cg := e.Group("/widget/conferences", s.sameOrigin)
	cg.DELETE("/:id", s.endConference, s.asUser(deviceInQuery))
	cg.DELETE("/:id/participants/:partyId", s.removeParticipant, s.asUser(deviceInQuery))
	cg.PATCH("/:id/participants/:partyId", s.muteParticipant, s.asUser(deviceInBody))
}

type dialRequest struct {
	DeviceID string `json:"deviceId"`
	To       string `json:"to"`
	SDP      string `json:"sdp"`
	// ConferenceID, when set, names the conference the device hosts that
	// the one called joins once they answer (a call of it, or its id).
	ConferenceID string `json:"conferenceId"`
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
	if err := checkTo(req.To); err != nil {
		return err
	}
	if err := checkOffer(req.SDP); err != nil {
		return err
	}
	var ts telephony.Session
	var answer string
	var err error
	switch {
	case len(req.ConferenceID) > maxConferenceID:
		return httperror.InvalidParam("conferenceId", "no such conference")
	case req.ConferenceID != "":
		ts, answer, err = s.Switch.Invite(c.Request().Context(), u.Device, req.ConferenceID, req.To, req.SDP)
	default:
		ts, answer, err = s.Switch.Dial(c.Request().Context(), u.Device, req.To, req.SDP)
	}
	if err != nil {
		return err
	}
	call, _ := bridge.CallFor(ts, u.Extension.ID)
	return c.JSON(http.StatusOK, callResponse{Call: call, SDP: answer})
}

// checkTo checks the number a call is placed to or handed on to: the
// switch routes it (a malformed one is its 400 InvalidNumber).
func checkTo(to string) error {
	if to == "" || len(to) > 64 {
		return &httperror.Error{Status: http.StatusBadRequest, Code: "InvalidParameter", Param: "to", Message: "to must be a phone or extension number"}
	}
	return nil
}

// checkOffer checks the browser's SDP offer; the gateway checks its content.
func checkOffer(sdp string) error {
	if sdp == "" || len(sdp) > maxSDP {
		return &httperror.Error{Status: http.StatusBadRequest, Code: "InvalidParameter", Param: "sdp", Message: "sdp must be an SDP offer of at most 32 KB"}
	}
	return nil
}

// answerRequest is the body of POST /widget/calls/{id}/answer. Action says
// what becomes of the call the device has live: "hold" (also when left
// out) or "end" (CONTRACT §4, rc-adapter-control-call answer).
type answerRequest struct {
	DeviceID string `json:"deviceId"`
	SDP      string `json:"sdp"`
	Action   string `json:"action"`
}

func (s *Server) answer(c echo.Context) error {
	var req answerRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	u := userOf(c)
	if err := checkOffer(req.SDP); err != nil {
		return err
	}
	switch req.Action {
	case "", telephony.AnswerHold, telephony.AnswerEnd:
	default:
		return httperror.InvalidParam("action", "hold or end")
	}
	if _, err := s.ownCall(u, c.Param("id")); err != nil {
		return err
	}
	ts, answer, err := s.Switch.AnswerWith(c.Request().Context(), u.Device, c.Param("id"), req.SDP, telephony.AnswerOptions{Action: req.Action})
	if err != nil {
		return err
	}
	call, _ := bridge.CallFor(ts, u.Extension.ID)
	return c.JSON(http.StatusOK, callResponse{Call: call, SDP: answer})
}

// recordActions are controlCall's actions on a call's recording.
var recordActions = map[string]telephony.RecordAction{
	"startRecord":  telephony.RecordStart,
	"stopRecord":   telephony.RecordStop,
	"pauseRecord":  telephony.RecordPause,
	"resumeRecord": telephony.RecordResume,
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
	ctx, id, dev := c.Request().Context(), c.Param("id"), u.Device
	if _, err := s.ownCall(u, id); err != nil {
		return err
	}
	var err error
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
	case "switch":
		err = s.Switch.SwitchCall(ctx, dev, id)
	case "ignore":
		err = s.Switch.Ignore(ctx, dev, id)
	case "toVoicemail":
		err = s.Switch.ToVoicemail(ctx, dev, id)
	case "startRecord", "stopRecord", "pauseRecord", "resumeRecord":
		_, err = s.Switch.Record(ctx, dev, id, recordActions[c.Param("action")])
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
