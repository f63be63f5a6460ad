package main

import (
	"slices"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	cfg, err := parseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.nodes, []int{1, 3}) || cfg.users != 60 || cfg.duration != 20*time.Second {
		t.Errorf("defaults: nodes %v, users %d, duration %s", cfg.nodes, cfg.users, cfg.duration)
	}
	for _, tc := range []struct {
		name string
		args []string
		ok   bool
	}{
		{"small run", []string{"-users", "30", "-duration", "10s"}, true},
		{"one step", []string{"-nodes", "3"}, true},
		{"odd users", []string{"-users", "31"}, false},
		{"one user", []string{"-users", "1"}, false},
		{"nodes not increasing", []string{"-nodes", "3,1"}, false},
		{"no nodes", []string{"-nodes", ""}, false},
		{"too many nodes", []string{"-nodes", "1,17"}, false},
		{"no listener", []string{"-listeners", "0"}, false},
		{"no changes", []string{"-changes", "0"}, false},
		{"short phase", []string{"-duration", "10ms"}, false},
		{"stray argument", []string{"extra"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parseFlags(tc.args); (err == nil) != tc.ok {
				t.Errorf("parseFlags(%q): %v, want ok %v", tc.args, err, tc.ok)
			}
		})
	}
}
