package cluster_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/callbridge/widget-server/internal/cluster"
	"github.com/callbridge/widget-server/internal/cluster/natstest"
)

// TestSequencesAcrossNodes: nodes asking at once for one extension's
// sequences, each with the same own (local) number, get distinct ones,
// each node's increasing, all at least the local one; another extension
// counts on its own.
func TestSequencesAcrossNodes(t *testing.T) {
	ns := natstest.Start(t)
	var seqs []*cluster.Sequences
	for _, name := range []string{"a", "b", "c"} {
		nc, err := cluster.Connect(ns.URL, name, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		s, err := cluster.NewSequences(context.Background(), nc, nil)
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, s)
	}
	const each, local = 30, 1000
	got := make([][]uint64, len(seqs))
	var wg sync.WaitGroup
	for i, s := range seqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				got[i] = append(got[i], s.Next(7, local))
			}
		}()
	}
	wg.Wait()
	var all []uint64
	for i, g := range got {
		if !slices.IsSorted(g) || len(slices.Compact(slices.Clone(g))) != len(g) {
			t.Fatalf("node %d's sequences are not increasing: %v", i, g)
		}
		all = append(all, g...)
	}
	slices.Sort(all)
	if len(slices.Compact(slices.Clone(all))) != len(all) || all[0] < local {
		t.Fatalf("sequences repeat or fall below the local one: %v", all)
	}
	if n := seqs[0].Next(8, 5); n != 5 {
		t.Fatalf("another extension's first sequence: %d, want its local 5", n)
	}
	if n := seqs[1].Next(7, 1); n != all[len(all)-1]+1 {
		t.Fatalf("after the others: %d, want %d", n, all[len(all)-1]+1)
	}
}
