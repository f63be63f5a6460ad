package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/sip"
	"github.com/callbridge/widget-server/internal/store"
)

func TestTrunksCommand(t *testing.T) {
	ctx := context.Background()
	dataDir := filepath.Join(t.TempDir(), "data")
	vars := env(map[string]string{"WIDGET_DATA_DIR": dataDir})
	var out, errOut bytes.Buffer
	runOK := func(stdin string, args ...string) string {
		t.Helper()
		out.Reset()
		if err := run(ctx, args, vars, strings.NewReader(stdin), &out, &errOut); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return out.String()
	}
	added := runOK("s3cret-stdin\nignored\n", "trunks", "add", "--name", "carrier", "--host", "sip.carrier.example:5080",
		"--transport", "TCP", "--outbound-proxy", "proxy.carrier.example", "--username", "trunkuser",
		"--auth-username", "authuser", "--realm", "carrier.example", "--password-stdin", "--register", "--register-expiry", "30m",
		"--from-domain", "carrier.example", "--caller-id", "pai", "--allowed-source", "198.51.100.0/24",
		"--allowed-source", "203.0.113.5, 2001:db8::1", "--keep-alive", "30s", "--prefix", "+1 (415)", "--prefix", "+44",
		"--deny-prefix", "+1-900", "--priority", "5")
	if !strings.Contains(added, "trunk carrier saved") || !strings.Contains(added, "next start") {
		t.Errorf("add says:\n%s", added)
	}
	pwFile := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(pwFile, []byte("s3cret-file\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	runOK("", "trunks", "add", "--name", "backup", "--host", "203.0.113.9", "--username", "b", "--password-file", pwFile)
	runOK("", "trunks", "add", "--name", "peer", "--host", "198.51.100.7", "--priority", "1")

	db, err := store.Open(ctx, dataDir)
	if err != nil {
		t.Fatal(err)
	}
	kept, err := db.Trunks(ctx)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	want := []sip.TrunkConfig{
		{Name: "backup", Host: "203.0.113.9", Transport: sip.UDP, Username: "b", Password: "s3cret-file", CallerID: sip.CallerIDFrom},
		{Name: "peer", Host: "198.51.100.7", Transport: sip.UDP, CallerID: sip.CallerIDFrom, Priority: 1},
		{Name: "carrier", Host: "sip.carrier.example:5080", Transport: sip.TCP, OutboundProxy: "proxy.carrier.example",
			Username: "trunkuser", Password: "s3cret-stdin", AuthUsername: "authuser", Realm: "carrier.example",
			Register: true, RegisterExpiry: 30 * time.Minute, FromDomain: "carrier.example", CallerID: sip.CallerIDPAI,
			AllowedSources: []string{"198.51.100.0/24", "203.0.113.5", "2001:db8::1"}, KeepAlive: 30 * time.Second,
			Prefixes: []string{"+1415", "+44"}, DenyPrefixes: []string{"+1900"}, Priority: 5},
	}
	if !reflect.DeepEqual(kept, want) {
		t.Fatalf("kept %#v\nwant %#v", kept, want)
	}

	list := runOK("", "trunks", "list")
	for _, re := range []string{
		`(?m)^NAME\s+PRIORITY\s+HOST\s+TRANSPORT`,
		`(?m)^backup\s+0\s+203\.0\.113\.9\s+udp\s+-\s+no\s+b\s+-\s+-\s+set\s+-\s+from\s+-\s+-\s+-\s+-\s*$`,
		`(?m)^peer\s+1\s+198\.51\.100\.7\s+udp\s+-\s+no\s+-\s+-\s+-\s+-\s+`,
		`(?m)^carrier\s+5\s+sip\.carrier\.example:5080\s+tcp\s+proxy\.carrier\.example\s+yes \(30m0s\)\s+trunkuser\s+authuser\s+carrier\.example\s+set\s+carrier\.example\s+pai\s+30s\s+198\.51\.100\.0/24 203\.0\.113\.5 2001:db8::1\s+\+1415 \+44\s+\+1900\s*$`,
	} {
		if !regexp.MustCompile(re).MatchString(list) {
			t.Errorf("list does not match %s:\n%s", re, list)
		}
	}
	if strings.Contains(list, "s3cret") || strings.Contains(errOut.String(), "s3cret") {
		t.Errorf("a password was printed:\n%s\n%s", list, errOut.String())
	}

	runOK("", "trunks", "remove", "--name", "backup")
	if list := runOK("", "trunks", "list"); strings.Contains(list, "backup") {
		t.Errorf("removed trunk still listed:\n%s", list)
	}

	missing := filepath.Join(t.TempDir(), "nope")
	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, []byte("\nsecond line\n"), 0o600)
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string // in the error
	}{
		{"no subcommand", "", []string{"trunks"}, "want a subcommand"},
		{"unknown subcommand", "", []string{"trunks", "show"}, "unknown subcommand"},
		{"password as a flag", "", []string{"trunks", "add", "--name", "x", "--host", "h.example", "--password", "pw"}, "never a flag"},
		{"password as a flag with =", "", []string{"trunks", "add", "--name", "x", "--host", "h.example", "-password=pw"}, "never a flag"},
		{"no name", "", []string{"trunks", "add", "--host", "h.example"}, "--name is required"},
		{"no host", "", []string{"trunks", "add", "--name", "x"}, "--host is required"},
		{"bad name", "", []string{"trunks", "add", "--name", "X Y", "--host", "h.example"}, "trunk name"},
		{"bad host", "", []string{"trunks", "add", "--name", "x", "--host", "h example"}, "host"},
		{"bad transport", "", []string{"trunks", "add", "--name", "x", "--host", "h.example", "--transport", "sctp"}, "transport"},
		{"bad caller id", "", []string{"trunks", "add", "--name", "x", "--host", "h.example", "--caller-id", "rpid"}, "caller id"},
		{"register without password", "", []string{"trunks", "add", "--name", "x", "--host", "h.example", "--username", "u", "--register"}, "--register needs the password"},
		{"register without username", "pw\n", []string{"trunks", "add", "--name", "x", "--host", "h.example", "--register", "--password-stdin"}, "username and a password"},
		{"two password sources", "pw\n", []string{"trunks", "add", "--name", "x", "--host", "h.example", "--username", "u", "--password-stdin", "--password-file", pwFile}, "once"},
		{"empty stdin", "", []string{"trunks", "add", "--name", "x", "--host", "h.example", "--username", "u", "--password-stdin"}, "no input"},
		{"missing password file", "", []string{"trunks", "add", "--name", "x", "--host", "h.example", "--username", "u", "--password-file", missing}, "password file"},
		{"empty password file", "", []string{"trunks", "add", "--name", "x", "--host", "h.example", "--username", "u", "--password-file", empty}, "first line is empty"},
		{"bad expiry", "pw\n", []string{"trunks", "add", "--name", "x", "--host", "h.example", "--username", "u", "--register", "--password-stdin", "--register-expiry", "soon"}, "--register-expiry"},
		{"short expiry", "pw\n", []string{"trunks", "add", "--name", "x", "--host", "h.example", "--username", "u", "--register", "--password-stdin", "--register-expiry", "10s"}, "registration expiry"},
		{"expiry without register", "", []string{"trunks", "add", "--name", "x", "--host", "h.example", "--register-expiry", "1h"}, "--register"},
		{"bad keep-alive", "", []string{"trunks", "add", "--name", "x", "--host", "h.example", "--keep-alive", "often"}, "--keep-alive"},
		{"short keep-alive", "", []string{"trunks", "add", "--name", "x", "--host", "h.example", "--keep-alive", "10ms"}, "keep-alive"},
		{"bad source", "", []string{"trunks", "add", "--name", "x", "--host", "h.example", "--allowed-source", "10.0.0.0/33"}, "allowed sources"},
		{"national prefix", "", []string{"trunks", "add", "--name", "x", "--host", "h.example", "--prefix", "0044"}, "prefix"},
		{"bad deny prefix", "", []string{"trunks", "add", "--name", "x", "--host", "h.example", "--deny-prefix", "900"}, "deny prefix"},
		{"bad priority", "", []string{"trunks", "add", "--name", "x", "--host", "h.example", "--priority", "-3"}, "priority"},
		{"taken name", "", []string{"trunks", "add", "--name", "carrier", "--host", "h.example"}, "remove it first"},
		{"stray argument", "", []string{"trunks", "add", "--name", "x", "--host", "h.example", "extra"}, "unexpected argument"},
		{"remove without name", "", []string{"trunks", "remove"}, "--name is required"},
		{"remove unknown", "", []string{"trunks", "remove", "--name", "nope"}, "no such trunk"},
		{"list with a name", "", []string{"trunks", "list", "--name", "x"}, "not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(ctx, tt.args, vars, strings.NewReader(tt.stdin), io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("%v: %v; want an error saying %q", tt.args, err, tt.want)
			}
			if strings.Contains(err.Error(), "pw") && strings.Contains(tt.name, "password as a flag") {
				t.Errorf("the error repeats the password: %v", err)
			}
		})
	}
	if list := runOK("", "trunks", "list"); strings.Count(list, "\n") != 3 {
		t.Errorf("refused commands changed the trunks:\n%s", list)
	}
}

