package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/server"
	"github.com/callbridge/widget-server/internal/store"
)

// TestSecretAndJWTCommands: the operator makes an app confidential and
// gives a user a JWT credential that the server of that data dir and URL
// accepts, lists it, and revokes it; bad input is refused.
func TestSecretAndJWTCommands(t *testing.T) {
	ctx := context.Background()
	dataDir := filepath.Join(t.TempDir(), "data")
	vars := env(map[string]string{"WIDGET_DATA_DIR": dataDir, "WIDGET_PUBLIC_URL": "https://phone.example.com"})
	var out bytes.Buffer
	runOK := func(stdin string, args ...string) string {
		t.Helper()
		out.Reset()
		if err := run(ctx, args, vars, strings.NewReader(stdin), &out, io.Discard); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return out.String()
	}
	runOK("", "apps", "add", "--client-id", "crm", "--origin", "https://crm.example.com")
	secret := strings.TrimSpace(runOK("", "apps", "secret", "--client-id", "crm"))
	if len(secret) < 40 {
		t.Fatalf("secret %q", secret)
	}
	if list := runOK("", "apps", "list"); !strings.Contains(list, "confidential") {
		t.Errorf("apps list does not say confidential:\n%s", list)
	}
	runOK("", "accounts", "add", "--company", "Acme", "--main-number", "+1 415 555 0100")
	runOK("ann pass\n", "extensions", "add", "--main-number", "+14155550100", "--number", "101",
		"--name", "Ann Lee", "--email", "ann@acme.test", "--password-stdin")
	token := strings.TrimSpace(runOK("", "jwt", "create", "--email", "ann@acme.test", "--name", "CRM sync", "--expires", "90d"))

	verify := func() error {
		db, err := store.Open(ctx, dataDir)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		app, err := db.App(ctx, "crm")
		if err != nil || app.SecretHash != identity.HashClientSecret(secret) {
			t.Fatalf("app %+v %v", app, err)
		}
		creds, err := server.JWTCredentials(ctx, db, dataDir, "https://phone.example.com/", "")
		if err != nil {
			t.Fatal(err)
		}
		_, _, e, err := creds.Verify(ctx, token)
		if err == nil && e.Email != "ann@acme.test" {
			t.Fatalf("credential of %s", e.Email)
		}
		return err
	}
	if err := verify(); err != nil {
		t.Fatalf("the server refuses the credential: %v", err)
	}
	list := runOK("", "jwt", "list", "--email", "ann@acme.test")
	if !strings.Contains(list, "CRM sync") || !strings.Contains(list, "Active") {
		t.Fatalf("jwt list:\n%s", list)
	}
	id := strings.Fields(strings.Split(list, "\n")[1])[0]
	runOK("", "jwt", "revoke", "--id", id)
	if list := runOK("", "jwt", "list", "--email", "ann@acme.test"); !strings.Contains(list, "Revoked") {
		t.Errorf("after revoke:\n%s", list)
	}
	if err := verify(); err == nil {
		t.Error("a revoked credential is accepted")
	}
	runOK("", "apps", "secret", "--client-id", "crm", "--remove")
	for _, bad := range [][]string{
		{"jwt"}, {"jwt", "rotate"}, {"jwt", "create", "--name", "x"},
		{"jwt", "create", "--email", "ann@acme.test"},
		{"jwt", "create", "--email", "ann@acme.test", "--name", "x", "--expires", "5y"},
		{"jwt", "create", "--email", "nobody@acme.test", "--name", "x"},
		{"jwt", "revoke"}, {"jwt", "revoke", "--id", "nope"},
		{"apps", "secret", "--client-id", "nope"},
	} {
		if err := run(ctx, bad, vars, nil, io.Discard, io.Discard); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
