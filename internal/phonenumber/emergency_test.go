package phonenumber_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/callbridge/widget-server/internal/phonenumber"
)

func TestEmergency(t *testing.T) {
	tests := []struct {
		dialled, region, want string // want "": not an emergency number
	}{
		{"911", "US", "911"},
		{"112", "US", "112"},
		{"9-1-1", "us", "911"},
		{"+1911", "US", "911"},
		{"+1 112", "CA", "112"},
		{"+1 911", "DE", ""}, // the E.164 form counts only with the region's own country code
		{"911", "DE", "911"},
		{"112", "DE", "112"},
		{"110", "DE", "110"},
		{"+49 110", "DE", "110"},
		{"+49112", "DE", "112"},
		{"110", "US", ""},
		{"999", "GB", "999"},
		{"+44 999", "GB", "999"},
		{"999", "US", ""},
		{"000", "AU", "000"},
		{"17", "FR", "17"},
		{"+33 17", "FR", "17"},
		{"9110", "US", ""},
		{"+19110", "US", ""},
		{"+14155550100", "US", ""},
		{"", "US", ""},
		{"+", "US", ""},
		{"91a", "US", ""},
		{"911", "", "911"},
		{"+1911", "", ""},
		{"+1911", "ZZ", ""},
	}
	for _, tt := range tests {
		got, ok := phonenumber.Emergency(tt.dialled, tt.region)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("Emergency(%q, %q) = %q, %t; want %q", tt.dialled, tt.region, got, ok, tt.want)
		}
	}
	if got := phonenumber.EmergencyNumbers("gb"); !slices.Equal(got, []string{"911", "112", "999"}) {
		t.Errorf("EmergencyNumbers(gb) = %v", got)
	}
	// The table is not shared with callers.
	phonenumber.EmergencyNumbers("US")[0] = "0"
	if _, ok := phonenumber.Emergency("911", "US"); !ok {
		t.Error("a caller changed the emergency numbers")
	}
}

func TestPrefix(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"+1", "+1"},
		{" +1 (415) ", "+1415"},
		{"+44-20", "+4420"},
		{"+49.30", "+4930"},
		{"+123456789012345", "+123456789012345"},
	} {
		if got, err := phonenumber.Prefix(tt.in); err != nil || got != tt.want {
			t.Errorf("Prefix(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "+", "1415", "0044", "+1234567890123456", "+1x", "+1+2", "+ 1 800 FLOWERS"} {
		if got, err := phonenumber.Prefix(in); !errors.Is(err, phonenumber.ErrBadNumber) {
			t.Errorf("Prefix(%q) = %q, %v; want ErrBadNumber", in, got, err)
		}
	}
}
