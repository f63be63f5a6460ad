package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/params"
	"github.com/callbridge/widget-server/internal/telephony"
)

// Call recording through the telephony session API (docs/api-calls.md
// "Recording"): the party's owner, or an administrator of its account,
// starts the call's recording (POST …/parties/{partyId}/recordings),
// pauses and resumes it (PATCH …/recordings/{recordingId} {active}) and
// stops it (DELETE). The recording is the owner's; its audio is served by
// …/recording/{id}/content once it stopped.

// apiRecording is a recording of a live call: its id and whether it records now.
type apiRecording struct {
	ID     string `json:"id"`
	Active bool   `json:"active"`
}

// recordingUpdate is the body of PATCH …/recordings/{recordingId}.
type recordingUpdate struct {
	Active *bool `json:"active"`
}

// apiStartRecording answers POST …/parties/{partyId}/recordings: 201 with the recording.
func (s *Server) apiStartRecording(c echo.Context) error {
	after, err := s.recordParty(c, telephony.RecordStart, false)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, apiRecording{ID: after.Recording.ID, Active: true})
}

// apiUpdateRecording answers PATCH …/recordings/{recordingId} {active}:
// false pauses the recording, true resumes it.
func (s *Server) apiUpdateRecording(c echo.Context) error {
	var req recordingUpdate
	if err := params.JSON(c, &req); err != nil {
		return err
	}
	if req.Active == nil {
		return httperror.InvalidParam("active", "true (record) or false (pause) is required")
	}
	action := telephony.RecordResume
	if !*req.Active {
		action = telephony.RecordPause
	}
	if _, err := s.recordParty(c, action, true); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, apiRecording{ID: c.Param("recordingId"), Active: *req.Active})
}

// apiStopRecording answers DELETE …/recordings/{recordingId}: 204 once it stopped.
func (s *Server) apiStopRecording(c echo.Context) error {
	if _, err := s.recordParty(c, telephony.RecordStop, true); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// recordParty does action to the recording of the path's call as its
// party; named, the path's recording must be the call's.
func (s *Server) recordParty(c echo.Context, action telephony.RecordAction, named bool) (telephony.Session, error) {
	_, ts, party, err := s.controlledParty(c)
	if err != nil {
		return telephony.Session{}, err
	}
	if named && (ts.Recording == nil || ts.Recording.ID != c.Param("recordingId")) {
		return telephony.Session{}, &httperror.Error{Status: http.StatusNotFound, Code: "NotFound",
			Message: "no such recording in progress in this telephony session"}
	}
	return s.Switch.RecordParty(c.Request().Context(), party.Owner, ts.ID, party.ID, action)
}
