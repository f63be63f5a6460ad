package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/audio"
	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/messaging"
	"github.com/callbridge/widget-server/internal/telephony"
)

// Audio is the audio the server keeps (internal/audio): recordings' rows,
// and the files of recordings and voicemail.
type Audio interface {
	Recording(ctx context.Context, id string) (audio.Recording, error)
	// Serve answers the request with a file's content (Range supported);
	// audio.ErrNotFound when the file is not there.
	Serve(w http.ResponseWriter, r *http.Request, file, contentType string) error
}

// audioAPIRoutes mounts the content of voicemail and the recordings
// (docs/api-audio.md).
func (s *Server) audioAPIRoutes(g *echo.Group, mw []echo.MiddlewareFunc) {
	g.GET("/account/:accountId/extension/:extensionId/message-store/:messageId/content/:attachmentId", s.apiMessageContent, mw...)
	g.GET("/account/:accountId/recording/:recordingId", s.apiRecording, mw...)
	g.GET("/account/:accountId/recording/:recordingId/content", s.apiRecordingContent, mw...)
}

// errNoAttachment answers for an attachment that is not there.
var errNoAttachment = &httperror.Error{Status: http.StatusNotFound, Code: "NotFound", Message: "no such attachment of this message"}

// apiAttachment is a VoiceMail message's audio (seeds/001 message
// attachments).
type apiAttachment struct {
	ID          string `json:"id"`
	URI         string `json:"uri"`
	Type        string `json:"type"`
	ContentType string `json:"contentType"`
	VMDuration  int64  `json:"vmDuration"` // whole seconds
}

func (s *Server) apiAttachments(m messaging.Message) []apiAttachment {
	if len(m.Attachments) == 0 {
		return nil
	}
	out := make([]apiAttachment, len(m.Attachments))
	for i, a := range m.Attachments {
		out[i] = apiAttachment{ID: a.ID, URI: s.cfg.PublicURL + messaging.AttachmentPath(m, a), Type: messaging.AttachmentType,
			ContentType: a.ContentType, VMDuration: int64(a.Duration.Round(time.Second) / time.Second)}
	}
	return out
}

// apiMessageContent answers GET …/message-store/{messageId}/content/{attachmentId}
// with the audio of a voicemail: the owner's, or an administrator's of the
// account through the extension's id.
func (s *Server) apiMessageContent(c echo.Context) error {
	_, ext, id, err := s.apiMessageTarget(c)
	if err != nil {
		return err
	}
	m, err := s.Messages.Message(c.Request().Context(), ext.ID, id)
	if err != nil {
		return err
	}
	for _, a := range m.Attachments {
		if a.ID == c.Param("attachmentId") {
			return s.serveAudio(c, a.File, a.ContentType, errNoAttachment)
		}
	}
	return errNoAttachment
}

// serveAudio streams a file, or answers missing when it is not there.
func (s *Server) serveAudio(c echo.Context, file, contentType string, missing error) error {
	if s.Audio == nil {
		return missing
	}
	err := s.Audio.Serve(c.Response(), c.Request(), file, contentType)
	if errors.Is(err, audio.ErrNotFound) {
		return missing
	}
	return err
}

// apiRecordingRecord is a recording's metadata (seeds/001 call log
// recording).
type apiRecordingRecord struct {
	URI         string `json:"uri"`
	ID          string `json:"id"`
	ContentURI  string `json:"contentUri"`
	ContentType string `json:"contentType"`
	Duration    int64  `json:"duration"` // whole seconds
	Type        string `json:"type"`     // OnDemand | Automatic
	StartTime   string `json:"startTime"`
	// Status is where it stands: Recording, Completed, StorageFull (the
	// disk was full: what it kept, if anything, is its content) or Failed.
	Status string `json:"status"`
}

// apiRecordingRef is the recording on a call-log record.
type apiRecordingRef struct {
	ID         string `json:"id"`
	URI        string `json:"uri"`
	Type       string `json:"type"`
	ContentURI string `json:"contentUri"`
}

func (s *Server) recordingURI(accountID int64, id string) string {
	return s.accountURI(accountID) + "/recording/" + url.PathEscape(id)
}

func (s *Server) apiRecordingRefOf(accountID int64, ref *telephony.RecordingRef) *apiRecordingRef {
	if ref == nil {
		return nil
	}
	uri := s.recordingURI(accountID, ref.ID)
	return &apiRecordingRef{ID: ref.ID, URI: uri, Type: ref.Type, ContentURI: uri + "/content"}
}

// apiRecordingTarget returns the path's recording if the caller may have
// it: its owner, or an administrator of its account. Others are told it is
// not found, as for another extension's message.
func (s *Server) apiRecordingTarget(c echo.Context) (audio.Recording, error) {
	acct, err := apiAccount(c)
	if err != nil {
		return audio.Recording{}, err
	}
	id := c.Param("recordingId")
	if s.Audio == nil || id == "" || len(id) > 64 {
		return audio.Recording{}, audio.ErrNotFound
	}
	r, err := s.Audio.Recording(c.Request().Context(), id)
	if err != nil {
		return audio.Recording{}, err
	}
	who := caller(c).Extension
	if r.AccountID != acct.ID || (r.ExtensionID != who.ID && !who.Admin()) {
		return audio.Recording{}, fmt.Errorf("recording %s of another extension: %w", id, audio.ErrNotFound)
	}
	return r, nil
}

// apiRecording answers GET /account/{accountId}/recording/{recordingId}.
func (s *Server) apiRecording(c echo.Context) error {
	r, err := s.apiRecordingTarget(c)
	if err != nil {
		return err
	}
	uri := s.recordingURI(r.AccountID, r.ID)
	return c.JSON(http.StatusOK, apiRecordingRecord{URI: uri, ID: r.ID, ContentURI: uri + "/content", ContentType: r.ContentType,
		Duration: int64(r.Duration.Round(time.Second) / time.Second), Type: r.Type,
		StartTime: r.StartTime.UTC().Format(apiTimeFormat), Status: string(r.Status)})
}

// apiRecordingContent answers GET …/recording/{recordingId}/content with
// the audio.
func (s *Server) apiRecordingContent(c echo.Context) error {
	r, err := s.apiRecordingTarget(c)
	if err != nil {
		return err
	}
	if err := r.Content(); err != nil {
		return err
	}
	return s.serveAudio(c, r.File, r.ContentType, audio.ErrNoAudio)
}
