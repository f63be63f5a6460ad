package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/params"
	"github.com/callbridge/widget-server/internal/telephony"
)

// The widget's conferences: merging two calls of the device into one
// conference (or one more call into it), and what the host does to it —
// remove or mute a participant, end it for all. The conference's changes
// reach every widget in it as rc-conference-notify (internal/bridge); these
// handlers only carry the requests to the switch.

// Conferences is what the widget's conference endpoints need of the switch
// (telephony/conference.go). id names a conference by its own id or by
// the session of any call in it.
type Conferences interface {
	Merge(ctx context.Context, device, sessionID, otherSessionID string) (telephony.Conference, error)
	Invite(ctx context.Context, device, id, to, offerSDP string) (telephony.Session, string, error)
	RemoveParticipant(ctx context.Context, owner int64, id, partyID string) error
	MuteParticipant(ctx context.Context, owner int64, id, partyID string, muted bool) error
	EndConference(ctx context.Context, owner int64, id string) error
	ConferenceOf(ext int64, id string) (telephony.Conference, bool)
}

// maxConferenceID bounds a conference's id or a party's in a path; longer
// ids are no conference's.
const maxConferenceID = 64

// errNotHost answers a participant who asks what only the host may do.
var errNotHost = &httperror.Error{Status: http.StatusForbidden, Code: "InsufficientPermissions",
	Message: "only the conference's host may remove or mute a participant or end it for all"}

// conferenceResponse is the answer of a merge: the conference as the user
// sees it, as rc-conference-notify carries it.
type conferenceResponse struct {
	Conference bridge.ConferenceView `json:"conference"`
}

// mergeRequest is the body of POST /widget/calls/{id}/merge: otherCallId
// is the telephonySessionId of the device's other call.
type mergeRequest struct {
	DeviceID    string `json:"deviceId"`
	OtherCallID string `json:"otherCallId"`
}

// mergeCalls answers POST /widget/calls/{id}/merge {deviceId, otherCallId}:
// the device's call otherCallId joins the conference of its call {id},
// which becomes one if it is not yet (telephony.Switch.Merge). The device's
// party of {id} stays, the host's; that of otherCallId leaves its call while
// the person on it stays, in the conference.
func (s *Server) mergeCalls(c echo.Context) error {
	var req mergeRequest
	if err := params.JSON(c, &req); err != nil {
		return err
	}
	u, id := userOf(c), c.Param("id")
	switch {
	case req.OtherCallID == "" || len(req.OtherCallID) > maxSessionID:
		return httperror.InvalidParam("otherCallId", "the telephonySessionId of the device's other call is required")
	case req.OtherCallID == id:
		return httperror.InvalidParam("otherCallId", "a call cannot be merged with itself")
	}
	if _, err := s.ownCall(u, id); err != nil {
		return err
	}
	if _, err := s.ownCall(u, req.OtherCallID); err != nil {
		return err
	}
	cf, err := s.Switch.Merge(c.Request().Context(), u.Device, id, req.OtherCallID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, conferenceResponse{Conference: bridge.NewConferenceView(cf, u.Extension.ID, cf.SessionID)})
}

// muteRequest is the body of PATCH /widget/conferences/{id}/participants/{partyId}.
type muteRequest struct {
	DeviceID string `json:"deviceId"`
	Muted    *bool  `json:"muted"`
}

// removeParticipant answers DELETE
// /widget/conferences/{id}/participants/{partyId}?deviceId=: the host
// takes the participant out; their call ends (204).
func (s *Server) removeParticipant(c echo.Context) error {
	u, id, party, err := s.conferenceParty(c)
	if err != nil {
		return err
	}
	if err := s.Switch.RemoveParticipant(c.Request().Context(), u.Extension.ID, id, party); err != nil {
		return hostError(err)
	}
	return c.NoContent(http.StatusNoContent)
}

// muteParticipant answers PATCH
// /widget/conferences/{id}/participants/{partyId} {deviceId, muted}: the
// host mutes the participant for everyone, or unmutes them (204).
func (s *Server) muteParticipant(c echo.Context) error {
	var req muteRequest
	if err := params.JSON(c, &req); err != nil {
		return err
	}
	if req.Muted == nil {
		return httperror.InvalidParam("muted", "muted must be true or false")
	}
	u, id, party, err := s.conferenceParty(c)
	if err != nil {
		return err
	}
	if err := s.Switch.MuteParticipant(c.Request().Context(), u.Extension.ID, id, party, *req.Muted); err != nil {
		return hostError(err)
	}
	return c.NoContent(http.StatusNoContent)
}

// endConference answers DELETE /widget/conferences/{id}?deviceId=: the host
// ends the conference for all; every call in it ends (204).
func (s *Server) endConference(c echo.Context) error {
	u, id := userOf(c), c.Param("id")
	if err := s.ownConference(u, id); err != nil {
		return err
	}
	if err := s.Switch.EndConference(c.Request().Context(), u.Extension.ID, id); err != nil {
		return hostError(err)
	}
	return c.NoContent(http.StatusNoContent)
}

// conferenceParty reads the conference and the party a participant's
// request names, and checks that the user is in the conference.
func (s *Server) conferenceParty(c echo.Context) (widgetUser, string, string, error) {
	u, id, party := userOf(c), c.Param("id"), c.Param("partyId")
	if party == "" || len(party) > maxConferenceID {
		return u, "", "", httperror.InvalidParam("partyId", "the partyId of a participant is required")
	}
	if err := s.ownConference(u, id); err != nil {
		return u, "", "", err
	}
	return u, id, party, nil
}

// ownConference finds the conference id (or the session of one of its
// calls) if the user hosts it or takes part. A conference of others is
// answered as an unknown one (404), as ownCall answers a call; a
// participant who asks what only the host may do is refused by the switch
// (403 InsufficientPermissions).
func (s *Server) ownConference(u widgetUser, id string) error {
	if id == "" || len(id) > maxConferenceID {
		return httperror.InvalidParam("id", "the id of a conference or of a call in it is required")
	}
	if _, ok := s.Switch.ConferenceOf(u.Extension.ID, id); !ok {
		return &httperror.Error{Status: http.StatusNotFound, Code: "NotFound",
			Message: "no such conference: it has ended, or you are not in it", Err: fmt.Errorf("conference %s: %w", id, telephony.ErrNoSuchCall)}
	}
	return nil
}

// hostError is the answer to a host's request the switch refused: a
// participant who is not the host is told so; the rest is the error
// model's.
func hostError(err error) error {
	if errors.Is(err, telephony.ErrNotYourCall) {
		e := *errNotHost
		e.Err = err
		return &e
	}
	return err
}
