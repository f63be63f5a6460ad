package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/params"
	"github.com/callbridge/widget-server/internal/telephony"
)

// The widget's business call handling: blind transfer and
// forward, the completion of a warm transfer (bridge), and moving a call
// between the devices of its user (move, pickup). SwitchCall and Ignore
// have no body beyond the device and are among controlCall's actions.

// ownCall finds the session id if the signed-in user has a party in it. A
// call of others is answered as an unknown one (404), so the answer tells
// nothing of calls that are not the user's.
func (s *Server) ownCall(u widgetUser, id string) (telephony.Session, error) {
	if ts, ok := s.Switch.Session(id); ok {
		for _, p := range ts.Parties {
			if p.Owner == u.Extension.ID {
				return ts, nil
			}
		}
	}
	return telephony.Session{}, fmt.Errorf("call %s: %w", id, telephony.ErrNoSuchCall)
}

// deviceParty is the user's party that the device carries in ts: one that
// still rings there is not connected yet (ErrInvalidState), and a call
// this device has no part in is another device's (ErrNotYourCall), as the
// switch answers the other actions.
func deviceParty(ts telephony.Session, u widgetUser) (telephony.Party, error) {
	ringing := false
	for _, p := range ts.Parties {
		if p.Owner != u.Extension.ID || p.Status == telephony.StatusDisconnected {
			continue
		}
		if p.Device == u.Device {
			return p, nil
		}
		ringing = ringing || slices.Contains(p.Ringing, u.Device)
	}
	if ringing {
		return telephony.Party{}, fmt.Errorf("call %s still rings on device %s: %w", ts.ID, u.Device, telephony.ErrInvalidState)
	}
	return telephony.Party{}, fmt.Errorf("call %s has no party on device %s: %w", ts.ID, u.Device, telephony.ErrNotYourCall)
}

// callControlResponse is the answer of the actions below: the device's
// call after the action, absent once its party left the call (a transfer,
// a forward, a bridge), and the gateway's SDP answer of a pickup.
type callControlResponse struct {
	Call *bridge.WebphoneCall `json:"call,omitempty"`
	SDP  string               `json:"sdp,omitempty"`
}

// deviceCall is the web-phone call of the user's party that device carries
// or rings for in ts; nil when there is none.
func deviceCall(ts telephony.Session, u widgetUser) *bridge.WebphoneCall {
	calls := bridge.WebphoneCalls([]telephony.Session{ts}, u.Extension.ID, u.Device)
	if len(calls) == 0 {
		return nil
	}
	return &calls[0]
}

// handOnRequest is the body of POST /widget/calls/{id}/transfer and
// …/forward: to is a number or extension, as the dialler takes it.
type handOnRequest struct {
	DeviceID string `json:"deviceId"`
	To       string `json:"to"`
}

// transferCall answers POST /widget/calls/{id}/transfer {deviceId, to}: a
// blind transfer of the device's connected call (telephony.Switch.Transfer).
func (s *Server) transferCall(c echo.Context) error {
	return s.handOn(c, s.Switch.Transfer)
}

// forwardCall answers POST /widget/calls/{id}/forward {deviceId, to}: the
// call ringing on the device rings the number instead
// (telephony.Switch.Forward).
func (s *Server) forwardCall(c echo.Context) error {
	return s.handOn(c, s.Switch.Forward)
}

// handOn reads a transfer's or forward's body, checks the call and lets do
// hand it on. The device's party has left the call when it succeeds, so
// the answer has no call unless the device is still in it.
func (s *Server) handOn(c echo.Context, do func(ctx context.Context, device, sessionID, to string) (telephony.Session, error)) error {
	var req handOnRequest
	if err := params.JSON(c, &req); err != nil {
		return err
	}
	if err := checkTo(req.To); err != nil {
		return err
	}
	u, id := userOf(c), c.Param("id")
	if _, err := s.ownCall(u, id); err != nil {
		return err
	}
	ts, err := do(c.Request().Context(), u.Device, id, req.To)
	if err != nil {
		return httperror.Param(err, "to")
	}
	return c.JSON(http.StatusOK, callControlResponse{Call: deviceCall(ts, u)})
}

// maxSessionID bounds the other call's id of a bridge; longer ids are no
// session's.
const maxSessionID = 64

// bridgeRequest is the body of POST /widget/calls/{id}/bridge: with is the
// telephonySessionId of the device's other call.
type bridgeRequest struct {
	DeviceID string `json:"deviceId"`
	With     string `json:"with"`
}

