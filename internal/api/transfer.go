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
// (docs/api-calls.md "Transfer, forward and ignore"). The switch acts for a
// device; the API acts for a party, so each handler finds the device the
// party's call is on: the device carrying an answered party, one device a
// ringing party rings (forward leaves all of them), or the device named in
// the body (ignore).

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
		if p.Device == "" || (p.Status != telephony.StatusAnswered && p.Status != telephony.StatusHold) {
			return "", fmt.Errorf("transfer party %s: %s: %w", p.ID, p.Status, telephony.ErrInvalidState)
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
