package measure

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"time"
)

// Debug reads a server's --debug-addr listener: its variables (/debug/vars)
// and profiles (/debug/pprof/).
type Debug struct {
	URL string // http://127.0.0.1:PORT
}

// FreeDebugAddr is a free loopback address for a server's --debug-addr.
func FreeDebugAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

var debugClient = &http.Client{Timeout: 30 * time.Second}

// Get fetches path from the debug listener.
func (d Debug) Get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", d.URL+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := debugClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %d", path, resp.StatusCode)
	}
	return b, err
}

// DebugVars are the server's variables that the load tools read.
type DebugVars struct {
	Goroutines int `json:"goroutines"`
	OpenFiles  int `json:"open_files"`
	MemStats   struct {
		HeapAlloc  uint64 // live and not yet collected heap objects
		HeapInuse  uint64
		HeapSys    uint64
		StackInuse uint64 // goroutine stacks
		Sys        uint64
		NumGC      uint32
	} `json:"memstats"`
	// The runtime's CPU classes as of its last collection, and its heap
	// allocations so far; nil from a server that does not publish them.
	GCCPUSeconds    *float64 `json:"gc_cpu_seconds"`
	TotalCPUSeconds *float64 `json:"total_cpu_seconds"`
	IdleCPUSeconds  *float64 `json:"idle_cpu_seconds"`
	HeapAllocs      *uint64  `json:"heap_allocs_objects"`
}

// GCShare is the collector's share of the process's CPU between two
// readings, in percent to one decimal: Δgc / (Δtotal − Δidle) of the
// runtime's CPU classes, which it updates at the end of each collection,
// so that the span runs from the last collection before a to the last
// before b. ok is false when a figure is missing or no collection ended
// in between.
func GCShare(a, b DebugVars) (pct float64, ok bool) {
	if a.GCCPUSeconds == nil || b.GCCPUSeconds == nil || a.TotalCPUSeconds == nil || b.TotalCPUSeconds == nil ||
		a.IdleCPUSeconds == nil || b.IdleCPUSeconds == nil {
		return 0, false
	}
	used := (*b.TotalCPUSeconds - *a.TotalCPUSeconds) - (*b.IdleCPUSeconds - *a.IdleCPUSeconds)
	if used <= 0 {
		return 0, false
	}
	return math.Round((*b.GCCPUSeconds-*a.GCCPUSeconds)/used*1000) / 10, true
}

// AllocsPer is the heap allocations between two readings per unit of
// work, to one decimal; ok is false when a figure is missing or n is 0.
func AllocsPer(a, b DebugVars, n uint64) (per float64, ok bool) {
	if a.HeapAllocs == nil || b.HeapAllocs == nil || n == 0 || *b.HeapAllocs < *a.HeapAllocs {
		return 0, false
	}
	return math.Round(float64(*b.HeapAllocs-*a.HeapAllocs)/float64(n)*10) / 10, true
}

// Vars reads /debug/vars. With collect, a heap profile with gc=1 is asked
// for first, so that the heap figures count live objects only.
func (d Debug) Vars(ctx context.Context, collect bool) (DebugVars, error) {
	var v DebugVars
	if collect {
		if _, err := d.Get(ctx, "/debug/pprof/heap?gc=1"); err != nil {
			return v, err
		}
	}
	b, err := d.Get(ctx, "/debug/vars")
	if err != nil {
		return v, err
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return v, fmt.Errorf("/debug/vars: %w", err)
	}
	return v, nil
}

// SaveProfiles writes the server's goroutine profile (grouped stacks with
// their counts, goroutines-WHEN.txt) and heap profile (after a collection,
// heap-WHEN.pprof) under dir: `go tool pprof -base heap-A.pprof
// heap-B.pprof` shows what the live heap gained between two of them.
func (d Debug) SaveProfiles(ctx context.Context, dir, when string) error {
	for name, path := range map[string]string{
		"goroutines-" + when + ".txt": "/debug/pprof/goroutine?debug=1",
		"heap-" + when + ".pprof":     "/debug/pprof/heap?gc=1",
	} {
		b, err := d.Get(ctx, path)
		if err != nil {
			return err
		}
		out, err := OutPath(dir, name)
		if err != nil {
			return err
		}
		if err := os.WriteFile(out, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
