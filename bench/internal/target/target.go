// Package target starts the widget server the load tools measure, or points
// at one already running, and seeds its users with the operator commands
// (widget-server accounts add / extensions add --password-stdin), as an
// operator would. It only ever binds and reaches loopback addresses.
//
// It must not reach into the server's internals except in embedded mode,
// which runs server.Run in the tool's own process so that -cpuprofile sees
// the server's code.
package target

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/callbridge/widget-server/bench/internal/bounded"
	"github.com/callbridge/widget-server/internal/server"
)

// Config says which server to measure.
type Config struct {
	// URL of a running server's widget origin (http://localhost:PORT); empty
	// starts one. DemoURL is its demo page's origin (the widget's host).
	URL, DemoURL string
	// DataDir is the server's data directory: where the operator commands
	// seed users. Empty with no URL: a fresh temporary directory.
	DataDir string
	// Database is the server's PostgreSQL URL (--database), which the
	// operator commands that seed users are given too; empty: the SQLite
	// database of the data directory.
	Database string
	// Binary is a built widget-server; empty builds ./cmd/widget-server.
	Binary string
	// Embed runs the server in this process (for -cpuprofile) instead of as
	// a child process.
	Embed bool
	// LogFile receives the server's log; empty discards it.
	LogFile string
	// Args are extra server flags (e.g. --ring-timeout 60s).
	Args []string
	// Caps are the server's caps the tool's load needs raised.
	Caps Caps
}

// Caps are the server's caps on what one widget session, device and
// extension may use (docs/configuration.md) that a tool's load would cross
// at their defaults: a tool holds thousands of event streams in one session,
// or churns through devices faster than they are forgotten, or sends more
// requests than a person does. A zero field keeps the server's default, so
// the caps a load does not cross keep their defaults.
type Caps struct {
	StreamsPerSession int // --max-streams-per-session
	DevicesPerSession int // --max-devices-per-session
	CallsPerDevice    int // --max-calls-per-device
	CallsPerExtension int // --max-calls-per-extension
	WidgetRequests    int // --widget-rate-limit, per 10 s and session
	SMS               int // --sms-rate-limit, per minute and extension
}

// Raised is what a tool sets a cap to when its load would cross it: the
// highest value the server accepts.
const Raised = 1_000_000

// Flags are the server flags that set the caps.
func (c Caps) Flags() []string {
	var out []string
	add := func(flag string, v int, unit string) {
		if v > 0 {
			out = append(out, flag, fmt.Sprint(v)+unit)
		}
	}
	add("--max-streams-per-session", c.StreamsPerSession, "")
	add("--max-devices-per-session", c.DevicesPerSession, "")
	add("--max-calls-per-device", c.CallsPerDevice, "")
	add("--max-calls-per-extension", c.CallsPerExtension, "")
	add("--widget-rate-limit", c.WidgetRequests, "/10s")
	add("--sms-rate-limit", c.SMS, "/1m")
	return out
}

// limits are the caps as an embedded server's configuration.
func (c Caps) limits() server.Limits {
	l := server.Limits{
		StreamsPerSession: c.StreamsPerSession, DevicesPerSession: c.DevicesPerSession,
		CallsPerDevice: c.CallsPerDevice, CallsPerExtension: c.CallsPerExtension,
		WidgetRequests: c.WidgetRequests, SMS: c.SMS,
	}
	if l.WidgetRequests > 0 {
		l.WidgetWindow = 10 * time.Second
	}
	if l.SMS > 0 {
		l.SMSWindow = time.Minute
	}
	return l
}

// AddFlags registers the flags every load tool has for choosing its
// server: -url, -demo-url, -data-dir, -server-bin and -server-log.
func (c *Config) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.URL, "url", "", "widget origin of a running server (loopback); default: start one")
	fs.StringVar(&c.DemoURL, "demo-url", "", "its demo page origin (with -url)")
	fs.StringVar(&c.DataDir, "data-dir", "", "the server's data directory, where users are seeded (default: a fresh temporary one)")
	fs.StringVar(&c.Binary, "server-bin", "", "a built widget-server (default: go build ./cmd/widget-server)")
	fs.StringVar(&c.LogFile, "server-log", "", "file for the server's log")
}

// Server is a running server under test.
type Server struct {
	URL, DemoURL string
	DataDir      string
	// PID is the server's process id: this process's own when embedded,
	// 0 when the tool points at a server it did not start.
	PID      int
	Embedded bool

	binary   string
	database string
	stop     func() error
	tmp      string
}

