package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/params"
	"github.com/callbridge/widget-server/internal/phonenumber"
	"github.com/callbridge/widget-server/internal/telephony"
)

// Call control that hands a call on: transfer, forward and ignore
// (docs/api-calls.md "Transfer, forward and ignore"), the completion of a
// warm transfer (bridge), and moving a call to another device of its
// extension (pickup, flip; docs/api-calls.md "Warm transfer and moving a
// call"). The switch acts for a device; the API acts for a party, so each
// handler finds the device the party's call is on: the device carrying an
// answered party, one device a ringing party rings (forward leaves all of
// them), or the device named in the body (ignore). Bridge and the moves act
// for the party's owner.

// transferTarget is the body of POST …/transfer and …/forward: exactly one
// of phoneNumber and extensionNumber.
type transferTarget struct {
	PhoneNumber     *string `json:"phoneNumber"`
	ExtensionNumber *string `json:"extensionNumber"`
}

// number checks the body and returns the number to dial and the field it
// came from.
func (t transferTarget) number(region string) (to, param string, err error) {
	switch {
	case t.PhoneNumber != nil && t.ExtensionNumber != nil:
		return "", "", httperror.InvalidParam("extensionNumber", "give phoneNumber or extensionNumber, not both")
	case t.ExtensionNumber != nil:
		if !phonenumber.IsExtension(*t.ExtensionNumber) {
			return "", "", httperror.InvalidParam("extensionNumber", "an extension number is 2 to 8 digits")
		}
		return *t.ExtensionNumber, "extensionNumber", nil
	case t.PhoneNumber != nil:
		to, err := params.PhoneNumber(*t.PhoneNumber, "phoneNumber", region)
		return to, "phoneNumber", err
	}
	return "", "", httperror.InvalidParam("phoneNumber", "phoneNumber or extensionNumber is required")
}

// connected checks that party p is connected: answered or held, on a device.
func connected(p telephony.Party, action string) error {
	if p.Device == "" || (p.Status != telephony.StatusAnswered && p.Status != telephony.StatusHold) {
		return fmt.Errorf("%s party %s: %s: %w", action, p.ID, p.Status, telephony.ErrInvalidState)
	}
	return nil
}

// handOn reads the body of a transfer or forward, checks the path's party,
// and lets do hand its call to the number on the party's device. It
// answers the session after: the party that handed the call on has left it.
func (s *Server) handOn(c echo.Context, device func(telephony.Party) (string, error),
	do func(device, sessionID, to string) (telephony.Session, error)) error {
	var req transferTarget
	if err := params.JSON(c, &req); err != nil {
		return err
	}
	acct, ts, party, err := s.controlledParty(c)
	if err != nil {
		return err
	}
	to, param, err := req.number(acct.CountryCode)
	if err != nil {
		return err
	}
	dev, err := device(party)
	if err != nil {
		return err
	}
	after, err := do(dev, ts.ID, to)
	if errors.Is(err, telephony.ErrBadNumber) {
		return withCause(httperror.InvalidParam(param, "not a number that can be dialled"), err)
	}
	if err != nil {
		return httperror.Param(err, param)
	}
	return c.JSON(http.StatusOK, s.sessionBody(acct.ID, after))
}

func withCause(e *httperror.Error, err error) *httperror.Error {
	e.Err = err
	return e
}

// apiTransferParty answers POST …/parties/{partyId}/transfer: a blind
// transfer of the party's answered (or held) call.
func (s *Server) apiTransferParty(c echo.Context) error {
	return s.handOn(c, func(p telephony.Party) (string, error) {
		if err := connected(p, "transfer"); err != nil {
			return "", err
		}
		return p.Device, nil
	}, func(device, sessionID, to string) (telephony.Session, error) {
		return s.Switch.Transfer(c.Request().Context(), device, sessionID, to)
	})
}

// apiForwardParty answers POST …/parties/{partyId}/forward: the ringing
// party hands the call on before it is answered.
func (s *Server) apiForwardParty(c echo.Context) error {
	return s.handOn(c, ringingDevice, func(device, sessionID, to string) (telephony.Session, error) {
		return s.Switch.Forward(c.Request().Context(), device, sessionID, to)
	})
}

// ringingDevice is one device that rings for party p.
func ringingDevice(p telephony.Party) (string, error) {
	if p.Status != telephony.StatusProceeding || len(p.Ringing) == 0 {
		return "", fmt.Errorf("party %s: %s, not ringing: %w", p.ID, p.Status, telephony.ErrInvalidState)
	}
	return p.Ringing[0], nil
}

// ignoreRequest is the body of POST …/ignore: the device that stops ringing.
type ignoreRequest struct {
	DeviceID *string `json:"deviceId"`
}

// apiIgnoreParty answers POST …/parties/{partyId}/ignore {deviceId}: the
// device stops ringing for the party, its other devices ring on. It
// answers the party after.
func (s *Server) apiIgnoreParty(c echo.Context) error {
	var req ignoreRequest
	if err := params.JSON(c, &req); err != nil {
		return err
	}
	_, ts, party, err := s.controlledParty(c)
	if err != nil {
		return err
	}
	if req.DeviceID == nil || *req.DeviceID == "" {
		return httperror.InvalidParam("deviceId", "the device that is to stop ringing is required")
	}
	if _, err := ringingDevice(party); err != nil {
		return err
	}
	if !slices.Contains(party.Ringing, *req.DeviceID) {
		return httperror.InvalidParam("deviceId", "not a device this party rings on")
	}
	if err := s.Switch.Ignore(c.Request().Context(), *req.DeviceID, ts.ID); err != nil {
		return err
	}
	after, ok := s.Switch.Session(ts.ID)
	if !ok { // ended since: answer the party as the device stopped ringing
		after = ts
	}
	p, ok := partyOf(after, party.ID)
	if !ok {
		p, _ = partyOf(ts, party.ID)
	}
	return c.JSON(http.StatusOK, p)
}

