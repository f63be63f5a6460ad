package telephony_test

import (
	"context"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/telephony"
)

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
		{"tone", "+15550100", 0, "+15550100", telephony.StatusProceeding, 0, "", telephony.LegTone, "Tone line"},
		{"echo", "+1 555 0101", 0, "+15550101", telephony.StatusProceeding, 0, "", telephony.LegEcho, "Echo line"},
		{"busy", "+15550102", 0, "+15550102", telephony.StatusProceeding, 0, "", telephony.LegPhone, "Busy line"},
		{"unavailable", "+15550103", 0, "+15550103", telephony.StatusDisconnected, 480, telephony.ResultFailed, none, "Unavailable line"},
		{"not found", "+15550104", 0, "+15550104", telephony.StatusDisconnected, 404, telephony.ResultFailed, none, "Invalid number"},
		{"decline", "+15550105", 0, "+15550105", telephony.StatusDisconnected, 603, telephony.ResultRejected, none, "Declining line"},
		{"payment", "+15550106", 0, "+15550106", telephony.StatusDisconnected, 402, telephony.ResultFailed, none, "No-funds line"},
		{"rings", "+15550107", 0, "+15550107", telephony.StatusProceeding, 0, "", telephony.LegPhone, "Ringing line"},
		{"test range", "+15550150", 0, "+15550150", telephony.StatusDisconnected, 404, telephony.ResultFailed, none, "Invalid number"},
		{"test range end", "+15550199", 0, "+15550199", telephony.StatusDisconnected, 404, telephony.ResultFailed, none, "Invalid number"},
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
				// The caller's call-log record keeps the failure.
				if rec := r.log.wait(t, 1)[0]; rec.Code != tt.code || rec.Reason != caller.Reason || rec.Reason == "" {
					t.Errorf("the caller's record keeps %d %q; want %d %q", rec.Code, rec.Reason, tt.code, caller.Reason)
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