// Start starts (or finds) the server. Stop it with Close.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	bin := cfg.Binary
	tmp := ""
	if bin == "" {
		dir, err := os.MkdirTemp("", "callbridge-bench-")
		if err != nil {
			return nil, err
		}
		tmp = dir
		bin = filepath.Join(dir, "widget-server")
		if err := Build(ctx, "./cmd/widget-server", bin); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	s := &Server{binary: bin, tmp: tmp, DataDir: cfg.DataDir, database: cfg.Database}
	if cfg.URL != "" {
		if err := loopbackURL(cfg.URL); err != nil {
			return nil, err
		}
		if cfg.DemoURL == "" {
			return nil, errors.New("-demo-url is required with -url: the widget's host origin")
		}
		s.URL, s.DemoURL = strings.TrimSuffix(cfg.URL, "/"), strings.TrimSuffix(cfg.DemoURL, "/")
		s.stop = func() error { return nil }
		if f := cfg.Caps.Flags(); len(f) > 0 {
			fmt.Fprintf(os.Stderr, "note: this load needs the server at %s to run with %s, or it is turned away with 429\n",
				s.URL, strings.Join(f, " "))
		}
		return s, nil
	}
	if s.DataDir == "" {
		if s.tmp == "" {
			dir, err := os.MkdirTemp("", "callbridge-bench-")
			if err != nil {
				return nil, err
			}
			s.tmp = dir
		}
		s.DataDir = filepath.Join(s.tmp, "data")
	}
	var err error
	if cfg.Embed {
		err = s.startEmbedded(ctx, cfg)
	} else {
		err = s.startProcess(ctx, cfg)
	}
	if err != nil {
		s.cleanup()
		return nil, err
	}
	return s, nil
}

// Build compiles a package of this module (e.g. "./cmd/widget-server") to out.
func Build(ctx context.Context, pkg, out string) error {
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

func moduleRoot(ctx context.Context) (string, error) {
	b, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(b))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run the tool from inside the widget-server module")
	}
	return filepath.Dir(mod), nil
}

func loopbackURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("url %q: %w", raw, err)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("url %q: the load tools target loopback only", raw)
}

var serverArgs = []string{"--listen", "127.0.0.1:0", "--demo-listen", "127.0.0.1:0", "--media-port", "0", "--log-level", "warn"}

func (s *Server) startProcess(ctx context.Context, cfg Config) error {
	args := append(append([]string{}, serverArgs...), "--data-dir", s.DataDir)
	if cfg.Database != "" {
		args = append(args, "--database", cfg.Database)
	}
	args = append(args, cfg.Caps.Flags()...)
	args = append(args, cfg.Args...)
	cmd := exec.Command(s.binary, args...)
	cmd.Env = cleanEnv()
	var logw io.WriteCloser = nopCloser{io.Discard}
	if cfg.LogFile != "" {
		f, err := os.Create(cfg.LogFile)
		if err != nil {
			return err
		}
		logw = f
	}
	cmd.Stderr = logw
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start server: %w", err)
	}
	s.PID = cmd.Process.Pid
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	banner := make(chan [2]string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		var widget, demo string
		for sc.Scan() {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "Callbridge widget server: "); ok {
				widget = strings.TrimSpace(v)
			}
			if _, v, ok := strings.Cut(line, "Demo CRM page (open this): "); ok {
				demo = strings.TrimSuffix(strings.TrimSpace(v), "/")
				banner <- [2]string{widget, demo}
			}
		}
	}()
	select {
	case b := <-banner:
		s.URL, s.DemoURL = b[0], b[1]
	case err := <-done:
		logw.Close()
		return fmt.Errorf("server exited before it was ready: %v (see its log)", err)
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		logw.Close()
		return errors.New("server did not start in 30 s")
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		<-done
		logw.Close()
		return ctx.Err()
	}
	s.stop = func() error {
		defer logw.Close()
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-done:
			return err
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			return errors.New("server did not stop in 20 s; killed")
		}
	}
	return nil
}

// cleanEnv drops WIDGET_* variables so that only the flags configure the server.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WIDGET_") {
			env = append(env, kv)
		}
	}
	return env
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// ServerLabel is the pprof label key under which an embedded server's
// goroutines run ("side"="server"); the tool's own goroutines carry none.
const ServerLabel = "side"

func (s *Server) startEmbedded(ctx context.Context, cfg Config) error {
	var logw io.Writer = io.Discard
	var f *os.File
	if cfg.LogFile != "" {
		var err error
		if f, err = os.Create(cfg.LogFile); err != nil {
			return err
		}
		logw = f
	}
	ready := make(chan server.Addrs, 1)
	done := make(chan error, 1)
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	scfg := server.Config{
		Listen: "127.0.0.1:0", DemoListen: "127.0.0.1:0", DataDir: s.DataDir, Database: cfg.Database, CountryCode: "US", Dev: true, Limits: cfg.Caps.limits(),
		Logger: slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Ready:  func(a server.Addrs) { ready <- a },
	}
	// Goroutines inherit labels: everything the server starts is tagged.
	go pprof.Do(runCtx, pprof.Labels(ServerLabel, "server"), func(ctx context.Context) {
		done <- server.Run(ctx, scfg)
	})
	select {
	case a := <-ready:
		s.URL, s.DemoURL = a.WidgetURL, a.DemoURL
	case err := <-done:
		cancel()
		return fmt.Errorf("server: %w", err)
	case <-time.After(30 * time.Second):
		cancel()
		return errors.New("server did not start in 30 s")
	}
	s.PID = os.Getpid()
	s.Embedded = true
	var once sync.Once
	s.stop = func() error {
		var err error
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				err = errors.New("embedded server did not stop in 20 s")
			}
			if f != nil {
				f.Close()
			}
		})
		return err
	}
	return nil
}

