package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/store"
	"github.com/callbridge/widget-server/internal/store/pgtest"
)

// keyFiles are the files a server on SQLite generates into its data dir.
var keyFiles = []string{sessionKeysFile, tokenKeyFile, webhookKeyFile, oauthHMACFile, signingKeyFile}

// balancer passes each request to the node the test names, as a load
// balancer without stickiness may: any request may reach any node.
type balancer struct {
	nodes []*httputil.ReverseProxy
	to    atomic.Int32
}

func (b *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.nodes[b.to.Load()].ServeHTTP(w, r)
}

// TestNodesShareKeys: two nodes on one PostgreSQL database, each with its
// own data dir, behind one public URL: a widget session that moves from
// node to node at every step of its sign-in stays signed in, an access
// token from one works on the other, ID tokens verify with either's keys,
// and a JWT credential the operator's command makes is accepted. The keys
// are the database's: no node writes a key file.
func TestNodesShareKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	database := pgtest.URL(t)
	lbAddr := freeLoopbackAddr(t)
	public := "http://localhost:" + lbAddr[strings.LastIndexByte(lbAddr, ':')+1:]
	demo := "http://" + freeLoopbackAddr(t) // the host page's origin; nothing listens there
	lb := &balancer{}
	var nodes []*instance
	for range 2 {
		addr := freeLoopbackAddr(t)
		nodes = append(nodes, startServer(t, Config{Database: database, Listen: addr, PublicURL: public, DemoURL: demo}))
		lb.nodes = append(lb.nodes, httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: addr}))
	}
	lbListener, err := net.Listen("tcp", lbAddr)
	if err != nil {
		t.Fatal(err)
	}
	lbServer := &http.Server{Handler: lb}
	lbDone := make(chan error, 1)
	go func() { lbDone <- lbServer.Serve(lbListener) }()
	t.Cleanup(func() {
		lbServer.Close()
		if err := <-lbDone; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("balancer: %v", err)
		}
	})
	srv := nodes[0] // its URLs are the balancer's, as every node's are

	t.Run("widget session", func(t *testing.T) {
		iframe, popup := browser(), browser()
		lb.to.Store(0)
		openWidget(t, iframe, srv)
		lb.to.Store(1)
		authURL := startLogin(t, iframe, srv, "popup")
		lb.to.Store(0)
		page := do(t, popup, "GET", authURL, nil)
		if page.StatusCode != http.StatusOK {
			t.Fatalf("sign-in page: %d %s", page.StatusCode, page.body)
		}
		lb.to.Store(1)
		callback := location(t, submitLogin(t, popup, authURL, page.body, "alice@demo.test", "demo"))
		lb.to.Store(0)
		if r := widgetPost(t, iframe, srv.WidgetURL, "/widget/login/complete", map[string]string{"callbackUri": callback.String()}); r.StatusCode != http.StatusOK {
			t.Fatalf("complete the sign-in: %d %s", r.StatusCode, r.body)
		}
		lb.to.Store(1)
		if st := widgetState(t, srv, iframe); st["loggedIn"] != true || st["loginNumber"] != "+16505550100*101" {
			t.Fatalf("the other node's state of the session: %v", st)
		}
	})

	t.Run("access token", func(t *testing.T) {
		lb.to.Store(0)
		f := newFlow(t, srv)
		access, refresh := tokens(t, f.exchange(t, f.code(t), f.verifier))
		lb.to.Store(1)
		if r := f.api(t, access); r.StatusCode != http.StatusOK {
			t.Fatalf("the other node refused the access token: %d %s", r.StatusCode, r.body)
		}
		access, _ = tokens(t, f.refresh(t, refresh))
		lb.to.Store(0)
		if r := f.api(t, access); r.StatusCode != http.StatusOK {
			t.Fatalf("the first node refused the refreshed access token: %d %s", r.StatusCode, r.body)
		}
	})

	t.Run("ID token keys", func(t *testing.T) {
		var jwks []string
		for i := range nodes {
			lb.to.Store(int32(i))
			r := do(t, browser(), "GET", srv.WidgetURL+"/oauth/jwks", nil)
			if r.StatusCode != http.StatusOK || !strings.Contains(r.body, `"kid"`) {
				t.Fatalf("node %d's keys: %d %s", i, r.StatusCode, r.body)
			}
			jwks = append(jwks, r.body)
		}
		if jwks[0] != jwks[1] {
			t.Fatalf("the nodes sign with different keys:\n%s\n%s", jwks[0], jwks[1])
		}
	})

	db, err := store.OpenDatabase(ctx, database, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cmdDir := t.TempDir() // the operator's command runs elsewhere, with a data dir of its own

	t.Run("JWT credential of the operator's command", func(t *testing.T) {
		secret, hash := identity.NewClientSecret()
		if err := db.SetAppSecret(ctx, "demo", hash); err != nil {
			t.Fatal(err)
		}
		creds, err := JWTCredentials(ctx, db, cmdDir, public, "")
		if err != nil {
			t.Fatal(err)
		}
		_, alice, err := identity.NewDirectory(db).ExtensionByEmail(ctx, "alice@demo.test")
		if err != nil {
			t.Fatal(err)
		}
		_, jwt, err := creds.Create(ctx, identity.OperatorActor(), alice.ID, "CRM sync", 0)
		if err != nil {
			t.Fatal(err)
		}
		lb.to.Store(1)
		req, _ := http.NewRequest("POST", srv.WidgetURL+"/restapi/oauth/token", strings.NewReader(url.Values{
			"grant_type": {identity.GrantTypeJWTBearer}, "assertion": {jwt}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("demo", secret)
		resp, err := browser().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		tokens(t, response{resp, string(b)})
	})

	for _, dir := range []string{nodes[0].dataDir, nodes[1].dataDir, cmdDir} {
		for _, name := range keyFiles {
			if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s in a data dir (%v): the keys are the database's", name, err)
			}
		}
	}
	for _, name := range keyFiles {
		if _, err := db.Secret(ctx, name, func() (string, error) { return "", errors.New("not kept") }); err != nil {
			t.Errorf("the database does not keep %s: %v", name, err)
		}
	}
}

// TestKeyringTakesKeyFilesOnce: on PostgreSQL, the first node to need a
// key the database does not keep yet takes its data dir's file of that
// name, when it has one (a deployment that kept its keys there), so what
// was issued under it stays valid; a node with other files gets the
// database's keys, and is told its files are ignored; a damaged file is
// refused, not taken.
func TestKeyringTakesKeyFilesOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sqlite, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer sqlite.Close()
	db, err := store.OpenDatabase(ctx, pgtest.URL(t), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	type secrets struct {
		hash, block, token []byte
		signer             string // the signing key's id
	}
	// keys has a keyring generate or read its secrets.
	keys := func(k keyring) secrets {
		t.Helper()
		h, b, err := loadSessionKeys(ctx, k, "")
		if err != nil {
			t.Fatal(err)
		}
		tok, err := secretKey(ctx, k, tokenKeyFile, 32)
		if err != nil {
			t.Fatal(err)
		}
		rk, err := signingKey(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		return secrets{h, b, tok, string(rk.N.Bytes())}
	}
	same := func(a, b secrets) bool {
		return bytes.Equal(a.hash, b.hash) && bytes.Equal(a.block, b.block) && bytes.Equal(a.token, b.token) && a.signer == b.signer
	}

	// A single node's data dir, on SQLite: files, mode 0600, read back the same.
	old := t.TempDir()
	fromFiles := keys(newKeyring(sqlite, old, nil))
	for _, name := range []string{sessionKeysFile, tokenKeyFile, signingKeyFile} {
		fi, err := os.Stat(filepath.Join(old, name))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", name, fi, err)
		}
	}
	if again := keys(newKeyring(sqlite, old, nil)); !same(again, fromFiles) {
		t.Fatal("the files read back as other keys")
	}

	// The first PostgreSQL node with that data dir takes its files.
	logs := &syncBuffer{}
	if got := keys(newKeyring(db, old, slog.New(slog.NewTextHandler(logs, nil)))); !same(got, fromFiles) {
		t.Fatal("the data dir's keys were not taken into the database")
	}
	if !strings.Contains(logs.String(), "key file taken into the database") || strings.Contains(logs.String(), "ignored") {
		t.Errorf("log:\n%s", logs.String())
	}

	// A node with keys of its own gets the database's, and is told.
	other := t.TempDir()
	keys(newKeyring(sqlite, other, nil))
	logs = &syncBuffer{}
	if got := keys(newKeyring(db, other, slog.New(slog.NewTextHandler(logs, nil)))); !same(got, fromFiles) {
		t.Fatal("a node's own files won over the database's keys")
	}
	if n := strings.Count(logs.String(), "key file ignored"); n != 3 {
		t.Errorf("%d files said ignored, want 3:\n%s", n, logs.String())
	}

	// A node without files gets them and writes none.
	empty := t.TempDir()
	if got := keys(newKeyring(db, empty, nil)); !same(got, fromFiles) {
		t.Fatal("a new node got other keys")
	}
	if files, _ := os.ReadDir(empty); len(files) != 0 {
		t.Errorf("files written: %v", files)
	}

	// A damaged file is not taken; the error names it.
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, webhookKeyFile), []byte("not hex\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = secretKey(ctx, newKeyring(db, bad, nil), webhookKeyFile, 32)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(bad, webhookKeyFile)) {
		t.Fatalf("damaged file: %v", err)
	}
	if _, err := db.Secret(ctx, webhookKeyFile, func() (string, error) { return "", errors.New("none kept") }); err == nil {
		t.Fatal("the damaged file was kept")
	}
}
