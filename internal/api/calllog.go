package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/params"
	"github.com/callbridge/widget-server/internal/phonenumber"
	"github.com/callbridge/widget-server/internal/store"
	"github.com/callbridge/widget-server/internal/telephony"
)

// CallLogStore reads the call log the switch writes. The store implements it.
type CallLogStore interface {
	QueryCallLog(ctx context.Context, q store.CallLogQuery) (store.CallLogPage, error)
	CallRecord(ctx context.Context, id string) (rec telephony.CallRecord, ok bool, err error)
}

// defaultCallLogPeriod is how far back the call log reaches without dateFrom
// (seeds/001: "server will return records for last week only").
const defaultCallLogPeriod = 7 * 24 * time.Hour

// apiTimeFormat is how the API writes times: ISO 8601 in UTC, milliseconds.
const apiTimeFormat = "2006-01-02T15:04:05.000Z"

// apiCallLogList is a page of call-log (or active-call) records.
type apiCallLogList struct {
	URI        string          `json:"uri"`
	Records    []apiCallRecord `json:"records"`
	Paging     apiPaging       `json:"paging"`
	Navigation apiNavigation   `json:"navigation"`
}

// apiCallRecord is one call of an extension (seeds/001 call log). sessionId
// and telephonySessionId are those of the call's events, so a record
// matches what the widget and the presence resource reported live.
type apiCallRecord struct {
	URI                string           `json:"uri"`
	ID                 string           `json:"id"`
	SessionID          string           `json:"sessionId"`
	TelephonySessionID string           `json:"telephonySessionId"`
	PartyID            string           `json:"partyId"`
	StartTime          string           `json:"startTime"`
	Duration           int64            `json:"duration"`
	Type               string           `json:"type"`
	Direction          string           `json:"direction"`
	Action             string           `json:"action"`
	Result             string           `json:"result"`
	Reason             string           `json:"reason,omitempty"`
	ReasonCode         int              `json:"reasonCode,omitempty"`
	From               apiCallParty     `json:"from"`
	To                 apiCallParty     `json:"to"`
	Extension          *apiExtensionRef `json:"extension,omitempty"`
	Legs               []apiCallLeg     `json:"legs,omitempty"`
	Recording          *apiRecordingRef `json:"recording,omitempty"`
}

// apiCallParty is one end of a call.
type apiCallParty struct {
	PhoneNumber     string `json:"phoneNumber,omitempty"`
	Name            string `json:"name,omitempty"`
	ExtensionNumber string `json:"extensionNumber,omitempty"`
}

// apiCallLeg is a leg of a call in the Detailed view: the master (the call
// as it began for the extension; the record itself for a call never handed
// on), then a Transfer or Forward leg per hand-over (telephony.CallLeg).
type apiCallLeg struct {
	StartTime string       `json:"startTime"`
	Duration  int64        `json:"duration"`
	Type      string       `json:"type"`
	Direction string       `json:"direction"`
	Action    string       `json:"action"`
	Result    string       `json:"result"`
	LegType   string       `json:"legType"`
	Master    bool         `json:"master"`
	From      apiCallParty `json:"from"`
	To        apiCallParty `json:"to"`
}

// callLogRequest is a parsed call-log query string.
type callLogRequest struct {
	query    store.CallLogQuery // filters only: no extension, account or page
	detailed bool
	page     params.Page
	params   []queryParam // the filters, canonical, for the list's URIs
}

// Values the call log's enum parameters take, spelled canonically.
var (
	callDirections = []string{string(telephony.Inbound), string(telephony.Outbound)}
	callTypes      = []string{"Voice", "Fax"}
	callViews      = []string{"Simple", "Detailed"}
)

