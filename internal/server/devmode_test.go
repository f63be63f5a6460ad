package server

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/store"
)

// syncBuffer is a log destination tests read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freeLoopbackAddr reserves a loopback address for a server whose public URL
// is not where it listens.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// productionApp registers, in dataDir, an app whose pages are on https
// (what a production server accepts) and returns its client id.
func productionApp(t *testing.T, dataDir string) string {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.PutApp(ctx, identity.App{ClientID: "crm", Name: "CRM", Origins: []string{"https://crm.example.com"},
		RedirectURIs: []string{"https://crm.example.com/oauth/callback"}}); err != nil {
		t.Fatal(err)
	}
	return "crm"
}

// signInBehindProxy opens the built-in sign-in page of a server whose public
// URL is publicURL, reaching it at its listener addr as a TLS proxy would,
// and submits username and password. It returns the answer and the PKCE
// verifier of the request.
func signInBehindProxy(t *testing.T, addr, publicURL, clientID, username, password string) (response, string) {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	q := url.Values{
		"client_id": {clientID}, "response_type": {"code"}, "redirect_uri": {publicURL + "/oauth/redirect"},
		"state": {"state-0123456789abcdef"}, "scope": {"openid offline_access"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"},
	}
	return login(t, browser(), "http://"+addr+"/oauth/authorize?"+q.Encode(), username, password), verifier
}

// signInStatus is the status of signInBehindProxy's answer.
func signInStatus(t *testing.T, addr, publicURL, clientID, username, password string) int {
	t.Helper()
	r, _ := signInBehindProxy(t, addr, publicURL, clientID, username, password)
	return r.StatusCode
}

// demoUsersIn returns the emails of the demo users stored in dataDir.
func demoUsersIn(t *testing.T, dataDir string) []string {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var found []string
	for _, email := range []string{"alice@demo.test", "bob@demo.test", "carol@demo.test"} {
		if _, err := db.ExtensionByEmail(ctx, email); err == nil {
			found = append(found, email)
		}
	}
	return found
}

// TestProductionShapeSeedsNoDemoUsers runs the server as it is deployed:
// listening on loopback behind a TLS proxy, with an https public URL. No demo
// user with the known password may exist, so signing in as alice fails.
func TestProductionShapeSeedsNoDemoUsers(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "data")
	clientID := productionApp(t, dataDir)
	addr := freeLoopbackAddr(t)
	const publicURL = "https://phone.example.com"
	startProduction(t, Config{Listen: addr, PublicURL: publicURL, DataDir: dataDir, MediaListen: "127.0.0.1"})

	if r, _ := signInBehindProxy(t, addr, publicURL, clientID, "alice@demo.test", identity.DemoPassword); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("alice signs in with the demo password on a production server: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if found := demoUsersIn(t, dataDir); len(found) > 0 {
		t.Fatalf("demo users seeded on a production server: %v", found)
	}
}

// TestDemoUsersOutsideDevelopment starts a production server on a data dir
// that a development run seeded: it warns, naming the demo users, and
// refuses their demo password; a password changed since still works.
func TestDemoUsersOutsideDevelopment(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "data")
	ctx, stop := context.WithCancel(context.Background())
	_, done := runUntil(t, ctx, Config{DataDir: dataDir}) // development: seeds the demo users
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	clientID := productionApp(t, dataDir)
	func() {
		db, err := store.Open(context.Background(), dataDir)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		dir := identity.NewDirectory(db)
		_, bob, err := dir.ExtensionByEmail(context.Background(), "bob@demo.test")
		if err != nil {
			t.Fatal(err)
		}
		if err := dir.SetPassword(context.Background(), bob.ID, "bob's own password"); err != nil {
			t.Fatal(err)
		}
	}()

	var logs syncBuffer
	addr := freeLoopbackAddr(t)
	const publicURL = "https://phone.example.com"
	startProduction(t, Config{Listen: addr, PublicURL: publicURL, DataDir: dataDir, MediaListen: "127.0.0.1",
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})

	if want := `msg="production mode" why="the public URL https://phone.example.com is not plain http on loopback"`; !strings.Contains(logs.String(), want) {
		t.Errorf("the start log does not say %s:\n%s", want, logs.String())
	}
	if !strings.Contains(logs.String(), "removed the demo app") {
		t.Errorf("the demo app's plain-http pages left without a word:\n%s", logs.String())
	}
	func() {
		db, err := store.Open(context.Background(), dataDir)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if app, err := db.App(context.Background(), "demo"); !errors.Is(err, identity.ErrNotFound) {
			t.Errorf("the demo app with plain-http pages is still registered: %+v, %v", app, err)
		}
	}()
	var warning string
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "level=WARN") && strings.Contains(line, "demo users") {
			if warning != "" {
				t.Errorf("warned twice:\n%s\n%s", warning, line)
			}
			warning = line
		}
	}
	for _, email := range []string{"alice@demo.test", "bob@demo.test", "carol@demo.test"} {
		if !strings.Contains(warning, email) {
			t.Errorf("the warning does not name %s: %q", email, warning)
		}
	}
	if st := signInStatus(t, addr, publicURL, clientID, "alice@demo.test", identity.DemoPassword); st != http.StatusUnauthorized {
		t.Errorf("alice signs in with the demo password outside development: %d", st)
	}
	if st := signInStatus(t, addr, publicURL, clientID, "+1 650 555 0100*103", identity.DemoPassword); st != http.StatusUnauthorized {
		t.Errorf("carol signs in with the demo password outside development: %d", st)
	}
	r, _ := signInBehindProxy(t, addr, publicURL, clientID, "bob@demo.test", "bob's own password")
	if loc := location(t, r); loc.Query().Get("code") == "" {
		t.Errorf("bob, with a password of his own, is not given a code: %s", loc)
	}
}

