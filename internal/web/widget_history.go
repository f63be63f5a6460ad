package web

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/oauth"
	"github.com/callbridge/widget-server/internal/presence"
	"github.com/callbridge/widget-server/internal/store"
)

// widgetHistoryRoutes mounts the widget's /widget/call-log, /widget/presence
// and /widget/phone-numbers endpoints: the history page, the presence
// selector and the calling settings read and change the signed-in user's
// data through them.
func (s *Server) widgetHistoryRoutes(e *echo.Echo) {
	g := e.Group("/widget", s.sameOrigin)
	g.GET("/call-log", s.widgetCallLog)
	g.PUT("/presence", s.widgetSetPresence)
	g.GET("/phone-numbers", s.widgetPhoneNumbers)
}

// widgetUser returns the signed-in extension of a widget request, with its
// account. A request without a signed-in session, or whose session ended,
// is answered 401 so that the widget reloads its state.
func (s *Server) widgetUser(c echo.Context) (identity.Account, identity.Extension, error) {
	notSignedIn := &Error{Status: http.StatusUnauthorized, Code: "NotSignedIn", Message: "sign in first"}
	w := s.cookie(c.Request())
	if !w.live() || !w.signedIn() || s.Sessions == nil {
		return identity.Account{}, identity.Extension{}, notSignedIn
	}
	ctx := c.Request().Context()
	sess, err := s.Sessions.Get(ctx, w.sid())
	if errors.Is(err, oauth.ErrSessionEnded) {
		return identity.Account{}, identity.Extension{}, &Error{Status: http.StatusUnauthorized, Code: "NotSignedIn",
			Message: "your session ended: sign in again"}
	}
	if err != nil {
		return identity.Account{}, identity.Extension{}, err
	}
	acct, ext, err := s.Directory.ExtensionWithAccount(ctx, sess.ExtensionID)
	if errors.Is(err, identity.ErrNotFound) || err == nil && !ext.Enabled() {
		return identity.Account{}, identity.Extension{}, notSignedIn
	}
	if err != nil {
		return identity.Account{}, identity.Extension{}, err
	}
	return acct, ext, nil
}

// widgetCallLogList is the answer of GET /widget/call-log: the records as
// the platform API writes them (docs/api.md "Call log"), newest first.
type widgetCallLogList struct {
	Records []apiCallRecord `json:"records"`
}

// widgetCallLog answers GET /widget/call-log with the signed-in user's call
// log. It takes the API's query parameters (perPage, page, phoneNumber,
// direction, dateFrom, dateTo, …) with the same defaults and errors: without
// dateFrom, the last week.
func (s *Server) widgetCallLog(c echo.Context) error {
	acct, ext, err := s.widgetUser(c)
	if err != nil {
		return err
	}
	req, err := parseCallLogQuery(c.QueryParams(), acct.CountryCode, time.Now())
	if err != nil {
		return err
	}
	q := req.query
	q.ExtensionID = ext.ID
	q.Offset, q.Limit = req.page.offset(), req.page.perPage
	var page store.CallLogPage
	if s.CallLog != nil {
		if page, err = s.CallLog.QueryCallLog(c.Request().Context(), q); err != nil {
			return err
		}
	}
	base := s.extensionURI(acct.ID, ext.ID) + "/call-log/"
	list := widgetCallLogList{Records: make([]apiCallRecord, 0, len(page.Records))}
	for _, rec := range page.Records {
		list.Records = append(list.Records, s.apiRecord(rec, acct.ID, base+url.PathEscape(rec.ID), req.detailed))
	}
	return c.JSON(http.StatusOK, list)
}

// widgetSetPresence answers PUT /widget/presence {userStatus?, dndStatus?}:
// the values are checked like the API's PUT presence, stored and applied
// (do-not-disturb stops calls from ringing), the user's widgets are told
// (rc-adapter-syncPresence), and the answer is the new presence in the
// words of that event.
func (s *Server) widgetSetPresence(c echo.Context) error {
	_, ext, err := s.widgetUser(c)
	if err != nil {
		return err
	}
	if err := s.updateUserPresence(c, ext.ID); err != nil {
		return err
	}
	body, err := s.widgetPresence(c.Request().Context(), ext.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, body)
}

// updateUserPresence reads a presence update {userStatus?, dndStatus?}
// from the request body, checks it and applies it to the extension (what
// is left out stays): stored, do-not-disturb applied to the switch, widgets
// and webhook subscriptions told.
func (s *Server) updateUserPresence(c echo.Context, ext int64) error {
	var req presenceUpdate
	if err := bindAPIJSON(c, &req); err != nil {
		return err
	}
	if s.Presence == nil {
		return &Error{Status: http.StatusNotImplemented, Code: "NotImplemented", Message: "presence cannot be set on this server"}
	}
	ctx := c.Request().Context()
	p, err := s.Presence.User(ctx, ext)
	if err != nil {
		return err
	}
	if req.UserStatus != nil {
		if p.UserStatus, err = enumValue("userStatus", *req.UserStatus, presence.UserStatuses); err != nil {
			return err
		}
	}
	if req.DNDStatus != nil {
		if p.DNDStatus, err = enumValue("dndStatus", *req.DNDStatus, presence.DNDStatuses); err != nil {
			return err
		}
	}
	return s.Presence.Set(ctx, ext, p)
}

// widgetPhoneNumber is one of the user's numbers: usageType is DirectNumber
// for the extension's own numbers and MainCompanyNumber for the account's
// main number (seeds/001 phone-number usage types).
type widgetPhoneNumber struct {
	PhoneNumber string `json:"phoneNumber"`
	UsageType   string `json:"usageType"`
}

type widgetPhoneNumbers struct {
	Records []widgetPhoneNumber `json:"records"`
}

// widgetPhoneNumbers answers GET /widget/phone-numbers: the numbers the
// user calls and texts from, its direct numbers first and then the
// account's main number. The calling settings offer them as caller id and
// as the phone a RingOut rings first.
func (s *Server) widgetPhoneNumbers(c echo.Context) error {
	acct, ext, err := s.widgetUser(c)
	if err != nil {
		return err
	}
	list := widgetPhoneNumbers{Records: make([]widgetPhoneNumber, 0, len(ext.DirectNumbers)+1)}
	for _, n := range ext.DirectNumbers {
		list.Records = append(list.Records, widgetPhoneNumber{PhoneNumber: n, UsageType: "DirectNumber"})
	}
	if acct.MainNumber != "" {
		list.Records = append(list.Records, widgetPhoneNumber{PhoneNumber: acct.MainNumber, UsageType: "MainCompanyNumber"})
	}
	return c.JSON(http.StatusOK, list)
}
