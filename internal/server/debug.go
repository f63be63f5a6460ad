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
	"sync"
	"time"
)

// debugServer serves the Go runtime's profiles (/debug/pprof/) and
// variables (/debug/vars: memstats, goroutines, open files) on a loopback
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

// publishDebugVars adds to expvar (once per process: its names are global)
// what a leak shows in besides memstats.
func publishDebugVars() {
	debugVarsOnce.Do(func() {
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
