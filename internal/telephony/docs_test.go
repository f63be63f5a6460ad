package telephony

import (
	"os"
	"strings"
	"testing"
)

// TestTestNumbersDocumented keeps the README's table of test numbers in step
// with the switch.
func TestTestNumbersDocumented(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, tn := range TestNumbers {
		n := tn.Number
		row := "| +1 555 " + n[len(n)-4:] + " "
		if tn.Last != "" {
			row = "| +1 555 " + n[len(n)-4:] + " … " + tn.Last[len(tn.Last)-4:] + " "
		}
		if !strings.Contains(readme, row+"| "+tn.Behaviour+" |") {
			t.Errorf("README.md lacks the row %q for %s", row+"| "+tn.Behaviour+" |", tn.Number)
		}
	}
}
