package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/params"
	"github.com/callbridge/widget-server/internal/telephony"
)

// Conferences through the platform API (docs/api-calls.md "Conferences").
// The platform's POST …/telephony/conference makes an empty conference its
// host dials into; here a connected call of the host becomes the
// conference, and bring-in merges the host's other calls into it
// (telephony.Switch.StartConference, MergeParty). The host, or an
// administrator of the host's account acting for them, removes and mutes
// participants through the party routes, and ends the conference with
// DELETE of a session of it; everyone else acts on their own party only.

// conferenceRequest is the body of POST …/telephony/conference and of
// POST …/parties/bring-in: a party of the caller (or, for an
// administrator, of an extension of the account) and its call's
// telephonySessionId, spelt sessionId as in the platform's bring-in.
type conferenceRequest struct {
	SessionID *string `json:"sessionId"`
	PartyID   *string `json:"partyId"`
}

// check says which field is missing.
func (r conferenceRequest) check() error {
	switch {
	case r.SessionID == nil || *r.SessionID == "":
		return httperror.InvalidParam("sessionId", "the telephonySessionId of the call is required")
	case r.PartyID == nil || *r.PartyID == "":
		return httperror.InvalidParam("partyId", "the party of the call is required")
	}
	return nil
}

// apiConference is the conference resource: the host's call with every
// party of the conference, and the participants in the order they joined,
// the host first while present.
type apiConference struct {
	ID           string                     `json:"id"`
	State        string                     `json:"state"` // connected, held (the host holds), ended
	CreationTime string                     `json:"creationTime"`
	Host         bridge.PartyOwner          `json:"host"`
	HostPresent  bool                       `json:"hostPresent"`
	Session      apiTelephonySession        `json:"session"`
	Participants []apiConferenceParticipant `json:"participants"`
}

// apiConferenceParticipant is one party of a conference.
type apiConferenceParticipant struct {
	PartyID            string             `json:"partyId"`
	TelephonySessionID string             `json:"telephonySessionId"` // the party's call
	PhoneNumber        string             `json:"phoneNumber"`
	Name               string             `json:"name,omitempty"`
	ExtensionNumber    string             `json:"extensionNumber,omitempty"`
	Owner              *bridge.PartyOwner `json:"owner,omitempty"`
	Host               bool               `json:"host"`
	Status             bridge.PartyStatus `json:"status"`
	Muted              bool               `json:"muted"`       // by themselves or by the host
	MutedByHost        bool               `json:"mutedByHost"` // only the host unmutes
}

func (s *Server) conferenceBody(accountID int64, anchor telephony.Session, cf telephony.Conference) apiConference {
	b := apiConference{
		ID: cf.ID, State: string(cf.State), CreationTime: cf.Created.UTC().Format(apiTimeFormat),
		Host: bridge.PartyOwner{ExtensionID: strconv.FormatInt(cf.Host, 10)}, HostPresent: cf.HostPresent,
		Session: s.sessionBodyWith(accountID, anchor, &cf), Participants: []apiConferenceParticipant{},
	}
	for _, p := range cf.Participants {
		cp := apiConferenceParticipant{
			PartyID: p.PartyID, TelephonySessionID: p.SessionID, PhoneNumber: p.PhoneNumber, Name: p.Name,
			ExtensionNumber: p.ExtensionNumber, Host: p.Host, Status: bridge.PartyStatus{Code: string(p.Status)},
			Muted: p.Muted, MutedByHost: p.MutedByHost,
		}
		if p.ExtensionID != 0 {
			cp.Owner = &bridge.PartyOwner{ExtensionID: strconv.FormatInt(p.ExtensionID, 10)}
		}
		b.Participants = append(b.Participants, cp)
	}
	return b
}

