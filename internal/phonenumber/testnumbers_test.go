package phonenumber_test

import (
	"testing"

	"github.com/callbridge/widget-server/internal/phonenumber"
)

func TestIsTest(t *testing.T) {
	for n, want := range map[string]bool{
		"+15550100": true, "+15550101": true, "+15550150": true, "+15550199": true,
		"+15550200": false, "+15550099": false, "+155501000": false, "+1555010": false,
		"15550100": false, "+16505550100": false, "": false,
	} {
		if got := phonenumber.IsTest(n); got != want {
			t.Errorf("IsTest(%q) = %t, want %t", n, got, want)
		}
	}
	for _, n := range []string{phonenumber.FirstTest, phonenumber.LastTest} {
		if got, err := phonenumber.Normalize(n, "US"); err != nil || got != n {
			t.Errorf("Normalize(%q) = %q, %v; a test number is dialled as itself", n, got, err)
		}
	}
}
