package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/params"
	"github.com/callbridge/widget-server/internal/phonenumber"
	"github.com/callbridge/widget-server/internal/telephony"
)

// telephonyAPIRoutes mounts /ring-out, /telephony/sessions and
// /telephony/conference (docs/api-calls.md).
func (s *Server) telephonyAPIRoutes(g *echo.Group, mw []echo.MiddlewareFunc) {
	const ringOut = "/account/:accountId/extension/:extensionId/ring-out"
	g.POST(ringOut, s.apiRingOut, mw...)
	g.GET(ringOut+"/:ringoutId", s.apiGetRingOut, mw...)
	g.DELETE(ringOut+"/:ringoutId", s.apiCancelRingOut, mw...)
	const session = "/account/:accountId/telephony/sessions/:telephonySessionId"
	g.GET(session, s.apiTelephonySession, mw...)
	g.DELETE(session, s.apiEndConference, mw...)
	g.GET(session+"/parties/:partyId", s.apiParty, mw...)
	g.PATCH(session+"/parties/:partyId", s.apiUpdateParty, mw...)
	g.DELETE(session+"/parties/:partyId", s.apiDeleteParty, mw...)
	g.POST(session+"/parties/bring-in", s.apiBringIn, mw...)
	g.POST("/account/:accountId/telephony/conference", s.apiStartConference, mw...)
	for _, a := range telephony.PartyActions {
		g.POST(session+"/parties/:partyId/"+string(a), s.apiPartyAction(a), mw...)
	}
	g.POST(session+"/parties/:partyId/transfer", s.apiTransferParty, mw...)
	g.POST(session+"/parties/:partyId/forward", s.apiForwardParty, mw...)
	g.POST(session+"/parties/:partyId/ignore", s.apiIgnoreParty, mw...)
	g.POST(session+"/parties/:partyId/bridge", s.apiBridgeParty, mw...)
	g.POST(session+"/parties/:partyId/pickup", s.apiPickupParty, mw...)
	g.POST(session+"/parties/:partyId/flip", s.apiFlipParty, mw...)
	g.POST(session+"/parties/:partyId/recordings", s.apiStartRecording, mw...)
	g.PATCH(session+"/parties/:partyId/recordings/:recordingId", s.apiUpdateRecording, mw...)
	g.DELETE(session+"/parties/:partyId/recordings/:recordingId", s.apiStopRecording, mw...)
}

// errCallingOff answers call requests on a server without a switch.
var errCallingOff = &httperror.Error{Status: http.StatusNotImplemented, Code: "CallingOff", Message: "calling is off on this server"}

// apiPhoneNumber is a number in a request or an answer: {phoneNumber}.
type apiPhoneNumber struct {
	PhoneNumber string `json:"phoneNumber"`
}

// ringOutRequest is the body of POST …/ring-out (seeds/001 "Making an
// Outbound Call").
type ringOutRequest struct {
	From       *apiPhoneNumber `json:"from"`
	To         *apiPhoneNumber `json:"to"`
	CallerID   *apiPhoneNumber `json:"callerId"`
	PlayPrompt *bool           `json:"playPrompt"`
}

// apiRingOut is the RingOut resource: seeds/001's uri, id and status, and,
// in addition, the session it made (to control its parties), its numbers
// and times.
type apiRingOut struct {
	URI                string           `json:"uri"`
	ID                 string           `json:"id"`
	Status             apiRingOutStatus `json:"status"`
	SessionID          string           `json:"sessionId"`
	TelephonySessionID string           `json:"telephonySessionId"`
	From               apiPhoneNumber   `json:"from"`
	To                 apiPhoneNumber   `json:"to"`
	PlayPrompt         bool             `json:"playPrompt"`
	CreationTime       string           `json:"creationTime"`
	EndTime            string           `json:"endTime,omitempty"`
}

// apiRingOutStatus is a RingOut's status: of the call, of the from leg
// (callerStatus) and of the to leg (calleeStatus).
type apiRingOutStatus struct {
	CallStatus   string `json:"callStatus"`
	CallerStatus string `json:"callerStatus"`
	CalleeStatus string `json:"calleeStatus"`
}