// parseCallLogQuery reads a call-log query string (docs/api.md "Call log"):
// dateFrom, dateTo, phoneNumber (any format, read in region), direction and
// type (repeatable), view, page and perPage. Unknown parameters are
// ignored. Errors name the parameter.
func parseCallLogQuery(v url.Values, region string, now time.Time) (callLogRequest, error) {
	var r callLogRequest
	var err error
	if r.page, err = params.Paging(v); err != nil {
		return callLogRequest{}, err
	}
	if s, ok := params.First(v, "phoneNumber"); ok {
		n, err := phonenumber.Normalize(s, region)
		if err != nil {
			return callLogRequest{}, httperror.InvalidParam("phoneNumber", "a phone number or an extension number")
		}
		r.query.PhoneNumber = n
		r.params = append(r.params, queryParam{"phoneNumber", n})
	}
	directions, err := params.Enums(v, "direction", callDirections)
	if err != nil {
		return callLogRequest{}, err
	}
	for _, d := range directions {
		r.params = append(r.params, queryParam{"direction", d})
	}
	if len(directions) == 1 { // both is the same as none
		r.query.Directions = []telephony.Direction{telephony.Direction(directions[0])}
	}
	types, err := params.Enums(v, "type", callTypes)
	if err != nil {
		return callLogRequest{}, err
	}
	for _, t := range types {
		r.params = append(r.params, queryParam{"type", t})
	}
	r.query.Types = types
	if r.detailed, err = parseView(v); err != nil {
		return callLogRequest{}, err
	}
	if r.detailed {
		r.params = append(r.params, queryParam{"view", "Detailed"})
	}

	var to time.Time
	if s, ok := params.First(v, "dateTo"); ok {
		if to, err = parseAPITime(s); err != nil {
			return callLogRequest{}, httperror.InvalidParam("dateTo", "an ISO 8601 date or date-time, e.g. 2026-01-31 or 2026-01-31T12:00:00.000Z")
		}
	}
	end := now
	if !to.IsZero() {
		end = to
	}
	from := end.Add(-defaultCallLogPeriod).Truncate(time.Millisecond)
	if s, ok := params.First(v, "dateFrom"); ok {
		if from, err = parseAPITime(s); err != nil {
			return callLogRequest{}, httperror.InvalidParam("dateFrom", "an ISO 8601 date or date-time, e.g. 2026-01-01 or 2026-01-01T00:00:00.000Z")
		}
	}
	if !to.IsZero() && to.Before(from) {
		return callLogRequest{}, httperror.InvalidParam("dateTo", "must not be before dateFrom")
	}
	r.query.From, r.query.To = from, to
	r.params = append(r.params, queryParam{"dateFrom", from.UTC().Format(apiTimeFormat)})
	if !to.IsZero() {
		r.params = append(r.params, queryParam{"dateTo", to.UTC().Format(apiTimeFormat)})
	}
	return r, nil
}

// parseView reads view: Simple (the default) or Detailed.
func parseView(v url.Values) (detailed bool, err error) {
	s, ok := params.First(v, "view")
	if !ok {
		return false, nil
	}
	views, err := params.Enums(url.Values{"view": {s}}, "view", callViews)
	if err != nil {
		return false, err
	}
	return views[0] == "Detailed", nil
}

// apiTimeLayouts are the ISO 8601 forms dateFrom and dateTo take; without a
// zone a time is UTC.
var apiTimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"}

