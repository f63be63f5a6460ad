// Package measure holds what the load tools measure with: a lock-free
// latency histogram, process CPU and memory read from /proc, and the
// writing of results, which open with the run and its machine, as JSON
// and a markdown table.
package measure

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Histogram counts durations in 10 µs buckets up to 10 s. It is safe for
// concurrent use without locks.
type Histogram struct {
	buckets [histBuckets]atomic.Uint64
	count   atomic.Uint64
	sum     atomic.Int64 // ns
	max     atomic.Int64 // ns
	neg     atomic.Uint64
}

const (
	histResolution = 10 * time.Microsecond
	histBuckets    = int(10 * time.Second / histResolution)
)

// Add records one duration. Negative durations (clock skew) are counted
// apart and not recorded.
func (h *Histogram) Add(d time.Duration) {
	if d < 0 {
		h.neg.Add(1)
		return
	}
	i := int(d / histResolution)
	if i >= histBuckets {
		i = histBuckets - 1
	}
	h.buckets[i].Add(1)
	h.count.Add(1)
	h.sum.Add(int64(d))
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			break
		}
	}
}

// Count is the number of durations recorded.
func (h *Histogram) Count() uint64 { return h.count.Load() }

// Quantile returns the q-quantile (0..1), to the bucket's upper edge.
func (h *Histogram) Quantile(q float64) time.Duration {
	n := h.count.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	if rank == 0 {
		rank = 1
	}
	var seen uint64
	for i := range h.buckets {
		seen += h.buckets[i].Load()
		if seen >= rank {
			return time.Duration(i+1) * histResolution
		}
	}
	return time.Duration(h.max.Load())
}

// Summary is a histogram's figures in milliseconds.
type Summary struct {
	Count    uint64  `json:"count"`
	P50ms    float64 `json:"p50_ms"`
	P90ms    float64 `json:"p90_ms"`
	P99ms    float64 `json:"p99_ms"`
	P999ms   float64 `json:"p999_ms"`
	MaxMs    float64 `json:"max_ms"`
	MeanMs   float64 `json:"mean_ms"`
	Negative uint64  `json:"negative,omitempty"`
}

// Summary returns the histogram's figures.
func (h *Histogram) Summary() Summary {
	n := h.count.Load()
	s := Summary{
		Count:    n,
		P50ms:    ms(h.Quantile(0.50)),
		P90ms:    ms(h.Quantile(0.90)),
		P99ms:    ms(h.Quantile(0.99)),
		P999ms:   ms(h.Quantile(0.999)),
		MaxMs:    ms(time.Duration(h.max.Load())),
		Negative: h.neg.Load(),
	}
	if n > 0 {
		s.MeanMs = ms(time.Duration(h.sum.Load() / int64(n)))
	}
	return s
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Millisecond)*1000) / 1000 }

// Proc is a sample of one process's counters.
type Proc struct {
	At       time.Time
	CPU      time.Duration // user + system time so far
	RSSBytes int64
	Threads  int
}

// clockTick is the kernel's USER_HZ, 100 on every Linux this runs on.
const clockTick = 100

// ReadProc samples a process from /proc (Linux).
func ReadProc(pid int) (Proc, error) {
	p := Proc{At: time.Now()}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return p, err
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 20 {
		return p, fmt.Errorf("/proc/%d/stat: short", pid)
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	p.CPU = time.Duration(utime+stime) * time.Second / clockTick
	p.Threads, _ = strconv.Atoi(f[17])
	st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return p, err
	}
	for line := range strings.Lines(string(st)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			p.RSSBytes = kb * 1024
		}
	}
	return p, nil
}

// CPUPercent is the CPU used between two samples, in percent of one core.
func CPUPercent(a, b Proc) float64 {
	wall := b.At.Sub(a.At)
	if wall <= 0 {
		return 0
	}
	return math.Round(float64(b.CPU-a.CPU)/float64(wall)*1000) / 10
}

// LoadAvg returns /proc/loadavg's first three fields.
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// Machine describes where the figures were taken.
type Machine struct {
	CPU      string `json:"cpu"`
	Cores    int    `json:"cores"`
	MemoryMB int64  `json:"memory_mb"`
	Kernel   string `json:"kernel"`
	Go       string `json:"go"`
	Loadavg  string `json:"loadavg_at_start"`
}

