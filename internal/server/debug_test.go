package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"testing"
)

// TestDebugListener serves the runtime's variables and profiles on
// loopback and refuses any other address, also when the program starts.
func TestDebugListener(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.DiscardHandler)
	for _, addr := range []string{"0.0.0.0:0", "[::]:0", "192.0.2.1:6060", ":6060", "example.com:6060", "nonsense"} {
		if d, err := startDebug(addr, log); err == nil {
			d.Close()
			t.Errorf("debug listener started on %q", addr)
		}
	}
	if err := Run(context.Background(), Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), DebugListen: "0.0.0.0:0"}); err == nil ||
		!strings.Contains(err.Error(), "loopback") {
		t.Errorf("Run with a public debug address: %v", err)
	}

	d, err := startDebug("127.0.0.1:0", log)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	base := "http://" + d.addr.String()
	runtime.GC() // the CPU classes are figures of the last collection
	resp, err := http.Get(base + "/debug/vars")
	if err != nil {
		t.Fatal(err)
	}
	var vars struct {
		Goroutines int `json:"goroutines"`
		OpenFiles  int `json:"open_files"`
		MemStats   struct {
			HeapAlloc uint64
		} `json:"memstats"`
		GCCPU     *float64 `json:"gc_cpu_seconds"`
		TotalCPU  *float64 `json:"total_cpu_seconds"`
		IdleCPU   *float64 `json:"idle_cpu_seconds"`
		HeapAlloc *uint64  `json:"heap_allocs_objects"`
	}
	err = json.NewDecoder(resp.Body).Decode(&vars)
	resp.Body.Close()
	if err != nil || vars.Goroutines < 1 || vars.OpenFiles < 1 || vars.MemStats.HeapAlloc == 0 {
		t.Fatalf("/debug/vars: %+v, %v", vars, err)
	}
	if vars.GCCPU == nil || vars.TotalCPU == nil || vars.IdleCPU == nil || vars.HeapAlloc == nil {
		t.Fatalf("/debug/vars without the runtime's CPU classes or allocations: %+v", vars)
	}
	if *vars.TotalCPU <= 0 || *vars.GCCPU <= 0 || *vars.GCCPU+*vars.IdleCPU > *vars.TotalCPU || *vars.HeapAlloc == 0 {
		t.Errorf("runtime figures after a collection: gc %v, idle %v of total %v CPU seconds, %d allocations",
			*vars.GCCPU, *vars.IdleCPU, *vars.TotalCPU, *vars.HeapAlloc)
	}
	resp, err = http.Get(base + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(b), "goroutine profile: total ") {
		t.Fatalf("goroutine profile: %d %.80s", resp.StatusCode, b)
	}
}
