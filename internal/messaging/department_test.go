package messaging_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/messaging"
)

// TestPagerToDepartment: a pager message to the demo department Support
// (200; bob and carol) reaches each member but the sender, once.
func TestPagerToDepartment(t *testing.T) {
	f := newFixture(t, messaging.Config{})
	ctx := context.Background()
	support := f.exts["200"]
	if !support.Department() {
		t.Fatalf("the demo account's 200 is %+v", support)
	}
	inbox := func(number string) []messaging.Message {
		t.Helper()
		page, err := f.svc.Messages(ctx, messaging.Query{ExtensionID: f.exts[number].ID,
			Directions: []messaging.Direction{messaging.Inbound}, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		return page.Messages
	}
	tests := []struct {
		name     string
		from     string
		to       []string
		wantTo   []messaging.Party
		received map[string]int // new inbound copies per extension number
	}{
		{"to the department", "101", []string{"200"},
			[]messaging.Party{{ExtensionNumber: "200", Name: "Support"}}, map[string]int{"101": 0, "102": 1, "103": 1}},
		{"from a member", "102", []string{"200"},
			[]messaging.Party{{ExtensionNumber: "200", Name: "Support"}}, map[string]int{"101": 0, "102": 0, "103": 1}},
		{"a member directly and through it", "101", []string{"103", "200"},
			[]messaging.Party{{ExtensionNumber: "103", Name: "Carol Chen"}, {ExtensionNumber: "200", Name: "Support"}},
			map[string]int{"101": 0, "102": 1, "103": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := map[string]int{}
			for n := range tt.received {
				before[n] = len(inbox(n))
			}
			sent, err := f.svc.SendPager(ctx, f.exts[tt.from].ID, messaging.PagerRequest{To: tt.to, Text: "standup in 5"})
			if err != nil {
				t.Fatal(err)
			}
			if !sent.ToDepartment || sent.Status != messaging.Delivered || !reflect.DeepEqual(sent.To, tt.wantTo) {
				t.Fatalf("sent copy %+v", sent)
			}
			for n, want := range tt.received {
				got := inbox(n)
				if len(got)-before[n] != want {
					t.Fatalf("%s got %d new copies, want %d", n, len(got)-before[n], want)
				}
				if want == 0 {
					continue
				}
				m := got[0] // newest first
				if m.OriginID != sent.ID || m.Direction != messaging.Inbound || m.Status != messaging.Received ||
					m.ReadStatus != messaging.Unread || !m.ToDepartment || m.Subject != "standup in 5" ||
					m.From.ExtensionNumber != tt.from || !reflect.DeepEqual(m.To, tt.wantTo) {
					t.Fatalf("%s's copy %+v", n, m)
				}
			}
		})
	}

	// To a user alone it is no department message.
	sent, err := f.svc.SendPager(ctx, f.exts["101"].ID, messaging.PagerRequest{To: []string{"102"}, Text: "hi"})
	if err != nil || sent.ToDepartment {
		t.Fatalf("pager to a user: %+v, %v", sent, err)
	}
	// A department with nobody to forward to is refused.
	dir := identity.NewDirectory(f.db)
	if err := dir.SetMembers(ctx, support.ID, []int64{f.exts["102"].ID}); err != nil {
		t.Fatal(err)
	}
	var invalid *messaging.InvalidError
	if _, err := f.svc.SendPager(ctx, f.exts["102"].ID, messaging.PagerRequest{To: []string{"200"}, Text: "hi"}); !errors.As(err, &invalid) || invalid.Param != "to" {
		t.Fatalf("pager to a department of only the sender: %v", err)
	}
}
