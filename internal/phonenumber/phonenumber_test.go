package phonenumber_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/callbridge/widget-server/internal/phonenumber"
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
		{"15550100", "US", "+15550100"},
		{"1 555 0101", "US", "+15550101"},
		{"1-555-0199", "DE", "+15550199"},
		{"15550200", "US", "15550200"},
		{"25550100", "US", "25550100"},
		{"+44 20 7123 4567", "US", "+442071234567"},
		{"020 7123 4567", "GB", "+442071234567"},
		{"030 123456", "DE", "+4930123456"},
	}
	for _, tt := range tests {
		t.Run(tt.dialled, func(t *testing.T) {
			got, err := phonenumber.Normalize(tt.dialled, tt.region)
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
			got, err := phonenumber.Normalize(tt.dialled, tt.region)
			if !errors.Is(err, phonenumber.ErrBadNumber) {
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
		got, err := phonenumber.Normalize(dialled, region)
		if err != nil {
			if !errors.Is(err, phonenumber.ErrBadNumber) {
				t.Fatalf("Normalize(%q, %q): error %v is not ErrBadNumber", dialled, region, err)
			}
			return
		}
		if !normalized.MatchString(got) {
			t.Fatalf("Normalize(%q, %q) = %q: neither extension digits nor E.164", dialled, region, got)
		}
		if again, err := phonenumber.Normalize(got, region); err != nil || again != got {
			t.Fatalf("Normalize(%q) = %q, %v; want it unchanged", got, again, err)
		}
	})
}

func TestE164(t *testing.T) {
	tests := []struct {
		raw, country, want string
		ok                 bool
	}{
		{"+16505550100", "US", "+16505550100", true},
		{"+1 650 555 0100", "", "+16505550100", true},
		{"+1 (650) 555-0100", "DE", "+16505550100", true},
		{" +1.650.555.0100 ", "US", "+16505550100", true},
		{"16505550100", "US", "+16505550100", true},
		{"1 650 555 0100", "CA", "+16505550100", true},
		{"6505550100", "us", "+16505550100", true},
		{"(650) 555-0100", "US", "+16505550100", true},
		{"650.555.0100", "PR", "+16505550100", true},
		{"+44 20 7946 0000", "", "+442079460000", true},
		{"+442079460000", "US", "+442079460000", true},
		{"+4930123456", "DE", "+4930123456", true},
		{"020 7946 0000", "GB", "+442079460000", true}, // national formats of every country
		{"030 123456", "DE", "+4930123456", true},
		{"6505550100", "GB", "", false},
		{"6505550100", "", "", false},
		{"16505550100", "DE", "", false},
		{"", "US", "", false},
		{"+", "US", "", false},
		{"650555010", "US", "", false},
		{"26505550100", "US", "", false},
		{"+1650555010", "", "", false},
		{"+165055501000", "", "", false},
		{"0505550100", "US", "", false},
		{"1505550100", "US", "", false},
		{"+11505550100", "", "", false},
		{"+0123456789", "", "", false},
		{"+123456", "", "", false},
		{"+3312345678901234", "", "", false},
		{"650-555-0100 x12", "US", "", false},
		{"650*555*0100", "US", "", false},
		{"++16505550100", "US", "", false},
		{"1+6505550100", "US", "", false},
		{"+1 650 555 0100+", "US", "", false},
		{"６５０５５５０１００", "US", "", false},
		{"101", "US", "", false},          // an extension is no phone number
		{"+15550100", "US", "", false},    // nor is a test number
		{"1800FLOWERS", "US", "", false},  // letters are dialled, not written down
		{"+19995550100", "US", "", false}, // no area code 999
	}
	for _, tt := range tests {
		t.Run(tt.raw+"/"+tt.country, func(t *testing.T) {
			got, err := phonenumber.E164(tt.raw, tt.country)
			if ok := err == nil; got != tt.want || ok != tt.ok {
				t.Fatalf("E164(%q, %q) = %q, %v; want %q, %t", tt.raw, tt.country, got, err, tt.want, tt.ok)
			}
			if err != nil && !errors.Is(err, phonenumber.ErrBadNumber) {
				t.Fatalf("E164(%q, %q): error %v is not ErrBadNumber", tt.raw, tt.country, err)
			}
		})
	}
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

func FuzzE164(f *testing.F) {
	for _, s := range []string{"+16505550100", "(650) 555-0100", "16505550100", "+44 20 7946 0000", "650.555.0100", "+", ""} {
		f.Add(s, "US")
		f.Add(s, "GB")
	}
	f.Fuzz(func(t *testing.T, raw, country string) {
		n, err := phonenumber.E164(raw, country)
		if err != nil {
			if n != "" || !errors.Is(err, phonenumber.ErrBadNumber) {
				t.Fatalf("E164(%q, %q) failed (%v) but returned %q", raw, country, err, n)
			}
			return
		}
		if !e164.MatchString(n) {
			t.Fatalf("E164(%q, %q) = %q: not E.164", raw, country, n)
		}
		for _, cc := range []string{country, "", "US", "GB"} {
			if again, err := phonenumber.E164(n, cc); err != nil || again != n {
				t.Fatalf("E.164 %q of %q does not normalise to itself in %q: %q, %v", n, raw, cc, again, err)
			}
		}
		if d, err := phonenumber.Normalize(n, country); err != nil || d != n {
			t.Fatalf("E.164 %q of %q is not dialled as itself: %q, %v", n, raw, d, err)
		}
	})
}

func TestAreaCode(t *testing.T) {
	tests := []struct{ number, region, want string }{
		{"+16505550100", "US", "650"},
		{"+14155550100", "ca", "415"},
		{"+16505550100", "PR", "650"},
		{"+16505550100", "GB", ""},
		{"+4930123456", "DE", ""},
		{"+4930123456", "US", ""},
		{"101", "US", ""},
		{"", "US", ""},
	}
	for _, tt := range tests {
		if got := phonenumber.AreaCode(tt.number, tt.region); got != tt.want {
			t.Errorf("AreaCode(%q, %q) = %q, want %q", tt.number, tt.region, got, tt.want)
		}
	}
}
