package telephony_test

import (
	"fmt"
	"testing"

	"github.com/callbridge/widget-server/internal/phonenumber"
	"github.com/callbridge/widget-server/internal/telephony"
)

// TestTestNumbersCoverRange checks that the switch's table gives every number
// of the test range exactly one behaviour, and nothing outside it.
func TestTestNumbersCoverRange(t *testing.T) {
	for _, tn := range telephony.TestNumbers {
		if !phonenumber.IsTest(tn.Number) || tn.Last != "" && !phonenumber.IsTest(tn.Last) {
			t.Errorf("row %s-%s lies outside the test range", tn.Number, tn.Last)
		}
	}
	for i := 0; i <= 99; i++ {
		n := fmt.Sprintf("+155501%02d", i)
		rows := 0
		for _, tn := range telephony.TestNumbers {
			if tn.Has(n) {
				rows++
			}
		}
		if rows != 1 {
			t.Errorf("%s has %d rows, want 1", n, rows)
		}
	}
}