func (s *Server) ringOutBody(accountID int64, ro telephony.RingOut) apiRingOut {
	b := apiRingOut{
		URI: s.extensionURI(accountID, ro.Extension) + "/ring-out/" + ro.ID, ID: ro.ID,
		Status: apiRingOutStatus{CallStatus: string(ro.Status.Call), CallerStatus: string(ro.Status.Caller),
			CalleeStatus: string(ro.Status.Callee)},
		SessionID: ro.ID, TelephonySessionID: ro.TelephonySessionID,
		From: apiPhoneNumber{ro.From.PhoneNumber}, To: apiPhoneNumber{ro.To.PhoneNumber},
		PlayPrompt: ro.PlayPrompt, CreationTime: ro.Created.UTC().Format(apiTimeFormat),
	}
	if !ro.Ended.IsZero() {
		b.EndTime = ro.Ended.UTC().Format(apiTimeFormat)
	}
	return b
}

// apiRingOut answers POST …/extension/{extensionId}/ring-out: the switch
// rings from, then to (docs/api-calls.md "RingOut").
func (s *Server) apiRingOut(c echo.Context) error {
	acct, ext, err := s.apiTarget(c)
	if err != nil {
		return err
	}
	var req ringOutRequest
	if err := params.JSON(c, &req); err != nil {
		return numberObjectError(err)
	}
	if s.Switch == nil {
		return errCallingOff
	}
	from, err := requiredNumber(req.From, "from.phoneNumber", acct.CountryCode)
	if err != nil {
		return err
	}
	to, err := requiredNumber(req.To, "to.phoneNumber", acct.CountryCode)
	if err != nil {
		return err
	}
	callerID := ""
	if req.CallerID != nil {
		if callerID, err = ownNumber(req.CallerID.PhoneNumber, acct, ext); err != nil {
			return err
		}
	}
	ro, err := s.Switch.RingOut(c.Request().Context(), ext.ID, from, to, callerID, req.PlayPrompt != nil && *req.PlayPrompt)
	if err != nil {
		return httperror.Param(err, "from.phoneNumber")
	}
	return c.JSON(http.StatusOK, s.ringOutBody(acct.ID, ro))
}

// numberObjectError says what from, to and callerId must be when the body
// gives something else (the decoder would name a Go type).
func numberObjectError(err error) error {
	var e *httperror.Error
	if errors.As(err, &e) && e.Code == "InvalidParameter" && slices.Contains([]string{"from", "to", "callerId"}, e.Param) &&
		strings.Contains(e.Message, "must be a") {
		return httperror.InvalidParam(e.Param, `must be an object {"phoneNumber": "…"}`)
	}
	return err
}

// requiredNumber checks a number of a request: present and dialable.
func requiredNumber(n *apiPhoneNumber, param, region string) (string, error) {
	if n == nil {
		return params.PhoneNumber("", param, region)
	}
	return params.PhoneNumber(n.PhoneNumber, param, region)
}

// ownNumber checks a caller id: one of the extension's direct numbers or
// the account's main number.
func ownNumber(v string, acct identity.Account, ext identity.Extension) (string, error) {
	const param = "callerId.phoneNumber"
	if len(v) > params.MaxNumberLength {
		return "", httperror.InvalidParam(param, "too long for a phone number")
	}
	n, err := phonenumber.Normalize(v, acct.CountryCode)
	if err != nil {
		return "", httperror.InvalidParam(param, "not a phone number")
	}
	if n != acct.MainNumber && !slices.Contains(ext.DirectNumbers, n) {
		return "", httperror.InvalidParam(param, "must be the account's main number or a direct number of the extension")
	}
	return n, nil
}

// ringOutOf finds the path's RingOut of the path's extension.
func (s *Server) ringOutOf(c echo.Context) (identity.Account, telephony.RingOut, error) {
	acct, ext, err := s.apiTarget(c)
	if err != nil {
		return identity.Account{}, telephony.RingOut{}, err
	}
	if s.Switch == nil {
		return identity.Account{}, telephony.RingOut{}, errCallingOff
	}
	id := c.Param("ringoutId")
	ro, ok := telephony.RingOut{}, false
	if params.Digits(id, maxRingOutID) {
		ro, ok = s.Switch.FindRingOut(ext.ID, id)
	}
	if !ok {
		return identity.Account{}, telephony.RingOut{}, httperror.NoSuchRingOut
	}
	return acct, ro, nil
}

// maxRingOutID bounds the digits of a RingOut id; others are not found.
const maxRingOutID = 24

// apiGetRingOut answers GET …/ring-out/{ringoutId}: the RingOut's status,
// for clients that poll it (seeds/001 "Polling Outbound Call Status").
func (s *Server) apiGetRingOut(c echo.Context) error {
	acct, ro, err := s.ringOutOf(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.ringOutBody(acct.ID, ro))
}

