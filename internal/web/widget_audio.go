package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/audio"
	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/messaging"
)

// Audio is the audio the server keeps (internal/audio): recordings' rows and
// the files of recordings and voicemail, which the widget plays.
type Audio interface {
	Recording(ctx context.Context, id string) (audio.Recording, error)
	// Serve answers the request with a file's content (Range supported);
	// audio.ErrNotFound when the file is not there.
	Serve(w http.ResponseWriter, r *http.Request, file, contentType string) error
	// Greeting is the extension's own voicemail greeting; audio.ErrNotFound
	// when it has none (the default one plays).
	Greeting(ctx context.Context, extension int64) (audio.Greeting, error)
	// DeleteGreeting removes it: the default one plays again.
	DeleteGreeting(ctx context.Context, extension int64) error
}

// widgetAudioRoutes mounts the content of the signed-in user's voicemail
// and recordings. Like every /widget route they need the widget's header,
// so the widget fetches the audio and plays what it fetched.
func (s *Server) widgetAudioRoutes(e *echo.Echo) {
	g := e.Group("/widget", s.sameOrigin)
	g.GET("/messages/:id/content/:att", s.widgetMessageContent, s.signedIn)
	g.GET("/recordings/:id/content", s.widgetRecordingContent, s.signedIn)
	g.GET("/greeting", s.widgetGreeting, s.signedIn)
	g.DELETE("/greeting", s.widgetDeleteGreeting, s.signedIn)
}

// errNoGreeting answers for a user who has not recorded a greeting.
var errNoGreeting = &httperror.Error{Status: http.StatusNotFound, Code: "NotFound",
	Message: "no greeting of your own: callers hear the default one"}

// widgetGreeting answers GET /widget/greeting with the audio of the user's
// own voicemail greeting.
func (s *Server) widgetGreeting(c echo.Context) error {
	if s.Audio == nil {
		return errNoGreeting
	}
	g, err := s.Audio.Greeting(c.Request().Context(), userOf(c).Extension.ID)
	if errors.Is(err, audio.ErrNotFound) {
		return errNoGreeting
	}
	if err != nil {
		return err
	}
	return s.serveAudio(c, g.File, g.ContentType, errNoGreeting)
}

// widgetDeleteGreeting answers DELETE /widget/greeting: the user's own
// greeting goes, and callers hear the default one.
func (s *Server) widgetDeleteGreeting(c echo.Context) error {
	if s.Audio == nil {
		return errNoGreeting
	}
	if err := s.Audio.DeleteGreeting(c.Request().Context(), userOf(c).Extension.ID); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// errNoAttachment answers for a voicemail's audio that is not there.
var errNoAttachment = &httperror.Error{Status: http.StatusNotFound, Code: "NotFound", Message: "no such attachment of this message"}

// widgetMessageContent answers GET /widget/messages/:id/content/:att with
// the audio of one of the user's voicemail messages.
func (s *Server) widgetMessageContent(c echo.Context) error {
	if s.Messages == nil {
		return httperror.MessagingOff
	}
	m, err := s.Messages.Message(c.Request().Context(), userOf(c).Extension.ID, c.Param("id"))
	if err != nil {
		return err
	}
	for _, a := range m.Attachments {
		if a.ID == c.Param("att") {
			return s.serveAudio(c, a.File, a.ContentType, errNoAttachment)
		}
	}
	return errNoAttachment
}

// widgetRecordingContent answers GET /widget/recordings/:id/content with a
// recording of the user's, or of their account for an administrator.
func (s *Server) widgetRecordingContent(c echo.Context) error {
	id := c.Param("id")
	if s.Audio == nil || len(id) > 64 {
		return audio.ErrNotFound
	}
	r, err := s.Audio.Recording(c.Request().Context(), id)
	if err != nil {
		return err
	}
	u := userOf(c)
	if r.AccountID != u.Account.ID || (r.ExtensionID != u.Extension.ID && !u.Extension.Admin()) {
		return fmt.Errorf("recording %s of another extension: %w", id, audio.ErrNotFound)
	}
	if err := r.Content(); err != nil {
		return err
	}
	return s.serveAudio(c, r.File, r.ContentType, audio.ErrNoAudio)
}

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

// widgetMessage is a message as the widget gets it: the contract's message
// (CONTRACT §5) with, for a voicemail, its audio.
type widgetMessage struct {
	bridge.Message
	Attachments []widgetAttachment `json:"attachments,omitempty"`
}

// widgetAttachment is a voicemail's audio. uri is its content in the
// platform API; the widget plays it from /widget/messages/:id/content/:att.
type widgetAttachment struct {
	ID          string `json:"id"`
	URI         string `json:"uri"`
	Type        string `json:"type"`
	ContentType string `json:"contentType"`
	VMDuration  int64  `json:"vmDuration"` // whole seconds
}

func (s *Server) widgetMessageOf(m messaging.Message) widgetMessage {
	w := widgetMessage{Message: bridge.MessageFor(m)}
	for _, a := range m.Attachments {
		w.Attachments = append(w.Attachments, widgetAttachment{ID: a.ID, URI: s.cfg.PublicURL + messaging.AttachmentPath(m, a),
			Type: messaging.AttachmentType, ContentType: a.ContentType, VMDuration: int64(a.Duration.Round(time.Second) / time.Second)})
	}
	return w
}
