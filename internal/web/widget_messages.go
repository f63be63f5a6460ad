package web

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/messaging"
	"github.com/callbridge/widget-server/internal/oauth"
)

// widgetMessageRoutes mounts the widget's /widget/messages endpoints and
// the SMS provider's inbound webhook.
func (s *Server) widgetMessageRoutes(e *echo.Echo) {
	e.POST("/webhooks/sms/inbound", s.smsInbound)
	g := e.Group("/widget/messages", s.sameOrigin)
	g.GET("", s.widgetMessages)
	g.POST("", s.widgetSendMessage)
	g.PUT("/:id", s.widgetUpdateMessage)
}

// widgetMessageList is the answer of GET /widget/messages.
type widgetMessageList struct {
	Records []bridge.Message `json:"records"`
}

// defaultWidgetMessages is how many messages the widget gets without perPage.
const defaultWidgetMessages = 50

// messageUser returns the signed-in extension of a widget request, with
// its account.
func (s *Server) messageUser(c echo.Context) (identity.Account, identity.Extension, error) {
	w := s.cookie(c.Request())
	if !w.live() || !w.signedIn() {
		return identity.Account{}, identity.Extension{}, &Error{Status: http.StatusUnauthorized, Code: "NotSignedIn", Message: "sign in to use messages"}
	}
	ctx := c.Request().Context()
	sess, err := s.Sessions.Get(ctx, w.sid())
	if errors.Is(err, oauth.ErrSessionEnded) {
		return identity.Account{}, identity.Extension{}, &Error{Status: http.StatusUnauthorized, Code: "NotSignedIn", Message: "your session ended: sign in again"}
	}
	if err != nil {
		return identity.Account{}, identity.Extension{}, err
	}
	if s.Messages == nil {
		return identity.Account{}, identity.Extension{}, errMessagingOff
	}
	acct, ext, err := s.Directory.ExtensionWithAccount(ctx, sess.ExtensionID)
	if errors.Is(err, identity.ErrNotFound) {
		return identity.Account{}, identity.Extension{}, &Error{Status: http.StatusUnauthorized, Code: "NotSignedIn", Message: "your extension no longer exists"}
	}
	return acct, ext, err
}

// widgetMessages answers GET /widget/messages?perPage=&conversationId=:
// the signed-in extension's messages, newest first, not deleted.
func (s *Server) widgetMessages(c echo.Context) error {
	_, ext, err := s.messageUser(c)
	if err != nil {
		return err
	}
	return s.listWidgetMessages(c, ext)
}

func (s *Server) listWidgetMessages(c echo.Context, ext identity.Extension) error {
	v := c.QueryParams()
	if _, ok := first(v, "perPage"); !ok {
		v.Set("perPage", strconv.Itoa(defaultWidgetMessages))
	}
	page, err := parsePaging(v)
	if err != nil {
		return err
	}
	q := messaging.Query{ExtensionID: ext.ID, Availabilities: []messaging.Availability{messaging.Alive},
		Offset: page.offset(), Limit: page.perPage}
	if id, ok := first(v, "conversationId"); ok {
		if !isDigits(id, 20) {
			return invalidParam("conversationId", "a conversation id: digits")
		}
		q.ConversationID = id
	}
	res, err := s.Messages.Messages(c.Request().Context(), q)
	if err != nil {
		return err
	}
	list := widgetMessageList{Records: make([]bridge.Message, 0, len(res.Messages))}
	for _, m := range res.Messages {
		list.Records = append(list.Records, bridge.MessageFor(m))
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
	acct, ext, err := s.messageUser(c)
	if err != nil {
		return err
	}
	// Each extension sends at most SMSRateLimit messages per window from
	// the widget, whatever its tabs and sessions.
	if err := limitRate(c, s.smsLimit, ext.ID); err != nil {
		return err
	}
	return s.sendWidgetMessage(c, acct, ext)
}

func (s *Server) sendWidgetMessage(c echo.Context, acct identity.Account, ext identity.Extension) error {
	var req widgetSendRequest
	if err := bindAPIJSON(c, &req); err != nil {
		return err
	}
	m, err := s.sendAs(c, acct, ext, req)
	if err != nil {
		return messageError(err)
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
	return messaging.Message{}, invalidParam("type", "SMS or Pager")
}

// widgetUpdateMessage answers PUT /widget/messages/:id {readStatus}.
func (s *Server) widgetUpdateMessage(c echo.Context) error {
	_, ext, err := s.messageUser(c)
	if err != nil {
		return err
	}
	return s.updateWidgetMessage(c, ext)
}

func (s *Server) updateWidgetMessage(c echo.Context, ext identity.Extension) error {
	var req messageUpdate
	if err := bindAPIJSON(c, &req); err != nil {
		return err
	}
	status, err := readStatusOf(req)
	if err != nil {
		return err
	}
	m, err := s.Messages.SetReadStatus(c.Request().Context(), ext.ID, c.Param("id"), status)
	if err != nil {
		return messageError(err)
	}
	return c.JSON(http.StatusOK, bridge.MessageFor(m))
}

// smsInboundAnswer is what the inbound webhook answers: the id of the
// stored message, and whether the request repeated one already stored.
type smsInboundAnswer struct {
	ID        string `json:"id"`
	Duplicate bool   `json:"duplicate"`
}

// smsInbound is the SMS provider's inbound webhook, POST
// /webhooks/sms/inbound (docs/api-messages.md "Inbound webhook"): a
// signed JSON body {id, from, to, text}. A bad or old signature is 401; a
// repeat of the provider's id answers the message already stored.
func (s *Server) smsInbound(c echo.Context) error {
	if s.Messages == nil || !s.Messages.InboundEnabled() {
		return &Error{Status: http.StatusServiceUnavailable, Code: "InboundSMSOff",
			Message: "inbound SMS are off: the server has no webhook secret (--sms-webhook-secret-file)"}
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) || errors.Is(err, echo.ErrStatusRequestEntityTooLarge) {
			return &Error{Status: http.StatusRequestEntityTooLarge, Code: "RequestTooLarge", Message: "request body too large"}
		}
		return &Error{Status: http.StatusBadRequest, Code: "InvalidJSON", Message: "the body could not be read", Err: err}
	}
	if err := s.Messages.VerifyWebhook(c.Request().Header, body); err != nil {
		return &Error{Status: http.StatusUnauthorized, Code: "InvalidSignature",
			Message: "the " + messaging.SignatureHeader + " and " + messaging.TimestampHeader + " headers are missing, wrong or too old", Err: err}
	}
	var in messaging.InboundSMS
	c.Request().Body = io.NopCloser(bytes.NewReader(body))
	if err := bindAPIJSON(c, &in); err != nil {
		return err
	}
	m, created, err := s.Messages.ReceiveSMS(c.Request().Context(), in)
	if err != nil {
		return messageError(err)
	}
	return c.JSON(http.StatusOK, smsInboundAnswer{ID: m.ID, Duplicate: !created})
}