// apiCancelRingOut answers DELETE …/ring-out/{ringoutId}: a RingOut still
// in progress ends (seeds/001 "Outbound Call Control"); 204.
func (s *Server) apiCancelRingOut(c echo.Context) error {
	_, ro, err := s.ringOutOf(c)
	if err != nil {
		return err
	}
	if _, err := s.Switch.CancelRingOut(c.Request().Context(), ro.Extension, ro.ID); err != nil {
		return httperror.RingOutCancel(err)
	}
	return c.NoContent(http.StatusNoContent)
}

// apiTelephonySession is the telephony session resource: the call-control
// view of a call (CONTRACT §5 telephonySession, without the event fields).
type apiTelephonySession struct {
	URI          string                `json:"uri"`
	ID           string                `json:"id"`
	SessionID    string                `json:"sessionId"`
	CreationTime string                `json:"creationTime"`
	Origin       bridge.SessionOrigin  `json:"origin"`
	Parties      []bridge.SessionParty `json:"parties"`
}

// sessionURI is the canonical URI of a telephony session.
func (s *Server) sessionURI(accountID int64, id string) string {
	return s.accountURI(accountID) + "/telephony/sessions/" + url.PathEscape(id)
}

// visibleSession finds the path's active session if the caller may see it
// (sessionVisible).
func (s *Server) visibleSession(c echo.Context) (identity.Account, telephony.Session, error) {
	return s.sessionVisible(c, c.Param("telephonySessionId"))
}

// sessionVisible finds an active session if the caller may see it: it has
// a party in it, or hosts the conference the session is in, or it is an
// administrator of an account one of whose extensions has a party in it.
// Others are not found, whether or not it exists.
func (s *Server) sessionVisible(c echo.Context, id string) (identity.Account, telephony.Session, error) {
	acct, err := apiAccount(c)
	if err != nil {
		return identity.Account{}, telephony.Session{}, err
	}
	if s.Switch == nil {
		return identity.Account{}, telephony.Session{}, errCallingOff
	}
	ts, ok := s.Switch.Session(id)
	if !ok {
		return identity.Account{}, telephony.Session{}, errNoSuchSession
	}
	who := caller(c)
	for _, p := range ts.Parties {
		if p.Owner == who.Extension.ID {
			return acct, ts, nil
		}
	}
	if cf, ok := s.Switch.ConferenceOf(who.Extension.ID, ts.ID); ok && cf.Host == who.Extension.ID {
		return acct, ts, nil
	}
	if who.Extension.Admin() {
		for _, p := range ts.Parties {
			if p.Owner == 0 {
				continue
			}
			if same, err := s.sameAccount(c.Request().Context(), p.Owner, acct.ID); err != nil || same {
				return acct, ts, err
			}
		}
	}
	return identity.Account{}, telephony.Session{}, errNoSuchSession
}

var errNoSuchSession = &httperror.Error{Status: http.StatusNotFound, Code: "NotFound",
	Message: "no such telephony session: unknown, ended, or not a call of yours"}

// sameAccount reports whether an extension belongs to the account.
func (s *Server) sameAccount(ctx context.Context, extensionID, accountID int64) (bool, error) {
	a, _, err := s.Directory.ExtensionWithAccount(ctx, extensionID)
	if errors.Is(err, identity.ErrNotFound) {
		return false, nil
	}
	return err == nil && a.ID == accountID, err
}

// sessionBody is the session resource of ts, with every party of the
// conference it is in.
func (s *Server) sessionBody(accountID int64, ts telephony.Session) apiTelephonySession {
	return s.sessionBodyWith(accountID, ts, s.conferenceOf(0, ts))
}

// sessionBodyWith is the session resource of ts, in conference cf (nil:
// none).
func (s *Server) sessionBodyWith(accountID int64, ts telephony.Session, cf *telephony.Conference) apiTelephonySession {
	v := bridge.NewTelephonySession(ts, cf, 0, time.Time{})
	return apiTelephonySession{
		URI: s.sessionURI(accountID, ts.ID), ID: v.ID, SessionID: v.SessionID,
		CreationTime: ts.Created.UTC().Format(apiTimeFormat), Origin: v.Origin, Parties: v.Parties,
	}
}

// apiTelephonySession answers GET …/telephony/sessions/{telephonySessionId}.
func (s *Server) apiTelephonySession(c echo.Context) error {
	acct, ts, err := s.visibleSession(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.sessionBodyWith(acct.ID, ts, s.conferenceOf(caller(c).Extension.ID, ts)))
}

