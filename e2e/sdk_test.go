package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/callbridge/widget-server/internal/server"
)

// sdkScript is a node script run with the platform's npm packages
// (e2e/package.json pins them; scripts/test.sh installs them).
type sdkScript struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan map[string]any
	stderr *lockedBuffer
	exited chan error
}

// startSDKScript runs e2e/sdk/<name> with env added; it is killed at test end.
func startSDKScript(t *testing.T, name string, env ...string) *sdkScript {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("no node: install Node.js (the README's test command does)")
	}
	if _, err := os.Stat("node_modules/@ringcentral/subscriptions/package.json"); err != nil {
		t.Fatal("no @ringcentral/subscriptions in e2e/node_modules: run npm ci in e2e (scripts/test.sh does)")
	}
	s := &sdkScript{t: t, cmd: exec.Command(node, "sdk/"+name), lines: make(chan map[string]any, 100),
		stderr: &lockedBuffer{}, exited: make(chan error, 1)}
	s.cmd.Env = append(os.Environ(), env...)
	s.cmd.Stderr = s.stderr
	if s.stdin, err = s.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("node %s: %v", name, err)
	}
	var read sync.WaitGroup
	read.Add(1)
	go func() {
		defer read.Done()
		defer close(s.lines)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Errorf("node printed a line that is not JSON: %s", sc.Bytes())
				continue
			}
			s.lines <- m
		}
	}()
	go func() {
		read.Wait()
		s.exited <- s.cmd.Wait()
	}()
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		<-s.exited
		if t.Failed() {
			t.Logf("node's stderr:\n%s", s.stderr.String())
		}
	})
	return s
}

// command writes one command line to the script.
func (s *sdkScript) command(c string) {
	s.t.Helper()
	if _, err := io.WriteString(s.stdin, c+"\n"); err != nil {
		s.t.Fatalf("command %s: %v", c, err)
	}
}

// next returns the next line of the script with the given event that
// matches; an "error" line fails the test.
func (s *sdkScript) next(event string, match func(map[string]any) bool) map[string]any {
	s.t.Helper()
	deadline := time.After(90 * time.Second) // the SDK's reconnect waits up to 8 s between checks
	for {
		select {
		case m, ok := <-s.lines:
			if !ok {
				s.t.Fatalf("node exited while waiting for %q:\n%s", event, s.stderr.String())
			}
			if m["event"] == "error" {
				s.t.Fatalf("node: %v", m["message"])
			}
			if m["event"] == event && (match == nil || match(m)) {
				return m
			}
		case <-deadline:
			s.t.Fatalf("no %q from node:\n%s", event, s.stderr.String())
		}
	}
}

// notification waits for a notification of the event filter that ends
// with suffix and returns it.
func (s *sdkScript) notification(suffix string, match func(body map[string]any) bool) map[string]any {
	s.t.Helper()
	m := s.next("notification", func(m map[string]any) bool {
		n, _ := m["notification"].(map[string]any)
		ev, _ := n["event"].(string)
		body, _ := n["body"].(map[string]any)
		return strings.HasSuffix(ev, suffix) && (match == nil || match(body))
	})
	return m["notification"].(map[string]any)
}

