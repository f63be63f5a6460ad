package api

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/messaging"
	"github.com/callbridge/widget-server/internal/params"
	"github.com/callbridge/widget-server/internal/phonenumber"
)

// Messages is the message service behind SMS, company pager and the
// message store (internal/messaging).
type Messages interface {
	SendSMS(ctx context.Context, extensionID int64, req messaging.SMSRequest) (messaging.Message, error)
	SendPager(ctx context.Context, extensionID int64, req messaging.PagerRequest) (messaging.Message, error)
	Message(ctx context.Context, extensionID int64, id string) (messaging.Message, error)
	Messages(ctx context.Context, q messaging.Query) (messaging.Page, error)
	SetReadStatus(ctx context.Context, extensionID int64, id string, status messaging.ReadStatus) (messaging.Message, error)
	Delete(ctx context.Context, extensionID int64, id string) (messaging.Message, error)
	InboundEnabled() bool
	VerifyWebhook(h http.Header, body []byte) error
	ReceiveSMS(ctx context.Context, in messaging.InboundSMS) (m messaging.Message, created bool, err error)
}

// messageAPIRoutes mounts /sms, /company-pager and /message-store
// (docs/api-messages.md).
func (s *Server) messageAPIRoutes(g *echo.Group, mw []echo.MiddlewareFunc) {
	const ext = "/account/:accountId/extension/:extensionId"
	g.POST(ext+"/sms", s.apiSendSMS, mw...)
	g.POST(ext+"/company-pager", s.apiSendPager, mw...)
	g.GET(ext+"/message-store", s.apiMessageStore, mw...)
	g.GET(ext+"/message-store/:messageId", s.apiGetMessage, mw...)
	g.PUT(ext+"/message-store/:messageId", s.apiUpdateMessage, mw...)
	g.DELETE(ext+"/message-store/:messageId", s.apiDeleteMessage, mw...)
}

// apiMessageParty is a party in a request body; name is accepted and
// ignored, as the server knows the names.
type apiMessageParty struct {
	PhoneNumber     string `json:"phoneNumber"`
	ExtensionNumber string `json:"extensionNumber"`
	Name            string `json:"name"`
}

// apiSMSRequest is the body of POST …/sms (seeds/001 "Send SMS Message").
type apiSMSRequest struct {
	From apiMessageParty   `json:"from"`
	To   []apiMessageParty `json:"to"`
	Text string            `json:"text"`
}

// apiPagerRequest is the body of POST …/company-pager.
type apiPagerRequest struct {
	From *apiMessageParty  `json:"from"`
	To   []apiMessageParty `json:"to"`
	Text string            `json:"text"`
}

// apiMessage is a message-store record: the contract's message with its
// uri and the platform's other fields.
type apiMessage struct {
	URI string `json:"uri"`
	bridge.Message
	Attachments             []apiAttachment `json:"attachments,omitempty"`
	Priority                string          `json:"priority"`
	SMSSendingAttemptsCount int             `json:"smsSendingAttemptsCount,omitempty"`
	PgToDepartment          *bool           `json:"pgToDepartment,omitempty"`
}

func (s *Server) apiMessageRecord(acctID int64, m messaging.Message) apiMessage {
	r := apiMessage{
		URI:     s.extensionURI(acctID, m.ExtensionID) + "/message-store/" + m.ID,
		Message: bridge.MessageFor(m), Priority: "Normal", SMSSendingAttemptsCount: m.Attempts,
		Attachments: s.apiAttachments(m),
	}
	if m.Type == messaging.Pager && m.Direction == messaging.Outbound {
		toDepartment := m.ToDepartment
		r.PgToDepartment = &toDepartment
	}
	return r
}

// apiSendSMS answers POST …/extension/{extensionId}/sms with the sender's
// copy of the message.
func (s *Server) apiSendSMS(c echo.Context) error {
	acct, ext, err := s.apiTarget(c)
	if err != nil {
		return err
	}
	var req apiSMSRequest
	if err := params.JSON(c, &req); err != nil {
		return err
	}
	if s.Messages == nil {
		return httperror.MessagingOff
	}
	sms := messaging.SMSRequest{From: req.From.PhoneNumber, Text: req.Text}
	for _, p := range req.To {
		if p.PhoneNumber == "" {
			return httperror.InvalidParam("to", "each recipient needs a phoneNumber")
		}
		sms.To = append(sms.To, p.PhoneNumber)
	}
	m, err := s.Messages.SendSMS(c.Request().Context(), ext.ID, sms)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.apiMessageRecord(acct.ID, m))
}

