package cluster_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/callbridge/widget-server/internal/cluster"
	"github.com/callbridge/widget-server/internal/cluster/natstest"
	"github.com/nats-io/nats.go"
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

// TestSequencesOneRoundTrip: a node that gave an extension's last sequence
// advances it with one message to NATS, the compare-and-set on the revision
// it kept; after another node gave one, its try fails and it reads the
// counter again, and its sequence is still above the other's.
func TestSequencesOneRoundTrip(t *testing.T) {
	ns := natstest.Start(t)
	var conns []*nats.Conn
	var seqs []*cluster.Sequences
	for _, name := range []string{"a", "b"} {
		nc, err := cluster.Connect(ns.URL, name, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		s, err := cluster.NewSequences(context.Background(), nc, nil)
		if err != nil {
			t.Fatal(err)
		}
		conns, seqs = append(conns, nc), append(seqs, s)
	}
	a, b := seqs[0], seqs[1]
	sent := func() uint64 { return conns[0].Stats().OutMsgs }
	if n := a.Next(9, 1); n != 1 {
		t.Fatalf("first sequence %d, want 1", n)
	}
	before := sent()
	if n := a.Next(9, 1); n != 2 {
		t.Fatalf("second sequence %d, want 2", n)
	}
	if d := sent() - before; d != 1 {
		t.Fatalf("%d messages sent for a sequence this node gave last, want 1", d)
	}
	if n := b.Next(9, 1); n != 3 {
		t.Fatalf("the other node's sequence %d, want 3", n)
	}
	if n := a.Next(9, 1); n != 4 {
		t.Fatalf("after the other node's: %d, want 4", n)
	}
	before = sent()
	if n := a.Next(9, 1); n != 5 {
		t.Fatalf("then %d, want 5", n)
	}
	if d := sent() - before; d != 1 {
		t.Fatalf("%d messages sent once this node gave the last again, want 1", d)
	}
}
