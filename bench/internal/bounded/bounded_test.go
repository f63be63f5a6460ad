package bounded

import (
	"sync/atomic"
	"testing"
)

func TestDoCallsEachOnceAtMostParallelAtATime(t *testing.T) {
	for _, parallel := range []int{0, 1, 3} {
		var running, most atomic.Int32
		calls := make([]atomic.Int32, 20)
		Do(len(calls), parallel, func(i int) {
			n := running.Add(1)
			defer running.Add(-1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			calls[i].Add(1)
		})
		for i := range calls {
			if c := calls[i].Load(); c != 1 {
				t.Fatalf("parallel %d: f(%d) called %d times", parallel, i, c)
			}
		}
		if m := most.Load(); m > int32(max(parallel, 1)) {
			t.Errorf("parallel %d: %d ran at once", parallel, m)
		}
	}
}