func TestSIPAndRTPFlags(t *testing.T) {
	cfg, err := parseConfig(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SIPListen != nil || cfg.SIPPublicHost != "" || cfg.RTPPorts.String() != "20000-20999" || cfg.RTPAdvertise != "" {
		t.Fatalf("defaults: sip %v %q, rtp %s %q", cfg.SIPListen, cfg.SIPPublicHost, cfg.RTPPorts, cfg.RTPAdvertise)
	}
	cfg, err = parseConfig([]string{"--sip-listen", "0.0.0.0:5060", "--sip-public-host", "203.0.113.10",
		"--sip-tls-listen", "0.0.0.0:5061", "--sip-tls-cert", "/etc/sip/cert.pem", "--sip-tls-key", "/etc/sip/key.pem",
		"--rtp-ports", "30000-30099", "--rtp-advertise", "203.0.113.10"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := []sip.Listen{{Transport: sip.UDP, Addr: "0.0.0.0:5060"}, {Transport: sip.TCP, Addr: "0.0.0.0:5060"},
		{Transport: sip.TLS, Addr: "0.0.0.0:5061", CertFile: "/etc/sip/cert.pem", KeyFile: "/etc/sip/key.pem"}}
	if !reflect.DeepEqual(cfg.SIPListen, want) || cfg.SIPPublicHost != "203.0.113.10" ||
		cfg.RTPPorts.String() != "30000-30099" || cfg.RTPAdvertise != "203.0.113.10" {
		t.Fatalf("flags: sip %+v %q, rtp %s %q", cfg.SIPListen, cfg.SIPPublicHost, cfg.RTPPorts, cfg.RTPAdvertise)
	}
	cfg, err = parseConfig(nil, env(map[string]string{"WIDGET_SIP_LISTEN": "udp:10.0.0.5:5070, TCP:[::]:5080", "WIDGET_RTP_PORTS": "40000-40001"}), io.Discard)
	want = []sip.Listen{{Transport: sip.UDP, Addr: "10.0.0.5:5070"}, {Transport: sip.TCP, Addr: "[::]:5080"}}
	if err != nil || !reflect.DeepEqual(cfg.SIPListen, want) || cfg.RTPPorts.String() != "40000-40001" {
		t.Fatalf("from env: %+v %s, %v", cfg.SIPListen, cfg.RTPPorts, err)
	}
	for _, args := range [][]string{
		{"--sip-listen", "5060"},
		{"--sip-listen", "udp:nope"},
		{"--sip-listen", "0.0.0.0:5060,udp:127.0.0.1:5070"},
		{"--sip-listen", "tls:0.0.0.0:5061"},
		{"--sip-tls-listen", "0.0.0.0:5061"},
		{"--sip-tls-listen", "0.0.0.0:5061", "--sip-tls-cert", "c.pem"},
		{"--sip-tls-listen", "5061", "--sip-tls-cert", "c.pem", "--sip-tls-key", "k.pem"},
		{"--sip-tls-cert", "c.pem", "--sip-tls-key", "k.pem"},
		{"--rtp-ports", "20000"},
		{"--rtp-ports", "20001-20001"},
		{"--rtp-ports", "0-100"},
		{"--rtp-ports", "30000-20000"},
		{"--rtp-advertise", "phone.example.com"},
		{"--rtp-advertise", "0.0.0.0"},
		{"--rtp-advertise", "2001:db8::1"},
	} {
		if _, err := parseConfig(args, env(nil), io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
