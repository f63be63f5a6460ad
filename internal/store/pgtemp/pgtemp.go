// Package pgtemp runs a throwaway PostgreSQL cluster from the installed
// PostgreSQL (initdb on PATH, else the newest /usr/lib/postgresql/*/bin): a
// temporary directory, trust authentication, a Unix socket only (it works
// in a network namespace with nothing but loopback), no fsync, its data
// thrown away when it stops. Run as root, the cluster runs as the system
// user postgres. The tests' schemas (internal/store/pgtest) and the load
// tools' databases come from it.
//
// It must import no package of this module.
package pgtemp

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// startTimeout bounds initdb and the server's start: a loaded two-core
// machine under the race detector can take many seconds.
const startTimeout = 3 * time.Minute

// stopTimeout bounds the server's immediate shutdown before it is killed.
const stopTimeout = time.Minute

// maxSocketPath is the longest Unix socket path the kernel accepts
// (sun_path, 108 bytes with its terminating zero).
const maxSocketPath = 107

// Cluster is a throwaway PostgreSQL cluster: its data directory and its
// socket live in a temporary directory, removed when it stops.
type Cluster struct {
	dir  string // owns data/, the socket and the log
	port int    // only names the socket: the cluster listens on no TCP port
	// Version is the cluster's PostgreSQL version (PG_VERSION); InitDB
	// how long initdb took.
	Version string
	InitDB  time.Duration
	proc    *exec.Cmd
	exited  chan struct{} // closed when proc has exited
	waitErr error         // proc's exit, once exited is closed
}

// URL is the connection string of the cluster's postgres database as its
// superuser.
func (c *Cluster) URL() string {
	q := url.Values{}
	q.Set("host", c.dir)
	q.Set("port", strconv.Itoa(c.port))
	q.Set("sslmode", "disable")
	return "postgres://postgres@/postgres?" + q.Encode()
}

// Start runs initdb into a new temporary directory and starts the server
// on a Unix socket there, returning once it accepts connections. The
// server is a child of this process: Stop it.
func Start() (*Cluster, error) {
	bin, err := findBinDir()
	if err != nil {
		return nil, err
	}
	cred, err := runAs()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "callbridge-pg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, port: 20000 + rand.IntN(40000), exited: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(dir)
		}
	}()
	if n := len(filepath.Join(dir, ".s.PGSQL."+strconv.Itoa(c.port)+".lock")); n > maxSocketPath {
		return nil, fmt.Errorf("the temporary directory %s is too deep for a Unix socket (%d bytes): set TMPDIR to a shorter one", dir, n)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()

	begin := time.Now()
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
		"-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	initdb.Dir = dir
	initdb.Env = append(os.Environ(), "LC_ALL=C")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	c.InitDB = time.Since(begin)
	if v, err := os.ReadFile(filepath.Join(data, "PG_VERSION")); err == nil {
		c.Version = strings.TrimSpace(string(v))
	}

	logPath := filepath.Join(dir, "postgres.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	// The server is a child of this process, not a daemon: should the
	// process die without stopping it (a test binary killed by its
	// -timeout), the kernel kills the server too.
	c.proc = exec.Command(filepath.Join(bin, "postgres"),
		"-D", data,
		"-k", dir,
		"-p", strconv.Itoa(c.port),
		"-c", "listen_addresses=",
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
	)
	c.proc.Dir = dir
	c.proc.Env = append(os.Environ(), "LC_ALL=C")
	c.proc.Stdout = logFile
	c.proc.Stderr = logFile
	c.proc.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := c.proc.Start(); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	go func() {
		c.waitErr = c.proc.Wait()
		close(c.exited)
	}()

	if err := c.waitReady(ctx); err != nil {
		c.kill()
		log, _ := os.ReadFile(logPath)
		return nil, fmt.Errorf("postgres did not start: %w\n%s", err, log)
	}
	ok = true
	return c, nil
}

// waitReady polls the server with real connections until one succeeds, the
// server exits or ctx ends.
func (c *Cluster) waitReady(ctx context.Context) error {
	delay := 10 * time.Millisecond
	for {
		conn, err := pgx.Connect(ctx, c.URL())
		if err == nil {
			return conn.Close(ctx)
		}
		select {
		case <-c.exited:
			return fmt.Errorf("it exited: %v", c.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-time.After(delay):
		}
		delay = min(2*delay, 200*time.Millisecond)
	}
}

// Stop shuts the server down at once (SIGQUIT: pg_ctl's immediate mode; its
// data is thrown away) and removes its directory.
func (c *Cluster) Stop() error {
	err := c.proc.Process.Signal(syscall.SIGQUIT)
	if err == nil {
		select {
		case <-c.exited:
		case <-time.After(stopTimeout):
			err = errors.New("postgres did not stop; killed")
			c.kill()
		}
	} else {
		c.kill()
	}
	if rmErr := os.RemoveAll(c.dir); rmErr != nil && err == nil {
		err = rmErr
	}
	return err
}

// kill kills the server's process group (the postmaster and its backends)
// and waits for the postmaster.
func (c *Cluster) kill() {
	syscall.Kill(-c.proc.Process.Pid, syscall.SIGKILL)
	<-c.exited
}

// findBinDir returns the directory of PostgreSQL's programs: initdb's on
// PATH, else the newest version's under /usr/lib/postgresql.
func findBinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		// A link on PATH (as /usr/local/bin/initdb may be) leads to the
		// directory that also holds postgres.
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		return filepath.Dir(p), nil
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(found) == 0 {
		return "", errors.New("no initdb on PATH nor in /usr/lib/postgresql/*/bin")
	}
	return filepath.Dir(newest(found)), nil
}

// newest returns the path of the newest version among
// /usr/lib/postgresql/<version>/bin/initdb paths, comparing versions as
// numbers (16 is newer than 9.6).
func newest(paths []string) string {
	version := func(p string) []int {
		var v []int
		for _, f := range strings.Split(filepath.Base(filepath.Dir(filepath.Dir(p))), ".") {
			n, _ := strconv.Atoi(f)
			v = append(v, n)
		}
		return v
	}
	return slices.MaxFunc(paths, func(a, b string) int { return slices.Compare(version(a), version(b)) })
}

// runAs returns the credentials the cluster runs with: none (this process's
// own) unless this process is root, whom initdb and postgres refuse; then
// the system user postgres, which Debian's package creates.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, PostgreSQL needs another user to run as: %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, err
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// PID is the process id of the cluster's postmaster; its backends are its
// children.
func (c *Cluster) PID() int { return c.proc.Process.Pid }
