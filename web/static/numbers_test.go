package static_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/callbridge/widget-server/internal/telephony"
	"github.com/callbridge/widget-server/web/static"
)

// TestTestLinesInStep: the widget's names of the test numbers (numbers.js
// TEST_LINES) cover the switch's test lines row for row, so that every test
// number the switch answers has a name in the widget and no name is left for
// a row the switch dropped; the README's table says each name.
func TestTestLinesInStep(t *testing.T) {
	src, err := static.FS.ReadFile("numbers.js")
	if err != nil {
		t.Fatal(err)
	}
	table := regexp.MustCompile(`(?s)export const TEST_LINES = Object\.freeze\(\[(.*?)\]\.map`).FindSubmatch(src)
	if table == nil {
		t.Fatal("numbers.js has no TEST_LINES table")
	}
	rows := regexp.MustCompile(`\['(\+\d+)', '(\+\d+)', '([^']+)'\]`).FindAllSubmatch(table[1], -1)
	if len(rows) != len(telephony.TestNumbers) {
		t.Fatalf("numbers.js names %d test lines, the switch has %d", len(rows), len(telephony.TestNumbers))
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for i, tn := range telephony.TestNumbers {
		last := tn.Last
		if last == "" {
			last = tn.Number
		}
		first, gotLast, name := string(rows[i][1]), string(rows[i][2]), string(rows[i][3])
		if first != tn.Number || gotLast != last || name != tn.Name {
			t.Errorf("numbers.js row %d = %s…%s %q; the switch's is %s…%s %q (%s)", i, first, gotLast, name, tn.Number, last, tn.Name, tn.Behaviour)
		}
		if !readmeRow(string(readme), tn.Behaviour, name) {
			t.Errorf("README.md's test numbers do not show %s (%s) as %q", tn.Number, tn.Behaviour, name)
		}
	}
}

// readmeRow reports whether the README's table has a row of behaviour whose
// last column is name.
func readmeRow(readme, behaviour, name string) bool {
	for _, line := range strings.Split(readme, "\n") {
		if strings.Contains(line, "| "+behaviour+" |") && strings.HasSuffix(line, "| "+name+" |") {
			return true
		}
	}
	return false
}