// partyOf returns the path's party of a session, in the API's shape: one
// of the session's own, not of its conference's other calls.
func partyOf(ts telephony.Session, id string) (bridge.SessionParty, bool) {
	for _, p := range bridge.NewTelephonySession(ts, nil, 0, time.Time{}).Parties {
		if p.ID == id {
			return p, true
		}
	}
	return bridge.SessionParty{}, false
}

// apiParty answers GET …/telephony/sessions/{id}/parties/{partyId}: any
// party the session lists, those of its conference's other calls too.
func (s *Server) apiParty(c echo.Context) error {
	acct, ts, err := s.visibleSession(c)
	if err != nil {
		return err
	}
	p, ok := listedParty(s.sessionBodyWith(acct.ID, ts, s.conferenceOf(caller(c).Extension.ID, ts)), c.Param("partyId"))
	if !ok {
		return telephony.ErrNoSuchParty
	}
	return c.JSON(http.StatusOK, p)
}

// listedParty finds a party in a session resource.
func listedParty(body apiTelephonySession, id string) (bridge.SessionParty, bool) {
	for _, p := range body.Parties {
		if p.ID == id {
			return p, true
		}
	}
	return bridge.SessionParty{}, false
}

// partyUpdate is the body of PATCH …/parties/{partyId}.
type partyUpdate struct {
	Muted *bool `json:"muted"`
}

// apiUpdateParty answers PATCH …/parties/{partyId} {muted}: mute or
// unmute. On a participant of a conference the caller hosts, the host
// mutes them for the others (muteParticipant).
func (s *Server) apiUpdateParty(c echo.Context) error {
	var req partyUpdate
	if err := params.JSON(c, &req); err != nil {
		return err
	}
	if req.Muted == nil {
		return httperror.InvalidParam("muted", "true or false is required")
	}
	if done, err := s.muteParticipant(c, *req.Muted); done || err != nil {
		return err
	}
	action := telephony.ActionUnmute
	if *req.Muted {
		action = telephony.ActionMute
	}
	return s.controlParty(c, action)
}

// apiPartyAction answers POST …/parties/{partyId}/{action}.
func (s *Server) apiPartyAction(action telephony.PartyAction) echo.HandlerFunc {
	return func(c echo.Context) error { return s.controlParty(c, action) }
}

// controlParty carries out an action on the path's party for its owner: the
// caller, or an administrator of the owner's account. It answers the party
// after the action.
func (s *Server) controlParty(c echo.Context, action telephony.PartyAction) error {
	_, ts, party, err := s.controlledParty(c)
	if err != nil {
		return err
	}
	after, err := s.Switch.ControlParty(c.Request().Context(), party.Owner, ts.ID, party.ID, action)
	if err != nil {
		return err
	}
	p, _ := partyOf(after, party.ID)
	return c.JSON(http.StatusOK, p)
}

// controlledParty finds the path's party if the caller may control it
// (mayControl). Sessions the caller may not see are not found
// (visibleSession).
func (s *Server) controlledParty(c echo.Context) (identity.Account, telephony.Session, telephony.Party, error) {
	acct, ts, err := s.visibleSession(c)
	if err != nil {
		return identity.Account{}, telephony.Session{}, telephony.Party{}, err
	}
	party, ok := ts.Party(c.Param("partyId"))
	if !ok {
		return identity.Account{}, telephony.Session{}, telephony.Party{}, telephony.ErrNoSuchParty
	}
	if err := s.mayControl(c, acct, party); err != nil {
		return identity.Account{}, telephony.Session{}, telephony.Party{}, err
	}
	return acct, ts, party, nil
}

// mayControl checks that the caller may control a party: it is the
// caller's, or the caller administers the account of its extension.
// Parties of other extensions, test lines and outside numbers are
// forbidden.
func (s *Server) mayControl(c echo.Context, acct identity.Account, party telephony.Party) error {
	who := caller(c)
	switch {
	case party.Owner == 0:
		return &httperror.Error{Status: http.StatusForbidden, Code: "InsufficientPermissions",
			Message: "this party is a line outside the account; only parties of extensions can be controlled"}
	case party.Owner != who.Extension.ID:
		same, err := s.sameAccount(c.Request().Context(), party.Owner, acct.ID)
		if err != nil {
			return err
		}
		if !who.Extension.Admin() || !same {
			return &httperror.Error{Status: http.StatusForbidden, Code: "InsufficientPermissions",
				Message: "this party belongs to another extension; only its owner or an administrator may control it"}
		}
	}
	return nil
}
