package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/oauth"
	"github.com/callbridge/widget-server/internal/telephony"
)

// telephonyAPIRoutes mounts /ring-out and /telephony/sessions (docs/api-calls.md).
func (s *Server) telephonyAPIRoutes(g *echo.Group, mw []echo.MiddlewareFunc) {
	const ringOut = "/account/:accountId/extension/:extensionId/ring-out"
	g.POST(ringOut, s.apiRingOut, mw...)
	g.GET(ringOut+"/:ringoutId", s.apiGetRingOut, mw...)
	g.DELETE(ringOut+"/:ringoutId", s.apiCancelRingOut, mw...)
	const session = "/account/:accountId/telephony/sessions/:telephonySessionId"
	g.GET(session, s.apiTelephonySession, mw...)
	g.GET(session+"/parties/:partyId", s.apiParty, mw...)
	g.PATCH(session+"/parties/:partyId", s.apiUpdateParty, mw...)
	for _, a := range telephony.PartyActions {
		g.POST(session+"/parties/:partyId/"+string(a), s.apiPartyAction(a), mw...)
	}
}

// widgetRingOutRoutes mounts the widget's /widget/ringout endpoints: the
// widget's RingOut calling mode places and cancels RingOuts of the signed-in
// extension with them.
func (s *Server) widgetRingOutRoutes(e *echo.Echo) {
	g := e.Group("/widget/ringout", s.sameOrigin)
	g.POST("", s.widgetRingOut)
	g.DELETE("/:id", s.widgetCancelRingOut)
}

// errCallingOff answers call requests on a server without a switch.
var errCallingOff = &Error{Status: http.StatusNotImplemented, Code: "CallingOff", Message: "calling is off on this server"}

// ringOutIDPattern is the shape of RingOut ids; others are not found.
var ringOutIDPattern = regexp.MustCompile(`^[0-9]{1,24}$`)

// maxNumberLength bounds a phone number in a request; Normalize reads no more.
const maxNumberLength = 64

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
	if err := bindAPIJSON(c, &req); err != nil {
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
		return ringOutError(err)
	}
	return c.JSON(http.StatusOK, s.ringOutBody(acct.ID, ro))
}

// numberObjectError says what from, to and callerId must be when the body
// gives something else (the decoder would name a Go type).
func numberObjectError(err error) error {
	var e *Error
	if errors.As(err, &e) && e.Code == "InvalidParameter" && slices.Contains([]string{"from", "to", "callerId"}, e.Param) &&
		strings.Contains(e.Message, "must be a") {
		return invalidParam(e.Param, `must be an object {"phoneNumber": "…"}`)
	}
	return err
}

// requiredNumber checks a number of a request: present and dialable.
func requiredNumber(n *apiPhoneNumber, param, region string) (string, error) {
	if n == nil || strings.TrimSpace(n.PhoneNumber) == "" {
		return "", invalidParam(param, "a phone or extension number is required")
	}
	if len(n.PhoneNumber) > maxNumberLength {
		return "", invalidParam(param, "too long for a phone number")
	}
	if _, err := telephony.Normalize(n.PhoneNumber, region); err != nil {
		return "", invalidParam(param, "not a phone or extension number")
	}
	return n.PhoneNumber, nil
}

// ownNumber checks a caller id: one of the extension's direct numbers or
// the account's main number.
func ownNumber(v string, acct identity.Account, ext identity.Extension) (string, error) {
	const param = "callerId.phoneNumber"
	if len(v) > maxNumberLength {
		return "", invalidParam(param, "too long for a phone number")
	}
	n, err := telephony.Normalize(v, acct.CountryCode)
	if err != nil {
		return "", invalidParam(param, "not a phone number")
	}
	if n != acct.MainNumber && !slices.Contains(ext.DirectNumbers, n) {
		return "", invalidParam(param, "must be the account's main number or a direct number of the extension")
	}
	return n, nil
}

// ringOutError maps the switch's refusals of a RingOut.
func ringOutError(err error) error {
	switch {
	case errors.Is(err, telephony.ErrForeignNumber):
		return &Error{Status: http.StatusBadRequest, Code: "InvalidParameter", Param: "from.phoneNumber", Err: err,
			Message: "Parameter [from.phoneNumber] value is invalid: another extension's number; use a number of your own or one outside the account"}
	case errors.Is(err, telephony.ErrBadNumber):
		return &Error{Status: http.StatusBadRequest, Code: "InvalidNumber", Message: "a number of the request cannot be dialled", Err: err}
	case errors.Is(err, telephony.ErrClosed):
		return &Error{Status: http.StatusServiceUnavailable, Code: "ShuttingDown", Message: "the server is shutting down; try again shortly", Err: err}
	}
	return err
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
	if ringOutIDPattern.MatchString(id) {
		ro, ok = s.Switch.FindRingOut(ext.ID, id)
	}
	if !ok {
		return identity.Account{}, telephony.RingOut{}, errNoSuchRingOut
	}
	return acct, ro, nil
}

