package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/server"
	"github.com/callbridge/widget-server/internal/store"
)

// sdkLimit bounds the whole SDK script: a guard against a hang, no measure.
const sdkLimit = 5 * time.Minute

// sdkStep is one line the SDK script writes.
type sdkStep struct {
	Step       string          `json:"step"`
	Status     int             `json:"status"`
	Error      string          `json:"error"`
	Body       json.RawMessage `json:"body"`
	URL        string          `json:"url"`
	ID         string          `json:"id"`
	OwnerID    string          `json:"ownerId"`
	EndpointID string          `json:"endpointId"`
	Changed    bool            `json:"changed"`
	LoggedIn   bool            `json:"loggedIn"`
	Refresh    bool            `json:"refreshValid"`
}

func (s sdkStep) field(t *testing.T, path ...string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(s.Body, &v); err != nil {
		t.Fatalf("%s: body %s: %v", s.Step, s.Body, err)
	}
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	return v
}

// serverApp registers crm-backend, a confidential app, in the database of
// dataDir (the server may run) and returns the database, open, and the
// app's client secret.
func serverApp(t *testing.T, dataDir string) (*store.DB, string) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dataDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.PutApp(ctx, identity.App{ClientID: "crm-backend", Origins: []string{"https://crm.example.com"}}); err != nil {
		t.Fatal(err)
	}
	secret, hash := identity.NewClientSecret()
	if err := db.SetAppSecret(ctx, "crm-backend", hash); err != nil {
		t.Fatal(err)
	}
	return db, secret
}

// TestPlatformSDK runs the platform's own JavaScript SDK
// (@ringcentral/sdk, pinned in e2e/package.json) against the server with
// no option but the server, the clientId and the redirect URI, as an
// integrator would: it signs in with PKCE and no state, reads the account,
// the directory, the user's numbers, call log and presence, sends a pager
// message and finds it in the message store, places a RingOut and sees it
// among the active calls, refreshes and logs out; a server app with a
// secret logs in with a user's JWT credential.
func TestPlatformSDK(t *testing.T) {
	if _, err := os.Stat("node_modules/@ringcentral/sdk/package.json"); err != nil {
		t.Fatalf("the platform SDK is missing (%v): run `npm ci` in e2e/ (scripts/test.sh does)", err)
	}
	run := runServer(t, server.Config{})
	ctx := context.Background()

	// A server app with a secret, and a JWT credential of bob's.
	db, secret := serverApp(t, run.cfg.DataDir)
	creds, err := server.JWTCredentials(ctx, db, run.cfg.DataDir, run.addrs.WidgetURL, "")
	if err != nil {
		t.Fatal(err)
	}
	_, bob, err := identity.NewDirectory(db).ExtensionByEmail(ctx, "bob@demo.test")
	if err != nil {
		t.Fatal(err)
	}
	_, jwt, err := creds.Create(ctx, identity.OperatorActor(), bob.ID, "SDK test", 0)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(ctx, sdkLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join("sdk", "platform.mjs"))
	cmd.Env = append(os.Environ(),
		"CB_SERVER="+run.addrs.WidgetURL, "CB_CLIENT_ID=demo", "CB_REDIRECT_URI="+run.addrs.DemoURL+"/oauth/callback",
		"CB_PAGER_TO=101", "CB_JWT_CLIENT_ID=crm-backend", "CB_JWT_CLIENT_SECRET="+secret, "CB_JWT="+jwt)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("node: %v", err)
	}
	defer cmd.Wait()
	lines := bufio.NewScanner(stdout)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	steps := map[string]sdkStep{}
	next := func() sdkStep {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("the SDK script ended early (%v); it said:\n%s", cmd.Wait(), stderr.String())
		}
		var s sdkStep
		if err := json.Unmarshal(lines.Bytes(), &s); err != nil {
			t.Fatalf("SDK script line %q: %v", lines.Text(), err)
		}
		steps[s.Step] = s
		return s
	}

	login := next()
	if login.Step != "loginUrl" {
		t.Fatalf("first step %+v", login)
	}
	redirect := authorizeOverHTTP(t, login.URL, "bob@demo.test", "demo")
	fmt.Fprintf(stdin, "{\"redirect\": %q}\n", redirect)
	for s := next(); s.Step != "done"; s = next() {
	}

	want := func(step string, status int) sdkStep {
		t.Helper()
		s, ok := steps[step]
		if !ok {
			t.Fatalf("no %s step", step)
		}
		if s.Status != status {
			t.Errorf("%s: status %d (%s), want %d: %s", step, s.Status, s.Error, status, s.Body)
		}
		return s
	}
	if s := steps["login"]; s.OwnerID != identity.Subject(bob.ID) || s.EndpointID == "" || !s.Refresh {
		t.Errorf("login: %+v", s)
	}
	if v := want("account", 200).field(t, "mainNumber"); v != "+16505550100" {
		t.Errorf("account mainNumber %v", v)
	}
	if v := want("extension", 200).field(t, "extensionNumber"); v != "102" {
		t.Errorf("extension number %v", v)
	}
	if v, _ := want("extensions", 200).field(t, "records").([]any); len(v) < 3 {
		t.Errorf("directory of %d", len(v))
	}
	if v, _ := want("phoneNumbers", 200).field(t, "records").([]any); len(v) == 0 {
		t.Error("no phone numbers")
	}
	want("callLog", 200)
	if v := want("presence", 200).field(t, "presenceStatus"); v == nil {
		t.Error("presence without presenceStatus")
	}
	want("pager", 200)
	if v, _ := want("messageStore", 200).field(t, "records").([]any); len(v) == 0 {
		t.Error("the pager message is not in the message store")
	}
	if s := want("ringOut", 200); s.ID == "" {
		t.Error("RingOut without id")
	}
	if v, _ := want("activeCalls", 200).field(t, "records").([]any); len(v) == 0 {
		t.Error("the RingOut is not among the active calls")
	}
	if v := want("ringOutStatus", 200).field(t, "status", "callerStatus"); v != "Success" {
		t.Errorf("RingOut caller status %v", v)
	}
	want("ringOutCancel", 204)
	if s := steps["refresh"]; !s.Changed || s.EndpointID != steps["login"].EndpointID {
		t.Errorf("refresh: %+v", s)
	}
	want("afterRefresh", 200)
	if steps["logout"].LoggedIn {
		t.Error("still logged in after logout")
	}
	want("afterLogout", 401)
	if v := want("jwtExtension", 200).field(t, "id"); fmt.Sprint(v) != fmt.Sprint(bob.ID) {
		t.Errorf("JWT login as %v, want bob (%d)", v, bob.ID)
	}
	want("jwtWrongSecret", 401)
	stdin.Close()
	io.Copy(io.Discard, stdout)
}
