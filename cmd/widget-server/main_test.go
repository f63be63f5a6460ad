package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func env(vars map[string]string) lookupEnv {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

// TestRunServesAndStops starts the real program through run, reads the URLs
// it prints, fetches the demo page and the widget, then stops it.
func TestRunServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	dataDir := filepath.Join(t.TempDir(), "data")
	var logs lockedBuffer
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--demo-listen", "127.0.0.1:0", "--media-port", "0", "--log-format", "json"},
			env(map[string]string{"WIDGET_DATA_DIR": dataDir}), nil, pw, &logs)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var widgetURL, demoURL string
	for demoURL == "" && sc.Scan() {
		line := sc.Text()
		if u, ok := strings.CutPrefix(line, "Callbridge widget server: "); ok {
			widgetURL = u
		}
		if u, ok := strings.CutPrefix(line, "Demo CRM page (open this): "); ok {
			demoURL = strings.TrimSuffix(u, "/")
		}
	}
	go io.Copy(io.Discard, pr)
	if !strings.HasPrefix(widgetURL, "http://localhost:") || !strings.HasPrefix(demoURL, "http://127.0.0.1:") {
		t.Fatalf("printed widget %q demo %q: want two different sites", widgetURL, demoURL)
	}
	// localhost resolves here, but dial 127.0.0.1 to not depend on it.
	widgetLoopback := strings.Replace(widgetURL, "localhost", "127.0.0.1", 1)
	resp, err := http.Get(demoURL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte(widgetURL+"/adapter.js?clientId=demo")) {
		t.Fatalf("demo page: %d\n%s", resp.StatusCode, body)
	}
	resp, err = http.Get(widgetLoopback + "/app?clientId=demo&hostOrigin=" + demoURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors "+demoURL) {
		t.Fatalf("widget: %d csp %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(90 * time.Second): // against a hang, not a measure
		t.Fatal("no graceful stop")
	}
	// --log-format json: every line of the log is one JSON object.
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	for _, line := range lines {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil || entry["msg"] == nil || entry["level"] == nil {
			t.Fatalf("log line %q is not a JSON entry: %v", line, err)
		}
	}
	if len(lines) < 2 {
		t.Fatalf("log: %q", logs.String())
	}
}

