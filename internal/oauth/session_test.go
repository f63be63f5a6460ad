package oauth_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/oauth"
	"github.com/callbridge/widget-server/internal/store"
	"github.com/callbridge/widget-server/internal/store/pgtest"
)

// tokenServer stands in for the authorization server's token endpoint (the
// real one is exercised in internal/server): it counts refreshes and can
// refuse them.
type tokenServer struct {
	*httptest.Server
	refreshes atomic.Int32
	refuse    atomic.Bool
}

func newTokenServer(t *testing.T) *tokenServer {
	ts := &tokenServer{}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		if r.Form.Get("grant_type") != "refresh_token" {
			http.Error(w, `{"error":"unsupported_grant_type"}`, 400)
			return
		}
		time.Sleep(20 * time.Millisecond) // let concurrent callers pile up
		if ts.refuse.Load() {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			io.WriteString(w, `{"error":"invalid_grant"}`)
			return
		}
		n := ts.refreshes.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"access-%d","refresh_token":"refresh-%d","token_type":"bearer","expires_in":3600}`, n, n)
	}))
	t.Cleanup(ts.Close)
	return ts
}

// newSessions returns a session keeper over a real database that holds
// one user extension, whose id it returns too.
func newSessions(t *testing.T, ts *tokenServer) (*oauth.Sessions, *store.DB, int64) {
	t.Helper()
	db, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	client := oauth.NewClient(oauth.ClientConfig{Endpoints: oauth.Endpoints{TokenURL: ts.URL}}, nil)
	s, err := oauth.NewSessions(db, client, make([]byte, 32), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return s, db, newUser(t, db)
}

// newUser adds an account with one user extension and returns its id.
func newUser(t *testing.T, db *store.DB) int64 {
	t.Helper()
	ctx := context.Background()
	dir := identity.NewDirectory(db)
	acct := identity.Account{Company: "Acme", MainNumber: "+16505550100", CountryCode: "US"}
	if err := dir.CreateAccount(ctx, &acct); err != nil {
		t.Fatal(err)
	}
	ext := identity.Extension{AccountID: acct.ID, Number: "101", Name: "Ann", Email: "ann@acme.test"}
	if err := dir.CreateExtension(ctx, &ext, "correct horse"); err != nil {
		t.Fatal(err)
	}
	return ext.ID
}

func TestSessionRefreshesOneAtATime(t *testing.T) {
	ts := newTokenServer(t)
	s, _, ext := newSessions(t, ts)
	ctx := context.Background()
	sess, err := s.Create(ctx, "demo", ext, &oauth2.Token{AccessToken: "a0", RefreshToken: "r0", Expiry: time.Now().Add(30 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	refreshedOnce(t, ts, func(int) (oauth.Session, error) { return s.Get(ctx, sess.ID) })
}

// refreshedOnce has ten callers get a session whose token is about to
// expire at once, and checks that the token server refreshed it once and
// that every caller got the refreshed token.
func refreshedOnce(t *testing.T, ts *tokenServer, get func(caller int) (oauth.Session, error)) {
	t.Helper()
	var wg sync.WaitGroup
	tokens := make([]string, 10)
	for i := range tokens {
		wg.Go(func() {
			got, err := get(i)
			if err != nil {
				t.Error(err)
				return
			}
			tokens[i] = got.Token.AccessToken
		})
	}
	wg.Wait()
	if n := ts.refreshes.Load(); n != 1 {
		t.Fatalf("%d refreshes for one expiring token, want 1", n)
	}
	for _, tok := range tokens {
		if tok != "access-1" {
			t.Fatalf("tokens %v: every caller should see the refreshed token", tokens)
		}
	}
}

func TestSessionEndsWhenRefreshRefused(t *testing.T) {
	ts := newTokenServer(t)
	s, _, ext := newSessions(t, ts)
	ctx := context.Background()
	var ended []string
	s.OnEnd = func(id string, _ int64, _ error) { ended = append(ended, id) }
	sess, _ := s.Create(ctx, "demo", ext, &oauth2.Token{AccessToken: "a0", RefreshToken: "r0", Expiry: time.Now().Add(-time.Minute)})
	ts.refuse.Store(true)
	if _, err := s.Get(ctx, sess.ID); !errors.Is(err, oauth.ErrSessionEnded) {
		t.Fatalf("Get after a refused refresh: %v", err)
	}
	if len(ended) != 1 || ended[0] != sess.ID {
		t.Fatalf("OnEnd calls %v", ended)
	}
	if _, err := s.Get(ctx, sess.ID); !errors.Is(err, oauth.ErrSessionEnded) {
		t.Fatalf("the ended session came back: %v", err)
	}
}

func TestSessionKeepsWhileServerDown(t *testing.T) {
	ts := newTokenServer(t)
	s, _, ext := newSessions(t, ts)
	ctx := context.Background()
	sess, _ := s.Create(ctx, "demo", ext, &oauth2.Token{AccessToken: "a0", RefreshToken: "r0", Expiry: time.Now().Add(-time.Minute)})
	ts.Close()
	if _, err := s.Get(ctx, sess.ID); err == nil || errors.Is(err, oauth.ErrSessionEnded) {
		t.Fatalf("an unreachable server must not end the session: %v", err)
	}
}

func TestSessionTokenSealedAtRest(t *testing.T) {
	ts := newTokenServer(t)
	db, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	client := oauth.NewClient(oauth.ClientConfig{Endpoints: oauth.Endpoints{TokenURL: ts.URL}}, nil)
	s, _ := oauth.NewSessions(db, client, make([]byte, 32), slog.New(slog.NewTextHandler(io.Discard, nil)))
	sess, _ := s.Create(context.Background(), "demo", newUser(t, db), &oauth2.Token{AccessToken: "very-secret-access", RefreshToken: "very-secret-refresh", Expiry: time.Now().Add(time.Hour)})
	stored, err := db.Session(context.Background(), sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"very-secret-access", "very-secret-refresh"} {
		if containsBytes(stored.SealedToken, secret) {
			t.Fatalf("%s stored in clear", secret)
		}
	}
	// A token sealed for one session does not open under another id.
	stored.ID = "other"
	db.PutSession(context.Background(), stored)
	if _, err := s.Get(context.Background(), "other"); !errors.Is(err, oauth.ErrSessionEnded) {
		t.Fatalf("a moved sealed token opened: %v", err)
	}
}

// TestSessionOfDisabledExtensionEnds: a session whose extension is disabled
// or gone is ended at its next use, whoever changed the extension and
// however (here behind the Directory's back: the sessions were left).
func TestSessionOfDisabledExtensionEnds(t *testing.T) {
	ts := newTokenServer(t)
	s, db, ext := newSessions(t, ts)
	ctx := context.Background()
	tok := &oauth2.Token{AccessToken: "a0", RefreshToken: "r0", Expiry: time.Now().Add(time.Hour)}
	disabled, _ := s.Create(ctx, "demo", ext, tok)
	gone, _ := s.Create(ctx, "demo", ext+100, tok)
	if _, err := s.Get(ctx, disabled.ID); err != nil {
		t.Fatalf("a session of an enabled extension: %v", err)
	}
	stored, err := db.Session(ctx, disabled.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetExtensionStatus(ctx, ext, identity.StatusDisabled); err != nil {
		t.Fatal(err)
	}
	db.PutSession(ctx, stored) // as if it had survived the disable
	for name, id := range map[string]string{"disabled": disabled.ID, "gone": gone.ID} {
		if _, err := s.Get(ctx, id); !errors.Is(err, oauth.ErrSessionEnded) {
			t.Errorf("a session of a %s extension: %v", name, err)
		}
	}
	// Enabled again, the extension does not get the session back.
	if err := db.SetExtensionStatus(ctx, ext, identity.StatusEnabled); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, disabled.ID); !errors.Is(err, oauth.ErrSessionEnded) {
		t.Errorf("the session came back with its extension: %v", err)
	}
}

func containsBytes(b []byte, s string) bool {
	for i := 0; i+len(s) <= len(b); i++ {
		if string(b[i:i+len(s)]) == s {
			return true
		}
	}
	return false
}

// TestSessionRefreshesOnceAcrossNodes: two nodes on one PostgreSQL
// database (two session keepers, each with its own connections) asked at
// once for a session whose token is about to expire refresh it once: a
// refresh token used twice would revoke the session's tokens.
func TestSessionRefreshesOnceAcrossNodes(t *testing.T) {
	ts := newTokenServer(t)
	url, ctx := pgtest.URL(t), context.Background()
	var nodes []*oauth.Sessions
	var ext int64
	for i := range 2 {
		db, err := store.OpenDatabase(ctx, url, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if i == 0 {
			ext = newUser(t, db)
		}
		client := oauth.NewClient(oauth.ClientConfig{Endpoints: oauth.Endpoints{TokenURL: ts.URL}}, nil)
		s, err := oauth.NewSessions(db, client, make([]byte, 32), slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, s)
	}
	sess, err := nodes[0].Create(ctx, "demo", ext, &oauth2.Token{AccessToken: "a0", RefreshToken: "r0", Expiry: time.Now().Add(30 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	refreshedOnce(t, ts, func(i int) (oauth.Session, error) { return nodes[i%2].Get(ctx, sess.ID) })
}
