package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/params"
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
			if !r.query.From.Equal(weekAgo) || !r.query.To.IsZero() || r.page != (params.Page{Number: 1, PerPage: 100}) || r.detailed {
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
				!slices.Equal(r.query.Types, []string{"Voice"}) || !r.detailed || r.page != (params.Page{Number: 3, PerPage: 1000}) {
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
			var e *httperror.Error
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
			var e *httperror.Error
			if !errors.As(err, &e) || e.Status != 400 || !slices.Contains(callLogParams, e.Param) {
				t.Fatalf("%q: error %#v", raw, err)
			}
			return
		}
		if r.page.Number < 1 || r.page.Number > params.MaxPage || r.page.PerPage < 1 || r.page.PerPage > params.MaxPerPage {
			t.Fatalf("%q: page %+v", raw, r.page)
		}
		if !r.query.To.IsZero() && r.query.To.Before(r.query.From) {
			t.Fatalf("%q: from %v after to %v", raw, r.query.From, r.query.To)
		}
		u, err := url.Parse(pageURI("http://x/call-log", r.params, r.page.Number, r.page.PerPage))
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

// addCalls stores n calls of alice's, one a minute, the newest a minute
// ago, and one of bob's.
func (u *userEnv) addCalls(t *testing.T, n int) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	alice := telephony.Endpoint{PhoneNumber: "+16505550101", Name: "Alice Adams", ExtensionNumber: "101"}
	var recs []telephony.CallRecord
	for i := range n {
		at := now.Add(-time.Duration(n-i) * time.Minute)
		line := telephony.Endpoint{PhoneNumber: fmt.Sprintf("+155501%02d", i)}
		rec := telephony.CallRecord{ID: fmt.Sprintf("a%d", i), Extension: u.alice.ID, SessionID: fmt.Sprint(i),
			TelephonySessionID: fmt.Sprintf("s-%d", i), PartyID: fmt.Sprintf("a%d", i), StartTime: at,
			Duration: time.Duration(i) * time.Second, Direction: telephony.Outbound, From: alice, To: line,
			Type: "Voice", Action: "Phone Call", Result: telephony.ResultConnected}
		if i%2 == 1 {
			rec.Direction, rec.From, rec.To, rec.Result = telephony.Inbound, line, alice, telephony.ResultMissed
		}
		recs = append(recs, rec)
	}
	recs = append(recs, telephony.CallRecord{ID: "b0", Extension: u.bob.ID, SessionID: "b", TelephonySessionID: "s-b",
		PartyID: "b0", StartTime: now, Direction: telephony.Outbound, Type: "Voice", Action: "Phone Call", Result: telephony.ResultBusy})
	if err := u.db.AddCallRecords(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
}

// records is what CallLogRecords answers, as the widget receives it.
func (u *userEnv) records(t *testing.T, ext identity.Extension, query string) []map[string]any {
	t.Helper()
	q, _ := url.ParseQuery(query)
	recs, err := u.srv.CallLogRecords(context.Background(), u.acct, ext, q)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	b, _ := json.Marshal(recs)
	var out []map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCallLogRecords: the widget's history gets the user's call log as the
// API writes it, with the API's query parameters and their errors.
func TestCallLogRecords(t *testing.T) {
	u := newUserEnv(t)
	u.addCalls(t, 5)

	records := u.records(t, u.alice, "perPage=3")
	var ids []string
	for _, r := range records {
		ids = append(ids, r["id"].(string))
	}
	if strings.Join(ids, ",") != "a4,a3,a2" {
		t.Fatalf("records %v, want alice's three newest", ids)
	}
	newest := records[0]
	if newest["direction"] != "Outbound" || newest["result"] != "Call connected" || newest["duration"] != 4.0 ||
		newest["telephonySessionId"] != "s-4" || newest["to"].(map[string]any)["phoneNumber"] != "+15550104" {
		t.Errorf("newest record %v", newest)
	}
	if missed := records[1]; missed["direction"] != "Inbound" || missed["result"] != "Missed" {
		t.Errorf("second record %v", missed)
	}
	if records := u.records(t, u.bob, ""); len(records) != 1 || records[0]["id"] != "b0" {
		t.Errorf("bob's call log: %v", records)
	}
	// Filters are the API's.
	if records := u.records(t, u.alice, "direction=Inbound"); len(records) != 2 {
		t.Errorf("inbound calls: %v", records)
	}
	for query, param := range map[string]string{"perPage=0": "perPage", "direction=Up": "direction"} {
		q, _ := url.ParseQuery(query)
		_, err := u.srv.CallLogRecords(context.Background(), u.acct, u.alice, q)
		wantParamError(t, err, param)
	}
}

// TestCallLogDetailedLegs: the Detailed view shows the legs the switch kept
// for a handed-on call, the master first — here Bob transferred Alice's call
// to Carol, who forwarded it to a busy line, and it came back to Bob — and
// one master leg for a call never handed on; the Simple view shows none.
func TestCallLogDetailedLegs(t *testing.T) {
	u := newUserEnv(t)
	start := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	alice := telephony.Endpoint{PhoneNumber: "+16505550101", Name: "Alice Adams", ExtensionNumber: "101"}
	bob := telephony.Endpoint{PhoneNumber: "+16505550102", Name: "Bob Brown", ExtensionNumber: "102"}
	carol := telephony.Endpoint{PhoneNumber: "+16505550103", Name: "Carol Chen", ExtensionNumber: "103"}
	line := telephony.Endpoint{PhoneNumber: "+15550102"}
	recs := []telephony.CallRecord{
		{ID: "p-a", Extension: u.alice.ID, SessionID: "1", TelephonySessionID: "s-1", PartyID: "p-a", StartTime: start,
			Duration: 33 * time.Second, Direction: telephony.Outbound, From: alice, To: bob, Type: "Voice", Action: "VoIP Call",
			Result: telephony.ResultConnected, Legs: []telephony.CallLeg{
				{StartTime: start, Duration: 10 * time.Second, Direction: telephony.Outbound, Action: "VoIP Call",
					Result: telephony.ResultTransferred, From: alice, To: bob},
				{StartTime: start.Add(12 * time.Second), Direction: telephony.Outbound, Action: telephony.ActionTransfer,
					Result: telephony.ResultForwarded, From: alice, To: carol},
				{StartTime: start.Add(14 * time.Second), Direction: telephony.Outbound, Action: telephony.ActionForward,
					Result: telephony.ResultBusy, From: alice, To: line},
				{StartTime: start.Add(15 * time.Second), Duration: 20 * time.Second, Direction: telephony.Outbound,
					Action: telephony.ActionTransfer, Result: telephony.ResultConnected, From: alice, To: bob},
			}},
		{ID: "p-b", Extension: u.alice.ID, SessionID: "2", TelephonySessionID: "s-2", PartyID: "p-b", StartTime: start.Add(-time.Hour),
			Duration: 5 * time.Second, Direction: telephony.Inbound, From: bob, To: alice, Type: "Voice", Action: "VoIP Call",
			Result: telephony.ResultConnected},
	}
	if err := u.db.AddCallRecords(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	at := func(d time.Duration) string { return start.Add(d).Format(apiTimeFormat) }
	leg := func(start string, duration int, direction, action, result, legType string, master bool, from, to telephony.Endpoint) map[string]any {
		return map[string]any{"startTime": start, "duration": float64(duration), "type": "Voice", "direction": direction,
			"action": action, "result": result, "legType": legType, "master": master, "from": endpointJSON(from), "to": endpointJSON(to)}
	}
	want := map[string][]any{
		"p-a": {
			leg(at(0), 10, "Outbound", "VoIP Call", "Transferred", "ExtensionToExtension", true, alice, bob),
			leg(at(12*time.Second), 0, "Outbound", "Transfer", "Forwarded", "TransferCall", false, alice, carol),
			leg(at(14*time.Second), 0, "Outbound", "Forward", "Busy", "FollowMe", false, alice, line),
			leg(at(15*time.Second), 20, "Outbound", "Transfer", "Call connected", "TransferCall", false, alice, bob),
		},
		"p-b": {leg(at(-time.Hour), 5, "Inbound", "VoIP Call", "Call connected", "Accept", true, bob, alice)},
	}
	detailed := u.records(t, u.alice, "view=Detailed")
	if len(detailed) != 2 {
		t.Fatalf("%d records", len(detailed))
	}
	for _, r := range detailed {
		id := r["id"].(string)
		if got := r["legs"]; !reflect.DeepEqual(got, want[id]) {
			t.Errorf("legs of %s:\n%v\nwant\n%v", id, got, want[id])
		}
	}
	if r := detailed[0]; r["id"] != "p-a" || r["duration"] != 33.0 || r["result"] != "Call connected" || r["action"] != "VoIP Call" {
		t.Errorf("record of the transferred call %v", r)
	}
	for _, r := range u.records(t, u.alice, "") {
		if _, ok := r["legs"]; ok {
			t.Errorf("Simple view with legs: %v", r)
		}
	}
}

// endpointJSON is an endpoint as the API writes it, decoded.
func endpointJSON(e telephony.Endpoint) map[string]any {
	m := map[string]any{}
	for k, v := range map[string]string{"phoneNumber": e.PhoneNumber, "name": e.Name, "extensionNumber": e.ExtensionNumber} {
		if v != "" {
			m[k] = v
		}
	}
	return m
}