// bridgeRequest is the body of POST …/bridge: the caller's party in its
// other call.
type bridgeRequest struct {
	TelephonySessionID *string `json:"telephonySessionId"`
	PartyID            *string `json:"partyId"`
}

var errBridgeOthers = &httperror.Error{Status: http.StatusForbidden, Code: "InsufficientPermissions",
	Message: "a warm transfer joins two calls of your own extension: both parties must be yours"}

// apiBridgeParty answers POST …/parties/{partyId}/bridge {telephonySessionId,
// partyId}: the completion of a warm transfer. The path's party and the
// body's, both the caller's own and connected, leave their calls; their
// remote parties are connected in the path's session, which it answers.
func (s *Server) apiBridgeParty(c echo.Context) error {
	var req bridgeRequest
	if err := params.JSON(c, &req); err != nil {
		return err
	}
	acct, ts, party, err := s.controlledParty(c)
	if err != nil {
		return err
	}
	who := caller(c).Extension.ID
	switch {
	case party.Owner != who:
		return errBridgeOthers
	case req.TelephonySessionID == nil || *req.TelephonySessionID == "":
		return httperror.InvalidParam("telephonySessionId", "the session of your other call is required")
	case req.PartyID == nil || *req.PartyID == "":
		return httperror.InvalidParam("partyId", "your party in the other call is required")
	case *req.TelephonySessionID == ts.ID:
		return httperror.InvalidParam("telephonySessionId", "another session than the path's: a call cannot be bridged with itself")
	}
	other, ok := s.Switch.Session(*req.TelephonySessionID)
	if !ok || !slices.ContainsFunc(other.Parties, func(p telephony.Party) bool { return p.Owner == who }) {
		e := *errNoSuchSession
		e.Param = "telephonySessionId"
		return &e
	}
	otherParty, ok := other.Party(*req.PartyID)
	switch {
	case !ok:
		return &httperror.Error{Status: http.StatusNotFound, Code: "NotFound", Param: "partyId", Message: "no such party in the other telephony session"}
	case otherParty.Owner != who:
		e := *errBridgeOthers
		e.Param = "partyId"
		return &e
	}
	if err := connected(party, "bridge"); err != nil {
		return err
	}
	if err := connected(otherParty, "bridge"); err != nil {
		return err
	}
	after, err := s.Switch.Bridge(c.Request().Context(), who, ts.ID, party.ID, other.ID, otherParty.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.sessionBody(acct.ID, after))
}

// moveRequest is the body of POST …/pickup (deviceId required) and …/flip
// (deviceId optional, the body too).
type moveRequest struct {
	DeviceID *string `json:"deviceId"`
}

var errNoOtherDevice = &httperror.Error{Status: http.StatusConflict, Code: "TargetUnreachable",
	Message: "the party's extension has no other signed-in device to move the call to"}

// apiPickupParty answers POST …/parties/{partyId}/pickup {deviceId}: the
// device, another signed-in device of the party's extension, rings the
// party's connected call; answering there moves the call to it.
func (s *Server) apiPickupParty(c echo.Context) error { return s.moveParty(c, true) }

// apiFlipParty answers POST …/parties/{partyId}/flip {deviceId?}: as pickup,
// or without a device every other signed-in device of the party's
// extension rings the call.
func (s *Server) apiFlipParty(c echo.Context) error { return s.moveParty(c, false) }

// moveParty offers the path's connected party to the device of the body,
// or (unless needDevice) to all its extension's other devices
// (telephony.Switch.Move). It answers the party, still on its device until
// the call is answered on another.
func (s *Server) moveParty(c echo.Context, needDevice bool) error {
	var req moveRequest
	if needDevice || c.Request().ContentLength != 0 {
		if err := params.JSON(c, &req); err != nil {
			return err
		}
	}
	_, ts, party, err := s.controlledParty(c)
	if err != nil {
		return err
	}
	if needDevice && (req.DeviceID == nil || *req.DeviceID == "") {
		return httperror.InvalidParam("deviceId", "the device to move the call to is required")
	}
	if err := connected(party, "move"); err != nil {
		return err
	}
	others := slices.DeleteFunc(s.Switch.Devices(party.Owner), func(d string) bool { return d == party.Device })
	var devices []string
	switch {
	case req.DeviceID != nil && *req.DeviceID == party.Device:
		return httperror.InvalidParam("deviceId", "the call is on this device already")
	case req.DeviceID != nil && *req.DeviceID != "":
		if !slices.Contains(others, *req.DeviceID) {
			return httperror.InvalidParam("deviceId", "not a signed-in device of the party's extension")
		}
		devices = []string{*req.DeviceID}
	case len(others) == 0:
		return errNoOtherDevice
	}
	if err := s.Switch.Move(c.Request().Context(), party.Owner, ts.ID, party.ID, devices); err != nil {
		return err
	}
	after, ok := s.Switch.Session(ts.ID)
	if !ok {
		after = ts
	}
	p, ok := partyOf(after, party.ID)
	if !ok {
		p, _ = partyOf(ts, party.ID)
	}
	return c.JSON(http.StatusOK, p)
}
