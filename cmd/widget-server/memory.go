package main

import (
	"bufio"
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
)

// The garbage collector's settings. Go's default (GOGC=100, no memory
// limit) collects often on a server that relays audio: every collection's
// mark assists land on the goroutines that forward packets, and set the
// p99 of the media relay (docs/performance.md). When the environment sets
// neither GOGC nor GOMEMLIMIT, the server collects four times less often
// and takes a memory limit as the safety: the collector works harder as
// the heap nears it, whatever GOGC says.

// serverGCPercent is the GOGC the server runs with when the environment
// sets none.
const serverGCPercent = 400

// Shares of the memory the server's limit takes when --memory-limit does
// not give it: of its cgroup's limit (the container's), else of the
// machine's physical memory, which it may share with other programs.
const (
	cgroupShare   = 0.9
	physicalShare = 0.5
)

// minMemoryLimit is the least limit --memory-limit takes: below it the
// collector would run all the time.
const minMemoryLimit = 64 << 20

// memoryPlan is what the server asks of the collector.
type memoryPlan struct {
	gcPercent int    // 0: as the environment says
	limit     int64  // bytes; 0: as the environment says
	source    string // where the limit comes from
}

// memorySources find the memory the server may use.
type memorySources struct {
	cgroupMax func() (int64, bool) // the cgroup's memory.max
	physical  func() (int64, bool) // the machine's memory
}

// planMemory decides the collector's settings: as GOGC and GOMEMLIMIT say
// when the environment sets either (a --memory-limit then applies only
// with GOGC); else GOGC 400 with the limit of --memory-limit (flagLimit,
// 0 for none), else a share of the cgroup's memory.max, else a share of
// the physical memory. With no limit to be found GOGC stays the default.
func planMemory(getenv lookupEnv, flagLimit int64, src memorySources) memoryPlan {
	_, gogc := getenv("GOGC")
	_, gomemlimit := getenv("GOMEMLIMIT")
	switch {
	case gomemlimit:
		return memoryPlan{source: "environment"}
	case gogc && flagLimit > 0:
		return memoryPlan{limit: flagLimit, source: "--memory-limit"}
	case gogc:
		return memoryPlan{source: "environment"}
	case flagLimit > 0:
		return memoryPlan{gcPercent: serverGCPercent, limit: flagLimit, source: "--memory-limit"}
	}
	if n, ok := src.cgroupMax(); ok {
		return memoryPlan{gcPercent: serverGCPercent, limit: int64(float64(n) * cgroupShare), source: "cgroup memory.max"}
	}
	if n, ok := src.physical(); ok {
		return memoryPlan{gcPercent: serverGCPercent, limit: int64(float64(n) * physicalShare), source: "physical memory"}
	}
	return memoryPlan{source: "none found"}
}

// apply sets the plan and logs what the collector runs with.
func (p memoryPlan) apply(log *slog.Logger, getenv lookupEnv) {
	if p.gcPercent > 0 {
		debug.SetGCPercent(p.gcPercent)
	}
	if p.limit > 0 {
		debug.SetMemoryLimit(p.limit)
	}
	gogc := strconv.Itoa(p.gcPercent)
	if p.gcPercent == 0 {
		gogc = "100"
		if v, ok := getenv("GOGC"); ok {
			gogc = v
		}
	}
	limit := "none"
	if n := debug.SetMemoryLimit(-1); n < 1<<62 {
		limit = fmt.Sprintf("%d MiB", n>>20)
	}
	log.Info("garbage collector", slog.String("gogc", gogc), slog.String("memoryLimit", limit), slog.String("limitFrom", p.source))
}

// parseMemoryLimit reads a size as GOMEMLIMIT writes it: a whole number of
// bytes with an optional unit B, KiB, MiB, GiB or TiB.
func parseMemoryLimit(s string) (int64, error) {
	units := []struct {
		suffix string
		shift  uint
	}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"B", 0}}
	num, shift := s, uint(0)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			num, shift = strings.TrimSuffix(s, u.suffix), u.shift
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<62)>>shift {
		return 0, fmt.Errorf("memory limit %q: want a size such as 2GiB or 512MiB", s)
	}
	if n<<shift < minMemoryLimit {
		return 0, fmt.Errorf("memory limit %q: want at least 64MiB", s)
	}
	return n << shift, nil
}

// systemMemory reads the limits of the machine the server runs on.
func systemMemory() memorySources {
	return memorySources{
		cgroupMax: func() (int64, bool) { return cgroupMemoryMax("/proc/self/cgroup", "/sys/fs/cgroup") },
		physical:  func() (int64, bool) { return memTotal("/proc/meminfo") },
	}
}

// cgroupMemoryMax reads the memory limit of the process's cgroup: v2's
// memory.max of the group that /proc/self/cgroup names, else v1's
// memory.limit_in_bytes. "max", a v1 limit of no practical size, or none
// found: no limit.
func cgroupMemoryMax(selfCgroup, root string) (int64, bool) {
	if data, err := os.ReadFile(selfCgroup); err == nil {
		for line := range strings.Lines(string(data)) {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "0::"); ok {
				if n, ok := readLimit(filepath.Join(root, filepath.Clean("/"+rest), "memory.max")); ok {
					return n, true
				}
			}
		}
	}
	return readLimit(filepath.Join(root, "memory", "memory.limit_in_bytes"))
}

// readLimit reads a cgroup memory limit file.
func readLimit(path string) (int64, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(string(bytes.TrimSpace(data)), 10, 64)
	if err != nil || n <= 0 || n >= 1<<60 { // "max", or v1's "unlimited" page-rounded MaxInt64
		return 0, false
	}
	return n, true
}

// memTotal reads MemTotal from /proc/meminfo.
func memTotal(path string) (int64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, false
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb <= 0 {
			return 0, false
		}
		return kb << 10, true
	}
	return 0, false
}