// lockedBuffer is a bytes.Buffer the server's goroutines may write to.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestParseConfig(t *testing.T) {
	cfg, err := parseConfig(nil, env(map[string]string{
		"WIDGET_LISTEN": "127.0.0.1:9000", "WIDGET_DEMO_LISTEN": "", "WIDGET_LOG_LEVEL": "debug",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:9000" || cfg.DemoListen != "" || cfg.LogLevel.String() != "DEBUG" || cfg.DataDir != "./data" {
		t.Fatalf("config from env: %+v", cfg)
	}
	cfg, err = parseConfig([]string{"--listen", "127.0.0.1:9001"}, env(map[string]string{"WIDGET_LISTEN": "127.0.0.1:9000"}), io.Discard)
	if err != nil || cfg.Listen != "127.0.0.1:9001" || cfg.DemoListen != "127.0.0.1:8081" {
		t.Fatalf("flag over env: %+v, %v", cfg, err)
	}
	if cfg.APIRateLimit != 60 || cfg.APIRateWindow != 10*time.Second {
		t.Fatalf("default API rate limit: %d per %s", cfg.APIRateLimit, cfg.APIRateWindow)
	}
	cfg, err = parseConfig([]string{"--api-rate-limit", "500/1m"}, env(nil), io.Discard)
	if err != nil || cfg.APIRateLimit != 500 || cfg.APIRateWindow != time.Minute {
		t.Fatalf("--api-rate-limit 500/1m: %d per %s, %v", cfg.APIRateLimit, cfg.APIRateWindow, err)
	}
	if cfg.EventsHeartbeat != 15*time.Second {
		t.Fatalf("default events heartbeat: %s", cfg.EventsHeartbeat)
	}
	cfg, err = parseConfig([]string{"--events-heartbeat", "5s"}, env(nil), io.Discard)
	if err != nil || cfg.EventsHeartbeat != 5*time.Second {
		t.Fatalf("--events-heartbeat 5s: %s, %v", cfg.EventsHeartbeat, err)
	}
	if cfg.MetricsListen != "" || cfg.MetricsToken != "" {
		t.Fatalf("metrics served by default: %q %q", cfg.MetricsListen, cfg.MetricsToken)
	}
	cfg, err = parseConfig([]string{"--metrics-addr", "10.0.0.5:9464"}, env(map[string]string{"WIDGET_METRICS_TOKEN": "0123456789abcdef0123"}), io.Discard)
	if err != nil || cfg.MetricsListen != "10.0.0.5:9464" || cfg.MetricsToken != "0123456789abcdef0123" {
		t.Fatalf("metrics flags: %q %q, %v", cfg.MetricsListen, cfg.MetricsToken, err)
	}
	for _, args := range [][]string{{"--log-level", "loud"}, {"--log-format", "xml"}, {"--nope"}, {"serve"},
		{"--metrics-addr", "9464"}, {"--metrics-token", "short"}, {"--metrics-token", "0123456789abcdef 0123"},
		{"--api-rate-limit", "60"}, {"--api-rate-limit", "0/10s"}, {"--api-rate-limit", "60/10ms"}, {"--api-rate-limit", "x/y"},
		{"--events-heartbeat", "500ms"}, {"--events-heartbeat", "1h"}, {"--events-heartbeat", "often"}} {
		if _, err := parseConfig(args, env(nil), io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

// TestDevMode is the flag matrix of development mode: it is on by default
// only on a loopback listener with no public URL or a plain http loopback
// one; an https public URL, a listener beyond loopback or --dev=false turn
// it off; --dev turns it on whatever else is set.
func TestDevMode(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		dev  bool
	}{
		{"defaults", nil, nil, true},
		{"auto", []string{"--dev=auto"}, nil, true},
		{"https public URL", []string{"--public-url", "https://phone.example.com"}, nil, false},
		{"https public URL from env", nil, map[string]string{"WIDGET_PUBLIC_URL": "https://phone.example.com"}, false},
		{"https public URL on localhost", []string{"--public-url", "https://localhost:8443"}, nil, false},
		{"--dev with https public URL", []string{"--dev", "--public-url", "https://phone.example.com"}, nil, true},
		{"--dev=true with https public URL", []string{"--dev=true", "--public-url", "https://phone.example.com"}, nil, true},
		{"WIDGET_DEV=true with https public URL", nil, map[string]string{"WIDGET_DEV": "true", "WIDGET_PUBLIC_URL": "https://phone.example.com"}, true},
		{"http public URL beyond loopback", []string{"--public-url", "http://phone.example.com"}, nil, false},
		{"http public URL on a private address", []string{"--public-url", "http://192.168.1.5:8080"}, nil, false},
		{"http public URL looking like localhost", []string{"--public-url", "http://localhost.example.com:8080"}, nil, false},
		{"http public URL on localhost", []string{"--public-url", "http://localhost:8080"}, nil, true},
		{"http public URL on 127.0.0.1", []string{"--public-url", "http://127.0.0.1:8080"}, nil, true},
		{"http public URL on [::1]", []string{"--listen", "[::1]:8080", "--public-url", "http://[::1]:8080"}, nil, true},
		{"listen on every interface", []string{"--listen", "0.0.0.0:8080"}, nil, false},
		{"listen on every interface, no host", []string{"--listen", ":8080"}, nil, false},
		{"listen on every IPv6 interface", []string{"--listen", "[::]:8080"}, nil, false},
		{"listen on a private address", []string{"--listen", "10.0.0.5:8080"}, nil, false},
		{"listen on a host name", []string{"--listen", "phone.internal:8080"}, nil, false},
		{"listen on localhost", []string{"--listen", "localhost:8080"}, nil, true},
		{"listen on every interface with --dev", []string{"--dev", "--listen", "0.0.0.0:8080"}, nil, true},
		{"--dev=false", []string{"--dev=false"}, nil, false},
		{"WIDGET_DEV=false", nil, map[string]string{"WIDGET_DEV": "false"}, false},
		{"WIDGET_DEV=0", nil, map[string]string{"WIDGET_DEV": "0"}, false},
		{"--dev=false over WIDGET_DEV=true", []string{"--dev=false"}, map[string]string{"WIDGET_DEV": "true"}, false},
		{"--dev=auto over WIDGET_DEV=true with https", []string{"--dev=auto", "--public-url", "https://phone.example.com"}, map[string]string{"WIDGET_DEV": "true"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseConfig(tt.args, env(tt.env), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Dev != tt.dev {
				t.Fatalf("Dev = %t, want %t", cfg.Dev, tt.dev)
			}
		})
	}
	for _, bad := range []struct {
		args []string
		env  map[string]string
	}{
		{[]string{"--dev=maybe"}, nil},
		{nil, map[string]string{"WIDGET_DEV": "sometimes"}},
		{[]string{"--media-listen", "nope"}, nil},
		{[]string{"--media-listen", "::1"}, nil},
		{[]string{"--media-listen", "127.0.0.1:5000"}, nil},
		{[]string{"--trusted-proxies", "10.0.0.0/33"}, nil},
		{[]string{"--trusted-proxies", "proxy.internal"}, nil},
		{nil, map[string]string{"WIDGET_TRUSTED_PROXIES": "127.0.0.1, nope"}},
	} {
		if _, err := parseConfig(bad.args, env(bad.env), io.Discard); err == nil {
			t.Errorf("%v %v accepted", bad.args, bad.env)
		}
	}
	for _, tt := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{nil, nil, ""},
		{[]string{"--media-listen", "10.0.0.5"}, nil, "10.0.0.5"},
		{nil, map[string]string{"WIDGET_MEDIA_LISTEN": "0.0.0.0"}, "0.0.0.0"},
	} {
		if cfg, err := parseConfig(tt.args, env(tt.env), io.Discard); err != nil || cfg.MediaListen != tt.want {
			t.Errorf("%v %v: media listen %q, %v; want %q", tt.args, tt.env, cfg.MediaListen, err, tt.want)
		}
	}
}

func TestTrustedProxies(t *testing.T) {
	cfg, err := parseConfig(nil, env(nil), io.Discard)
	if err != nil || cfg.TrustedProxies != nil {
		t.Fatalf("default trusted proxies %v, %v; want none", cfg.TrustedProxies, err)
	}
	cfg, err = parseConfig([]string{"--trusted-proxies", "127.0.0.1, 10.0.0.0/8,fd00::/8"}, env(nil), io.Discard)
	if err != nil || strings.Join(cfg.TrustedProxies, " ") != "127.0.0.1 10.0.0.0/8 fd00::/8" {
		t.Fatalf("--trusted-proxies: %v, %v", cfg.TrustedProxies, err)
	}
	cfg, err = parseConfig(nil, env(map[string]string{"WIDGET_TRUSTED_PROXIES": "192.0.2.10"}), io.Discard)
	if err != nil || strings.Join(cfg.TrustedProxies, " ") != "192.0.2.10" {
		t.Fatalf("WIDGET_TRUSTED_PROXIES: %v, %v", cfg.TrustedProxies, err)
	}
}

func TestAppsCommand(t *testing.T) {
	ctx := context.Background()
	vars := env(map[string]string{"WIDGET_DATA_DIR": t.TempDir()})
	var out bytes.Buffer
	runOK := func(args ...string) string {
		t.Helper()
		out.Reset()
		if err := run(ctx, args, vars, nil, &out, io.Discard); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return out.String()
	}
	runOK("apps", "add", "--client-id", "crm", "--name", "Acme CRM", "--origin", "https://crm.example.com", "--origin", "http://127.0.0.1:3000", "--no-sms", "--dev")
	list := runOK("apps", "list")
	for _, want := range []string{"crm", "Acme CRM", "https://crm.example.com http://127.0.0.1:3000", "call=true sms=false"} {
		if !strings.Contains(list, want) {
			t.Errorf("list lacks %q:\n%s", want, list)
		}
	}
	for _, bad := range [][]string{
		{"apps", "add", "--client-id", "x"},
		{"apps", "add", "--client-id", "x", "--origin", "https://a.test/path"},
		{"apps", "add", "--client-id", "x", "--origin", "http://127.0.0.1:3000"},
		{"apps", "add", "--client-id", "x", "--origin", "http://localhost:3000"},
		{"apps", "add", "--client-id", "x", "--origin", "https://a.test", "--redirect-uri", "http://localhost:3000/cb"},
		{"apps", "add", "--client-id", "x", "--origin", "http://crm.example.com", "--dev"},
		{"apps", "add", "--client-id", "x", "--origin", "https://a.test", "--redirect-uri", "http://a.test/cb", "--dev"},
		{"apps", "remove", "--client-id", "nope"},
		{"apps", "frobnicate"},
		{"apps"},
	} {
		if err := run(ctx, bad, vars, nil, io.Discard, io.Discard); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	devVars := env(map[string]string{"WIDGET_DATA_DIR": t.TempDir(), "WIDGET_DEV": "true"})
	if err := run(ctx, []string{"apps", "add", "--client-id", "local", "--origin", "http://localhost:3000"}, devVars, nil, io.Discard, io.Discard); err != nil {
		t.Errorf("WIDGET_DEV=true: an http loopback origin refused: %v", err)
	}
	runOK("apps", "remove", "--client-id", "crm")
	if list := runOK("apps", "list"); strings.Contains(list, "crm") {
		t.Errorf("removed app still listed:\n%s", list)
	}
}
