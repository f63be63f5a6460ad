package store

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/messaging"
)

// demoExtensions seeds the demo account and returns its extensions by number.
func demoExtensions(t *testing.T, db *DB) map[string]identity.Extension {
	t.Helper()
	ctx := context.Background()
	if err := identity.NewDirectory(db).SeedDemo(ctx); err != nil {
		t.Fatal(err)
	}
	acct, err := db.AccountByMainNumber(ctx, identity.DemoMainNumber)
	if err != nil {
		t.Fatal(err)
	}
	exts, err := db.Extensions(ctx, acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]identity.Extension{}
	for _, e := range exts {
		out[e.Number] = e
	}
	return out
}

var msgT0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

func testMessage(ext identity.Extension, at time.Time, text string) messaging.Message {
	return messaging.Message{
		AccountID: ext.AccountID, ExtensionID: ext.ID, Type: messaging.SMS, Direction: messaging.Outbound,
		From: messaging.Party{PhoneNumber: "+16505550101", Name: "Alice Adams"}, To: []messaging.Party{{PhoneNumber: "+16505550102"}},
		Subject: text, CreationTime: at, LastModifiedTime: at, ReadStatus: messaging.Read, Status: messaging.Queued,
		Availability: messaging.Alive, ConversationID: "42",
	}
}

func TestMessagesRoundTrip(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	exts := demoExtensions(t, db)
	alice, bob := exts["101"], exts["102"]

	m := testMessage(alice, msgT0, "hello")
	d := messaging.Delivery{Route: messaging.RouteOnNet, Recipients: []int64{bob.ID}}
	job := ptr(d.Job(m.ConversationID, msgT0))
	stored, created, err := db.AddMessages(ctx, []messaging.Message{m}, job)
	if err != nil || len(stored) != 1 || !created[0] || stored[0].ID == "" || job.Ref != stored[0].ID || job.ID == 0 {
		t.Fatalf("add: %v %v %v, job %+v", stored, created, err, job)
	}
	got, err := db.Message(ctx, stored[0].ID)
	m.ID = stored[0].ID
	if err != nil || !reflect.DeepEqual(got, m) {
		t.Fatalf("read back\n got %+v\nwant %+v (%v)", got, m, err)
	}
	jobs, err := db.Jobs(ctx, messaging.KindLocal, messaging.KindSMS)
	if err != nil || len(jobs) != 1 || !reflect.DeepEqual(jobs[0], *job) {
		t.Fatalf("deliveries %+v, want %+v (%v)", jobs, *job, err)
	}

	// A delivery done twice finds the copy it made.
	copyOf := testMessage(bob, msgT0.Add(time.Second), "hello")
	copyOf.Direction, copyOf.OriginID = messaging.Inbound, m.ID
	first, created, err := db.AddMessages(ctx, []messaging.Message{copyOf}, nil)
	if err != nil || !created[0] {
		t.Fatalf("copy: %v %v", created, err)
	}
	again, created, err := db.AddMessages(ctx, []messaging.Message{copyOf}, nil)
	if err != nil || created[0] || again[0].ID != first[0].ID {
		t.Fatalf("copy again: %v %v %v", again, created, err)
	}
	// So does a message of the provider seen twice.
	in := testMessage(bob, msgT0, "from outside")
	in.ProviderID = "SM-1"
	one, _, _ := db.AddMessages(ctx, []messaging.Message{in}, nil)
	two, created, err := db.AddMessages(ctx, []messaging.Message{in}, nil)
	if err != nil || created[0] || two[0].ID != one[0].ID {
		t.Fatalf("provider message twice: %v %v", created, err)
	}

	// Updates save what changed; no change, no write.
	upd, changed, err := db.UpdateMessage(ctx, m.ID, func(m *messaging.Message) bool {
		m.Status, m.DeliveryErrorCode, m.DeliveryErrorReason, m.Attempts = messaging.DeliveryFailed, "NoRoute", "why", 2
		m.LastModifiedTime = msgT0.Add(time.Minute)
		return true
	})
	if err != nil || !changed || upd.Status != messaging.DeliveryFailed {
		t.Fatalf("update: %v %v", changed, err)
	}
	if got, _ := db.Message(ctx, m.ID); !reflect.DeepEqual(got, upd) {
		t.Fatalf("after update\n got %+v\nwant %+v", got, upd)
	}
	if _, changed, err := db.UpdateMessage(ctx, m.ID, func(*messaging.Message) bool { return false }); changed || err != nil {
		t.Fatalf("no-op update: %v %v", changed, err)
	}
	for _, id := range []string{"", "0", "abc", "-1", "999999", "99999999999999999999"} {
		if _, err := db.Message(ctx, id); !errors.Is(err, messaging.ErrNotFound) {
			t.Errorf("message %q: %v", id, err)
		}
		if _, _, err := db.UpdateMessage(ctx, id, func(*messaging.Message) bool { return true }); !errors.Is(err, messaging.ErrNotFound) {
			t.Errorf("update %q: %v", id, err)
		}
	}

	// Deliveries: a failed attempt is saved, a finished one removed.
	job.Attempts, job.LastError, job.NextAttempt = 1, "503", msgT0.Add(time.Hour)
	if saved, err := db.SaveJob(ctx, *job, ""); err != nil || !saved {
		t.Fatalf("save: %v %v", saved, err)
	}
	if jobs, _ := db.Jobs(ctx, messaging.KindLocal); len(jobs) != 1 || !reflect.DeepEqual(jobs[0], *job) {
		t.Fatalf("saved delivery %+v", jobs)
	}
	if err := db.DeleteJob(ctx, job.ID); err != nil {
		t.Fatal(err)
	}
	if jobs, _ := db.Jobs(ctx, messaging.KindLocal); len(jobs) != 0 {
		t.Fatalf("deliveries after delete %+v", jobs)
	}
}

