package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/callbridge/widget-server/internal/store/pgtest"
)

// openNodes opens n handles on one empty database of the engine under
// test, as n server processes would.
func openNodes(t *testing.T, n int) []*DB {
	t.Helper()
	ctx := context.Background()
	var target string
	if onPostgres {
		target = pgtest.URL(t)
	}
	dir := t.TempDir()
	dbs := make([]*DB, n)
	for i := range dbs {
		var err error
		if onPostgres {
			dbs[i], err = OpenDatabase(ctx, target, t.TempDir())
		} else {
			dbs[i], err = Open(ctx, dir)
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { dbs[i].Close() })
	}
	return dbs
}

// TestSecretConcurrentFirstUse: processes that ask for a secret at once,
// none finding it, all get the one value stored.
func TestSecretConcurrentFirstUse(t *testing.T) {
	dbs := openNodes(t, 3)
	const callers = 12
	got := make([]string, callers)
	errs := make([]error, callers)
	var generated sync.Map
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			got[i], errs[i] = dbs[i%len(dbs)].Secret(context.Background(), "token.key", func() (string, error) {
				v := fmt.Sprintf("value of caller %d", i)
				generated.Store(v, true)
				return v, nil
			})
		}()
	}
	close(start)
	wg.Wait()
	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if got[i] != got[0] {
			t.Fatalf("caller %d got %q, caller 0 %q", i, got[i], got[0])
		}
	}
	if _, ok := generated.Load(got[0]); !ok {
		t.Fatalf("the value %q is none a caller generated", got[0])
	}
	// Later callers read it without generating.
	for i, db := range dbs {
		v, err := db.Secret(context.Background(), "token.key", func() (string, error) {
			return "", errors.New("generated again")
		})
		if err != nil || v != got[0] {
			t.Fatalf("node %d later: %q, %v; want %q", i, v, err, got[0])
		}
	}
}

// TestSecretLosesTheRace: a process that generated a value while another
// stored its own returns the stored one, not its own.
func TestSecretLosesTheRace(t *testing.T) {
	dbs := openNodes(t, 2)
	ctx := context.Background()
	var other string
	v, err := dbs[0].Secret(ctx, "session.keys", func() (string, error) {
		// The other node stores its value before this one's insert.
		var err error
		other, err = dbs[1].Secret(ctx, "session.keys", func() (string, error) { return "the other's", nil })
		return "this one's", err
	})
	if err != nil {
		t.Fatal(err)
	}
	if other != "the other's" || v != other {
		t.Fatalf("got %q, the other node %q: want both the other's", v, other)
	}
}

func TestSecretErrors(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	boom := errors.New("no randomness")
	if _, err := db.Secret(ctx, "webhook.key", func() (string, error) { return "", boom }); !errors.Is(err, boom) || !strings.Contains(err.Error(), "webhook.key") {
		t.Fatalf("failing generator: %v", err)
	}
	if _, err := db.Secret(ctx, "webhook.key", func() (string, error) { return "", nil }); err == nil {
		t.Fatal("an empty value was stored")
	}
	// Nothing was kept by the failures.
	if v, err := db.Secret(ctx, "webhook.key", func() (string, error) { return "v1", nil }); err != nil || v != "v1" {
		t.Fatalf("after failures: %q, %v", v, err)
	}
	for _, name := range []string{"", strings.Repeat("n", maxSecretName+1)} {
		if _, err := db.Secret(ctx, name, func() (string, error) { return "v", nil }); err == nil {
			t.Errorf("name of %d bytes accepted", len(name))
		}
	}
}