// bridgeCalls answers POST /widget/calls/{id}/bridge {deviceId, with}: the
// completion of a warm transfer. The device carries a party in both calls
// (the first held for the consultation); their remote parties are
// connected and the device's parties leave both (telephony.Switch.Bridge).
// The answer has the device's call in the path's session, absent once its
// party left.
func (s *Server) bridgeCalls(c echo.Context) error {
	var req bridgeRequest
	if err := params.JSON(c, &req); err != nil {
		return err
	}
	u, id := userOf(c), c.Param("id")
	switch {
	case req.With == "" || len(req.With) > maxSessionID:
		return httperror.InvalidParam("with", "the telephonySessionId of the other call is required")
	case req.With == id:
		return httperror.InvalidParam("with", "a call cannot be bridged with itself")
	}
	first, err := s.ownCall(u, id)
	if err != nil {
		return err
	}
	second, err := s.ownCall(u, req.With)
	if err != nil {
		return err
	}
	p, err := deviceParty(first, u)
	if err != nil {
		return err
	}
	q, err := deviceParty(second, u)
	if err != nil {
		return err
	}
	ts, err := s.Switch.Bridge(c.Request().Context(), u.Extension.ID, id, p.ID, req.With, q.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, callControlResponse{Call: deviceCall(ts, u)})
}

// maxMoveTargets bounds the devices a move names.
const maxMoveTargets = 32

// moveRequest is the body of POST /widget/calls/{id}/move: the devices of
// the user to offer the call to; none: all its other devices.
type moveRequest struct {
	DeviceID string   `json:"deviceId"`
	To       []string `json:"to"`
}

var errNoOtherDevice = &httperror.Error{Status: http.StatusConflict, Code: "TargetUnreachable",
	Message: "no other phone of yours is signed in to take the call: open the widget there first"}

// moveCall answers POST /widget/calls/{id}/move {deviceId, to?}: the call
// the device carries rings on the user's other devices (to, or all of
// them); answering it on one moves it there (telephony.Switch.Move). The
// call stays on this device meanwhile: the answer has it.
func (s *Server) moveCall(c echo.Context) error {
	var req moveRequest
	if err := params.JSON(c, &req); err != nil {
		return err
	}
	u, id := userOf(c), c.Param("id")
	ts, err := s.ownCall(u, id)
	if err != nil {
		return err
	}
	p, err := deviceParty(ts, u)
	if err != nil {
		return err
	}
	targets, err := s.moveTargets(u, req.To)
	if err != nil {
		return err
	}
	if err := s.Switch.Move(c.Request().Context(), u.Extension.ID, id, p.ID, targets); err != nil {
		return err
	}
	if after, ok := s.Switch.Session(id); ok {
		ts = after
	}
	return c.JSON(http.StatusOK, callControlResponse{Call: deviceCall(ts, u)})
}

// moveTargets checks the devices a move names: registered devices of the
// user other than the asking one, each once. None means all the others,
// of which there must be one.
func (s *Server) moveTargets(u widgetUser, to []string) ([]string, error) {
	if len(to) > maxMoveTargets {
		return nil, httperror.InvalidParam("to", fmt.Sprintf("at most %d devices", maxMoveTargets))
	}
	registered := s.Switch.Devices(u.Extension.ID)
	if len(to) == 0 {
		if !slices.ContainsFunc(registered, func(d string) bool { return d != u.Device }) {
			return nil, errNoOtherDevice
		}
		return nil, nil
	}
	var targets []string
	for _, d := range to {
		switch {
		case d == u.Device:
			return nil, httperror.InvalidParam("to", "the call is on this device already")
		case !deviceIDPattern.MatchString(d) || !slices.Contains(registered, d):
			return nil, httperror.InvalidParam("to", "not a signed-in phone of yours")
		case !slices.Contains(targets, d):
			targets = append(targets, d)
		}
	}
	return targets, nil
}

// offerRequest is the body of POST /widget/calls/{id}/pickup and
// …/rejoin: the device's new SDP offer for a call it is connected to.
type offerRequest struct {
	DeviceID string `json:"deviceId"`
	SDP      string `json:"sdp"`
}

// pickupCall answers POST /widget/calls/{id}/pickup {deviceId, sdp}: the
// user's connected call that another of its devices carries moves to this
// one at once ("Move here"; telephony.Switch.Pickup). It answers {call,
// sdp} as an answer does.
func (s *Server) pickupCall(c echo.Context) error {
	return s.offerCall(c, s.Switch.Pickup)
}

// rejoinCall answers POST /widget/calls/{id}/rejoin {deviceId, sdp}: the
// call's audio moved to another node's gateway (cb-call-rejoin), and this
// device connects to it again with a new offer. It answers {call, sdp}.
func (s *Server) rejoinCall(c echo.Context) error {
	return s.offerCall(c, s.Switch.Rejoin)
}

// offerCall has connect take the device's offer for one of its user's
// calls, and answers {call, sdp}.
func (s *Server) offerCall(c echo.Context, connect func(ctx context.Context, device, sessionID, offerSDP string) (telephony.Session, string, error)) error {
	var req offerRequest
	if err := params.JSON(c, &req); err != nil {
		return err
	}
	if err := checkOffer(req.SDP); err != nil {
		return err
	}
	u, id := userOf(c), c.Param("id")
	if _, err := s.ownCall(u, id); err != nil {
		return err
	}
	ts, answer, err := connect(c.Request().Context(), u.Device, id, req.SDP)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, callControlResponse{Call: deviceCall(ts, u), SDP: answer})
}
