package measure

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestRunOpensTheResult: a result that embeds Run has its fields at the top
// of its JSON, before its own, as each tool wrote them before.
func TestRunOpensTheResult(t *testing.T) {
	res := struct {
		Run
		Steps []int `json:"steps"`
	}{Run: Run{Tool: "loadgen", Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Machine: Machine{CPU: "x", Cores: 2}, Settings: map[string]any{"duration_s": 10}}, Steps: []int{5}}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"tool":"loadgen","started":"2026-01-02T03:04:05Z","machine":{"cpu":"x","cores":2,"memory_mb":0,"kernel":"","go":"","loadavg_at_start":""},"settings":{"duration_s":10},"steps":[5]}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

func TestMachineString(t *testing.T) {
	m := Machine{CPU: "AMD EPYC", Cores: 2, MemoryMB: 3900, Kernel: "6.1.0", Go: "go1.26", Loadavg: "1.00 1.00 1.00"}
	if got, want := m.String(), "AMD EPYC, 2 cores, 3900 MB, Linux 6.1.0, go1.26"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestNewRunDescribesThisMachine(t *testing.T) {
	r := NewRun("trunkload", nil)
	if r.Tool != "trunkload" || r.Started.IsZero() || !strings.HasPrefix(r.Machine.Go, "go") {
		t.Errorf("NewRun = %+v", r)
	}
}
