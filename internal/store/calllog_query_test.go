package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/telephony"
)

// seedAccount creates an account with two extensions and another account
// with one, returning their extension ids.
func seedAccount(t testing.TB, db *DB) (alice, bob, dave int64) {
	t.Helper()
	ctx := context.Background()
	ids := make([]int64, 0, 3)
	for i, main := range []string{"+16505550100", "+14155550200"} {
		a := identity.Account{Company: fmt.Sprint("Co ", i), MainNumber: main, CountryCode: "US"}
		if err := db.CreateAccount(ctx, &a); err != nil {
			t.Fatal(err)
		}
		for j := 0; j < 2-i; j++ {
			e := identity.Extension{AccountID: a.ID, Number: fmt.Sprint(101 + j + 100*i), Name: "User", Email: fmt.Sprintf("u%d%d@x.test", i, j),
				Role: identity.RoleUser, Status: identity.StatusEnabled}
			if err := db.CreateExtension(ctx, &e, "hash"); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, e.ID)
		}
	}
	return ids[0], ids[1], ids[2]
}

func TestQueryCallLog(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	alice, bob, dave := seedAccount(t, db)
	aliceEP := telephony.Endpoint{PhoneNumber: "+16505550101", Name: "Alice", ExtensionNumber: "101"}
	bobEP := telephony.Endpoint{PhoneNumber: "+16505550102", Name: "Bob", ExtensionNumber: "102"}
	line := telephony.Endpoint{PhoneNumber: "+15550100", Name: "Tone line"}
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var recs []telephony.CallRecord
	// one call an hour for ten hours: Alice calls Bob (two records), then the test line (one)
	for i := 0; i < 10; i++ {
		at := start.Add(time.Duration(i) * time.Hour)
		to, action := bobEP, "VoIP Call"
		if i%2 == 1 {
			to, action = line, "Phone Call"
		}
		recs = append(recs, telephony.CallRecord{ID: fmt.Sprintf("a%d", i), Extension: alice, SessionID: fmt.Sprint(i),
			TelephonySessionID: fmt.Sprintf("s-%d", i), PartyID: fmt.Sprintf("a%d", i), StartTime: at, Direction: telephony.Outbound,
			From: aliceEP, To: to, Type: "Voice", Action: action, Result: telephony.ResultConnected})
		if i%2 == 0 {
			recs = append(recs, telephony.CallRecord{ID: fmt.Sprintf("b%d", i), Extension: bob, SessionID: fmt.Sprint(i),
				TelephonySessionID: fmt.Sprintf("s-%d", i), PartyID: fmt.Sprintf("b%d", i), StartTime: at, Direction: telephony.Inbound,
				From: aliceEP, To: bobEP, Type: "Voice", Action: action, Result: telephony.ResultMissed})
		}
	}
	recs = append(recs, telephony.CallRecord{ID: "d0", Extension: dave, SessionID: "99", TelephonySessionID: "s-99", PartyID: "d0",
		StartTime: start, Direction: telephony.Outbound, From: aliceEP, To: line, Type: "Voice", Action: "Phone Call", Result: telephony.ResultFailed})
	if err := db.AddCallRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}

	ids := func(p CallLogPage) []string {
		var out []string
		for _, r := range p.Records {
			out = append(out, r.ID)
		}
		return out
	}
	tests := []struct {
		name  string
		q     CallLogQuery
		want  []string
		total int
	}{
		{"all of alice", CallLogQuery{ExtensionID: alice, Limit: 100}, []string{"a9", "a8", "a7", "a6", "a5", "a4", "a3", "a2", "a1", "a0"}, 10},
		{"second page", CallLogQuery{ExtensionID: alice, Offset: 3, Limit: 3}, []string{"a6", "a5", "a4"}, 10},
		{"past the end", CallLogQuery{ExtensionID: alice, Offset: 10, Limit: 3}, nil, 10},
		{"count only", CallLogQuery{ExtensionID: alice}, nil, 10},
		{"date range", CallLogQuery{ExtensionID: alice, From: start.Add(2 * time.Hour), To: start.Add(4 * time.Hour), Limit: 100}, []string{"a3", "a2"}, 2},
		{"number of the other end", CallLogQuery{ExtensionID: alice, PhoneNumber: "+15550100", Limit: 100}, []string{"a9", "a7", "a5", "a3", "a1"}, 5},
		{"own number", CallLogQuery{ExtensionID: alice, PhoneNumber: "+16505550101", Limit: 2}, []string{"a9", "a8"}, 10},
		{"extension number", CallLogQuery{ExtensionID: alice, PhoneNumber: "102", Limit: 100}, []string{"a8", "a6", "a4", "a2", "a0"}, 5},
		{"direction", CallLogQuery{ExtensionID: alice, Directions: []telephony.Direction{telephony.Inbound}, Limit: 100}, nil, 0},
		{"bob inbound", CallLogQuery{ExtensionID: bob, Directions: []telephony.Direction{telephony.Inbound}, Types: []string{"Voice"}, Limit: 100},
			[]string{"b8", "b6", "b4", "b2", "b0"}, 5},
		{"type", CallLogQuery{ExtensionID: alice, Types: []string{"Fax"}, Limit: 100}, nil, 0},
		{"account", CallLogQuery{AccountID: 1, From: start.Add(7 * time.Hour), Limit: 100}, []string{"a9", "b8", "a8", "a7"}, 4}, // same start: last stored first
		{"other account", CallLogQuery{AccountID: 2, Limit: 100}, []string{"d0"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := db.QueryCallLog(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(p); !slices.Equal(got, tt.want) || p.Total != tt.total {
				t.Fatalf("records %v total %d, want %v total %d", got, p.Total, tt.want, tt.total)
			}
		})
	}

	rec, ok, err := db.CallRecord(ctx, "b4")
	if err != nil || !ok || rec.Extension != bob || rec.Direction != telephony.Inbound || !rec.StartTime.Equal(start.Add(4*time.Hour)) || rec.To != bobEP {
		t.Fatalf("CallRecord(b4) = %+v, %v, %v", rec, ok, err)
	}
	if _, ok, err := db.CallRecord(ctx, "nope"); ok || err != nil {
		t.Fatalf("CallRecord(nope): %v, %v", ok, err)
	}
}

func TestUserPresence(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	alice, bob, _ := seedAccount(t, db)
	if _, ok, err := db.UserPresence(ctx, alice); ok || err != nil {
		t.Fatalf("presence before any is set: %v, %v", ok, err)
	}
	busy := UserPresence{UserStatus: "Busy", DNDStatus: "DoNotAcceptAnyCalls"}
	for _, p := range []UserPresence{{UserStatus: "Available", DNDStatus: "TakeAllCalls"}, busy} {
		if err := db.SetUserPresence(ctx, alice, p); err != nil {
			t.Fatal(err)
		}
	}
	if p, ok, err := db.UserPresence(ctx, alice); !ok || err != nil || p != busy {
		t.Fatalf("presence %+v, %v, %v", p, ok, err)
	}
	if err := db.SetUserPresence(ctx, bob, UserPresence{UserStatus: "Offline", DNDStatus: "TakeAllCalls"}); err != nil {
		t.Fatal(err)
	}
	all, err := db.UserPresences(ctx)
	if err != nil || len(all) != 2 || all[alice] != busy || all[bob].UserStatus != "Offline" {
		t.Fatalf("all presences %+v, %v", all, err)
	}
	if err := db.SetUserPresence(ctx, 9999, busy); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("presence of an unknown extension: %v", err)
	}
}
