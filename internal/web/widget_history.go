package web

import (
	"context"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/identity"
)

// CallHistory is the call log in the platform API's words, which the
// widget's history page shows (internal/api implements it).
type CallHistory interface {
	// CallLogRecords is one page of the extension's call-log records for
	// the API's call-log query parameters, newest first; the records are
	// ready to be written as JSON. A bad parameter is a 400 naming it.
	CallLogRecords(ctx context.Context, acct identity.Account, ext identity.Extension, query url.Values) (any, error)
}

// widgetHistoryRoutes mounts the widget's /widget/call-log, /widget/presence
// and /widget/phone-numbers endpoints: the history page, the presence
// selector and the calling settings read and change the signed-in user's
// data through them.
func (s *Server) widgetHistoryRoutes(e *echo.Echo) {
	g := e.Group("/widget", s.sameOrigin)
	g.GET("/call-log", s.widgetCallLog, s.signedIn)
	g.PUT("/presence", s.widgetSetPresence, s.signedIn)
	g.GET("/phone-numbers", s.widgetPhoneNumbers, s.signedIn)
}

// widgetCallLogList is the answer of GET /widget/call-log: the records as
// the platform API writes them (docs/api.md "Call log"), newest first.
type widgetCallLogList struct {
	Records any `json:"records"`
}

// widgetCallLog answers GET /widget/call-log with the signed-in user's call
// log. It takes the API's query parameters (perPage, page, phoneNumber,
// direction, dateFrom, dateTo, …) with the same defaults and errors: without
// dateFrom, the last week.
func (s *Server) widgetCallLog(c echo.Context) error {
	u := userOf(c)
	if s.CallLog == nil {
		return c.JSON(http.StatusOK, widgetCallLogList{Records: []any{}})
	}
	records, err := s.CallLog.CallLogRecords(c.Request().Context(), u.Account, u.Extension, c.QueryParams())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, widgetCallLogList{Records: records})
}
