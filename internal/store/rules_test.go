package store

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/telephony"
)

func TestAnsweringRules(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	acme := identity.Account{Company: "Acme", MainNumber: "+14155550100", CountryCode: "US"}
	if err := db.CreateAccount(ctx, &acme); err != nil {
		t.Fatal(err)
	}
	var exts []identity.Extension
	for _, n := range []string{"101", "102"} {
		e := identity.Extension{AccountID: acme.ID, Number: n, Name: "N " + n, Email: n + "@acme.test",
			Role: identity.RoleUser, Status: identity.StatusEnabled}
		if err := db.CreateExtension(ctx, &e, "h"); err != nil {
			t.Fatal(err)
		}
		exts = append(exts, e)
	}

	want := telephony.AnsweringRule{RingTimeout: 20 * time.Second, NoAnswer: telephony.RuleVoicemail, CallWaiting: true,
		Busy: telephony.RuleVoicemail, RingMode: telephony.RingSimultaneous}
	if got, err := db.AnsweringRule(ctx, exts[0].ID); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("rule of an extension without one = %+v, %v\nwant %+v", got, err, want)
	}

	set := telephony.AnsweringRule{RingTimeout: 35 * time.Second, NoAnswer: telephony.RuleForward, NoAnswerTarget: " 102 ",
		CallWaiting: false, Busy: telephony.RuleMissed, BusyTarget: "ignored", AutoRecord: true}
	kept := telephony.AnsweringRule{RingTimeout: 35 * time.Second, NoAnswer: telephony.RuleForward, NoAnswerTarget: "102",
		Busy: telephony.RuleMissed, RingMode: telephony.RingSimultaneous, AutoRecord: true}
	if got, err := db.SetAnsweringRule(ctx, exts[0].ID, set); err != nil || !reflect.DeepEqual(got, kept) {
		t.Fatalf("SetAnsweringRule = %+v, %v\nwant %+v", got, err, kept)
	}
	if got, err := db.AnsweringRule(ctx, exts[0].ID); err != nil || !reflect.DeepEqual(got, kept) {
		t.Fatalf("AnsweringRule after set = %+v, %v\nwant %+v", got, err, kept)
	}
	if got, _ := db.AnsweringRule(ctx, exts[1].ID); !reflect.DeepEqual(got, want) {
		t.Errorf("another extension's rule = %+v, want the default", got)
	}

	// Set again: the row is replaced.
	again := telephony.AnsweringRule{RingTimeout: 5 * time.Second, NoAnswer: telephony.RuleVoicemail, CallWaiting: true,
		Busy: telephony.RuleForward, BusyTarget: "+16505550123", RingMode: telephony.RingSequential}
	if _, err := db.SetAnsweringRule(ctx, exts[0].ID, again); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.AnsweringRule(ctx, exts[0].ID); !reflect.DeepEqual(got, again) {
		t.Errorf("rule after a second set = %+v, want %+v", got, again)
	}

	if _, err := db.SetAnsweringRule(ctx, 9999, want); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("rule of no extension: %v, want ErrNotFound", err)
	}
	// The rule goes with its extension.
	if _, err := db.sql.ExecContext(ctx, `DELETE FROM extensions WHERE id = ?`, exts[0].ID); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM answering_rules`).Scan(&n); err != nil || n != 0 {
		t.Errorf("rules left after the extension was deleted: %d, %v", n, err)
	}
}

func TestCheckRuleRefuses(t *testing.T) {
	ok := DefaultRule()
	tests := []struct {
		name  string
		edit  func(*telephony.AnsweringRule)
		field string
	}{
		{"ring too short", func(r *telephony.AnsweringRule) { r.RingTimeout = 4 * time.Second }, "ringSeconds"},
		{"ring too long", func(r *telephony.AnsweringRule) { r.RingTimeout = 121 * time.Second }, "ringSeconds"},
		{"ring not whole seconds", func(r *telephony.AnsweringRule) { r.RingTimeout = 5500 * time.Millisecond }, "ringSeconds"},
		{"ring zero", func(r *telephony.AnsweringRule) { r.RingTimeout = 0 }, "ringSeconds"},
		{"no-answer action unknown", func(r *telephony.AnsweringRule) { r.NoAnswer = "Ring" }, "noAnswer.action"},
		{"no-answer action empty", func(r *telephony.AnsweringRule) { r.NoAnswer = "" }, "noAnswer.action"},
		{"forward without target", func(r *telephony.AnsweringRule) { r.NoAnswer = telephony.RuleForward; r.NoAnswerTarget = "  " }, "noAnswer.target"},
		{"forward target too long", func(r *telephony.AnsweringRule) {
			r.NoAnswer = telephony.RuleForward
			r.NoAnswerTarget = "12345678901234567890123456789012345678901234567890123456789012345"
		}, "noAnswer.target"},
		{"forward target control", func(r *telephony.AnsweringRule) { r.NoAnswer = telephony.RuleForward; r.NoAnswerTarget = "10\x002" }, "noAnswer.target"},
		{"busy action unknown", func(r *telephony.AnsweringRule) { r.Busy = "voicemail" }, "busy.action"},
		{"busy forward without target", func(r *telephony.AnsweringRule) { r.Busy = telephony.RuleForward }, "busy.target"},
		{"ring mode unknown", func(r *telephony.AnsweringRule) { r.RingMode = "RoundRobin" }, "ringMode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ok
			tt.edit(&r)
			_, err := CheckRule(r)
			var re *RuleError
			if !errors.As(err, &re) || re.Field != tt.field || !errors.Is(err, identity.ErrInvalid) {
				t.Fatalf("CheckRule = %v, want a RuleError of %s wrapping ErrInvalid", err, tt.field)
			}
		})
	}
	for _, secs := range []int{5, 20, 120} {
		r := ok
		r.RingTimeout = time.Duration(secs) * time.Second
		if _, err := CheckRule(r); err != nil {
			t.Errorf("ring %d s: %v", secs, err)
		}
	}
}
