package api

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/params"
	"github.com/callbridge/widget-server/internal/telephony"
)

// apiActiveCalls answers GET …/extension/{extensionId}/active-calls: the
// extension's live calls as call-log records (result "In Progress",
// duration so far), newest first. The switch makes them as it makes the
// call log's (telephony.Switch.ActiveRecords), so each record's id, uri and
// action are those the call-log record will have once the call ends.
// Filters: direction, type, view, page, perPage.
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

	base := s.extensionURI(acct.ID, ext.ID)
	var all []apiCallRecord
	var live []telephony.CallRecord
	if s.Switch != nil {
		live = s.Switch.ActiveRecords(ext.ID)
	}
	for i := len(live) - 1; i >= 0; i-- {
		rec := live[i]
		if len(directions) > 0 && !slices.Contains(directions, string(rec.Direction)) ||
			len(types) > 0 && !slices.Contains(types, rec.Type) {
			continue
		}
		all = append(all, s.apiRecord(rec, acct.ID, base+"/call-log/"+url.PathEscape(rec.ID), detailed))
	}
	list := apiCallLogList{Records: []apiCallRecord{}}
	if off := page.Offset(); off < len(all) {
		list.Records = all[off:min(off+page.PerPage, len(all))]
	}
	list.URI, list.Paging, list.Navigation = paginate(base+"/active-calls", query, page, len(all), len(list.Records))
	return c.JSON(http.StatusOK, list)
}