// conferenceOf is the conference session ts is in, as the switch tells it
// to extension who or, failing that, to the extensions of the session's
// parties; nil when it is in none.
func (s *Server) conferenceOf(who int64, ts telephony.Session) *telephony.Conference {
	if s.Switch == nil {
		return nil
	}
	if who != 0 {
		if cf, ok := s.Switch.ConferenceOf(who, ts.ID); ok {
			return &cf
		}
	}
	for _, p := range ts.Parties {
		if p.Owner == 0 || p.Owner == who {
			continue
		}
		if cf, ok := s.Switch.ConferenceOf(p.Owner, ts.ID); ok {
			return &cf
		}
	}
	return nil
}

// hosts reports whether party p is the host's party of the conference.
func hosts(cf telephony.Conference, p telephony.Party) bool {
	h, ok := participant(&cf, p.ID)
	return ok && h.Host
}

// participant finds a party of the conference.
func participant(cf *telephony.Conference, partyID string) (telephony.Participant, bool) {
	for _, p := range cf.Participants {
		if p.PartyID == partyID {
			return p, true
		}
	}
	return telephony.Participant{}, false
}

// mayHost reports whether the caller may act as the conference's host: it
// is the host, or an administrator of the host's account.
func (s *Server) mayHost(c echo.Context, acct identity.Account, cf telephony.Conference) (bool, error) {
	who := caller(c).Extension
	if cf.Host == who.ID {
		return true, nil
	}
	if !who.Admin() {
		return false, nil
	}
	return s.sameAccount(c.Request().Context(), cf.Host, acct.ID)
}

var errNotHost = &httperror.Error{Status: http.StatusForbidden, Code: "InsufficientPermissions",
	Message: "only the conference's host, or an administrator of the host's account, may remove, mute or end for all; act on your own party to leave or mute yourself"}

var errNotConference = &httperror.Error{Status: http.StatusConflict, Code: "InvalidState",
	Message: "this call is not a conference: to leave a call, delete (or drop) your own party"}

// conferenceError words the switch's conference errors for the client;
// the others are the table's (internal/httperror).
func conferenceError(err error) error {
	switch {
	case errors.Is(err, telephony.ErrNoConferences):
		return &httperror.Error{Status: http.StatusNotImplemented, Code: "FeatureNotAvailable", Err: err,
			Message: "conferences are not available on this server: its media gateway cannot mix audio"}
	case errors.Is(err, telephony.ErrTooManyCalls):
		return &httperror.Error{Status: http.StatusConflict, Code: "ConferenceFull", Err: err,
			Message: fmt.Sprintf("the conference has %d participants besides its host, as many as it may have", telephony.MaxConferenceParticipants)}
	case errors.Is(err, telephony.ErrInvalidState):
		return &httperror.Error{Status: http.StatusConflict, Code: "InvalidState", Err: err,
			Message: "the calls' state does not allow this: a conference is made of connected calls (answered or held; not a RingOut, " +
				"nor a call being transferred, bridged, recorded or at voicemail), each in one conference at most, whose host is in it"}
	}
	return err
}

// bodyParty finds the body's party if the caller may see its session and
// control it (sessionVisible, mayControl); errors name the body's field.
func (s *Server) bodyParty(c echo.Context, req conferenceRequest) (identity.Account, telephony.Session, telephony.Party, error) {
	acct, ts, err := s.sessionVisible(c, *req.SessionID)
	if errors.Is(err, errNoSuchSession) {
		e := *errNoSuchSession
		e.Param = "sessionId"
		return identity.Account{}, telephony.Session{}, telephony.Party{}, &e
	}
	if err != nil {
		return identity.Account{}, telephony.Session{}, telephony.Party{}, err
	}
	party, ok := ts.Party(*req.PartyID)
	if !ok {
		return identity.Account{}, telephony.Session{}, telephony.Party{}, &httperror.Error{Status: http.StatusNotFound,
			Code: "NotFound", Param: "partyId", Message: "no such party in that telephony session"}
	}
	if err := s.mayControl(c, acct, party); err != nil {
		var e *httperror.Error
		if errors.As(err, &e) {
			named := *e
			named.Param = "partyId"
			return identity.Account{}, telephony.Session{}, telephony.Party{}, &named
		}
		return identity.Account{}, telephony.Session{}, telephony.Party{}, err
	}
	return acct, ts, party, nil
}