func TestQueryMessages(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	exts := demoExtensions(t, db)
	alice := exts["101"]
	var msgs []messaging.Message
	for i := range 6 {
		m := testMessage(alice, msgT0.Add(time.Duration(i)*time.Minute), "m"+strconv.Itoa(i))
		if i%2 == 1 {
			m.Direction, m.ReadStatus, m.Status = messaging.Inbound, messaging.Unread, messaging.Received
			m.From, m.To = messaging.Party{PhoneNumber: "+14155550123"}, []messaging.Party{{PhoneNumber: "+16505550101"}}
		}
		if i == 4 {
			m.Type, m.From = messaging.Pager, messaging.Party{ExtensionNumber: "101"}
			m.To = []messaging.Party{{ExtensionNumber: "102"}, {ExtensionNumber: "103"}}
			m.ConversationID = "7"
		}
		if i == 5 {
			m.Availability = messaging.Deleted
		}
		msgs = append(msgs, m)
	}
	if _, _, err := db.AddMessages(ctx, msgs, nil); err != nil {
		t.Fatal(err)
	}
	// Another extension's messages never show.
	if _, _, err := db.AddMessages(ctx, []messaging.Message{testMessage(exts["102"], msgT0, "bob's")}, nil); err != nil {
		t.Fatal(err)
	}
	subjects := func(q messaging.Query) []string {
		q.ExtensionID, q.Limit = alice.ID, 100
		page, err := db.QueryMessages(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, m := range page.Messages {
			out = append(out, m.Subject)
		}
		if page.Total != len(out) {
			t.Fatalf("total %d for %d", page.Total, len(out))
		}
		return out
	}
	for _, tt := range []struct {
		name string
		q    messaging.Query
		want []string
	}{
		{"all, newest first", messaging.Query{}, []string{"m5", "m4", "m3", "m2", "m1", "m0"}},
		{"alive", messaging.Query{Availabilities: []messaging.Availability{messaging.Alive}}, []string{"m4", "m3", "m2", "m1", "m0"}},
		{"pager", messaging.Query{Types: []messaging.Type{messaging.Pager}}, []string{"m4"}},
		{"inbound", messaging.Query{Directions: []messaging.Direction{messaging.Inbound}}, []string{"m5", "m3", "m1"}},
		{"unread", messaging.Query{ReadStatuses: []messaging.ReadStatus{messaging.Unread}}, []string{"m5", "m3", "m1"}},
		{"conversation", messaging.Query{ConversationID: "7"}, []string{"m4"}},
		{"from a number", messaging.Query{PhoneNumber: "+14155550123"}, []string{"m5", "m3", "m1"}},
		{"to a number", messaging.Query{PhoneNumber: "+16505550102"}, []string{"m2", "m0"}},
		{"to an extension", messaging.Query{PhoneNumber: "103"}, []string{"m4"}},
		{"from an extension", messaging.Query{PhoneNumber: "101"}, []string{"m4"}},
		{"dates", messaging.Query{From: msgT0.Add(time.Minute), To: msgT0.Add(3 * time.Minute)}, []string{"m2", "m1"}},
	} {
		if got := subjects(tt.q); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	page, err := db.QueryMessages(ctx, messaging.Query{ExtensionID: alice.ID, Offset: 2, Limit: 2})
	if err != nil || page.Total != 6 || len(page.Messages) != 2 || page.Messages[0].Subject != "m3" {
		t.Fatalf("page 2 of 2: %+v %v", page, err)
	}
	if page, err := db.QueryMessages(ctx, messaging.Query{ExtensionID: alice.ID, Offset: 10, Limit: 2}); err != nil || page.Total != 6 || len(page.Messages) != 0 {
		t.Fatalf("past the end: %+v %v", page, err)
	}
}

func TestExtensionByDirectNumber(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	exts := demoExtensions(t, db)
	got, err := db.ExtensionByDirectNumber(ctx, "+16505550102")
	if err != nil || got.ID != exts["102"].ID {
		t.Fatalf("+16505550102: %+v %v", got, err)
	}
	for _, n := range []string{"+16505550100", "+16505550199", "102", ""} {
		if _, err := db.ExtensionByDirectNumber(ctx, n); !errors.Is(err, identity.ErrNotFound) {
			t.Errorf("%q: %v", n, err)
		}
	}
}

func ptr[T any](v T) *T { return &v }
