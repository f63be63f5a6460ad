package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/callbridge/widget-server/internal/server"
	"github.com/callbridge/widget-server/internal/store"
	"github.com/callbridge/widget-server/internal/store/pgtest"
)

// storageServerEnv, when set to a directory, makes this test binary the
// server of TestStorageUnavailable: it serves with that data dir, prints its
// addresses as one JSON line and logs JSON to stderr until SIGTERM.
const storageServerEnv = "CB_E2E_STORAGE_SERVER_DIR"

// storageReadEnv, when set to "DIR EXTENSION", makes this test binary print
// the stored presence of that extension in the database in DIR, as JSON: a
// second process reading what the server wrote.
const storageReadEnv = "CB_E2E_STORAGE_READ"

func TestMain(m *testing.M) {
	if dir := os.Getenv(storageServerEnv); dir != "" {
		os.Exit(serveStorageTest(dir))
	}
	if arg := os.Getenv(storageReadEnv); arg != "" {
		os.Exit(readStoredPresence(arg))
	}
	pgtest.Main(m) // runs the tests; stops a throwaway PostgreSQL one of them started
}

func readStoredPresence(arg string) int {
	var dir string
	var ext int64
	if _, err := fmt.Sscan(arg, &dir, &ext); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	db, err := store.Open(context.Background(), dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer db.Close()
	p, _, err := db.UserPresence(context.Background(), ext)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	json.NewEncoder(os.Stdout).Encode(p)
	return 0
}

func serveStorageTest(dir string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	cfg := server.Config{
		Listen: "127.0.0.1:0", DemoListen: "127.0.0.1:0", DataDir: dir, Dev: true,
		APIRateLimit: 100000, APIRateWindow: time.Second,
		Limits: server.Limits{WidgetRequests: 100000, WidgetWindow: time.Second},
		Logger: slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Ready:  func(a server.Addrs) { json.NewEncoder(os.Stdout).Encode(a) },
	}
	if err := server.Run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		return 1
	}
	return 0
}

// storageServer is the server of TestStorageUnavailable: a child process in
// a mount namespace of its own, whose data dir is a small tmpfs that the
// test can fill up or cover with a read-only file system.
type storageServer struct {
	server.Addrs
	mnt string // the data dir, as the server sees it
	pid int
	cmd *exec.Cmd
	log *lockedBuffer
}

// startStorageServer starts the child server; it needs root and mount
// namespaces (the README's test command has both).
func startStorageServer(t *testing.T) *storageServer {
	t.Helper()
	if os.Geteuid() != 0 || exec.Command("unshare", "--mount", "true").Run() != nil {
		t.Skip("needs root and mount namespaces (unshare --mount) to give the server a disk of its own")
	}
	mnt := t.TempDir()
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c",
		`mount -t tmpfs -o size=16m tmpfs "$1" && exec "$0"`, os.Args[0], mnt)
	cmd.Env = append(os.Environ(), storageServerEnv+"="+mnt)
	logs := &lockedBuffer{}
	cmd.Stderr = logs
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &storageServer{mnt: mnt, pid: cmd.Process.Pid, cmd: cmd, log: logs}
	t.Cleanup(func() { s.stop(t) })
	ready := make(chan server.Addrs, 1)
	go func() {
		var a server.Addrs
		if json.NewDecoder(out).Decode(&a) == nil {
			ready <- a
		}
		io.Copy(io.Discard, out)
	}()
	select {
	case s.Addrs = <-ready:
	case <-time.After(60 * time.Second):
		t.Fatalf("the server did not start; its log:\n%s", logs)
	}
	return s
}

// stop ends the server as SIGTERM does and checks that it stopped cleanly.
func (s *storageServer) stop(t *testing.T) {
	if s.cmd.ProcessState != nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("server exit: %v; its log:\n%s", err, s.log)
		}
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		t.Errorf("the server did not stop in 30 s")
	}
}

// dataPath is a path inside the server's data dir, reached from here
// through the server's view of the file system.
func (s *storageServer) dataPath(name string) string {
	return filepath.Join(fmt.Sprintf("/proc/%d/root", s.pid), s.mnt, name)
}