// apiSendPager answers POST …/extension/{extensionId}/company-pager with
// the sender's copy of the message.
func (s *Server) apiSendPager(c echo.Context) error {
	acct, ext, err := s.apiTarget(c)
	if err != nil {
		return err
	}
	var req apiPagerRequest
	if err := params.JSON(c, &req); err != nil {
		return err
	}
	if s.Messages == nil {
		return httperror.MessagingOff
	}
	pager := messaging.PagerRequest{Text: req.Text}
	if req.From != nil {
		if req.From.ExtensionNumber == "" {
			return httperror.InvalidParam("from", "an extensionNumber, your own")
		}
		pager.From = req.From.ExtensionNumber
	}
	for _, p := range req.To {
		if p.ExtensionNumber == "" {
			return httperror.InvalidParam("to", "each recipient needs an extensionNumber")
		}
		pager.To = append(pager.To, p.ExtensionNumber)
	}
	m, err := s.Messages.SendPager(c.Request().Context(), ext.ID, pager)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.apiMessageRecord(acct.ID, m))
}

// Values of the message store's enum parameters, spelled canonically.
// Fax and Text are the platform's other message types: they are accepted
// and match nothing here; so does Purged.
var (
	messageTypes          = []string{"SMS", "Pager", "Fax", "VoiceMail", "Text"}
	messageReadStatuses   = []string{string(messaging.Read), string(messaging.Unread)}
	messageAvailabilities = []string{"Alive", "Deleted", "Purged"}
)

// defaultMessagePeriod is how far back the message store reaches without
// dateFrom: a week, as the call log (seeds/001).
const defaultMessagePeriod = 7 * 24 * time.Hour

// messageStoreRequest is a parsed message-store query string.
type messageStoreRequest struct {
	query  messaging.Query // filters only: no extension or page
	page   params.Page
	params []queryParam // the filters, canonical, for the list's URIs
}

// parseMessageStoreQuery reads a message-store query string
// (docs/api-messages.md "Message store"). Unknown parameters are ignored;
// errors name the parameter.
func parseMessageStoreQuery(v url.Values, region string, now time.Time) (messageStoreRequest, error) {
	var r messageStoreRequest
	var err error
	if r.page, err = params.Paging(v); err != nil {
		return messageStoreRequest{}, err
	}
	enum := func(name string, allowed []string, add func(string)) error {
		vals, err := params.Enums(v, name, allowed)
		for _, val := range vals {
			r.params = append(r.params, queryParam{name, val})
			add(val)
		}
		return err
	}
	if err := enum("messageType", messageTypes, func(t string) { r.query.Types = append(r.query.Types, messaging.Type(t)) }); err != nil {
		return messageStoreRequest{}, err
	}
	if err := enum("direction", callDirections, func(d string) {
		r.query.Directions = append(r.query.Directions, messaging.Direction(d))
	}); err != nil {
		return messageStoreRequest{}, err
	}
	if err := enum("readStatus", messageReadStatuses, func(s string) {
		r.query.ReadStatuses = append(r.query.ReadStatuses, messaging.ReadStatus(s))
	}); err != nil {
		return messageStoreRequest{}, err
	}
	if err := enum("availability", messageAvailabilities, func(s string) {
		r.query.Availabilities = append(r.query.Availabilities, messaging.Availability(s))
	}); err != nil {
		return messageStoreRequest{}, err
	}
	if len(r.query.Availabilities) == 0 {
		r.query.Availabilities = []messaging.Availability{messaging.Alive}
	}
	if s, ok := params.First(v, "conversationId"); ok {
		if !params.Digits(s, 20) {
			return messageStoreRequest{}, httperror.InvalidParam("conversationId", "a conversation id: digits")
		}
		r.query.ConversationID = s
		r.params = append(r.params, queryParam{"conversationId", s})
	}
	if s, ok := params.First(v, "phoneNumber"); ok {
		n, err := phonenumber.Normalize(s, region)
		if err != nil {
			return messageStoreRequest{}, httperror.InvalidParam("phoneNumber", "a phone number or an extension number")
		}
		r.query.PhoneNumber = n
		r.params = append(r.params, queryParam{"phoneNumber", n})
	}
	var to time.Time
	if s, ok := params.First(v, "dateTo"); ok {
		if to, err = parseAPITime(s); err != nil {
			return messageStoreRequest{}, httperror.InvalidParam("dateTo", "an ISO 8601 date or date-time, e.g. 2026-01-31 or 2026-01-31T12:00:00.000Z")
		}
	}
	end := now
	if !to.IsZero() {
		end = to
	}
	from := end.Add(-defaultMessagePeriod).Truncate(time.Millisecond)
	if s, ok := params.First(v, "dateFrom"); ok {
		if from, err = parseAPITime(s); err != nil {
			return messageStoreRequest{}, httperror.InvalidParam("dateFrom", "an ISO 8601 date or date-time, e.g. 2026-01-01 or 2026-01-01T00:00:00.000Z")
		}
	}
	if !to.IsZero() && to.Before(from) {
		return messageStoreRequest{}, httperror.InvalidParam("dateTo", "must not be before dateFrom")
	}
	r.query.From, r.query.To = from, to
	r.params = append(r.params, queryParam{"dateFrom", from.UTC().Format(apiTimeFormat)})
	if !to.IsZero() {
		r.params = append(r.params, queryParam{"dateTo", to.UTC().Format(apiTimeFormat)})
	}
	return r, nil
}

