package phonenumber_test

import (
	"testing"

	"github.com/callbridge/widget-server/internal/phonenumber"
)

func TestIsExtension(t *testing.T) {
	for s, want := range map[string]bool{
		"10": true, "101": true, "12345678": true,
		"1": false, "123456789": false, "10a": false, "": false, " 101": false, "+101": false, "١٠١": false,
	} {
		if got := phonenumber.IsExtension(s); got != want {
			t.Errorf("IsExtension(%q) = %t, want %t", s, got, want)
		}
	}
}

func TestLogin(t *testing.T) {
	if got := phonenumber.Login("+16505550100", "101"); got != "+16505550100*101" {
		t.Fatalf("Login = %q", got)
	}
	tests := []struct {
		name, main, ext string
		found           bool
	}{
		{"+16505550100*101", "+16505550100", "101", true},
		{"(650) 555-0100*102", "(650) 555-0100", "102", true},
		{"a*b*101", "a*b", "101", true},
		{"*101", "", "101", true},
		{"+16505550100*", "+16505550100", "", true},
		{"+16505550100", "+16505550100", "", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		main, ext, found := phonenumber.SplitLogin(tt.name)
		if main != tt.main || ext != tt.ext || found != tt.found {
			t.Errorf("SplitLogin(%q) = %q, %q, %t; want %q, %q, %t", tt.name, main, ext, found, tt.main, tt.ext, tt.found)
		}
	}
}
