package server

import (
	"context"
	"errors"
	"expvar"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"runtime/metrics"
	"sync"
	"time"
)

// debugServer serves the Go runtime's profiles (/debug/pprof/) and
// variables (/debug/vars: memstats, goroutines, open files, the collector's
// CPU time and the heap allocations so far) on a loopback
// address, for the soak test and for an operator chasing a leak. It is never
// reachable from another machine: a non-loopback address is refused.
type debugServer struct {
	addr net.Addr
	hs   *http.Server
	done chan struct{}
}

// startDebug listens on addr, which must be a loopback address.
func startDebug(addr string, log *slog.Logger) (*debugServer, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("debug address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("debug address %q: must be a loopback address (127.0.0.1:PORT): profiles reveal the server's memory", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s (debug): %w", addr, err)
	}
	publishDebugVars()
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.Handle("/debug/vars", expvar.Handler())
	d := &debugServer{
		addr: ln.Addr(),
		hs: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)},
		done: make(chan struct{}),
	}
	go func() {
		defer close(d.done)
		if err := d.hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("debug listener", slog.Any("err", err))
		}
	}()
	log.Info("debug listener started", slog.String("addr", ln.Addr().String()))
	return d, nil
}

// Close stops the debug listener.
func (d *debugServer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := d.hs.Shutdown(ctx)
	<-d.done
	return err
}

var debugVarsOnce sync.Once

// Runtime figures /debug/vars publishes, by their runtime/metrics names.
// The CPU classes are the runtime's estimates, updated at the end of each
// collection: the collector's share of the process's CPU over a span is
// Δgc / (Δtotal − Δidle) between two readings.
var debugMetrics = map[string]string{
	"gc_cpu_seconds":      "/cpu/classes/gc/total:cpu-seconds", // collector: marking, assists, pauses
	"total_cpu_seconds":   "/cpu/classes/total:cpu-seconds",    // GOMAXPROCS × time since start
	"idle_cpu_seconds":    "/cpu/classes/idle:cpu-seconds",     // the part of total no goroutine used
	"heap_allocs_objects": "/gc/heap/allocs:objects",           // heap allocations so far (without tiny ones)
}

// publishDebugVars adds to expvar (once per process: its names are global)
// what a leak shows in besides memstats, and what a load tool needs for the
// collector's share of the CPU and the allocations per unit of work.
func publishDebugVars() {
	debugVarsOnce.Do(func() {
		for name, metric := range debugMetrics {
			expvar.Publish(name, expvar.Func(func() any { return readMetric(metric) }))
		}
		expvar.Publish("goroutines", expvar.Func(func() any { return runtime.NumGoroutine() }))
		expvar.Publish("open_files", expvar.Func(func() any {
			fds, err := os.ReadDir("/proc/self/fd")
			if err != nil {
				return -1
			}
			return len(fds)
		}))
	})
}

// readMetric is one runtime/metrics value as a number, or nil if this
// runtime does not have it.
func readMetric(name string) any {
	sample := []metrics.Sample{{Name: name}}
	metrics.Read(sample)
	switch v := sample[0].Value; v.Kind() {
	case metrics.KindFloat64:
		return v.Float64()
	case metrics.KindUint64:
		return v.Uint64()
	}
	return nil
}
