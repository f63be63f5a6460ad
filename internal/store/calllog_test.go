package store

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/presence"
	"github.com/callbridge/widget-server/internal/telephony"
)

func TestCallLog(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	if v, err := db.SchemaVersion(ctx); err != nil || v < 5 {
		t.Fatalf("schema version %d, %v", v, err)
	}
	alice := telephony.Endpoint{PhoneNumber: "+16505550101", Name: "Alice Adams", ExtensionNumber: "101"}
	bob := telephony.Endpoint{PhoneNumber: "+16505550102", Name: "Bob Brown", ExtensionNumber: "102"}
	line := telephony.Endpoint{PhoneNumber: "+15550100", Name: "Tone line"}
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	rec := func(id string, ext int64, at time.Time, d time.Duration, dir telephony.Direction, to telephony.Endpoint, action, result string) telephony.CallRecord {
		return telephony.CallRecord{ID: id, Extension: ext, SessionID: "1700000000" + id, TelephonySessionID: "s-" + id[:1],
			PartyID: id, StartTime: at, Duration: d, Direction: dir, From: alice, To: to, Type: "Voice",
			Action: action, Result: result}
	}
	call1 := []telephony.CallRecord{
		rec("a1", 101, start, 61*time.Second, telephony.Outbound, bob, "VoIP Call", telephony.ResultConnected),
		rec("a2", 102, start, 61*time.Second, telephony.Inbound, bob, "VoIP Call", telephony.ResultConnected),
	}
	// a later call at a sub-second time, to check text order is time order
	call2 := []telephony.CallRecord{
		rec("b1", 101, start.Add(1500*time.Millisecond), 2600*time.Millisecond, telephony.Outbound, line, "Phone Call", telephony.ResultConnected),
	}
	call3 := []telephony.CallRecord{
		rec("c1", 101, start.Add(-time.Hour).In(time.FixedZone("PST", -8*3600)), 0, telephony.Outbound, bob, "VoIP Call", telephony.ResultCanceled),
		rec("c2", 102, start.Add(-time.Hour), 0, telephony.Inbound, bob, "VoIP Call", telephony.ResultMissed),
	}
	call3[0].Code, call3[0].Reason = 487, "Request Terminated"
	for _, recs := range [][]telephony.CallRecord{call1, call2, call3, call1, nil} {
		if err := db.AddCallRecords(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}

	got, err := db.CallRecords(ctx, 101, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []telephony.CallRecord{call2[0], call1[0], call3[0]}
	want[0].Duration = 3 * time.Second // stored in whole seconds
	want[2].StartTime = want[2].StartTime.UTC()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("CallRecords(101) =\n%+v\nwant\n%+v", got, want)
	}
	if got, err := db.CallRecords(ctx, 101, 2); err != nil || len(got) != 2 || got[0].ID != "b1" || got[1].ID != "a1" {
		t.Fatalf("limit 2: %+v, %v", got, err)
	}
	if got, err := db.CallRecords(ctx, 102, 10); err != nil || len(got) != 2 || got[0].ID != "a2" || got[1].Result != telephony.ResultMissed {
		t.Fatalf("CallRecords(102) = %+v, %v", got, err)
	}
	if got, err := db.CallRecords(ctx, 999, 10); err != nil || len(got) != 0 {
		t.Fatalf("unknown extension: %+v, %v", got, err)
	}
}

// TestCallLogLegs: the legs of a handed-on call come back as they were
// written, in whole seconds and UTC, their ends without ExtensionID; a
// record without legs, also one written before legs were stored, has none.
func TestCallLogLegs(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	alice := telephony.Endpoint{PhoneNumber: "+16505550101", Name: "Alice Adams", ExtensionNumber: "101", ExtensionID: 101}
	bob := telephony.Endpoint{PhoneNumber: "+16505550102", Name: "Bob Brown", ExtensionNumber: "102", ExtensionID: 102}
	carol := telephony.Endpoint{PhoneNumber: "+16505550103", Name: "Carol Chen", ExtensionNumber: "103", ExtensionID: 103}
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	transferred := telephony.CallRecord{ID: "p-a", Extension: 101, SessionID: "1700000000001", TelephonySessionID: "s-1",
		PartyID: "p-a", StartTime: start, Duration: 33 * time.Second, Direction: telephony.Outbound, From: alice, To: bob,
		Type: "Voice", Action: "VoIP Call", Result: telephony.ResultConnected,
		Legs: []telephony.CallLeg{
			{StartTime: start, Duration: 10 * time.Second, Direction: telephony.Outbound, Action: "VoIP Call",
				Result: telephony.ResultTransferred, From: alice, To: bob},
			{StartTime: start.Add(12300 * time.Millisecond).In(time.FixedZone("PST", -8*3600)), Duration: 20600 * time.Millisecond,
				Direction: telephony.Outbound, Action: telephony.ActionTransfer, Result: telephony.ResultConnected, From: alice, To: carol},
		}}
	plain := telephony.CallRecord{ID: "p-c", Extension: 103, SessionID: "1700000000001", TelephonySessionID: "s-1",
		PartyID: "p-c", StartTime: start.Add(12 * time.Second), Duration: 20 * time.Second, Direction: telephony.Inbound,
		From: alice, To: carol, Type: "Voice", Action: "VoIP Call", Result: telephony.ResultConnected}
	if err := db.AddCallRecords(ctx, []telephony.CallRecord{transferred, plain}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.sql.ExecContext(ctx, `INSERT INTO call_log (id, extension_id, session_id, telephony_session_id, party_id,
		start_time, duration, direction, from_number, from_name, from_ext, to_number, to_name, to_ext, type, action, result)
		VALUES ('p-old', 101, '1', 's-0', 'p-old', '2026-02-01T00:00:00.000Z', 5, 'Inbound', '', '', '', '', '', '', 'Voice', 'Phone Call', 'Missed')`); err != nil {
		t.Fatal(err)
	}

	noExt := func(e telephony.Endpoint) telephony.Endpoint { e.ExtensionID = 0; return e }
	want := transferred
	want.From, want.To = noExt(alice), noExt(bob)
	want.Legs = []telephony.CallLeg{
		{StartTime: start, Duration: 10 * time.Second, Direction: telephony.Outbound, Action: "VoIP Call",
			Result: telephony.ResultTransferred, From: noExt(alice), To: noExt(bob)},
		{StartTime: start.Add(12300 * time.Millisecond), Duration: 21 * time.Second, Direction: telephony.Outbound,
			Action: telephony.ActionTransfer, Result: telephony.ResultConnected, From: noExt(alice), To: noExt(carol)},
	}
	if got, ok, err := db.CallRecord(ctx, "p-a"); err != nil || !ok || !reflect.DeepEqual(got, want) {
		t.Fatalf("CallRecord(p-a) = %+v, %v, %v\nwant %+v", got, ok, err, want)
	}
	page, err := db.QueryCallLog(ctx, CallLogQuery{ExtensionID: 101, Limit: 10})
	if err != nil || len(page.Records) != 2 || !reflect.DeepEqual(page.Records[0], want) || page.Records[1].ID != "p-old" ||
		page.Records[1].Legs != nil {
		t.Fatalf("QueryCallLog = %+v, %v", page, err)
	}
	if got, ok, err := db.CallRecord(ctx, "p-c"); err != nil || !ok || got.Legs != nil || got.Duration != 20*time.Second {
		t.Fatalf("CallRecord(p-c) = %+v, %v, %v", got, ok, err)
	}
}

// TestCallLogFromSwitch stores what a real switch writes when a call ends.
func TestCallLogFromSwitch(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	sw := telephony.New(telephony.Config{}, testDirectory{}, nopMedia{}, telephony.NewBus(), presence.New(presence.Config{}, nil), db)
	sw.RegisterDevice(telephony.Device{ID: "d1", ExtensionID: 101})
	s, _, err := sw.Dial(ctx, "d1", "+15550104", "offer") // a test line that fails at once
	if err != nil {
		t.Fatal(err)
	}
	sw.Close(ctx) // waits for the call log
	got, err := db.CallRecords(ctx, 101, 10)
	if err != nil || len(got) != 1 {
		t.Fatalf("records %+v, %v", got, err)
	}
	if r := got[0]; r.TelephonySessionID != s.ID || r.Result != telephony.ResultFailed || r.Action != "Phone Call" ||
		r.To.PhoneNumber != "+15550104" || r.From.ExtensionNumber != "101" {
		t.Fatalf("record %+v", r)
	}
}

type testDirectory struct{}

func (testDirectory) Lookup(context.Context, int64, string) (telephony.Endpoint, bool, error) {
	return telephony.Endpoint{}, false, nil
}
func (testDirectory) Describe(_ context.Context, id int64) (telephony.Endpoint, error) {
	return telephony.Endpoint{PhoneNumber: "+16505550101", Name: "Alice", ExtensionNumber: "101", ExtensionID: id}, nil
}
func (testDirectory) Region(context.Context, int64) (string, error) { return "US", nil }

type nopMedia struct{}

func (nopMedia) OpenLeg(context.Context, string, string, telephony.LegKind) (string, error) {
	return "answer", nil
}
func (nopMedia) Connect(a, b string) error        { return nil }
func (nopMedia) SetForward(legID string, on bool) {}
func (nopMedia) CloseLeg(legID string)            {}