// current is session id now, or before when it has ended since.
func (s *Server) current(id string, before telephony.Session) telephony.Session {
	if ts, ok := s.Switch.Session(id); ok {
		return ts
	}
	return before
}

// apiStartConference answers POST …/telephony/conference {sessionId,
// partyId}: the party's connected call becomes a conference, the party's
// extension hosting it; 201 with the conference. A conference the party
// hosts there already is answered as it is.
func (s *Server) apiStartConference(c echo.Context) error {
	var req conferenceRequest
	if err := params.JSON(c, &req); err != nil {
		return err
	}
	if err := req.check(); err != nil {
		return err
	}
	acct, ts, party, err := s.bodyParty(c, req)
	if err != nil {
		return err
	}
	if cf := s.conferenceOf(0, ts); cf != nil && !hosts(*cf, party) {
		return conferenceError(fmt.Errorf("start conference: call %s is in conference %s: %w", ts.ID, cf.ID, telephony.ErrInvalidState))
	}
	cf, err := s.Switch.StartConference(c.Request().Context(), party.Owner, ts.ID, party.ID)
	if err != nil {
		return conferenceError(err)
	}
	return c.JSON(http.StatusCreated, s.conferenceBody(acct.ID, s.current(cf.SessionID, ts), cf))
}

// apiBringIn answers POST …/sessions/{telephonySessionId}/parties/bring-in
// {sessionId, partyId}: the body's party leaves its call, whose other
// party joins the conference of the path's session (which becomes one if
// it is not yet). Both calls must be of the body's party's extension, the
// host; its party in the path's session is found by owner, or, when the
// path names another call of a conference it hosts, is its party in the
// host's call. It answers the host's session with every party.
func (s *Server) apiBringIn(c echo.Context) error {
	var req conferenceRequest
	if err := params.JSON(c, &req); err != nil {
		return err
	}
	if err := req.check(); err != nil {
		return err
	}
	acct, ts, err := s.visibleSession(c)
	if err != nil {
		return err
	}
	if *req.SessionID == ts.ID {
		return httperror.InvalidParam("sessionId", "another call than the path's: a call cannot be brought into itself")
	}
	_, other, party, err := s.bodyParty(c, req)
	if err != nil {
		return err
	}
	anchor, hostParty, err := s.hostPartyIn(ts, party.Owner)
	if err != nil {
		return err
	}
	cf, err := s.Switch.MergeParty(c.Request().Context(), party.Owner, anchor, hostParty, other.ID, party.ID)
	if err != nil {
		return conferenceError(err)
	}
	return c.JSON(http.StatusOK, s.sessionBodyWith(acct.ID, s.current(cf.SessionID, ts), &cf))
}

var errNoHostParty = &httperror.Error{Status: http.StatusForbidden, Code: "InsufficientPermissions",
	Message: "bring-in merges two calls of one extension: the path's session has no party of the extension whose party the body names"}

// hostPartyIn finds the host's party for a bring-in into session ts: that
// of the conference host already hosts there, else the host's connected
// party in ts (else any live one, which the switch refuses by state).
func (s *Server) hostPartyIn(ts telephony.Session, host int64) (sessionID, partyID string, err error) {
	if cf, ok := s.Switch.ConferenceOf(host, ts.ID); ok && cf.Host == host && cf.HostPresent {
		for _, p := range cf.Participants {
			if p.Host {
				return cf.SessionID, p.PartyID, nil
			}
		}
	}
	var live string
	for _, p := range ts.Parties {
		if p.Owner != host || p.Status == telephony.StatusDisconnected {
			continue
		}
		if p.Status == telephony.StatusAnswered || p.Status == telephony.StatusHold {
			return ts.ID, p.ID, nil
		}
		if live == "" {
			live = p.ID
		}
	}
	if live == "" {
		return "", "", errNoHostParty
	}
	return ts.ID, live, nil
}