// Close stops a server this package started and removes its temporary files.
func (s *Server) Close() error {
	var err error
	if s.stop != nil {
		err = s.stop()
	}
	s.cleanup()
	return err
}

func (s *Server) cleanup() {
	if s.tmp != "" {
		os.RemoveAll(s.tmp)
	}
}

// User is one seeded extension.
type User struct {
	Number   string // extension number
	Email    string
	Password string
}

// LoadAccount is the account the load tools seed their users into.
const LoadAccount = "+14155550100"

// Seed makes sure the users exist, creating the load account and the
// missing extensions with the operator commands: all at once with
// extensions import where the server has it and they share a password,
// else parallel extensions add commands at a time (each hashes a password
// with bcrypt).
func (s *Server) Seed(ctx context.Context, users []User, parallel int) error {
	if s.DataDir == "" {
		return errors.New("seeding users needs the server's data directory (-data-dir)")
	}
	existing, err := s.run(ctx, "", "extensions", "list", "--main-number", LoadAccount)
	if err != nil {
		if _, err := s.run(ctx, "", "accounts", "add", "--company", "Load Test", "--main-number", LoadAccount); err != nil {
			return err
		}
		existing = ""
	}
	have := map[string]bool{}
	for line := range strings.Lines(existing) {
		if f := strings.Fields(line); len(f) > 1 {
			have[f[1]] = true
		}
	}
	var missing []User
	for _, u := range users {
		if !have[u.Number] {
			missing = append(missing, u)
		}
	}
	if len(missing) > 1 {
		if done, err := s.importUsers(ctx, missing); done || err != nil {
			return err
		}
	}
	errc := make(chan error, len(missing))
	bounded.Do(len(missing), parallel, func(i int) {
		u := missing[i]
		_, err := s.run(ctx, u.Password+"\n", "extensions", "add", "--main-number", LoadAccount,
			"--number", u.Number, "--name", "Load "+u.Number, "--email", u.Email, "--password-stdin")
		errc <- err
	})
	close(errc)
	for err := range errc {
		if err != nil {
			return err
		}
	}
	return nil
}

// importUsers creates users with one operator command (extensions
// import), which hashes their one password once: seconds for ten thousand
// users, where a command a user takes minutes. It does nothing and
// reports false when the users do not share a password or the server is
// from before that command.
func (s *Server) importUsers(ctx context.Context, users []User) (bool, error) {
	var in strings.Builder
	in.WriteString(users[0].Password + "\n")
	for _, u := range users {
		if u.Password != users[0].Password {
			return false, nil
		}
		fmt.Fprintf(&in, "%s,Load %s,%s\n", u.Number, u.Number, u.Email)
	}
	_, err := s.run(ctx, in.String(), "extensions", "import", "--main-number", LoadAccount, "--password-stdin")
	if err != nil && strings.Contains(err.Error(), "unknown subcommand") {
		return false, nil
	}
	return err == nil, err
}

// run runs an operator command against the server's data directory and
// database.
func (s *Server) run(ctx context.Context, stdin string, args ...string) (string, error) {
	if s.database != "" {
		args = append(args[:len(args):len(args)], "--database", s.database)
	}
	return Operator(ctx, s.binary, s.DataDir, stdin, args...)
}

// Operator runs the operator command args (such as "trunks", "add", …) of
// the widget-server bin against dataDir, with stdin as its input and none
// of the WIDGET_* variables of this environment, and returns its output.
// A tool runs it itself for what must be in the data directory before the
// server starts.
func Operator(ctx context.Context, bin, dataDir, stdin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, append(args, "--data-dir", dataDir)...)
	cmd.Env = cleanEnv()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("widget-server %s: %v: %s", strings.Join(args[:2], " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// LoadUsers names count users from first on: extension numbers first,
// first+1, …, emails l<number>@load.test, one shared password.
func LoadUsers(first, count int) []User {
	out := make([]User, count)
	for i := range out {
		n := fmt.Sprint(first + i)
		out[i] = User{Number: n, Email: "l" + n + "@load.test", Password: "load-" + "test"}
	}
	return out
}
