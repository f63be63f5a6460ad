package telephony_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/telephony"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		dialled, region, want string
	}{
		{"101", "US", "101"},
		{" 10-1 ", "US", "101"},
		{"12345678", "US", "12345678"},
		{"(650) 555-0101", "US", "+16505550101"},
		{"650.555.0101", "US", "+16505550101"},
		{"1-650-555-0101", "US", "+16505550101"},
		{"16505550101", "US", "+16505550101"},
		{"+1 650 555 0101", "DE", "+16505550101"},
		{"6505550101", "us", "+16505550101"},
		{"1800CALFEDE", "US", "+18002253333"},
		{"1-800-flowers", "US", "+18003569377"},
		{"+1 (800) FLOWERS", "US", "+18003569377"},
		{"+15550100", "US", "+15550100"},
		{"+1 555 0107", "US", "+15550107"},
		{"+1-555-0199", "GB", "+15550199"},
		{"+44 20 7123 4567", "US", "+442071234567"},
		{"020 7123 4567", "GB", "+442071234567"},
		{"030 123456", "DE", "+4930123456"},
	}
	for _, tt := range tests {
		t.Run(tt.dialled, func(t *testing.T) {
			got, err := telephony.Normalize(tt.dialled, tt.region)
			if err != nil || got != tt.want {
				t.Fatalf("Normalize(%q, %s) = %q, %v; want %q", tt.dialled, tt.region, got, err, tt.want)
			}
		})
	}
	bad := []struct{ dialled, region string }{
		{"", "US"},
		{"   ", "US"},
		{"7", "US"},
		{"+", "US"},
		{"+1", "US"},
		{"CALL", "US"},
		{"12#4", "US"},
		{"10+1", "US"},
		{"++16505550101", "US"},
		{"123456789", "US"},
		{"+1 555 0200", "US"},
		{"+10000000000", "US"},
		{"020 7123 4567", ""},
		{"٦٥٠٥٥٥٠١٠١", "US"},
		{strings.Repeat("1", 65), "US"},
	}
	for _, tt := range bad {
		t.Run("bad "+tt.dialled, func(t *testing.T) {
			got, err := telephony.Normalize(tt.dialled, tt.region)
			if !errors.Is(err, telephony.ErrBadNumber) {
				t.Fatalf("Normalize(%q, %q) = %q, %v; want ErrBadNumber", tt.dialled, tt.region, got, err)
			}
		})
	}
}

var normalized = regexp.MustCompile(`^(\d{2,8}|\+\d{3,17})$`)

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"101", "(650) 555-0101", "1800CALFEDE", "+15550100", "+44 20 7123 4567",
		"020 7123 4567", "++1", "1-800-FLOWERS", "+1 555 0200", "0049 30 123456", ""} {
		f.Add(s, "US")
	}
	f.Add("030 123456", "DE")
	f.Fuzz(func(t *testing.T, dialled, region string) {
		got, err := telephony.Normalize(dialled, region)
		if err != nil {
			if !errors.Is(err, telephony.ErrBadNumber) {
				t.Fatalf("Normalize(%q, %q): error %v is not ErrBadNumber", dialled, region, err)
			}
			return
		}
		if !normalized.MatchString(got) {
			t.Fatalf("Normalize(%q, %q) = %q: neither extension digits nor E.164", dialled, region, got)
		}
		if again, err := telephony.Normalize(got, region); err != nil || again != got {
			t.Fatalf("Normalize(%q) = %q, %v; want it unchanged", got, again, err)
		}
	})
}

func TestTestNumbers(t *testing.T) {
	if len(telephony.TestNumbers) == 0 || telephony.TestNumbers[0].Number != "+15550100" {
		t.Fatalf("TestNumbers = %+v", telephony.TestNumbers)
	}
	for _, tn := range telephony.TestNumbers {
		if tn.Behaviour == "" || tn.Result == "" {
			t.Errorf("row %s lacks a behaviour or result", tn.Number)
		}
	}
}

