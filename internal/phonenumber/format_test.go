package phonenumber_test

import (
	"testing"

	"github.com/callbridge/widget-server/internal/phonenumber"
)

func TestFormat(t *testing.T) {
	tests := []struct{ number, region, want string }{
		{"+16505550100", "US", "(650) 555-0100"},
		{"+16505550100", "ca", "(650) 555-0100"},
		{"+16505550100", "GB", "+1 650-555-0100"},
		{"+16505550100", "", "+1 650-555-0100"},
		{"+442079460000", "GB", "020 7946 0000"},
		{"+442079460000", "US", "+44 20 7946 0000"},
		{"+4930123456", "DE", "030 123456"},
		{"+15550100", "US", "+1 555 0100"},
		{"+15550199", "DE", "+1 555 0199"},
		{"101", "US", "101"},
		{"+19995550100", "US", "+19995550100"},
		{"+1", "US", "+1"},
		{"", "US", ""},
		{"hello", "US", "hello"},
	}
	for _, tt := range tests {
		if got := phonenumber.Format(tt.number, tt.region); got != tt.want {
			t.Errorf("Format(%q, %q) = %q, want %q", tt.number, tt.region, got, tt.want)
		}
	}
}
