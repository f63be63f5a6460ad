package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestPlanMemory(t *testing.T) {
	const gib = 1 << 30
	some := func(n int64) func() (int64, bool) { return func() (int64, bool) { return n, true } }
	none := func() (int64, bool) { return 0, false }
	tests := []struct {
		name   string
		env    map[string]string
		flag   int64
		src    memorySources
		want   memoryPlan
		source string
	}{
		{"cgroup", nil, 0, memorySources{some(4 * gib), some(16 * gib)}, memoryPlan{gcPercent: 400, limit: 4 * gib * 9 / 10}, "cgroup memory.max"},
		{"physical", nil, 0, memorySources{none, some(16 * gib)}, memoryPlan{gcPercent: 400, limit: 8 * gib}, "physical memory"},
		{"flag", nil, 2 * gib, memorySources{some(4 * gib), some(16 * gib)}, memoryPlan{gcPercent: 400, limit: 2 * gib}, "--memory-limit"},
		{"nothing found", nil, 0, memorySources{none, none}, memoryPlan{}, "none found"},
		{"GOGC", map[string]string{"GOGC": "200"}, 0, memorySources{some(4 * gib), some(16 * gib)}, memoryPlan{}, "environment"},
		{"GOGC and flag", map[string]string{"GOGC": "off"}, 2 * gib, memorySources{none, none}, memoryPlan{limit: 2 * gib}, "--memory-limit"},
		{"GOMEMLIMIT", map[string]string{"GOMEMLIMIT": "1GiB"}, 2 * gib, memorySources{some(4 * gib), some(16 * gib)}, memoryPlan{}, "environment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := planMemory(env(tt.env), tt.flag, tt.src)
			if got.gcPercent != tt.want.gcPercent || got.limit != tt.want.limit || got.source != tt.source {
				t.Errorf("planMemory = %+v, want %+v from %q", got, tt.want, tt.source)
			}
		})
	}
}

func TestParseMemoryLimit(t *testing.T) {
	for in, want := range map[string]int64{"2GiB": 2 << 30, "512MiB": 512 << 20, "1TiB": 1 << 40, "67108864": 64 << 20, "65536KiB": 64 << 20, "100000000B": 100000000} {
		if got, err := parseMemoryLimit(in); err != nil || got != want {
			t.Errorf("parseMemoryLimit(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "1GB", "2 GiB", "-1GiB", "1MiB", "99999999999TiB", "GiB", "1.5GiB"} {
		if _, err := parseMemoryLimit(bad); err == nil {
			t.Errorf("parseMemoryLimit(%q) accepted", bad)
		}
	}
	if _, err := parseConfig([]string{"--memory-limit", "1GB"}, env(nil), io.Discard); err == nil {
		t.Error("--memory-limit 1GB accepted")
	}
	opts, err := parseConfig(nil, env(map[string]string{"WIDGET_MEMORY_LIMIT": "3GiB"}), io.Discard)
	if err != nil || opts.memoryLimit != 3<<30 {
		t.Errorf("WIDGET_MEMORY_LIMIT=3GiB: %d, %v", opts.memoryLimit, err)
	}
}

func TestCgroupMemoryMax(t *testing.T) {
	write := func(t *testing.T, path, text string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("v2", func(t *testing.T) {
		dir := t.TempDir()
		write(t, filepath.Join(dir, "self"), "0::/system.slice/widget.service\n")
		write(t, filepath.Join(dir, "root/system.slice/widget.service/memory.max"), "2147483648\n")
		if n, ok := cgroupMemoryMax(filepath.Join(dir, "self"), filepath.Join(dir, "root")); !ok || n != 2<<30 {
			t.Errorf("= %d, %v; want 2 GiB", n, ok)
		}
	})
	t.Run("v2 max", func(t *testing.T) {
		dir := t.TempDir()
		write(t, filepath.Join(dir, "self"), "0::/\n")
		write(t, filepath.Join(dir, "root/memory.max"), "max\n")
		if n, ok := cgroupMemoryMax(filepath.Join(dir, "self"), filepath.Join(dir, "root")); ok {
			t.Errorf("= %d; want no limit", n)
		}
	})
	t.Run("v1", func(t *testing.T) {
		dir := t.TempDir()
		write(t, filepath.Join(dir, "self"), "4:memory:/docker/abc\n")
		write(t, filepath.Join(dir, "root/memory/memory.limit_in_bytes"), "1073741824\n")
		if n, ok := cgroupMemoryMax(filepath.Join(dir, "self"), filepath.Join(dir, "root")); !ok || n != 1<<30 {
			t.Errorf("= %d, %v; want 1 GiB", n, ok)
		}
		write(t, filepath.Join(dir, "root/memory/memory.limit_in_bytes"), "9223372036854771712\n")
		if n, ok := cgroupMemoryMax(filepath.Join(dir, "self"), filepath.Join(dir, "root")); ok {
			t.Errorf("unlimited v1 = %d; want no limit", n)
		}
	})
	t.Run("meminfo", func(t *testing.T) {
		dir := t.TempDir()
		write(t, filepath.Join(dir, "meminfo"), "MemTotal:       16318412 kB\nMemFree:         1000 kB\n")
		if n, ok := memTotal(filepath.Join(dir, "meminfo")); !ok || n != 16318412<<10 {
			t.Errorf("= %d, %v", n, ok)
		}
	})
}
