package siptest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Baresip is a run of Debian's baresip for a test: a softphone on
// 127.0.0.1 with G.711, its audio from and to files.
type Baresip struct {
	// Port is its SIP port (sip_listen).
	Port int
	// Voice is the WAV file it speaks (aufile), as WriteWAV writes it;
	// it falls silent at the file's end.
	Voice string
	// Record is a directory where it writes what it hears (sndfile, a
	// "dump-<time>-dec.wav" per call); it records nothing when empty.
	Record string
	// Accounts is its accounts file: a line per account, e.g.
	// "<sip:101-desk@127.0.0.1:5060;transport=udp>;auth_pass=…;answermode=auto".
	Accounts string
}

// Start writes baresip's configuration into a temporary directory and runs
// it from there until the test ends; its output goes into the test's log if
// the test fails. Without baresip the test is skipped, except in CI, where
// it fails.
func (b Baresip) Start(t testing.TB) *Process {
	t.Helper()
	bin := NeedBaresip(t)
	config := []string{
		"poll_method poll",
		"net_interface 127.0.0.1", // a test's network namespace has loopback only
		fmt.Sprintf("sip_listen 127.0.0.1:%d", b.Port),
		"audio_source aufile," + b.Voice,
		"audio_player aubridge,sink",
		"audio_alert aubridge,sink",
	}
	if b.Record != "" {
		config = append(config, "snd_path "+b.Record)
	}
	config = append(config,
		"module_path /usr/lib/baresip/modules",
		"module g711.so",
		"module aufile.so",
		"module aubridge.so")
	if b.Record != "" {
		config = append(config, "module sndfile.so")
	}
	config = append(config, "module_tmp account.so", "module_app menu.so", "")
	dir := t.TempDir()
	files := map[string]string{"config": strings.Join(config, "\n"), "accounts": b.Accounts, "contacts": ""}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return start(t, bin, dir, []string{"-f", dir}, true)
}
