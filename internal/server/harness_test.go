package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// instance is one running server for a test.
type instance struct {
	Addrs
	dataDir string
}

// patience bounds a wait for something that comes at once on an idle
// machine: a loaded one may take many times longer, and only a hung test
// reaches it. Tests wait for events, never for a fixed time.
const patience = 30 * time.Second

// startStopLimit bounds how long the program may take to start or stop. A
// start generates keys and hashes the demo users' passwords, which takes
// long under the race detector on a loaded machine; it is a guard against a
// hang, not a measure.
const startStopLimit = 90 * time.Second

// startServer runs the real program on loopback in development mode, as
// the command does by default there, and stops it at test end.
func startServer(t *testing.T, cfg Config) *instance {
	t.Helper()
	srv, _ := runUntil(t, context.Background(), cfg)
	return srv
}

// startProduction is startServer outside development mode (cfg.Dev as given).
func startProduction(t *testing.T, cfg Config) *instance {
	t.Helper()
	srv, _ := runConfig(t, context.Background(), cfg)
	return srv
}

// runUntil starts the real program in development mode and returns when it
// listens; it stops when ctx ends or, at the latest, with the test. done
// reports its result. Unset listeners are free loopback ports; an unset data
// dir is a temp dir.
func runUntil(t *testing.T, ctx context.Context, cfg Config) (*instance, <-chan error) {
	t.Helper()
	cfg.Dev = true
	return runConfig(t, ctx, cfg)
}

// runConfig is runUntil with cfg.Dev as given. A logger in cfg is kept.
func runConfig(t *testing.T, ctx context.Context, cfg Config) (*instance, <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.DemoListen == "" {
		cfg.DemoListen = "127.0.0.1:0"
	}
	if cfg.DataDir == "" {
		cfg.DataDir = filepath.Join(t.TempDir(), "data")
	}
	if cfg.Logger == nil {
		var logs io.Writer = io.Discard
		if testing.Verbose() {
			logs = os.Stderr
		}
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ready := make(chan Addrs, 1)
	cfg.Ready = func(a Addrs) { ready <- a }
	done := make(chan error, 1)
	result := make(chan error, 1)
	go func() { err := Run(ctx, cfg); done <- err; result <- err }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-result:
			if err != nil {
				t.Errorf("server: %v", err)
			}
		case <-time.After(startStopLimit):
			t.Error("server did not stop")
		}
	})
	select {
	case a := <-ready:
		return &instance{Addrs: a, dataDir: cfg.DataDir}, done
	case err := <-done:
		t.Fatalf("server did not start: %v", err)
	case <-time.After(startStopLimit):
		t.Fatal("server did not start")
	}
	return nil, nil
}

// secureJar keeps Secure cookies on plain-HTTP loopback URLs, as browsers do
// for localhost: it files every URL under https.
type secureJar struct{ *cookiejar.Jar }

func secure(u *url.URL) *url.URL { c := *u; c.Scheme = "https"; return &c }

func (j secureJar) SetCookies(u *url.URL, cs []*http.Cookie) { j.Jar.SetCookies(secure(u), cs) }
func (j secureJar) Cookies(u *url.URL) []*http.Cookie        { return j.Jar.Cookies(secure(u)) }

// browser is an HTTP client with its own cookies that does not follow
// redirects, so tests can read them.
func browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:           secureJar{jar},
		Timeout:       2 * time.Minute, // against a hang only: a loaded machine is slow
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			// localhost may resolve to ::1 first; the servers listen on 127.0.0.1.
			host, port, _ := net.SplitHostPort(addr)
			if host == "localhost" {
				addr = net.JoinHostPort("127.0.0.1", port)
			}
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}},
	}
}

type response struct {
	*http.Response
	body string
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("status %d, body not JSON: %s", r.StatusCode, r.body)
	}
	return m
}

func do(t *testing.T, c *http.Client, method, u string, body io.Reader, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return response{resp, string(b)}
}

func postForm(t *testing.T, c *http.Client, u string, form url.Values) response {
	t.Helper()
	return do(t, c, "POST", u, strings.NewReader(form.Encode()), "Content-Type", "application/x-www-form-urlencoded")
}

// widgetPost calls a widget endpoint as the widget's own script does.
func widgetPost(t *testing.T, c *http.Client, base, path string, body any) response {
	t.Helper()
	b, _ := json.Marshal(body)
	return do(t, c, "POST", base+path, strings.NewReader(string(b)),
		"Content-Type", "application/json", "X-Callbridge", "1", "X-Callbridge-Client", "demo", "Origin", base)
}

// newDevice has the server issue a phone device id to the signed-in
// session of the widget client c, as the widget does for each tab.
func newDevice(t *testing.T, c *http.Client, srv *instance) string {
	t.Helper()
	r := widgetPost(t, c, srv.WidgetURL, "/widget/devices", struct{}{})
	id, _ := r.json(t)["deviceId"].(string)
	if r.StatusCode != http.StatusOK || id == "" {
		t.Fatalf("issue a device: %d %s", r.StatusCode, r.body)
	}
	return id
}

var (
	csrfInput   = regexp.MustCompile(`name="csrf_token"[^>]*value="([^"]+)"`)
	hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)
)

// login opens an authorization URL, fills in the sign-in form and returns
// the response to the submission (a redirect when the credentials are right).
func login(t *testing.T, c *http.Client, authURL, username, password string) response {
	t.Helper()
	page := do(t, c, "GET", authURL, nil)
	if page.StatusCode != http.StatusOK {
		t.Fatalf("authorize page: %d %s", page.StatusCode, page.body)
	}
	return submitLogin(t, c, authURL, page.body, username, password)
}

func submitLogin(t *testing.T, c *http.Client, authURL, page, username, password string) response {
	t.Helper()
	m := csrfInput.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF field in the sign-in page:\n%s", page)
	}
	form := url.Values{"csrf_token": {m[1]}, "username": {username}, "password": {password}}
	for _, h := range hiddenInput.FindAllStringSubmatch(page, -1) {
		if h[1] != "csrf_token" {
			form.Add(h[1], unescape(h[2]))
		}
	}
	u, _ := url.Parse(authURL)
	u.RawQuery = ""
	return postForm(t, c, u.String(), form)
}

func unescape(s string) string {
	r := strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&quot;", `"`)
	return r.Replace(s)
}

// location returns the redirect target of a response.
func location(t *testing.T, r response) *url.URL {
	t.Helper()
	if r.StatusCode < 300 || r.StatusCode > 399 {
		t.Fatalf("want a redirect, got %d: %s", r.StatusCode, r.body)
	}
	u, err := url.Parse(r.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}