func parseAPITime(s string) (time.Time, error) {
	// An unescaped "+" of a zone offset arrives as a space.
	s = strings.ReplaceAll(strings.TrimSpace(s), " ", "+")
	var err error
	for _, layout := range apiTimeLayouts {
		var t time.Time
		if t, err = time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, err
}

// apiCallLog answers GET …/extension/{extensionId}/call-log.
func (s *Server) apiCallLog(c echo.Context) error {
	acct, ext, err := s.apiTarget(c)
	if err != nil {
		return err
	}
	return s.callLogPage(c, acct.CountryCode, store.CallLogQuery{ExtensionID: ext.ID},
		s.extensionURI(acct.ID, ext.ID)+"/call-log", acct.ID)
}

// apiAccountCallLog answers GET …/account/{accountId}/call-log: the records
// of every extension of the account, for administrators.
func (s *Server) apiAccountCallLog(c echo.Context) error {
	acct, err := apiAdminAccount(c)
	if err != nil {
		return err
	}
	return s.callLogPage(c, acct.CountryCode, store.CallLogQuery{AccountID: acct.ID}, s.accountURI(acct.ID)+"/call-log", acct.ID)
}

func (s *Server) callLogPage(c echo.Context, region string, scope store.CallLogQuery, base string, accountID int64) error {
	req, err := parseCallLogQuery(c.QueryParams(), region, time.Now())
	if err != nil {
		return err
	}
	q := req.query
	q.ExtensionID, q.AccountID = scope.ExtensionID, scope.AccountID
	q.Offset, q.Limit = req.page.Offset(), req.page.PerPage
	var page store.CallLogPage
	if s.CallLog != nil {
		if page, err = s.CallLog.QueryCallLog(c.Request().Context(), q); err != nil {
			return err
		}
	}
	list := apiCallLogList{Records: make([]apiCallRecord, 0, len(page.Records))}
	for _, rec := range page.Records {
		list.Records = append(list.Records, s.apiRecord(rec, accountID, base+"/"+url.PathEscape(rec.ID), req.detailed))
	}
	list.URI, list.Paging, list.Navigation = paginate(base, req.params, req.page, page.Total, len(list.Records))
	return c.JSON(http.StatusOK, list)
}

// CallLogRecords is the extension's call log as the widget's history shows
// it (GET /widget/call-log): the records of one page of the API's call-log
// query (perPage, page, phoneNumber, direction, dateFrom, dateTo, …, with
// the same defaults and errors: without dateFrom, the last week), written
// as the API writes them, newest first.
func (s *Server) CallLogRecords(ctx context.Context, acct identity.Account, ext identity.Extension, query url.Values) (any, error) {
	req, err := parseCallLogQuery(query, acct.CountryCode, time.Now())
	if err != nil {
		return nil, err
	}
	q := req.query
	q.ExtensionID = ext.ID
	q.Offset, q.Limit = req.page.Offset(), req.page.PerPage
	var page store.CallLogPage
	if s.CallLog != nil {
		if page, err = s.CallLog.QueryCallLog(ctx, q); err != nil {
			return nil, err
		}
	}
	base := s.extensionURI(acct.ID, ext.ID) + "/call-log/"
	records := make([]apiCallRecord, 0, len(page.Records))
	for _, rec := range page.Records {
		records = append(records, s.apiRecord(rec, acct.ID, base+url.PathEscape(rec.ID), req.detailed))
	}
	return records, nil
}

// apiCallRecord answers GET …/extension/{extensionId}/call-log/{callRecordId}.
func (s *Server) apiCallRecord(c echo.Context) error {
	acct, ext, err := s.apiTarget(c)
	if err != nil {
		return err
	}
	rec, err := s.findCallRecord(c, func(rec telephony.CallRecord) (bool, error) { return rec.Extension == ext.ID, nil })
	if err != nil {
		return err
	}
	detailed, err := parseView(c.QueryParams())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.apiRecord(rec, acct.ID, s.extensionURI(acct.ID, ext.ID)+"/call-log/"+url.PathEscape(rec.ID), detailed))
}

// apiAccountCallRecord answers GET …/account/{accountId}/call-log/{callRecordId}.
func (s *Server) apiAccountCallRecord(c echo.Context) error {
	acct, err := apiAdminAccount(c)
	if err != nil {
		return err
	}
	rec, err := s.findCallRecord(c, func(rec telephony.CallRecord) (bool, error) {
		a, _, err := s.Directory.ExtensionWithAccount(c.Request().Context(), rec.Extension)
		if errors.Is(err, identity.ErrNotFound) {
			return false, nil
		}
		return err == nil && a.ID == acct.ID, err
	})
	if err != nil {
		return err
	}
	detailed, err := parseView(c.QueryParams())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.apiRecord(rec, acct.ID, s.accountURI(acct.ID)+"/call-log/"+url.PathEscape(rec.ID), detailed))
}