// ThisMachine reads the machine's description from /proc.
func ThisMachine(goVersion string) Machine {
	m := Machine{Go: goVersion, Loadavg: LoadAvg()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, "model name"); ok && m.CPU == "" {
				m.CPU = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
			}
			if strings.HasPrefix(line, "processor") {
				m.Cores++
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				m.MemoryMB = kb / 1024
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// String describes the machine as the results' markdown opens with: "CPU,
// N cores, M MB, Linux KERNEL, GO".
func (m Machine) String() string {
	return fmt.Sprintf("%s, %d cores, %d MB, Linux %s, %s", m.CPU, m.Cores, m.MemoryMB, m.Kernel, m.Go)
}

// Run is what a tool's result file opens with: the tool, when it started,
// on what machine, with which settings. A tool's result embeds it.
type Run struct {
	Tool     string         `json:"tool"`
	Started  time.Time      `json:"started"`
	Machine  Machine        `json:"machine"`
	Settings map[string]any `json:"settings"`
}

// NewRun describes a run of tool starting now on this machine.
func NewRun(tool string, settings map[string]any) Run {
	return Run{Tool: tool, Started: time.Now(), Machine: ThisMachine(runtime.Version()), Settings: settings}
}

// WriteJSON writes v, indented, to path.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// WriteResult writes res as NAME.json and md as NAME.md under dir (see
// OutPath) and says where on standard output.
func WriteResult(dir, name string, res any, md string) error {
	jsonPath, err := OutPath(dir, name+".json")
	if err != nil {
		return err
	}
	mdPath, _ := OutPath(dir, name+".md")
	if err := WriteJSON(jsonPath, res); err != nil {
		return err
	}
	if err := os.WriteFile(mdPath, []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Printf("wrote %s and %s\n", jsonPath, mdPath)
	return nil
}

// Table is a markdown table.
type Table struct {
	Header []string
	Rows   [][]string
}

// Add appends a row, formatting each value with %v (floats with %.3g-ish).
func (t *Table) Add(vals ...any) {
	row := make([]string, len(vals))
	for i, v := range vals {
		switch v := v.(type) {
		case float64:
			row[i] = strconv.FormatFloat(v, 'f', -1, 64)
			if math.Abs(v) >= 100 {
				row[i] = strconv.FormatFloat(math.Round(v), 'f', -1, 64)
			} else if strings.Contains(row[i], ".") && len(row[i]) > 6 {
				row[i] = strconv.FormatFloat(v, 'f', 3, 64)
			}
		default:
			row[i] = fmt.Sprint(v)
		}
	}
	t.Rows = append(t.Rows, row)
}

// String renders the table as markdown.
func (t *Table) String() string {
	var b strings.Builder
	b.WriteString("| " + strings.Join(t.Header, " | ") + " |\n|")
	for range t.Header {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, r := range t.Rows {
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	return b.String()
}

// OutPath returns the path of a result file: under dir, or under the
// system's temporary directory when dir is empty.
func OutPath(dir, name string) (string, error) {
	if dir == "" {
		dir = os.TempDir() + "/callbridge-bench"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return dir + "/" + name, nil
}

// UDPDrops returns the kernel's drop counter of the IPv4 UDP socket bound
// to port (from /proc/net/udp: packets refused because its receive buffer
// was full), and whether such a socket was found.
func UDPDrops(port int) (uint64, bool) {
	n, ok := ReadUDPDrops()[port]
	return n, ok
}

// ReadUDPDrops are the kernel's drop counters of every IPv4 UDP socket,
// summed by local port (see ParseUDPDrops); none if /proc/net/udp cannot be
// read.
func ReadUDPDrops() map[int]uint64 {
	b, _ := os.ReadFile("/proc/net/udp")
	return ParseUDPDrops(b)
}

// ParseUDPDrops reads the drop counters (packets refused for a full
// receive buffer) of the IPv4 UDP sockets from the text of /proc/net/udp,
// summed by local port.
func ParseUDPDrops(procNetUDP []byte) map[int]uint64 {
	out := map[int]uint64{}
	for line := range strings.Lines(string(procNetUDP)) {
		f := strings.Fields(line)
		if len(f) < 13 {
			continue
		}
		_, hexPort, ok := strings.Cut(f[1], ":")
		port, err := strconv.ParseUint(hexPort, 16, 16)
		if !ok || err != nil {
			continue
		}
		n, err := strconv.ParseUint(f[len(f)-1], 10, 64)
		if err != nil {
			continue
		}
		out[int(port)] += n
	}
	return out
}

// UDPRcvbufErrors is the system-wide count of UDP packets dropped for a
// full receive buffer (/proc/net/snmp).
func UDPRcvbufErrors() uint64 {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0
	}
	var names []string
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Udp:" {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		for i, n := range names {
			if n == "RcvbufErrors" && i < len(f) {
				v, _ := strconv.ParseUint(f[i], 10, 64)
				return v
			}
		}
	}
	return 0
}