// productionUser adds, in dataDir, an account with one admin who signs in
// with password, and returns the admin's email.
func productionUser(t *testing.T, dataDir, password string) string {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dir := identity.NewDirectory(db)
	acct := identity.Account{Company: "Acme", MainNumber: "+14155550100", CountryCode: "US", AreaCode: "415"}
	if err := dir.CreateAccount(ctx, &acct); err != nil {
		t.Fatal(err)
	}
	ann := identity.Extension{AccountID: acct.ID, Number: "101", Name: "Ann Lee", Email: "ann@acme.test", Role: identity.RoleAdmin}
	if err := dir.CreateExtension(ctx, &ann, password); err != nil {
		t.Fatal(err)
	}
	return ann.Email
}

// TestProductionWebhooksStayPublic subscribes, on a production server, a
// webhook at a plain-http loopback receiver (what development mode admits):
// it is refused.
func TestProductionWebhooksStayPublic(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "data")
	clientID := productionApp(t, dataDir)
	email := productionUser(t, dataDir, "ann's password")
	addr := freeLoopbackAddr(t)
	const publicURL = "https://phone.example.com"
	startProduction(t, Config{Listen: addr, PublicURL: publicURL, DataDir: dataDir, MediaListen: "127.0.0.1"})

	r, verifier := signInBehindProxy(t, addr, publicURL, clientID, email, "ann's password")
	c := browser()
	grant := postForm(t, c, "http://"+addr+"/oauth/token", url.Values{"grant_type": {"authorization_code"},
		"code": {location(t, r).Query().Get("code")}, "client_id": {clientID}, "redirect_uri": {publicURL + "/oauth/redirect"},
		"code_verifier": {verifier}})
	access, _ := tokens(t, grant)
	ann := &platform{t: t, c: c, base: "http://" + addr + "/restapi/v1.0", token: access}
	receiver := newHookReceiver(t)
	refused := ann.call("POST", "/subscription", subscriptionRequest(receiver.URL+"/hook", "", 0, "/restapi/v1.0/account/~/extension/~/presence"))
	if refused.StatusCode != http.StatusBadRequest {
		t.Fatalf("a plain-http loopback webhook on a production server: %d %s", refused.StatusCode, refused.body)
	}
}

// TestMediaListen checks where the media gateway binds, through the start
// log: loopback in development mode, every interface in production, and
// what MediaListen says in either.
func TestMediaListen(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		dev         bool
		mediaListen string
		want        string
	}{
		{"development", true, "", "127.0.0.1"},
		{"production", false, "", "0.0.0.0"},
		{"production on loopback", false, "127.0.0.1", "127.0.0.1"},
		{"development on every interface", true, "0.0.0.0", "0.0.0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs syncBuffer
			cfg := Config{Dev: tt.dev, MediaListen: tt.mediaListen, MediaPort: 0, PublicURL: "https://phone.example.com",
				Logger: slog.New(slog.NewTextHandler(&logs, nil))}
			startProduction(t, cfg)
			if want := "mediaListen=" + tt.want + " "; !strings.Contains(logs.String(), want) {
				t.Fatalf("start log lacks %q:\n%s", want, logs.String())
			}
			// Development mode with an https public URL is asked for, and
			// warned about.
			mode := `level=INFO msg="production mode"`
			if tt.dev {
				mode = `level=WARN msg="development mode although the public URL https://phone.example.com is not plain http on loopback`
			}
			if !strings.Contains(logs.String(), mode) {
				t.Fatalf("start log lacks %q:\n%s", mode, logs.String())
			}
		})
	}
}

func TestMediaBinding(t *testing.T) {
	tests := []struct {
		dev        bool
		configured string
		ip         string
		loopback   bool
		ok         bool
	}{
		{true, "", "127.0.0.1", true, true},
		{false, "", "", false, true},
		{false, "0.0.0.0", "", false, true},
		{true, "0.0.0.0", "", false, true},
		{false, "127.0.0.1", "127.0.0.1", true, true},
		{false, "10.0.0.5", "10.0.0.5", false, true},
		{true, "10.0.0.5", "10.0.0.5", false, true},
		{false, "::1", "", false, false},
		{false, "nope", "", false, false},
	}
	for _, tt := range tests {
		ip, loopback, err := mediaBinding(tt.dev, tt.configured)
		if ip != tt.ip || loopback != tt.loopback || (err == nil) != tt.ok {
			t.Errorf("mediaBinding(%t, %q) = %q, %t, %v; want %q, %t, ok=%t", tt.dev, tt.configured, ip, loopback, err, tt.ip, tt.loopback, tt.ok)
		}
	}
}
