package server

import (
	"net/http"
	"testing"
	"time"
)

// frozenClock is a sign-in back-off clock that never moves: a throttled
// key stays throttled however long the machine takes between requests.
func frozenClock() func() time.Time {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	return func() time.Time { return t0 }
}

// signInFrom submits the sign-in form as username, through a proxy that
// says the browser's address is client ("" for no X-Forwarded-For), and
// returns the status.
func signInFrom(t *testing.T, srv *instance, client, username, password string) int {
	t.Helper()
	f := newFlow(t, srv)
	page := do(t, f.c, "GET", f.authURL(nil), nil)
	if page.StatusCode != http.StatusOK {
		t.Fatalf("authorize page: %d", page.StatusCode)
	}
	if client != "" {
		f.c.Transport = forwardedFor{f.c.Transport, client}
	}
	return submitLogin(t, f.c, f.authURL(nil), page.body, username, password).StatusCode
}

// forwardedFor adds the X-Forwarded-For header a proxy sets.
type forwardedFor struct {
	next   http.RoundTripper
	client string
}

func (f forwardedFor) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", f.client)
	return f.next.RoundTrip(r)
}

// TestSignInBackOffKeys checks what the sign-in back-off counts: one
// counter per extension however its name is spelled, and one per browser
// address (from X-Forwarded-For only behind a trusted proxy); a success
// clears only the signed-in user's own failures.
func TestSignInBackOffKeys(t *testing.T) {
	t.Parallel()
	behindProxy := startServer(t, Config{TrustedProxies: []string{"127.0.0.1/32"}, SignInClock: frozenClock()})
	direct := startServer(t, Config{SignInClock: frozenClock()})

	t.Run("spellings of one user share a counter", func(t *testing.T) {
		for i, name := range []string{"+1 650-555-0100*101", "6505550100*101", "ALICE@demo.test"} {
			if st := signInFrom(t, behindProxy, "203.0.113.1"+string(rune('0'+i)), name, "wrong"); st != http.StatusUnauthorized {
				t.Fatalf("failure %d as %q: %d", i+1, name, st)
			}
		}
		if st := signInFrom(t, behindProxy, "203.0.113.20", "(650) 555-0100*101", "demo"); st != http.StatusTooManyRequests {
			t.Fatalf("alice, spelled a fourth way, after three failures: %d, want 429", st)
		}
		if st := signInFrom(t, behindProxy, "203.0.113.21", "bob@demo.test", "demo"); st != http.StatusSeeOther {
			t.Fatalf("bob, from another address: %d, want 303", st)
		}
	})
	t.Run("unknown names share a counter too", func(t *testing.T) {
		for i, name := range []string{"+1 415-555-0100*101", "4155550100*101", "(415) 555 0100*101"} {
			if st := signInFrom(t, behindProxy, "203.0.113.3"+string(rune('0'+i)), name, "guess"); st != http.StatusUnauthorized {
				t.Fatalf("failure %d as %q: %d", i+1, name, st)
			}
		}
		if st := signInFrom(t, behindProxy, "203.0.113.40", "14155550100*101", "guess"); st != http.StatusTooManyRequests {
			t.Fatalf("the unknown name, spelled a fourth way: %d, want 429", st)
		}
	})
	t.Run("a success clears no one else's failures", func(t *testing.T) {
		const shared = "198.51.100.7" // an office behind one address
		for i := 0; i < 2; i++ {
			if st := signInFrom(t, behindProxy, shared, "carol@demo.test", "wrong"); st != http.StatusUnauthorized {
				t.Fatalf("carol's failure %d: %d", i+1, st)
			}
		}
		if st := signInFrom(t, behindProxy, shared, "bob@demo.test", "demo"); st != http.StatusSeeOther {
			t.Fatalf("bob: %d", st)
		}
		// carol's third failure, from elsewhere: her own counter kept two.
		if st := signInFrom(t, behindProxy, "198.51.100.8", "carol@demo.test", "wrong"); st != http.StatusUnauthorized {
			t.Fatalf("carol's third failure: %d", st)
		}
		if st := signInFrom(t, behindProxy, "198.51.100.9", "carol@demo.test", "demo"); st != http.StatusTooManyRequests {
			t.Fatalf("carol after three failures, bob's success between: %d, want 429", st)
		}
		// The shared address kept carol's two failures: one more there
		// throttles it.
		if st := signInFrom(t, behindProxy, shared, "nobody@demo.test", "guess"); st != http.StatusUnauthorized {
			t.Fatalf("third failure from the shared address: %d", st)
		}
		if st := signInFrom(t, behindProxy, shared, "dave@demo.test", "guess"); st != http.StatusTooManyRequests {
			t.Fatalf("the shared address after three failures, bob's success between: %d, want 429", st)
		}
	})
	t.Run("users behind a trusted proxy are throttled apart", func(t *testing.T) {
		for i := 0; i < 3; i++ {
			if st := signInFrom(t, behindProxy, "192.0.2.66", "probe"+string(rune('a'+i))+"@nowhere.test", "guess"); st != http.StatusUnauthorized {
				t.Fatalf("failure %d: %d", i+1, st)
			}
		}
		if st := signInFrom(t, behindProxy, "192.0.2.66", "probed@nowhere.test", "guess"); st != http.StatusTooManyRequests {
			t.Fatalf("the guessing address after three failures: %d, want 429", st)
		}
		if st := signInFrom(t, behindProxy, "192.0.2.67", "bob@demo.test", "demo"); st != http.StatusSeeOther {
			t.Fatalf("bob, behind the same proxy from his own address: %d, want 303", st)
		}
	})
	t.Run("X-Forwarded-For from an untrusted peer is ignored", func(t *testing.T) {
		for i := 0; i < 3; i++ {
			if st := signInFrom(t, direct, "203.0.113.5"+string(rune('0'+i)), "probe"+string(rune('a'+i))+"@nowhere.test", "guess"); st != http.StatusUnauthorized {
				t.Fatalf("failure %d: %d", i+1, st)
			}
		}
		if st := signInFrom(t, direct, "203.0.113.99", "probed@nowhere.test", "guess"); st != http.StatusTooManyRequests {
			t.Fatalf("a fourth address claimed in X-Forwarded-For escaped the back-off: %d, want 429", st)
		}
	})
}
