package web

import (
	"context"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/messaging"
	"github.com/callbridge/widget-server/internal/params"
)

// Messages is the message service behind the widget's SMS and company
// pager (internal/messaging).
type Messages interface {
	SendSMS(ctx context.Context, extensionID int64, req messaging.SMSRequest) (messaging.Message, error)
	SendPager(ctx context.Context, extensionID int64, req messaging.PagerRequest) (messaging.Message, error)
	Messages(ctx context.Context, q messaging.Query) (messaging.Page, error)
	Message(ctx context.Context, extensionID int64, id string) (messaging.Message, error)
	SetReadStatus(ctx context.Context, extensionID int64, id string, status messaging.ReadStatus) (messaging.Message, error)
	Delete(ctx context.Context, extensionID int64, id string) (messaging.Message, error)
}

// widgetMessageRoutes mounts the widget's /widget/messages endpoints.
func (s *Server) widgetMessageRoutes(e *echo.Echo) {
	g := e.Group("/widget/messages", s.sameOrigin)
	g.GET("", s.widgetMessages, s.signedIn)
	g.POST("", s.widgetSendMessage, s.signedIn)
	g.PUT("/:id", s.widgetUpdateMessage, s.signedIn)
	g.DELETE("/:id", s.widgetDeleteMessage, s.signedIn)
}

// widgetMessageList is the answer of GET /widget/messages.
type widgetMessageList struct {
	Records []widgetMessage `json:"records"`
}

// defaultWidgetMessages is how many messages the widget gets without perPage.
const defaultWidgetMessages = 50

// widgetMessages answers GET /widget/messages?perPage=&conversationId=:
// the signed-in extension's messages, newest first, not deleted.
func (s *Server) widgetMessages(c echo.Context) error {
	if s.Messages == nil {
		return httperror.MessagingOff
	}
	return s.listWidgetMessages(c, userOf(c).Extension)
}

func (s *Server) listWidgetMessages(c echo.Context, ext identity.Extension) error {
	v := c.QueryParams()
	if _, ok := params.First(v, "perPage"); !ok {
		v.Set("perPage", strconv.Itoa(defaultWidgetMessages))
	}
	page, err := params.Paging(v)
	if err != nil {
		return err
	}
	q := messaging.Query{ExtensionID: ext.ID, Availabilities: []messaging.Availability{messaging.Alive},
		Offset: page.Offset(), Limit: page.PerPage}
	if id, ok := params.First(v, "conversationId"); ok {
		if !params.Digits(id, 20) {
			return httperror.InvalidParam("conversationId", "a conversation id: digits")
		}
		q.ConversationID = id
	}
	res, err := s.Messages.Messages(c.Request().Context(), q)
	if err != nil {
		return err
	}
	list := widgetMessageList{Records: make([]widgetMessage, 0, len(res.Messages))}
	for _, m := range res.Messages {
		list.Records = append(list.Records, s.widgetMessageOf(m))
	}
	return c.JSON(http.StatusOK, list)
}

// widgetSendRequest is the body of POST /widget/messages.
type widgetSendRequest struct {
	Type string   `json:"type"` // SMS or Pager
	To   []string `json:"to"`   // a phone number (SMS), extension numbers (Pager)
	Text string   `json:"text"`
}

// widgetSendMessage answers POST /widget/messages with the sent message.
// An SMS goes from the user's first direct number, else the main number.
func (s *Server) widgetSendMessage(c echo.Context) error {
	if s.Messages == nil {
		return httperror.MessagingOff
	}
	u := userOf(c)
	// Each extension sends at most SMSRateLimit messages per window from
	// the widget, whatever its tabs and sessions.
	if err := s.smsLimit.Admit(c, u.Extension.ID); err != nil {
		return err
	}
	return s.sendWidgetMessage(c, u.Account, u.Extension)
}

func (s *Server) sendWidgetMessage(c echo.Context, acct identity.Account, ext identity.Extension) error {
	var req widgetSendRequest
	if err := params.JSON(c, &req); err != nil {
		return err
	}
	m, err := s.sendAs(c, acct, ext, req)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, bridge.MessageFor(m))
}

// sendAs sends what the widget asked for as the extension.
func (s *Server) sendAs(c echo.Context, acct identity.Account, ext identity.Extension, req widgetSendRequest) (messaging.Message, error) {
	ctx := c.Request().Context()
	switch req.Type {
	case string(messaging.SMS):
		from := acct.MainNumber
		if len(ext.DirectNumbers) > 0 {
			from = ext.DirectNumbers[0]
		}
		return s.Messages.SendSMS(ctx, ext.ID, messaging.SMSRequest{From: from, To: req.To, Text: req.Text})
	case string(messaging.Pager):
		return s.Messages.SendPager(ctx, ext.ID, messaging.PagerRequest{To: req.To, Text: req.Text})
	}
	return messaging.Message{}, httperror.InvalidParam("type", "SMS or Pager")
}

// widgetUpdateMessage answers PUT /widget/messages/:id {readStatus}.
func (s *Server) widgetUpdateMessage(c echo.Context) error {
	if s.Messages == nil {
		return httperror.MessagingOff
	}
	return s.updateWidgetMessage(c, userOf(c).Extension)
}

// messageUpdate is the body of PUT /widget/messages/:id.
type messageUpdate struct {
	ReadStatus *string `json:"readStatus"`
}

// readStatuses are the values of readStatus.
var readStatuses = []string{string(messaging.Read), string(messaging.Unread)}

func (s *Server) updateWidgetMessage(c echo.Context, ext identity.Extension) error {
	var req messageUpdate
	if err := params.JSON(c, &req); err != nil {
		return err
	}
	if req.ReadStatus == nil {
		return httperror.InvalidParam("readStatus", "missing: Read or Unread")
	}
	status, err := params.Enum("readStatus", *req.ReadStatus, readStatuses)
	if err != nil {
		return err
	}
	m, err := s.Messages.SetReadStatus(c.Request().Context(), ext.ID, c.Param("id"), messaging.ReadStatus(status))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.widgetMessageOf(m))
}

// widgetDeleteMessage answers DELETE /widget/messages/:id with the message,
// now of availability Deleted: the Messages page deletes a voicemail (or
// any message) of the user; another's is not found.
func (s *Server) widgetDeleteMessage(c echo.Context) error {
	if s.Messages == nil {
		return httperror.MessagingOff
	}
	return s.deleteWidgetMessage(c, userOf(c).Extension)
}

func (s *Server) deleteWidgetMessage(c echo.Context, ext identity.Extension) error {
	m, err := s.Messages.Delete(c.Request().Context(), ext.ID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, bridge.MessageFor(m))
}
