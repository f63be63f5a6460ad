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

func TestParseUDPDrops(t *testing.T) {
	const procNetUDP = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  101: 0100007F:EB8C 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 81234 2 0000000000000000 3
  102: 0100007F:4E20 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 81235 2 0000000000000000 0
  103: 0100007F:4E22 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 81236 2 0000000000000000 5
  104: 0100007F:4E22 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 81239 2 0000000000000000 2
  105: 0100007F:C350 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 81237 2 0000000000000000 x
`
	got := ParseUDPDrops([]byte(procNetUDP))
	// Two sockets on 20002 add up; a counter that is not a number is left out.
	if got[0xEB8C] != 3 || got[20000] != 0 || got[20002] != 7 || len(got) != 3 {
		t.Errorf("ParseUDPDrops = %v", got)
	}
}

func TestGCShareAndAllocs(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	u := func(v uint64) *uint64 { return &v }
	a := DebugVars{GCCPUSeconds: f(1), TotalCPUSeconds: f(100), IdleCPUSeconds: f(60), HeapAllocs: u(1000)}
	// 20 s available, 12 of them idle: 8 used, 0.4 by the collector.
	b := DebugVars{GCCPUSeconds: f(1.4), TotalCPUSeconds: f(120), IdleCPUSeconds: f(72), HeapAllocs: u(31000)}
	if pct, ok := GCShare(a, b); !ok || pct != 5 {
		t.Errorf("GCShare %v %v, want 5", pct, ok)
	}
	if per, ok := AllocsPer(a, b, 2000); !ok || per != 15 {
		t.Errorf("AllocsPer %v %v, want 15", per, ok)
	}
	// No collection in between: the CPU classes did not move.
	if _, ok := GCShare(a, a); ok {
		t.Error("a share with no collection in between")
	}
	// A server that publishes none of them (before the figures existed).
	if _, ok := GCShare(DebugVars{}, b); ok {
		t.Error("a share without the figures")
	}
	if _, ok := AllocsPer(DebugVars{}, b, 10); ok {
		t.Error("allocations without the figures")
	}
	if _, ok := AllocsPer(a, b, 0); ok {
		t.Error("allocations per no packet")
	}
}