// platformTokens signs a user in with the authorization code flow and PKCE
// at /restapi/oauth, where the platform's SDK looks, and returns the token
// answer as it came, for the SDK's auth().setData.
func platformTokens(t *testing.T, a server.Addrs, user string) (raw string, access string) {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	redirect := a.WidgetURL + "/oauth/redirect"
	q := url.Values{
		"client_id": {"demo"}, "response_type": {"code"}, "redirect_uri": {redirect},
		"state": {"state-" + verifier[:16]}, "scope": {"openid offline_access"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"},
	}
	loc, err := url.Parse(authorizeOverHTTP(t, a.WidgetURL+"/restapi/oauth/authorize?"+q.Encode(), user, "demo"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("no code in the redirect %v (%v)", loc, err)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
		"client_id": {"demo"}, "redirect_uri": {redirect}, "code_verifier": {verifier}}
	req, _ := http.NewRequest("POST", a.WidgetURL+"/restapi/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r := send(t, loopbackClient(), req)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if r.status != http.StatusOK || json.Unmarshal(r.body, &tok) != nil || tok.AccessToken == "" {
		t.Fatalf("token: %d %s", r.status, r.body)
	}
	return string(bytes.TrimSpace(r.body)), tok.AccessToken
}

// TestSDKSubscriptions runs the platform's own npm packages against the
// server: @ringcentral/subscriptions subscribes over a WebSocket to
// Alice's presence and messages, gets a presence change and a pager
// message, gets the change made while its socket was down once it
// recovers its session, renews, and deletes its subscription.
func TestSDKSubscriptions(t *testing.T) {
	t.Parallel()
	run := runServer(t, server.Config{})
	tokens, access := platformTokens(t, run.addrs, "alice@demo.test")
	alice := &apiClient{Addrs: run.addrs, c: loopbackClient(), token: access}
	bob := newAPIClient(t, run.addrs, "bob@demo.test")
	aliceID := alice.extension(t)
	var me struct {
		ExtensionNumber string `json:"extensionNumber"`
	}
	if r := alice.do(t, "GET", "/account/~/extension/~", nil); json.Unmarshal(r.body, &me) != nil || me.ExtensionNumber == "" {
		t.Fatalf("alice's extension: %s", r.body)
	}

	node := startSDKScript(t, "subscriptions.mjs",
		"CALLBRIDGE_SERVER="+run.addrs.WidgetURL,
		"CALLBRIDGE_TOKEN="+tokens,
		`CALLBRIDGE_FILTERS=["/restapi/v1.0/account/~/extension/~/presence", "/restapi/v1.0/account/~/extension/~/message-store"]`)
	sub := node.next("subscribed", nil)["subscription"].(map[string]any)
	id, _ := sub["id"].(string)
	if dm, _ := sub["deliveryMode"].(map[string]any); id == "" || sub["status"] != "Active" || dm["transportType"] != "WebSocket" ||
		sub["ownerId"] != fmt.Sprint(aliceID) {
		t.Fatalf("subscribed: %v", sub)
	}
	status := func(s string) func(map[string]any) bool {
		return func(b map[string]any) bool { return b["userStatus"] == s }
	}

	// A presence change, and a pager message from Bob.
	if r := alice.setPresence(t, "Busy"); r.status != http.StatusOK {
		t.Fatalf("presence: %d %s", r.status, r.body)
	}
	n := node.notification(fmt.Sprintf("/extension/%d/presence", aliceID), status("Busy"))
	if n["subscriptionId"] != id || n["ownerId"] != fmt.Sprint(aliceID) {
		t.Fatalf("presence notification %v", n)
	}
	if r := bob.do(t, "POST", "/account/~/extension/~/company-pager",
		map[string]any{"to": []map[string]string{{"extensionNumber": me.ExtensionNumber}}, "text": "Lunch?"}); r.status != http.StatusOK {
		t.Fatalf("pager: %d %s", r.status, r.body)
	}
	if n := node.notification(fmt.Sprintf("/extension/%d/message-store", aliceID), nil); n["subscriptionId"] != id {
		t.Fatalf("message notification %v", n)
	}

	// The socket drops; a change meanwhile arrives once the SDK has
	// recovered its session.
	node.command("drop")
	node.next("dropped", nil)
	if r := alice.setPresence(t, "Available"); r.status != http.StatusOK {
		t.Fatalf("presence: %d %s", r.status, r.body)
	}
	node.command("recover")
	if m := node.next("recovered", nil); m["recoveryState"] != "Successful" {
		t.Fatalf("recovery: %v", m)
	}
	node.notification(fmt.Sprintf("/extension/%d/presence", aliceID), status("Available"))

	// Renewed, and still delivering.
	node.command("renew")
	renewed := node.next("renewed", nil)["subscription"].(map[string]any)
	if renewed["id"] != id || renewed["status"] != "Active" || renewed["expiresIn"] != float64(7*24*3600) {
		t.Fatalf("renewed: %v", renewed)
	}
	alice.setPresence(t, "Busy")
	node.notification(fmt.Sprintf("/extension/%d/presence", aliceID), status("Busy"))

	// Deleted on the way out.
	node.command("exit")
	node.next("revoked", nil)
	r := alice.do(t, "GET", "/subscription", nil)
	var list struct{ Records []map[string]any }
	if json.Unmarshal(r.body, &list) != nil || len(list.Records) != 0 {
		t.Fatalf("subscriptions after exit: %d %s", r.status, r.body)
	}
}