var errNoSuchRingOut = &Error{Status: http.StatusNotFound, Code: "NotFound",
	Message: "no such RingOut: unknown, of another extension, or ended more than 10 minutes ago"}

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
		return cancelError(err)
	}
	return c.NoContent(http.StatusNoContent)
}

// cancelError maps the switch's refusals of a cancel.
func cancelError(err error) error {
	switch {
	case errors.Is(err, telephony.ErrNoSuchCall):
		return errNoSuchRingOut
	case errors.Is(err, telephony.ErrInvalidState):
		return &Error{Status: http.StatusConflict, Code: "RingOutNotInProgress", Err: err,
			Message: "the RingOut is no longer in progress: end its call through its telephony session's parties"}
	}
	return err
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

// visibleSession finds the path's active session if the caller may see it:
// it has a party in it, or it is an administrator of an account one of whose
// extensions has. Others are not found, whether or not it exists.
func (s *Server) visibleSession(c echo.Context) (identity.Account, telephony.Session, error) {
	acct, err := apiAccount(c)
	if err != nil {
		return identity.Account{}, telephony.Session{}, err
	}
	if s.Switch == nil {
		return identity.Account{}, telephony.Session{}, errCallingOff
	}
	ts, ok := s.Switch.Session(c.Param("telephonySessionId"))
	if !ok {
		return identity.Account{}, telephony.Session{}, errNoSuchSession
	}
	who := caller(c)
	for _, p := range ts.Parties {
		if p.Owner == who.Extension.ID {
			return acct, ts, nil
		}
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

var errNoSuchSession = &Error{Status: http.StatusNotFound, Code: "NotFound",
	Message: "no such telephony session: unknown, ended, or not a call of yours"}

// sameAccount reports whether an extension belongs to the account.
func (s *Server) sameAccount(ctx context.Context, extensionID, accountID int64) (bool, error) {
	a, _, err := s.Directory.ExtensionWithAccount(ctx, extensionID)
	if errors.Is(err, identity.ErrNotFound) {
		return false, nil
	}
	return err == nil && a.ID == accountID, err
}

func (s *Server) sessionBody(accountID int64, ts telephony.Session) apiTelephonySession {
	v := bridge.NewTelephonySession(ts, 0, time.Time{})
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
	return c.JSON(http.StatusOK, s.sessionBody(acct.ID, ts))
}

// partyOf returns the path's party of a session, in the API's shape.
func partyOf(ts telephony.Session, id string) (bridge.SessionParty, bool) {
	for _, p := range bridge.NewTelephonySession(ts, 0, time.Time{}).Parties {
		if p.ID == id {
			return p, true
		}
	}
	return bridge.SessionParty{}, false
}

var errNoSuchParty = &Error{Status: http.StatusNotFound, Code: "NotFound", Message: "no such party in this telephony session"}

// apiParty answers GET …/telephony/sessions/{id}/parties/{partyId}.
func (s *Server) apiParty(c echo.Context) error {
	_, ts, err := s.visibleSession(c)
	if err != nil {
		return err
	}
	p, ok := partyOf(ts, c.Param("partyId"))
	if !ok {
		return errNoSuchParty
	}
	return c.JSON(http.StatusOK, p)
}

// partyUpdate is the body of PATCH …/parties/{partyId}.
type partyUpdate struct {
	Muted *bool `json:"muted"`
}

// apiUpdateParty answers PATCH …/parties/{partyId} {muted}: mute or unmute.
func (s *Server) apiUpdateParty(c echo.Context) error {
	var req partyUpdate
	if err := bindAPIJSON(c, &req); err != nil {
		return err
	}
	if req.Muted == nil {
		return invalidParam("muted", "true or false is required")
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
	acct, ts, err := s.visibleSession(c)
	if err != nil {
		return err
	}
	id := c.Param("partyId")
	party, ok := ts.Party(id)
	if !ok {
		return errNoSuchParty
	}
	who := caller(c)
	switch {
	case party.Owner == 0:
		return &Error{Status: http.StatusForbidden, Code: "InsufficientPermissions",
			Message: "this party is a line outside the account; only parties of extensions can be controlled"}
	case party.Owner != who.Extension.ID:
		same, err := s.sameAccount(c.Request().Context(), party.Owner, acct.ID)
		if err != nil {
			return err
		}
		if !who.Extension.Admin() || !same {
			return &Error{Status: http.StatusForbidden, Code: "InsufficientPermissions",
				Message: "this party belongs to another extension; only its owner or an administrator may control it"}
		}
	}
	after, err := s.Switch.ControlParty(c.Request().Context(), party.Owner, ts.ID, id, action)
	if err != nil {
		return controlError(err)
	}
	p, _ := partyOf(after, id)
	return c.JSON(http.StatusOK, p)
}

// controlError maps the switch's refusals of a party action.
func controlError(err error) error {
	switch {
	case errors.Is(err, telephony.ErrNoSuchCall):
		return &Error{Status: http.StatusNotFound, Code: "NotFound", Message: "the call has ended", Err: err}
	case errors.Is(err, telephony.ErrNoSuchParty):
		return errNoSuchParty
	case errors.Is(err, telephony.ErrNotYourCall):
		return &Error{Status: http.StatusForbidden, Code: "InsufficientPermissions", Message: "not a party of this extension", Err: err}
	case errors.Is(err, telephony.ErrInvalidState):
		return &Error{Status: http.StatusConflict, Code: "InvalidState", Err: err,
			Message: "the party's state does not allow this: hold, unhold and mute need an answered party, reject a ringing one"}
	}
	return err
}

// widgetRingOutRequest is the body of POST /widget/ringout: from is the
// user's location (its own number rings its widgets), to the number to call.
type widgetRingOutRequest struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// widgetRingOutBody answers the widget: the RingOut's id and status.
type widgetRingOutBody struct {
	ID                 string           `json:"id"`
	TelephonySessionID string           `json:"telephonySessionId"`
	Status             apiRingOutStatus `json:"status"`
}

// widgetSignedIn returns the signed-in session of a widget request.
func (s *Server) widgetSignedIn(c echo.Context) (oauth.Session, error) {
	w := s.cookie(c.Request())
	if !w.live() || !w.signedIn() {
		return oauth.Session{}, &Error{Status: http.StatusUnauthorized, Code: "NotSignedIn", Message: "sign in to place calls"}
	}
	sess, err := s.Sessions.Get(c.Request().Context(), w.sid())
	if errors.Is(err, oauth.ErrSessionEnded) {
		return oauth.Session{}, &Error{Status: http.StatusUnauthorized, Code: "NotSignedIn", Message: "your session ended: sign in again"}
	}
	return sess, err
}

// widgetRingOut answers POST /widget/ringout.
func (s *Server) widgetRingOut(c echo.Context) error {
	var req widgetRingOutRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	sess, err := s.widgetSignedIn(c)
	if err != nil {
		return err
	}
	acct, _, err := s.Directory.ExtensionWithAccount(c.Request().Context(), sess.ExtensionID)
	if err != nil {
		return err
	}
	from, err := requiredNumber(&apiPhoneNumber{req.From}, "from", acct.CountryCode)
	if err != nil {
		return err
	}
	to, err := requiredNumber(&apiPhoneNumber{req.To}, "to", acct.CountryCode)
	if err != nil {
		return err
	}
	ro, err := s.Switch.RingOut(c.Request().Context(), sess.ExtensionID, from, to, "", false)
	if err != nil {
		if errors.Is(err, telephony.ErrForeignNumber) {
			return &Error{Status: http.StatusBadRequest, Code: "InvalidParameter", Param: "from", Err: err,
				Message: "Parameter [from] value is invalid: another extension's number; use your own number or one outside the account"}
		}
		return ringOutError(err)
	}
	b := s.ringOutBody(acct.ID, ro)
	return c.JSON(http.StatusOK, widgetRingOutBody{ID: ro.ID, TelephonySessionID: ro.TelephonySessionID, Status: b.Status})
}

// widgetCancelRingOut answers DELETE /widget/ringout/:id: 204, or 409 when
// the RingOut is no longer in progress.
func (s *Server) widgetCancelRingOut(c echo.Context) error {
	sess, err := s.widgetSignedIn(c)
	if err != nil {
		return err
	}
	id := c.Param("id")
	if !ringOutIDPattern.MatchString(id) {
		return errNoSuchRingOut
	}
	if _, err := s.Switch.CancelRingOut(c.Request().Context(), sess.ExtensionID, id); err != nil {
		return cancelError(err)
	}
	return c.NoContent(http.StatusNoContent)
}