// findCallRecord returns the record the path names if visible says the
// caller may see it, and 404 otherwise.
func (s *Server) findCallRecord(c echo.Context, visible func(telephony.CallRecord) (bool, error)) (telephony.CallRecord, error) {
	notFound := &httperror.Error{Status: http.StatusNotFound, Code: "NotFound", Message: "no such call-log record"}
	id := c.Param("callRecordId")
	if s.CallLog == nil || id == "" || len(id) > 64 {
		return telephony.CallRecord{}, notFound
	}
	rec, ok, err := s.CallLog.CallRecord(c.Request().Context(), id)
	if err != nil {
		return telephony.CallRecord{}, err
	}
	if !ok {
		return telephony.CallRecord{}, notFound
	}
	if ok, err := visible(rec); err != nil || !ok {
		if err == nil {
			err = notFound
		}
		return telephony.CallRecord{}, err
	}
	return rec, nil
}

// apiRecord is the API's view of a call-log record.
func (s *Server) apiRecord(rec telephony.CallRecord, accountID int64, uri string, detailed bool) apiCallRecord {
	seconds := int64(rec.Duration / time.Second)
	r := apiCallRecord{
		URI: uri, ID: rec.ID, SessionID: rec.SessionID, TelephonySessionID: rec.TelephonySessionID, PartyID: rec.PartyID,
		StartTime: rec.StartTime.UTC().Format(apiTimeFormat), Duration: seconds,
		Type: rec.Type, Direction: string(rec.Direction), Action: rec.Action, Result: rec.Result,
		Reason: rec.Reason, ReasonCode: rec.Code, From: apiParty(rec.From), To: apiParty(rec.To),
		Extension: &apiExtensionRef{ID: rec.Extension, URI: s.extensionURI(accountID, rec.Extension)},
		Recording: s.apiRecordingRefOf(accountID, rec.Recording),
	}
	if detailed {
		r.Legs = apiLegs(rec)
	}
	return r
}

// apiLegs are the legs of rec in the Detailed view: those the switch kept,
// or, for a call never handed on, the record itself as the master.
func apiLegs(rec telephony.CallRecord) []apiCallLeg {
	legs := rec.Legs
	if len(legs) == 0 {
		legs = []telephony.CallLeg{{StartTime: rec.StartTime, Duration: rec.Duration, Direction: rec.Direction,
			Action: rec.Action, Result: rec.Result, From: rec.From, To: rec.To}}
	}
	out := make([]apiCallLeg, len(legs))
	for i, l := range legs {
		out[i] = apiCallLeg{
			StartTime: l.StartTime.UTC().Format(apiTimeFormat), Duration: int64(l.Duration / time.Second), Type: rec.Type,
			Direction: string(l.Direction), Action: l.Action, Result: l.Result, LegType: legType(l.Direction, l.Action),
			Master: i == 0, From: apiParty(l.From), To: apiParty(l.To),
		}
	}
	return out
}

func apiParty(e telephony.Endpoint) apiCallParty {
	return apiCallParty{PhoneNumber: e.PhoneNumber, Name: e.Name, ExtensionNumber: e.ExtensionNumber}
}

// legType names how a leg was placed, in the platform's terms: a transfer
// is a TransferCall leg, a forward a FollowMe leg (the platform's leg for a
// call sent on to another number).
func legType(direction telephony.Direction, action string) string {
	switch {
	case action == telephony.ActionTransfer:
		return "TransferCall"
	case action == telephony.ActionForward:
		return "FollowMe"
	case direction == telephony.Inbound:
		return "Accept"
	case action == "VoIP Call":
		return "ExtensionToExtension"
	default:
		return "SipToPstnUnmetered"
	}
}