// TestRouting dials from Carol (103, device c1) and checks where each call goes.
func TestRouting(t *testing.T) {
	const none = telephony.LegKind(-1)
	tests := []struct {
		name, to   string
		owner      int64  // callee extension
		phone      string // callee PhoneNumber
		status     telephony.PartyStatus
		code       int
		result     string // caller result when ended at once
		kind       telephony.LegKind
		calleeName string
	}{
		{"extension", "102", bob, "+16505550102", telephony.StatusProceeding, 0, "", telephony.LegPhone, "Bob Brown"},
		{"direct number E.164", "+16505550102", bob, "+16505550102", telephony.StatusProceeding, 0, "", telephony.LegPhone, "Bob Brown"},
		{"direct number national", "(650) 555-0102", bob, "+16505550102", telephony.StatusProceeding, 0, "", telephony.LegPhone, "Bob Brown"},
		{"direct number dotted", "650.555.0102", bob, "+16505550102", telephony.StatusProceeding, 0, "", telephony.LegPhone, "Bob Brown"},
		{"direct number with 1", "1 650 555 0102", bob, "+16505550102", telephony.StatusProceeding, 0, "", telephony.LegPhone, "Bob Brown"},
		{"vanity", "1650555010B", bob, "+16505550102", telephony.StatusProceeding, 0, "", telephony.LegPhone, "Bob Brown"},
		{"main number", "+1 650-555-0100", alice, "+16505550100", telephony.StatusProceeding, 0, "", telephony.LegPhone, "Alice Adams"},
		{"tone", "+15550100", 0, "+15550100", telephony.StatusProceeding, 0, "", telephony.LegTone, "Test line"},
		{"echo", "+1 555 0101", 0, "+15550101", telephony.StatusProceeding, 0, "", telephony.LegEcho, "Test line"},
		{"busy", "+15550102", 0, "+15550102", telephony.StatusProceeding, 0, "", telephony.LegPhone, "Test line"},
		{"unavailable", "+15550103", 0, "+15550103", telephony.StatusDisconnected, 480, telephony.ResultFailed, none, "Test line"},
		{"not found", "+15550104", 0, "+15550104", telephony.StatusDisconnected, 404, telephony.ResultFailed, none, "Test line"},
		{"decline", "+15550105", 0, "+15550105", telephony.StatusDisconnected, 603, telephony.ResultRejected, none, "Test line"},
		{"payment", "+15550106", 0, "+15550106", telephony.StatusDisconnected, 402, telephony.ResultFailed, none, "Test line"},
		{"rings", "+15550107", 0, "+15550107", telephony.StatusProceeding, 0, "", telephony.LegPhone, "Test line"},
		{"test range", "+15550150", 0, "+15550150", telephony.StatusDisconnected, 404, telephony.ResultFailed, none, "Test line"},
		{"test range end", "+15550199", 0, "+15550199", telephony.StatusDisconnected, 404, telephony.ResultFailed, none, "Test line"},
		{"unknown extension", "999", 0, "999", telephony.StatusDisconnected, 480, telephony.ResultFailed, none, ""},
		{"other account's extension", "201", 0, "201", telephony.StatusDisconnected, 480, telephony.ResultFailed, none, ""},
		{"outside number", "+14155550123", 0, "+14155550123", telephony.StatusDisconnected, 480, telephony.ResultFailed, none, ""},
		{"invalid number", "123456789", 0, "123456789", telephony.StatusDisconnected, 404, telephony.ResultFailed, none, ""},
		{"letters", "hello", 0, "hello", telephony.StatusDisconnected, 404, telephony.ResultFailed, none, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			// The test lines keep ringing while the call is checked.
			telephony.SetTestLineDelays(r.sw, time.Hour, time.Hour)
			s, answer, err := r.sw.Dial(context.Background(), "c1", tt.to, "offer")
			if err != nil {
				t.Fatal(err)
			}
			caller, callee := s.Parties[0], s.Parties[1]
			if callee.Owner != tt.owner || callee.To.PhoneNumber != tt.phone || callee.To.Name != tt.calleeName {
				t.Errorf("callee owner %d, to %+v; want %d, %s, %q", callee.Owner, callee.To, tt.owner, tt.phone, tt.calleeName)
			}
			if callee.Status != tt.status || caller.Code != tt.code || caller.Result != tt.result {
				t.Errorf("callee %s, caller code %d result %q; want %s, %d, %q",
					callee.Status, caller.Code, caller.Result, tt.status, tt.code, tt.result)
			}
			if caller.Direction != telephony.Outbound || callee.Direction != telephony.Inbound ||
				caller.Owner != carol || caller.From.ExtensionNumber != "103" || caller.Device != "c1" {
				t.Errorf("caller %+v", caller)
			}
			kind, opened := r.media.kind(caller.ID)
			if tt.kind == none {
				if opened || answer != "" {
					t.Errorf("leg opened (%v, %q) for a call that cannot be placed", kind, answer)
				}
				if _, ok := r.sw.Session(s.ID); ok || !s.Ended.Equal(epoch) {
					t.Errorf("failed call still active (ended %v)", s.Ended)
				}
				return
			}
			if !opened || kind != tt.kind || answer != "answer-"+caller.ID {
				t.Errorf("leg %v %v, answer %q; want %v", kind, opened, answer, tt.kind)
			}
			if _, ok := r.sw.Session(s.ID); !ok {
				t.Error("call not active")
			}
		})
	}
}
