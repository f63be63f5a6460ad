// Package command is the frame of a load tool's main: its flags parsed
// into one config, the run under a context that SIGINT and SIGTERM end,
// and the exit status (2 for flags it cannot use, 1 for a failed run); and
// the steps flags (-calls 10,25,50) every ramping tool takes.
//
// It must not import the tools' other packages: they measure, it only
// starts them.
package command

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
)

// Main runs the tool name: parse reads its arguments, run does the work.
// It prints an error prefixed with name and exits with 2 if parse fails,
// with 1 if run does.
func Main[C any](name string, parse func(args []string) (C, error), run func(context.Context, C) error) {
	cfg, err := parse(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, cfg)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// Steps reads a list of steps such as "10, 25,50": positive, increasing
// numbers separated by commas. Empty items are skipped, so "" is no step.
func Steps(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		if len(out) > 0 && n <= out[len(out)-1] {
			return nil, errors.New("steps must increase")
		}
		out = append(out, n)
	}
	return out, nil
}