// apiMessageList is a page of the message store.
type apiMessageList struct {
	URI        string        `json:"uri"`
	Records    []apiMessage  `json:"records"`
	Paging     apiPaging     `json:"paging"`
	Navigation apiNavigation `json:"navigation"`
}

// apiMessageStore answers GET …/extension/{extensionId}/message-store.
func (s *Server) apiMessageStore(c echo.Context) error {
	acct, ext, err := s.apiTarget(c)
	if err != nil {
		return err
	}
	req, err := parseMessageStoreQuery(c.QueryParams(), acct.CountryCode, time.Now())
	if err != nil {
		return err
	}
	q := req.query
	q.ExtensionID = ext.ID
	q.Offset, q.Limit = req.page.Offset(), req.page.PerPage
	var page messaging.Page
	if s.Messages != nil {
		if page, err = s.Messages.Messages(c.Request().Context(), q); err != nil {
			return err
		}
	}
	list := apiMessageList{Records: make([]apiMessage, 0, len(page.Messages))}
	for _, m := range page.Messages {
		list.Records = append(list.Records, s.apiMessageRecord(acct.ID, m))
	}
	base := s.extensionURI(acct.ID, ext.ID) + "/message-store"
	list.URI, list.Paging, list.Navigation = paginate(base, req.params, req.page, page.Total, len(list.Records))
	return c.JSON(http.StatusOK, list)
}

// apiMessageTarget resolves the path's extension and message.
func (s *Server) apiMessageTarget(c echo.Context) (identity.Account, identity.Extension, string, error) {
	acct, ext, err := s.apiTarget(c)
	if err != nil {
		return identity.Account{}, identity.Extension{}, "", err
	}
	if s.Messages == nil {
		return identity.Account{}, identity.Extension{}, "", httperror.MessagingOff
	}
	return acct, ext, c.Param("messageId"), nil
}

// apiGetMessage answers GET …/message-store/{messageId}.
func (s *Server) apiGetMessage(c echo.Context) error {
	acct, ext, id, err := s.apiMessageTarget(c)
	if err != nil {
		return err
	}
	m, err := s.Messages.Message(c.Request().Context(), ext.ID, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.apiMessageRecord(acct.ID, m))
}

// messageUpdate is the body of PUT …/message-store/{messageId}.
type messageUpdate struct {
	ReadStatus *string `json:"readStatus"`
}

// readStatusOf checks the readStatus of an update.
func readStatusOf(u messageUpdate) (messaging.ReadStatus, error) {
	if u.ReadStatus == nil {
		return "", httperror.InvalidParam("readStatus", "missing: Read or Unread")
	}
	v, err := params.Enum("readStatus", *u.ReadStatus, messageReadStatuses)
	return messaging.ReadStatus(v), err
}

// apiUpdateMessage answers PUT …/message-store/{messageId}: it marks the
// message Read or Unread.
func (s *Server) apiUpdateMessage(c echo.Context) error {
	acct, ext, id, err := s.apiMessageTarget(c)
	if err != nil {
		return err
	}
	var req messageUpdate
	if err := params.JSON(c, &req); err != nil {
		return err
	}
	status, err := readStatusOf(req)
	if err != nil {
		return err
	}
	m, err := s.Messages.SetReadStatus(c.Request().Context(), ext.ID, id, status)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.apiMessageRecord(acct.ID, m))
}

// apiDeleteMessage answers DELETE …/message-store/{messageId}: the message
// becomes Deleted, leaves the default list, and the record says so.
func (s *Server) apiDeleteMessage(c echo.Context) error {
	acct, ext, id, err := s.apiMessageTarget(c)
	if err != nil {
		return err
	}
	m, err := s.Messages.Delete(c.Request().Context(), ext.ID, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.apiMessageRecord(acct.ID, m))
}
