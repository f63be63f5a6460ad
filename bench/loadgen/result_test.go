package main

import (
	"strings"
	"testing"
)

// TestMarkdownColumns: a gateway step fills the server's columns, a relay
// step the relay's; what was not measured, or what a server does not
// publish, is a dash.
func TestMarkdownColumns(t *testing.T) {
	gc, allocs := 4.5, 12.0
	res := &Result{Steps: []Step{
		{Target: "gateway", Calls: 10, ServerUsPerPacket: 20.5, LoadgenUsPerPacket: 9.25, ServerGCPct: &gc, ServerAllocsPerPacket: &allocs},
		{Target: "gateway", Calls: 20, ServerUsPerPacket: 21},
		{Target: "relay", Calls: 100, RelayUsPerPacket: 3.1, LoadgenUsPerPacket: 6},
	}}
	md := markdown(res)
	var header []string
	var rows [][]string
	for line := range strings.Lines(md) {
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if header == nil {
			header = cells
		} else {
			rows = append(rows, cells)
		}
	}
	col := func(row int, name string) string {
		for i, h := range header {
			if h == name {
				return rows[row][i]
			}
		}
		t.Fatalf("no column %q in %v", name, header)
		return ""
	}
	for _, c := range []struct {
		row        int
		name, want string
	}{
		{0, "server µs/packet", "20.5"}, {0, "relay µs/packet", "–"}, {0, "GC % of server CPU", "4.5"},
		{0, "server allocs/packet", "12"}, {0, "loadgen µs/packet", "9.25"},
		{1, "GC % of server CPU", "–"}, {1, "server allocs/packet", "–"}, {1, "loadgen µs/packet", "–"},
		{2, "server µs/packet", "–"}, {2, "relay µs/packet", "3.1"}, {2, "GC % of server CPU", "–"}, {2, "loadgen µs/packet", "6"},
	} {
		if got := col(c.row, c.name); got != c.want {
			t.Errorf("step %d, %s: %q, want %q", c.row+1, c.name, got, c.want)
		}
	}
}
