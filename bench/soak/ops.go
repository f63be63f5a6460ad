package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// ops counts the outcome of each kind of operation.
type ops struct {
	mu sync.Mutex
	m  map[string]*OpResult
}

// OpResult is how one kind of operation went.
type OpResult struct {
	Name      string `json:"name"`
	OK        int    `json:"ok"`
	Failed    int    `json:"failed"`
	LastError string `json:"last_error,omitempty"`
}

func newOps() *ops { return &ops{m: map[string]*OpResult{}} }

// done records an outcome; one cut short by the end of the load is not.
func (o *ops) done(ctx context.Context, name string, err error) bool {
	if err != nil && ctx.Err() != nil {
		return false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	r := o.m[name]
	if r == nil {
		r = &OpResult{Name: name}
		o.m[name] = r
	}
	if err != nil {
		r.Failed++
		r.LastError = err.Error()
		return false
	}
	r.OK++
	return true
}

func (o *ops) results() []OpResult {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []OpResult
	for _, r := range o.m {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b OpResult) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (o *ops) brief() string {
	ok, failed := 0, 0
	for _, r := range o.results() {
		ok, failed = ok+r.OK, failed+r.Failed
	}
	return fmt.Sprintf(" ops %d ok, %d failed", ok, failed)
}