// inServerNamespace runs a command in the server's mount namespace.
func (s *storageServer) inServerNamespace(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command("nsenter", append([]string{"-t", fmt.Sprint(s.pid), "-m", "--"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v: %s", args, err, out)
	}
}

// storedPresence reads the extension's presence from the server's database
// in another process inside the server's mount namespace. (A path through
// /proc/PID/root would not do: SQLite resolves it to this namespace's view.)
func (s *storageServer) storedPresence(t *testing.T, ext int64) store.UserPresence {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("nsenter", "-t", fmt.Sprint(s.pid), "-m", "--", self)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d", storageReadEnv, s.mnt, ext))
	out, err := cmd.Output()
	var p store.UserPresence
	if err != nil || json.Unmarshal(out, &p) != nil {
		t.Fatalf("reading the stored presence: %v: %s", err, out)
	}
	return p
}

// fillDisk writes a file into the data dir until the file system is full.
func (s *storageServer) fillDisk(t *testing.T) {
	t.Helper()
	f, err := os.Create(s.dataPath("filler"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	block := make([]byte, 64<<10)
	for {
		if _, err := f.Write(block); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling the disk: %v", err)
			}
			return
		}
	}
}

// logRecords returns the server's JSON log records with the given message.
func (s *storageServer) logRecords(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s.log.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// awaitLogRecords waits until the server's log holds at least n records
// with the given message (its stderr reaches the test through a pipe, after
// the answer the line belongs to) and returns them.
func (s *storageServer) awaitLogRecords(t *testing.T, msg string, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second) // against a hang, not a measure
	for {
		recs := s.logRecords(t, msg)
		if len(recs) >= n || time.Now().After(deadline) {
			return recs
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lockedBuffer is a bytes.Buffer that a process writes while a test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestStorageUnavailable fills the server's disk, then covers its data dir
// with a read-only file system, while the server runs. Each write the store
// cannot make is answered 503 StorageUnavailable, on the platform API and on
// the widget's own endpoints, with one error log line naming the data dir,
// the operation and SQLite's error; never a 500, never an answer of success
// for a write that was lost. Once the disk has room again (or the data dir is
// back) writes succeed without a restart.
func TestStorageUnavailable(t *testing.T) {
	srv := startStorageServer(t)
	widget := newWebClient(srv.Addrs)
	widget.signIn(t, "alice@demo.test")
	api := newAPIClient(t, srv.Addrs, "alice@demo.test")
	statuses := []string{"Available", "Busy", "Offline"}

	// Until the disk is full, every write is acknowledged; then writes fail
	// with 503 and the last acknowledged one stays.
	if r := api.setPresence(t, "Busy"); r.status != http.StatusOK {
		t.Fatalf("presence before the disk is full: %d %s", r.status, r.body)
	}
	srv.fillDisk(t)
	acked, ackedOnFull, refused := "Busy", 0, 0
	for i := 0; i < 5000 && refused < 3; i++ {
		want := statuses[i%len(statuses)]
		r := api.setPresence(t, want)
		switch r.status {
		case http.StatusOK: // written where SQLite's WAL had room already
			acked = want
			ackedOnFull++
		case http.StatusServiceUnavailable:
			wantStorageUnavailable(t, r)
			refused++
		default:
			t.Fatalf("PUT presence on a full disk: %d %s", r.status, r.body)
		}
	}
	if refused == 0 {
		t.Fatal("5000 writes on a full disk all succeeded")
	}
	t.Logf("full disk: %d writes still fitted, then 503", ackedOnFull)
	r := widget.do(t, "PUT", "/widget/presence", map[string]string{"userStatus": "Offline"})
	if r.status != http.StatusServiceUnavailable {
		t.Fatalf("widget PUT /widget/presence on a full disk: %d %s", r.status, r.body)
	}
	wantStorageUnavailable(t, r)
	refused++
	if got := api.presence(t); got != acked {
		t.Errorf("presence %q after the disk filled, want the last acknowledged %q", got, acked)
	}

	// One log line per refused write, with the data dir, the operation and
	// SQLite's error.
	lines := srv.awaitLogRecords(t, "storage unavailable", refused)
	if len(lines) != refused {
		t.Errorf("%d storage log lines for %d refused writes", len(lines), refused)
	}
	for _, l := range lines {
		if l["level"] != "ERROR" || l["dataDir"] != srv.mnt || !strings.Contains(fmt.Sprint(l["op"]), "INSERT INTO presence") ||
			!strings.Contains(fmt.Sprint(l["err"]), "database or disk is full") {
			t.Errorf("log line %v: want ERROR with dataDir %s, the INSERT and SQLite's error", l, srv.mnt)
		}
	}
	if n := len(srv.logRecords(t, "request failed")); n != 0 {
		t.Errorf("%d other request failures logged", n)
	}

	// With room again, writes succeed, and what was acknowledged is stored.
	if err := os.Remove(srv.dataPath("filler")); err != nil {
		t.Fatal(err)
	}
	if r := api.setPresence(t, "Available"); r.status != http.StatusOK {
		t.Fatalf("presence once the disk has room: %d %s", r.status, r.body)
	}
	if p := srv.storedPresence(t, api.extension(t)); p.UserStatus != "Available" {
		t.Fatalf("stored presence %+v, want Available", p)
	}

	// A read-only file system mounted over the data dir: the database file
	// the server opened is no longer there, so writes are refused rather
	// than made to a file nobody will read again; reads go on.
	srv.inServerNamespace(t, "mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", srv.mnt)
	r = api.setPresence(t, "Busy")
	if r.status != http.StatusServiceUnavailable {
		t.Fatalf("PUT presence on a read-only data dir: %d %s", r.status, r.body)
	}
	wantStorageUnavailable(t, r)
	if r := widget.do(t, "PUT", "/widget/presence", map[string]string{"userStatus": "Busy"}); r.status != http.StatusServiceUnavailable {
		t.Fatalf("widget PUT /widget/presence on a read-only data dir: %d %s", r.status, r.body)
	}
	if got := api.presence(t); got != "Available" {
		t.Errorf("presence %q on a read-only data dir, want Available", got)
	}
	lines = srv.awaitLogRecords(t, "storage unavailable", len(lines)+2) // the API's and the widget's refused writes
	if last := lines[len(lines)-1]; last["dataDir"] != srv.mnt || !strings.Contains(fmt.Sprint(last["err"]), "replaced or removed") {
		t.Errorf("log line %v: want the data dir and why", last)
	}
	// A sign-in cannot store its code: the form says so (503), and the log
	// says why; the app gets no error that reads as a refusal.
	authURL := srv.WidgetURL + "/oauth/authorize?" + url.Values{
		"client_id": {"demo"}, "response_type": {"code"}, "redirect_uri": {srv.WidgetURL + "/oauth/redirect"},
		"state": {"state-readonly"}, "scope": {"openid"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"},
	}.Encode()
	before := len(srv.logRecords(t, "storage unavailable"))
	if status, loc := submitSignIn(t, authURL, "bob@demo.test", "demo"); status != http.StatusServiceUnavailable {
		t.Fatalf("sign-in on a read-only data dir: %d %s", status, loc)
	}
	if n := len(srv.awaitLogRecords(t, "storage unavailable", before+1)); n != before+1 {
		t.Errorf("%d storage log lines for the refused sign-in, want 1", n-before)
	}
	srv.inServerNamespace(t, "umount", srv.mnt)
	if r := api.setPresence(t, "Busy"); r.status != http.StatusOK {
		t.Fatalf("presence once the data dir is back: %d %s", r.status, r.body)
	}
}

// wantStorageUnavailable checks a 503 answer: the error shape of every
// error, StorageUnavailable, and when to retry.
func wantStorageUnavailable(t *testing.T, r httpResult) {
	t.Helper()
	var e struct {
		ErrorCode string `json:"errorCode"`
		Message   string `json:"message"`
		Errors    []struct {
			ErrorCode string `json:"errorCode"`
			Message   string `json:"message"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("503 body is not JSON: %s", r.body)
	}
	if e.ErrorCode != "StorageUnavailable" || e.Message == "" || len(e.Errors) != 1 || e.Errors[0].ErrorCode != "StorageUnavailable" {
		t.Fatalf("503 body %s, want errorCode StorageUnavailable", r.body)
	}
	if r.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
}

// httpResult is a response read whole.
type httpResult struct {
	status int
	header http.Header
	body   []byte
}

// webClient is a widget tab played over HTTP: its own cookies, the headers
// the widget's script sends.
type webClient struct {
	server.Addrs
	c *http.Client
}

// secureJar keeps Secure cookies on plain-HTTP loopback URLs, as browsers do
// for localhost: it files every URL under https.
type secureJar struct{ *cookiejar.Jar }

func secureURL(u *url.URL) *url.URL { c := *u; c.Scheme = "https"; return &c }

func (j secureJar) SetCookies(u *url.URL, cs []*http.Cookie) { j.Jar.SetCookies(secureURL(u), cs) }
func (j secureJar) Cookies(u *url.URL) []*http.Cookie        { return j.Jar.Cookies(secureURL(u)) }

// loopbackClient is an HTTP client with its own cookies that reaches
// localhost at 127.0.0.1 and does not follow redirects.
func loopbackClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:           secureJar{jar},
		Timeout:       2 * time.Minute, // against a hang only: a loaded machine is slow
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, _ := net.SplitHostPort(addr)
			if host == "localhost" {
				addr = net.JoinHostPort("127.0.0.1", port)
			}
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}},
	}
}

func newWebClient(a server.Addrs) *webClient { return &webClient{Addrs: a, c: loopbackClient()} }

// do sends a request to the widget origin as the widget does.
func (w *webClient) do(t *testing.T, method, path string, body any) httpResult {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, w.WidgetURL+path, rd)
	req.Header.Set("X-Callbridge", "1")
	req.Header.Set("X-Callbridge-Client", "demo")
	req.Header.Set("Origin", w.WidgetURL)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return send(t, w.c, req)
}

func send(t *testing.T, c *http.Client, req *http.Request) httpResult {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return httpResult{resp.StatusCode, resp.Header, b}
}

// signIn opens the widget page and signs in with the popup flow, the popup
// being another cookie jar.
func (w *webClient) signIn(t *testing.T, user string) {
	t.Helper()
	req, _ := http.NewRequest("GET", w.WidgetURL+"/app?clientId=demo&fromAdapter=1&hostOrigin="+url.QueryEscape(w.DemoURL), nil)
	if r := send(t, w.c, req); r.status != http.StatusOK {
		t.Fatalf("/app: %d", r.status)
	}
	r := w.do(t, "POST", "/widget/login", map[string]string{"mode": "popup"})
	var start struct {
		OAuthURI string `json:"oAuthUri"`
	}
	if r.status != http.StatusOK || json.Unmarshal(r.body, &start) != nil {
		t.Fatalf("start sign-in: %d %s", r.status, r.body)
	}
	callback := authorizeOverHTTP(t, start.OAuthURI, user, "demo")
	if r := w.do(t, "POST", "/widget/login/complete", map[string]string{"callbackUri": callback}); r.status != http.StatusOK {
		t.Fatalf("complete sign-in: %d %s", r.status, r.body)
	}
}

// apiClient calls the platform API with one user's access token.
type apiClient struct {
	server.Addrs
	c     *http.Client
	token string
}

// newAPIClient signs a user in with the authorization code flow and PKCE,
// as a CRM's server would, and keeps the access token.
func newAPIClient(t *testing.T, a server.Addrs, user string) *apiClient {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	redirect := a.WidgetURL + "/oauth/redirect"
	q := url.Values{
		"client_id": {"demo"}, "response_type": {"code"}, "redirect_uri": {redirect},
		"state": {"state-" + verifier[:16]}, "scope": {"openid offline_access"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"},
	}
	loc, err := url.Parse(authorizeOverHTTP(t, a.WidgetURL+"/oauth/authorize?"+q.Encode(), user, "demo"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("no code in the redirect %v (%v)", loc, err)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
		"client_id": {"demo"}, "redirect_uri": {redirect}, "code_verifier": {verifier}}
	req, _ := http.NewRequest("POST", a.WidgetURL+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	c := loopbackClient()
	r := send(t, c, req)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if r.status != http.StatusOK || json.Unmarshal(r.body, &tok) != nil || tok.AccessToken == "" {
		t.Fatalf("token: %d %s", r.status, r.body)
	}
	return &apiClient{Addrs: a, c: c, token: tok.AccessToken}
}

func (a *apiClient) do(t *testing.T, method, path string, body any) httpResult {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, a.WidgetURL+"/restapi/v1.0"+path, rd)
	req.Header.Set("Authorization", "Bearer "+a.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return send(t, a.c, req)
}

// setPresence sets the user status of the token's extension.
func (a *apiClient) setPresence(t *testing.T, userStatus string) httpResult {
	t.Helper()
	return a.do(t, "PUT", "/account/~/extension/~/presence", map[string]string{"userStatus": userStatus})
}

// presence reads the user status of the token's extension.
func (a *apiClient) presence(t *testing.T) string {
	t.Helper()
	r := a.do(t, "GET", "/account/~/extension/~/presence", nil)
	var p struct {
		UserStatus string `json:"userStatus"`
	}
	if r.status != http.StatusOK || json.Unmarshal(r.body, &p) != nil {
		t.Fatalf("GET presence: %d %s", r.status, r.body)
	}
	return p.UserStatus
}

// extension returns the id of the token's extension.
func (a *apiClient) extension(t *testing.T) int64 {
	t.Helper()
	r := a.do(t, "GET", "/account/~/extension/~", nil)
	var x struct {
		ID int64 `json:"id"`
	}
	if r.status != http.StatusOK || json.Unmarshal(r.body, &x) != nil {
		t.Fatalf("GET extension: %d %s", r.status, r.body)
	}
	return x.ID
}

// messagesSince returns the messages the demo page received from index n on.
func messagesSince(t *testing.T, e *env, n int) []message {
	t.Helper()
	return eval[[]message](t, e.ctx, fmt.Sprintf(`cbDemo.messages.slice(%d)`, n))
}

// messageCount is how many messages the demo page has received.
func messageCount(t *testing.T, e *env) int {
	t.Helper()
	return eval[int](t, e.ctx, `cbDemo.messages.length`)
}

// waitMessageAfter is waitMessage for a message received at index n or
// later, waiting up to d.
func waitMessageAfter(t *testing.T, e *env, n int, d time.Duration, typ, match string) message {
	t.Helper()
	if match == "" {
		match = "true"
	}
	expr := fmt.Sprintf(`cbDemo.messages.slice(%d).find(m => m.data && m.data.type === %q && (%s))`, n, typ, match)
	v, err := chromedp.Run(within(t, e.ctx, d+5*time.Second),
		chromedp.Poll[message](expr, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(d)))
	if err != nil {
		t.Fatalf("waiting for %s (%s) after message %d: %v", typ, match, n, err)
	}
	return v
}

// TestWidgetResyncsAfterRestart stops the server (as SIGTERM does) during
// a call to the tone line and starts it again on the same ports and data
// dir. The host page sees the call end with a reason and the widget say it
// is reconnecting; the widget reconnects by itself, is still signed in with
// no call (the server agrees), can call again, and the host never sees an
// event twice.
func TestWidgetResyncsAfterRestart(t *testing.T) {
	e := start(t)
	signedIn(t, e, "alice@demo.test", "+16505550100*101")
	eval[any](t, e.ctx, `RCAdapter.clickToCall('+15550100', true)`)
	started := waitMessage(t, e.ctx, "rc-call-start-notify", `m.data.call.toNumber === '+15550100'`)
	callID := started.Data["call"].(map[string]any)["id"].(string)
	audioFlows(t, "alice (tone)", frameCtx(t, e))

	before := messageCount(t, e)
	e.run.stop()
	end := waitMessageAfter(t, e, before, 30*time.Second, "rc-call-end-notify", fmt.Sprintf(`m.data.call.id === %q`, callID))
	if c := end.Data["call"].(map[string]any); c["reason"] == nil || c["code"] != 503.0 || c["endTime"] == nil {
		t.Errorf("call end at the stop: %v, want a reason and code 503", c)
	}
	waitMessageAfter(t, e, before, 30*time.Second, "rc-active-call-notify",
		fmt.Sprintf(`m.data.call.telephonySessionId === %q && m.data.call.telephonyStatus === 'NoCall'`, callID))
	waitMessageAfter(t, e, before, 30*time.Second, "rc-webphone-connection-status-notify",
		`m.data.connectionStatus === 'disconnected' || m.data.connectionStatus === 'connecting'`)

	restarted := messageCount(t, e)
	e.run.start()
	waitMessageAfter(t, e, restarted, 60*time.Second, "rc-webphone-connection-status-notify", `m.data.connectionStatus === 'connected'`)

	// The widget's own view, as the host can ask for it: no call on this
	// device.
	asked := messageCount(t, e)
	eval[bool](t, e.ctx, `(RCAdapter.frame.contentWindow.postMessage({type: 'rc-adapter-webphone-sessions-sync'}, `+quote(e.WidgetURL)+`), true)`)
	if sync := waitMessageAfter(t, e, asked, 20*time.Second, "rc-webphone-sessions-sync", ""); len(sync.Data["calls"].([]any)) != 0 {
		t.Errorf("calls on the device after the restart: %v", sync.Data["calls"])
	}
	// The server's view: the same user, no call.
	api := newAPIClient(t, e.Addrs, "alice@demo.test")
	r := api.do(t, "GET", "/account/~/extension/~/presence?detailedTelephonyState=true", nil)
	var p struct {
		TelephonyStatus string `json:"telephonyStatus"`
		ActiveCalls     []any  `json:"activeCalls"`
	}
	if r.status != http.StatusOK || json.Unmarshal(r.body, &p) != nil || p.TelephonyStatus != "NoCall" || len(p.ActiveCalls) != 0 {
		t.Errorf("presence after the restart: %d %s", r.status, r.body)
	}
	// Still signed in, and the phone works: a new call connects.
	again := messageCount(t, e)
	eval[any](t, e.ctx, `RCAdapter.clickToCall('+15550100', true)`)
	waitMessageAfter(t, e, again, 30*time.Second, "rc-call-start-notify", `m.data.call.toNumber === '+15550100'`)
	controlCall(t, e, "hangup", "")
	waitMessageAfter(t, e, again, 30*time.Second, "rc-call-end-notify", `m.data.call.toNumber === '+15550100'`)

	all := messagesSince(t, e, 0)
	var logins []any
	for _, m := range all {
		if m.Data["type"] == "rc-login-status-notify" {
			logins = append(logins, m.Data["loggedIn"])
		}
	}
	if len(logins) < 2 || logins[len(logins)-1] != true || slices.Contains(logins[1:], any(false)) {
		t.Errorf("login statuses %v: the widget should have stayed signed in", logins)
	}
	var presences []any
	for _, m := range all[:again] {
		if m.Data["type"] == "rc-adapter-syncPresence" {
			presences = append(presences, m.Data["telephonyStatus"])
		}
	}
	if len(presences) == 0 || presences[len(presences)-1] != "NoCall" {
		t.Errorf("presence before the new call: %v, want NoCall last", presences)
	}
	noDuplicateEvents(t, all)
	ends := 0
	for _, m := range all {
		if c, _ := m.Data["call"].(map[string]any); m.Data["type"] == "rc-call-end-notify" && c["id"] == callID {
			ends++
		}
	}
	if ends != 1 {
		t.Errorf("the host saw the first call end %d times", ends)
	}

	db, err := store.Open(context.Background(), e.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	recs, err := db.CallRecords(context.Background(), 1, 10)
	if err != nil || len(recs) != 2 {
		t.Fatalf("call log: %d records, %v; want the call cut by the stop and the one after", len(recs), err)
	}
	if recs[1].TelephonySessionID != callID || recs[1].Result == "" {
		t.Errorf("record of the call cut by the stop: %+v", recs[1])
	}
}

// callEventTypes are the events that report something that happened to a
// call, once: the host must never receive one of them twice.
var callEventTypes = []string{
	"rc-call-ring-notify", "rc-call-init-notify", "rc-call-start-notify", "rc-call-hold-notify",
	"rc-call-resume-notify", "rc-call-mute-notify", "rc-call-end-notify", "rc-active-call-notify",
	"rc-telephony-session-notify", "rc-call-failed-notify", "rc-call-stats-notify", "rc-ringout-call-notify",
}

// noDuplicateEvents fails when the host received the same call event twice.
func noDuplicateEvents(t *testing.T, msgs []message) {
	t.Helper()
	seen := map[string]int{}
	for i, m := range msgs {
		typ, _ := m.Data["type"].(string)
		if !slices.Contains(callEventTypes, typ) {
			continue
		}
		b, _ := json.Marshal(m.Data)
		if j, ok := seen[string(b)]; ok {
			t.Errorf("message %d repeats message %d: %s", i, j, b)
		}
		seen[string(b)] = i
	}
}

// cutProxy forwards a browser's TCP connections to the widget server and
// cuts, on demand, those that carry the event stream, as a broken
// connection does. Chromium reaches the widget through it by
// --host-resolver-rules, so the page's origin stays the widget's.
type cutProxy struct {
	ln      net.Listener
	target  string
	streams chan *proxiedConn // connections seen to carry GET /widget/events
	wg      sync.WaitGroup
	mu      sync.Mutex
	open    map[*proxiedConn]struct{}
}

type proxiedConn struct {
	client, upstream net.Conn
	once             sync.Once
	orphaned         atomic.Bool // the browser's side is gone; the server's is kept
	events           atomic.Bool // it carries GET /widget/events
	stalled          atomic.Bool // what the server sends is dropped; nothing is closed
}

// newCutProxy listens on a free loopback port and forwards to target
// (host:port).
func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, streams: make(chan *proxiedConn, 256), open: map[*proxiedConn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *cutProxy) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// hostRule is the Chromium switch that sends the widget's traffic here.
func (p *cutProxy) hostRule(widgetURL string) chromedp.ExecAllocatorOption {
	u, _ := url.Parse(widgetURL)
	return chromedp.Flag("host-resolver-rules", fmt.Sprintf("MAP %s 127.0.0.1:%d", u.Host, p.port()))
}

func (p *cutProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		target := p.target
		p.mu.Unlock()
		up, err := net.Dial("tcp", target)
		if err != nil {
			c.Close()
			continue
		}
		pc := &proxiedConn{client: c, upstream: up}
		p.mu.Lock()
		p.open[pc] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go func() {
			defer p.wg.Done()
			p.pump(pc, up, c, true)
		}()
		go func() {
			defer p.wg.Done()
			p.pump(pc, c, up, false)
			p.mu.Lock()
			delete(p.open, pc)
			p.mu.Unlock()
		}()
	}
}

// pump copies one direction; from the client it watches for the request
// that opens the event stream. Once the connection is orphaned, what the
// server sends is read and dropped and its side stays open.
func (p *cutProxy) pump(pc *proxiedConn, dst, src net.Conn, fromClient bool) {
	defer func() {
		if !pc.orphaned.Load() {
			pc.cut(false)
		}
	}()
	marker := []byte("GET /widget/events")
	buf := make([]byte, 32<<10)
	var tail []byte
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if fromClient {
				seen := append(tail, buf[:n]...)
				if bytes.Contains(seen, marker) {
					pc.events.Store(true)
					select {
					case p.streams <- pc:
					default:
					}
				}
				tail = append(tail[:0], seen[max(0, len(seen)-len(marker)+1):]...)
			}
			if !fromClient && pc.stalled.Load() {
				continue // silently lost, as on a path that drops packets
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				if !fromClient && pc.orphaned.Load() {
					io.Copy(io.Discard, src)
				}
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// cut closes both sides of the connection, the browser's with a TCP reset
// when reset is set, and reports whether it was still open.
func (pc *proxiedConn) cut(reset bool) bool {
	first := false
	pc.once.Do(func() {
		first = true
		if tc, ok := pc.client.(*net.TCPConn); ok && reset {
			tc.SetLinger(0)
		}
		pc.client.Close()
		pc.upstream.Close()
	})
	return first
}

// switchTo sends new connections to target from now on and resets every
// open one, as a load balancer does when it takes a node out: the browser
// connects again, to target.
func (p *cutProxy) switchTo(target string) {
	p.mu.Lock()
	p.target = target
	open := make([]*proxiedConn, 0, len(p.open))
	for pc := range p.open {
		open = append(open, pc)
	}
	p.mu.Unlock()
	for _, pc := range open {
		pc.cut(true)
	}
}

// orphanClients resets the browser's side of every open connection, as a
// browser drops its connections when its link goes down, and keeps the
// server's side open: the server hears nothing, as over a lost network.
func (p *cutProxy) orphanClients() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for pc := range p.open {
		pc.orphaned.Store(true)
		if tc, ok := pc.client.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		pc.client.Close()
	}
}

// stallStreams makes every open event stream silent: what the server sends
// on it is dropped from now on, and neither side is closed. It returns how
// many it stalled.
func (p *cutProxy) stallStreams() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for pc := range p.open {
		if pc.events.Load() {
			pc.stalled.Store(true)
			n++
		}
	}
	return n
}

func (p *cutProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for pc := range p.open {
		pc.orphaned.Store(false)
		pc.cut(false)
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// signedInByHost signs a user in as a host page does with
// disableLoginPopup=1: rc-adapter-login, its own sign-in window (played over
// HTTP), rc-adapter-authorization-code. It never attaches to the widget's
// frame.
func signedInByHost(t *testing.T, e *env, user, loginNumber string) {
	t.Helper()
	openDemo(t, e, "?disableLoginPopup=1")
	eval[bool](t, e.ctx, `(RCAdapter.frame.contentWindow.postMessage({type: 'rc-adapter-login'}, `+quote(e.WidgetURL)+`), true)`)
	m := waitMessage(t, e.ctx, "rc-login-popup-notify", "")
	callback := authorizeOverHTTP(t, m.Data["oAuthUri"].(string), user, "demo")
	eval[bool](t, e.ctx, `(RCAdapter.frame.contentWindow.postMessage({type: 'rc-adapter-authorization-code', callbackUri: `+
		quote(callback)+`}, `+quote(e.WidgetURL)+`), true)`)
	waitLoggedIn(t, e, loginNumber)
}

// aliceBehindProxy runs a server with cfg and signs alice in on a demo page
// whose browser reaches the widget through a cut proxy; it also gives an API
// client of hers. She is signed in by the host page, without attaching to
// the widget's frame: an attached frame would report every message of the
// stream to the test, which chromedp cannot keep up with.
func aliceBehindProxy(t *testing.T, cfg server.Config) (*env, *cutProxy, *apiClient) {
	t.Helper()
	run := runServer(t, cfg)
	widget, _ := url.Parse(run.addrs.WidgetURL)
	proxy := newCutProxy(t, "127.0.0.1:"+widget.Port())
	e := &env{Addrs: run.addrs, ctx: browserWith(t, []chromedp.ExecAllocatorOption{proxy.hostRule(run.addrs.WidgetURL)}),
		dataDir: run.cfg.DataDir, run: run}
	signedInByHost(t, e, "alice@demo.test", "+16505550100*101")
	return e, proxy, newAPIClient(t, e.Addrs, "alice@demo.test")
}

// presenceStates are the presence values the events test cycles through.
var presenceStates = func() [][2]string {
	var out [][2]string
	for _, u := range []string{"Available", "Busy", "Offline"} {
		for _, d := range []string{"TakeAllCalls", "DoNotAcceptAnyCalls", "DoNotAcceptDepartmentCalls", "TakeDepartmentCallsOnly"} {
			out = append(out, [2]string{u, d})
		}
	}
	return out
}()

// TestEventsSurviveCutsInBrowser streams a few thousand presence changes,
// made through the platform API with a real token, to a signed-in widget in
// Chromium while a proxy between the browser and the server cuts the
// widget's event stream at random moments, dozens of times, with a reset or
// a close, often in the middle of an event or of a replay. The host page
// must receive every change exactly once, in order.
func TestEventsSurviveCutsInBrowser(t *testing.T) {
	const minEvents, minCuts = 2000, 25
	e, proxy, api := aliceBehindProxy(t, server.Config{APIRateLimit: 1_000_000, APIRateWindow: time.Second})
	first := messageCount(t, e)

	rng := rand.New(rand.NewPCG(7, 11))
	var sent [][2]string
	var cuts atomic.Int64
	stop := make(chan struct{})
	cutterDone := make(chan struct{})
	go func() { // the cutter: each new stream lives a random while, then is cut
		defer close(cutterDone)
		r := rand.New(rand.NewPCG(3, 5))
		for {
			select {
			case <-stop:
				return
			case pc := <-proxy.streams:
				select {
				case <-stop:
					return
				case <-time.After(time.Duration(50+r.IntN(850)) * time.Millisecond):
				}
				if pc.cut(r.IntN(2) == 0) {
					cuts.Add(1)
				}
			}
		}
	}()
	deadline := time.Now().Add(150 * time.Second)
	prev := -1
	for len(sent) < minEvents || cuts.Load() < minCuts {
		if time.Now().After(deadline) {
			close(stop)
			t.Fatalf("after %d events only %d cuts", len(sent), cuts.Load())
		}
		i := rng.IntN(len(presenceStates) - 1)
		if i >= prev && prev >= 0 {
			i++ // never the same state twice in a row
		}
		prev = i
		st := presenceStates[i]
		r := api.do(t, "PUT", "/account/~/extension/~/presence", map[string]string{"userStatus": st[0], "dndStatus": st[1]})
		if r.status != http.StatusOK {
			close(stop)
			t.Fatalf("PUT presence #%d: %d %s", len(sent)+1, r.status, r.body)
		}
		sent = append(sent, st)
		time.Sleep(15 * time.Millisecond)
	}
	close(stop)
	<-cutterDone

	// Everything sent arrives, once, in order.
	count := fmt.Sprintf(`cbDemo.messages.slice(%d).filter(m => m.data.type === 'rc-adapter-syncPresence').length`, first)
	for wait := time.Now().Add(60 * time.Second); eval[int](t, e.ctx, count) < len(sent) && time.Now().Before(wait); {
		time.Sleep(200 * time.Millisecond)
	}
	got := eval[[]map[string]any](t, e.ctx, fmt.Sprintf(
		`cbDemo.messages.slice(%d).filter(m => m.data.type === 'rc-adapter-syncPresence').map(m => m.data)`, first))
	if len(got) != len(sent) {
		t.Errorf("the host received %d presence changes, %d were made", len(got), len(sent))
	}
	for i := range min(len(got), len(sent)) {
		if got[i]["userStatus"] != sent[i][0] || got[i]["dndStatus"] != sent[i][1] {
			t.Fatalf("change %d: the host got %v/%v, want %v (of %d, %d cuts)", i+1, got[i]["userStatus"], got[i]["dndStatus"], sent[i], len(sent), cuts.Load())
		}
	}
	var last float64
	for i, m := range got {
		if seq, ok := m["sequence"].(float64); ok {
			if seq <= last {
				t.Fatalf("change %d: sequence %v after %v", i+1, seq, last)
			}
			last = seq
		}
	}
	lost := eval[int](t, e.ctx, fmt.Sprintf(`cbDemo.messages.slice(%d).filter(m => m.data.type === 'rc-webphone-connection-status-notify' && m.data.connectionStatus === 'disconnected').length`, first))
	t.Logf("%d presence changes in order, exactly once, across %d cut streams (the widget reported %d disconnections)", len(sent), cuts.Load(), lost)
}

// TestStalledStreamReopens: a stream that goes silent without any error (a
// path that drops what the server sends and closes nothing) is noticed by
// the widget through the missing heartbeats; it opens a new stream with the
// last event id it has, and the host page gets every change made during the
// silence, once, in order.
func TestStalledStreamReopens(t *testing.T) {
	e, proxy, api := aliceBehindProxy(t, server.Config{EventsHeartbeat: time.Second})
	before := messageCount(t, e)
	if r := api.setPresence(t, "Available"); r.status != http.StatusOK {
		t.Fatalf("PUT presence: %d %s", r.status, r.body)
	}
	waitMessageAfter(t, e, before, 10*time.Second, "rc-adapter-syncPresence", `m.data.userStatus === 'Available'`)
	for len(proxy.streams) > 0 {
		<-proxy.streams
	}
	first := messageCount(t, e)
	if n := proxy.stallStreams(); n == 0 {
		t.Fatal("no event stream to stall")
	}
	stalled := time.Now()
	want := []string{"Busy", "Offline", "Available", "Busy", "Available"}
	for _, st := range want {
		if r := api.setPresence(t, st); r.status != http.StatusOK {
			t.Fatalf("PUT presence %s: %d %s", st, r.status, r.body)
		}
	}
	count := fmt.Sprintf(`cbDemo.messages.slice(%d).filter(m => m.data.type === 'rc-adapter-syncPresence').length`, first)
	for deadline := time.Now().Add(20 * time.Second); eval[int](t, e.ctx, count) < len(want) && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	took := time.Since(stalled)
	got := eval[[]string](t, e.ctx, fmt.Sprintf(
		`cbDemo.messages.slice(%d).filter(m => m.data.type === 'rc-adapter-syncPresence').map(m => m.data.userStatus)`, first))
	if !slices.Equal(got, want) {
		t.Fatalf("after the stall the host got %v, want %v", got, want)
	}
	select {
	case <-proxy.streams:
	default:
		t.Fatal("the widget did not open a new event stream")
	}
	t.Logf("the stalled stream was replaced and its %d changes replayed %s after the stall (heartbeat 1 s)", len(want), took.Round(100*time.Millisecond))
}

// lossyLoopback drops, on the loopback interface, every packet to or from
// chosen ports: what a lost network does to one computer's connections.
// It changes the interface, so it refuses to run outside a network namespace
// of the tests' own (the README's test command makes one).
type lossyLoopback struct {
	t      *testing.T
	active bool
}

func newLossyLoopback(t *testing.T) *lossyLoopback {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	if len(ifs) != 1 || ifs[0].Flags&net.FlagLoopback == 0 {
		t.Skip("cutting a network needs a network namespace with only loopback, as the README's test command runs the tests in")
	}
	if _, err := exec.LookPath("tc"); err != nil || os.Geteuid() != 0 {
		t.Skip("cutting a network needs root and tc (iproute2)")
	}
	l := &lossyLoopback{t: t}
	t.Cleanup(l.restore)
	return l
}

func (l *lossyLoopback) tc(args ...string) {
	l.t.Helper()
	if out, err := exec.Command("tc", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("tc %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// drop sends every IPv4 packet from or to the given TCP and UDP ports into
// a blackhole: an htb class whose queue drops everything, chosen by u32
// filters on the ports; other traffic takes the default class.
func (l *lossyLoopback) drop(tcpPorts, udpPorts []int) {
	l.t.Helper()
	l.tc("qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb", "default", "10")
	l.active = true
	l.tc("class", "add", "dev", "lo", "parent", "1:", "classid", "1:10", "htb", "rate", "10gbit")
	l.tc("class", "add", "dev", "lo", "parent", "1:", "classid", "1:20", "htb", "rate", "10gbit")
	l.tc("qdisc", "add", "dev", "lo", "parent", "1:20", "handle", "20:", "blackhole")
	for proto, ports := range map[string][]int{"6": tcpPorts, "17": udpPorts} {
		for _, p := range ports {
			for _, dir := range []string{"sport", "dport"} {
				l.tc("filter", "add", "dev", "lo", "parent", "1:", "protocol", "ip", "prio", "1", "u32",
					"match", "ip", "protocol", proto, "0xff", "match", "ip", dir, fmt.Sprint(p), "0xffff", "flowid", "1:20")
			}
		}
	}
}

// restore gives the interface back its default queue.
func (l *lossyLoopback) restore() {
	if !l.active {
		return
	}
	l.active = false
	if out, err := exec.Command("tc", "qdisc", "del", "dev", "lo", "root").CombinedOutput(); err != nil {
		l.t.Errorf("tc qdisc del: %v: %s", err, out)
	}
}

// mediaPort is the local UDP port of the first call's selected ICE
// candidate pair, read inside the widget frame.
func mediaPort(t *testing.T, frame context.Context) int {
	t.Helper()
	v, err := chromedp.Run(within(t, frame, 10*time.Second), chromedp.Evaluate[int](`(async () => {
		const pc = window.cbPhone && cbPhone.pcs()[0];
		if (!pc) return 0;
		const stats = await pc.getStats();
		let pair = null;
		stats.forEach(r => { if (r.type === 'transport' && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId); });
		if (!pair) stats.forEach(r => { if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') pair = r; });
		const local = pair && stats.get(pair.localCandidateId);
		return local ? local.port : 0;
	})()`, chromedp.EvalAwaitPromise))
	if err != nil || v == 0 {
		t.Fatalf("the call's media port: %v, %v", v, err)
	}
	return v
}

// TestBrowserLosesNetworkMidCall cuts alice's computer off in the middle of
// a call with bob: every packet of her connections to the widget and of her
// call's media is dropped, and her browser is told it is offline. Her host
// page hears that the phone is disconnected; the server ends the call when
// her media stops, bob's page sees it end, the server has no active call
// left and one call-log record per party. When her network is back, her
// widget reconnects and her page sees the call end too, each event once.
func TestBrowserLosesNetworkMidCall(t *testing.T) {
	loss := newLossyLoopback(t)
	run := runServer(t, server.Config{})
	widget, _ := url.Parse(run.addrs.WidgetURL)
	proxy := newCutProxy(t, "127.0.0.1:"+widget.Port())
	alice := &env{Addrs: run.addrs, ctx: browserWith(t, []chromedp.ExecAllocatorOption{proxy.hostRule(run.addrs.WidgetURL)}),
		dataDir: run.cfg.DataDir, run: run}
	bob := alice.second(t)
	signedIn(t, alice, "alice@demo.test", "+16505550100*101")
	signedIn(t, bob, "bob@demo.test", "+16505550100*102")
	aliceAPI := newAPIClient(t, run.addrs, "alice@demo.test")
	bobAPI := newAPIClient(t, run.addrs, "bob@demo.test")

	eval[any](t, alice.ctx, `RCAdapter.clickToCall('102', true)`)
	ring := waitMessage(t, bob.ctx, "rc-call-ring-notify", "")
	sessionID := ring.Data["call"].(map[string]any)["telephonySessionId"].(string)
	controlCall(t, bob, "answer", "")
	waitMessage(t, alice.ctx, "rc-active-call-notify", `m.data.call.telephonyStatus === 'CallConnected'`)
	aliceFrame := frameCtx(t, alice)
	audioFlows(t, "alice", aliceFrame)
	audioFlows(t, "bob", frameCtx(t, bob))

	// The cut. Her browser loses its connections to the widget (reset on
	// her side only, as when her link goes down: the server hears
	// nothing), and from then on every packet of her connections and of her
	// call's media is dropped.
	port := mediaPort(t, aliceFrame)
	aliceCut, bobCut := messageCount(t, alice), messageCount(t, bob)
	proxy.orphanClients()
	loss.drop([]int{proxy.port()}, []int{port})
	waitMessageAfter(t, alice, aliceCut, 30*time.Second, "rc-webphone-connection-status-notify",
		`m.data.connectionStatus === 'disconnected' || m.data.connectionStatus === 'connecting'`)

	// The server ends the call once her media has stopped (ICE gives up):
	// bob sees it end, and nothing is left of it on the server.
	end := waitMessageAfter(t, bob, bobCut, 90*time.Second, "rc-call-end-notify", fmt.Sprintf(`m.data.call.telephonySessionId === %q`, sessionID))
	t.Logf("bob's end of the call: %v", end.Data["call"])
	for who, api := range map[string]*apiClient{"alice": aliceAPI, "bob": bobAPI} {
		r := api.do(t, "GET", "/account/~/extension/~/presence?detailedTelephonyState=true", nil)
		var p struct {
			TelephonyStatus string `json:"telephonyStatus"`
			ActiveCalls     []any  `json:"activeCalls"`
		}
		if r.status != http.StatusOK || json.Unmarshal(r.body, &p) != nil || p.TelephonyStatus != "NoCall" || len(p.ActiveCalls) != 0 {
			t.Errorf("%s's presence after the call ended: %d %s", who, r.status, r.body)
		}
	}

	// Her network comes back: the widget reconnects by itself and her page
	// hears the call end, once.
	loss.restore()
	waitMessageAfter(t, alice, aliceCut, 60*time.Second, "rc-call-end-notify", fmt.Sprintf(`m.data.call.telephonySessionId === %q`, sessionID))
	waitMessageAfter(t, alice, aliceCut, 60*time.Second, "rc-webphone-connection-status-notify", `m.data.connectionStatus === 'connected'`)
	waitMessageAfter(t, alice, aliceCut, 30*time.Second, "rc-adapter-syncPresence", `m.data.telephonyStatus === 'NoCall'`)
	for who, e := range map[string]*env{"alice": alice, "bob": bob} {
		msgs := messagesSince(t, e, 0)
		noDuplicateEvents(t, msgs)
		ends := 0
		for _, m := range msgs {
			if c, _ := m.Data["call"].(map[string]any); m.Data["type"] == "rc-call-end-notify" && c["telephonySessionId"] == sessionID {
				ends++
			}
		}
		if ends != 1 {
			t.Errorf("%s's page saw the call end %d times", who, ends)
		}
	}

	db, err := store.Open(context.Background(), run.cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for ext, dir := range map[int64]string{1: "Outbound", 2: "Inbound"} {
		recs, err := db.CallRecords(context.Background(), ext, 10)
		if err != nil || len(recs) != 1 || recs[0].TelephonySessionID != sessionID || string(recs[0].Direction) != dir || recs[0].Result == "" {
			t.Errorf("call log of extension %d: %+v, %v; want one %s record of the call", ext, recs, err, dir)
		}
	}
}