// apiDeleteParty answers DELETE …/sessions/{telephonySessionId}/parties/{partyId}
// with 204. The caller's own party of the session leaves the call, as drop
// does (in a conference, they leave it). A party of a conference the
// caller may host is removed, whichever of its calls the path names (the
// host's own party leaves). Other parties of the session are dropped for
// their owner by an administrator of its account; others are refused.
func (s *Server) apiDeleteParty(c echo.Context) error {
	acct, ts, err := s.visibleSession(c)
	if err != nil {
		return err
	}
	who := caller(c).Extension.ID
	pid := c.Param("partyId")
	party, inSession := ts.Party(pid)
	if !inSession || party.Owner != who {
		if cf := s.conferenceOf(who, ts); cf != nil {
			if _, ok := participant(cf, pid); ok {
				host, err := s.mayHost(c, acct, *cf)
				switch {
				case err != nil:
					return err
				case host:
					if err := s.Switch.RemoveParticipant(c.Request().Context(), cf.Host, ts.ID, pid); err != nil {
						return conferenceError(err)
					}
					return c.NoContent(http.StatusNoContent)
				case !inSession:
					return errNotHost
				}
			}
		}
	}
	if !inSession {
		return telephony.ErrNoSuchParty
	}
	if err := s.mayControl(c, acct, party); err != nil {
		return err
	}
	if _, err := s.Switch.ControlParty(c.Request().Context(), party.Owner, ts.ID, party.ID, telephony.ActionDrop); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// muteParticipant is PATCH …/parties/{partyId} {muted} on a participant,
// not the caller's own, of a conference the caller may host: the host
// mutes (or unmutes) them for the others, and it answers the party. It
// reports false, having done nothing, for any other party, which the
// ordinary mute then handles.
func (s *Server) muteParticipant(c echo.Context, muted bool) (bool, error) {
	acct, ts, err := s.visibleSession(c)
	if err != nil {
		return true, err
	}
	who := caller(c).Extension.ID
	pid := c.Param("partyId")
	cf := s.conferenceOf(who, ts)
	if cf == nil {
		return false, nil
	}
	p, ok := participant(cf, pid)
	if !ok || p.Host || p.ExtensionID == who {
		return false, nil
	}
	host, err := s.mayHost(c, acct, *cf)
	if err != nil {
		return true, err
	}
	if !host {
		if _, inSession := ts.Party(pid); inSession {
			return false, nil
		}
		return true, errNotHost
	}
	if err := s.Switch.MuteParticipant(c.Request().Context(), cf.Host, ts.ID, pid, muted); err != nil {
		return true, conferenceError(err)
	}
	after := s.current(ts.ID, ts)
	body := s.sessionBodyWith(acct.ID, after, s.conferenceOf(who, after))
	sp, ok := listedParty(body, pid)
	if !ok { // gone since: answer it as the host's request left it
		sp, _ = listedParty(s.sessionBodyWith(acct.ID, ts, cf), pid)
		sp.Muted = muted || p.Muted && !p.MutedByHost // self-muted
	}
	return true, c.JSON(http.StatusOK, sp)
}

// apiEndConference answers DELETE …/telephony/sessions/{telephonySessionId}
// with 204: the host (or an administrator of the host's account) ends the
// conference the session is in, for all: every call of it ends. A call in
// no conference is 409: its parties leave it one by one.
func (s *Server) apiEndConference(c echo.Context) error {
	acct, ts, err := s.visibleSession(c)
	if err != nil {
		return err
	}
	cf := s.conferenceOf(caller(c).Extension.ID, ts)
	if cf == nil {
		return errNotConference
	}
	host, err := s.mayHost(c, acct, *cf)
	if err != nil {
		return err
	}
	if !host {
		return errNotHost
	}
	if err := s.Switch.EndConference(c.Request().Context(), cf.Host, ts.ID); err != nil {
		return conferenceError(err)
	}
	return c.NoContent(http.StatusNoContent)
}
