package sip

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestFailureFor(t *testing.T) {
	for _, tt := range []struct {
		sip    int
		code   int
		result string
	}{
		{486, 486, "Busy"}, {600, 486, "Busy"},
		{480, 480, "No Answer"}, {408, 408, "No Answer"},
		{487, 487, "Canceled"},
		{603, 603, "Rejected"}, {607, 603, "Rejected"}, {699, 603, "Rejected"},
		{404, 404, "Failed"}, {484, 404, "Failed"}, {604, 404, "Failed"},
		{402, 402, "Failed"},
		{503, 503, "Failed"}, {500, 503, "Failed"}, {488, 503, "Failed"}, {403, 503, "Failed"}, {0, 503, "Failed"},
	} {
		f := FailureFor(tt.sip, "x")
		if f.Code != tt.code || f.Result != tt.result || f.SIPCode != tt.sip || f.Reason == "" {
			t.Errorf("FailureFor(%d) = %+v, want %d %s", tt.sip, f, tt.code, tt.result)
		}
	}
}

func TestFailureOf(t *testing.T) {
	if f := FailureOf(fmt.Errorf("x: %w", ErrTrunkDown)); f.Code != 503 {
		t.Errorf("trunk down: %+v", f)
	}
	if f := FailureOf(&ResponseError{Method: "INVITE", Code: 486, Reason: "Busy"}); f.Code != 486 {
		t.Errorf("response error: %+v", f)
	}
	if !errors.Is(fmt.Errorf("x: %w", ErrUnknownTrunk), ErrUnknownTrunk) {
		t.Error("sentinels wrap")
	}
}

// TestFailureTableDocumented keeps docs/sip.md's table the one FailureFor
// applies.
func TestFailureTableDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/sip.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range FailureTable() {
		codes := make([]string, len(r.SIPCodes))
		for i, c := range r.SIPCodes {
			codes[i] = fmt.Sprint(c)
		}
		row := fmt.Sprintf("| %s | %d | %s | %s |", strings.Join(codes, ", "), r.Code, r.Reason, r.Result)
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/sip.md lacks the row\n%s", row)
		}
	}
}
