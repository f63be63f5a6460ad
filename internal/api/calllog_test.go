package web

import (
	"errors"
	"net/url"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/telephony"
)

var queryNow = time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC)

func TestParseCallLogQuery(t *testing.T) {
	weekAgo := queryNow.Add(-7 * 24 * time.Hour)
	tests := []struct {
		query string
		check func(t *testing.T, r callLogRequest)
	}{
		{"", func(t *testing.T, r callLogRequest) {
			if !r.query.From.Equal(weekAgo) || !r.query.To.IsZero() || r.page != (pageParams{1, 100}) || r.detailed {
				t.Errorf("defaults %+v", r)
			}
		}},
		{"dateTo=2026-02-10", func(t *testing.T, r callLogRequest) {
			to := time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC)
			if !r.query.To.Equal(to) || !r.query.From.Equal(to.Add(-7*24*time.Hour)) {
				t.Errorf("from %v to %v", r.query.From, r.query.To)
			}
		}},
		{"dateFrom=2026-01-01T10:00:00%2B02:00&dateTo=2026-01-02T00:00:00.5Z", func(t *testing.T, r callLogRequest) {
			if !r.query.From.Equal(time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)) || !r.query.To.Equal(time.Date(2026, 1, 2, 0, 0, 0, 5e8, time.UTC)) {
				t.Errorf("from %v to %v", r.query.From, r.query.To)
			}
		}},
		{"dateFrom=2026-01-01T10:00:00+02:00", func(t *testing.T, r callLogRequest) { // "+" unescaped
			if !r.query.From.Equal(time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)) {
				t.Errorf("from %v", r.query.From)
			}
		}},
		{"phoneNumber=(650)+555-0102&direction=inbound&type=Voice&view=detailed&page=3&perPage=1000&unknown=1", func(t *testing.T, r callLogRequest) {
			if r.query.PhoneNumber != "+16505550102" || !slices.Equal(r.query.Directions, []telephony.Direction{telephony.Inbound}) ||
				!slices.Equal(r.query.Types, []string{"Voice"}) || !r.detailed || r.page != (pageParams{3, 1000}) {
				t.Errorf("parsed %+v", r)
			}
		}},
		{"phoneNumber=102&direction=Inbound&direction=Outbound&direction=Inbound", func(t *testing.T, r callLogRequest) {
			if r.query.PhoneNumber != "102" || r.query.Directions != nil || len(r.params) != 4 { // phoneNumber, 2 directions, dateFrom
				t.Errorf("parsed %+v", r)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			v, _ := url.ParseQuery(tt.query)
			r, err := parseCallLogQuery(v, "US", queryNow)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, r)
		})
	}

	bad := map[string]string{
		"page=0": "page", "page=x": "page", "page=1000001": "page", "perPage=0": "perPage", "perPage=1001": "perPage",
		"perPage=": "perPage", "dateFrom=yesterday": "dateFrom", "dateTo=2026-13-01": "dateTo",
		"dateFrom=2026-02-01&dateTo=2026-01-01": "dateTo", "phoneNumber=abc": "phoneNumber", "phoneNumber=": "phoneNumber",
		"direction=Sideways": "direction", "type=SMS": "type", "view=Full": "view",
	}
	for query, param := range bad {
		t.Run(query, func(t *testing.T) {
			v, _ := url.ParseQuery(query)
			_, err := parseCallLogQuery(v, "US", queryNow)
			var e *Error
			if !errors.As(err, &e) || e.Status != 400 || e.Code != "InvalidParameter" || e.Param != param {
				t.Fatalf("error %#v, want a 400 naming %s", err, param)
			}
		})
	}
}

// callLogParams are the parameters a call-log error may name.
var callLogParams = []string{"page", "perPage", "dateFrom", "dateTo", "phoneNumber", "direction", "type", "view"}

// FuzzCallLogQuery feeds any query string to the call log's parser: it
// must answer a 400 naming one of its parameters, or a query within the
// limits whose canonical URI parses back to the same query.
func FuzzCallLogQuery(f *testing.F) {
	for _, seed := range []string{
		"", "dateFrom=2014-09-18&phoneNumber=16504445567&dateTo=2014-09-25&type=Voice",
		"page=2&perPage=1000&direction=Inbound&view=Detailed", "phoneNumber=%2B1+650+555+0102", "phoneNumber=1800CALFEDE",
		"dateFrom=2026-01-01T00:00:00.000Z&dateTo=2025-01-01", "perPage=-1", "page=99999999999999999999",
		"direction=Outbound&direction=inbound&type=fax", "dateFrom=0000-01-01", "phoneNumber=" + string(make([]byte, 70)),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, _ := url.ParseQuery(raw)
		r, err := parseCallLogQuery(v, "US", queryNow)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status != 400 || !slices.Contains(callLogParams, e.Param) {
				t.Fatalf("%q: error %#v", raw, err)
			}
			return
		}
		if r.page.page < 1 || r.page.page > maxPage || r.page.perPage < 1 || r.page.perPage > maxPerPage {
			t.Fatalf("%q: page %+v", raw, r.page)
		}
		if !r.query.To.IsZero() && r.query.To.Before(r.query.From) {
			t.Fatalf("%q: from %v after to %v", raw, r.query.From, r.query.To)
		}
		u, err := url.Parse(pageURI("http://x/call-log", r.params, r.page.page, r.page.perPage))
		if err != nil {
			t.Fatalf("%q: canonical URI: %v", raw, err)
		}
		again, err := parseCallLogQuery(u.Query(), "US", queryNow)
		if err != nil {
			t.Fatalf("%q: canonical URI %s: %v", raw, u, err)
		}
		if !again.query.From.Equal(r.query.From.Truncate(time.Millisecond)) || !again.query.To.Equal(r.query.To.Truncate(time.Millisecond)) {
			t.Fatalf("%q: canonical URI %s changes the dates", raw, u)
		}
		again.query.From, again.query.To, r.query.From, r.query.To = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if !reflect.DeepEqual(again.query, r.query) || again.page != r.page || again.detailed != r.detailed {
			t.Fatalf("%q: canonical URI %s parses to %+v, want %+v", raw, u, again, r)
		}
	})
}
