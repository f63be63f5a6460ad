package api

import (
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/params"
	"github.com/callbridge/widget-server/internal/telephony"
)

// resultInProgress is the result of a call that has not ended.
const resultInProgress = "In Progress"

// apiActiveCalls answers GET …/extension/{extensionId}/active-calls: the
// extension's live calls as call-log records (result "In Progress",
// duration so far), newest first. Each record's id and uri are those the
// call-log record will have once the call ends. Filters: direction, type,
// view, page, perPage.
func (s *Server) apiActiveCalls(c echo.Context) error {
	acct, ext, err := s.apiTarget(c)
	if err != nil {
		return err
	}
	v := c.QueryParams()
	page, err := params.Paging(v)
	if err != nil {
		return err
	}
	directions, err := params.Enums(v, "direction", callDirections)
	if err != nil {
		return err
	}
	types, err := params.Enums(v, "type", callTypes)
	if err != nil {
		return err
	}
	detailed, err := parseView(v)
	if err != nil {
		return err
	}
	var query []queryParam
	for _, d := range directions {
		query = append(query, queryParam{"direction", d})
	}
	for _, t := range types {
		query = append(query, queryParam{"type", t})
	}
	if detailed {
		query = append(query, queryParam{"view", "Detailed"})
	}

	now := time.Now()
	base := s.extensionURI(acct.ID, ext.ID)
	var all []apiCallRecord
	live := s.liveCalls(ext.ID)
	for i := len(live) - 1; i >= 0; i-- {
		lc := live[i]
		if len(directions) > 0 && !params.Contains(directions, string(lc.party.Direction)) ||
			len(types) > 0 && !params.Contains(types, "Voice") {
			continue
		}
		rec := lc.record(now)
		all = append(all, s.apiRecord(rec, acct.ID, base+"/call-log/"+url.PathEscape(rec.ID), detailed))
	}
	list := apiCallLogList{Records: []apiCallRecord{}}
	if off := page.Offset(); off < len(all) {
		list.Records = all[off:min(off+page.PerPage, len(all))]
	}
	list.URI, list.Paging, list.Navigation = paginate(base+"/active-calls", query, page, len(all), len(list.Records))
	return c.JSON(http.StatusOK, list)
}

// record is the live call as a call-log record so far.
func (lc liveCall) record(now time.Time) telephony.CallRecord {
	s, p := lc.session, lc.party
	action := "VoIP Call"
	for _, o := range s.Parties {
		if o.Owner == 0 {
			action = "Phone Call"
		}
	}
	if s.Origin == telephony.OriginRingOut {
		action = telephony.ActionRingOutWeb
	}
	var d time.Duration
	if !s.Connected.IsZero() {
		d = now.Sub(s.Connected)
	}
	return telephony.CallRecord{
		ID: p.ID, Extension: p.Owner, SessionID: s.SessionID, TelephonySessionID: s.ID, PartyID: p.ID,
		StartTime: s.Created, Duration: d, Direction: p.Direction, From: p.From, To: p.To,
		Type: "Voice", Action: action, Result: resultInProgress,
	}
}
