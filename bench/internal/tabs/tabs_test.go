package tabs

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/callbridge/widget-server/bench/internal/target"
)

func TestOpenAllKeepsOrderAndBound(t *testing.T) {
	users := target.LoadUsers(10000, 7)
	var open, most atomic.Int32
	got, err := OpenAll(context.Background(), users, []string{"have"}, 2, func(_ context.Context, u target.User) (string, error) {
		n := open.Add(1)
		defer open.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		return u.Number, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"have", "10001", "10002", "10003", "10004", "10005", "10006"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if m := most.Load(); m > 2 {
		t.Errorf("%d opened at once, want at most 2", m)
	}
}

func TestOpenAllSaysWhoFailed(t *testing.T) {
	users := target.LoadUsers(10000, 3)
	refused := errors.New("refused")
	_, err := OpenAll(context.Background(), users, nil, 4, func(_ context.Context, u target.User) (int, error) {
		if u.Number == "10001" {
			return 0, refused
		}
		return 1, nil
	})
	if !errors.Is(err, refused) || err.Error() != "sign in l10001@load.test: refused" {
		t.Errorf("err = %v", err)
	}
}
