package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/sip"
	"github.com/callbridge/widget-server/internal/store"
)

func TestPhonesCommand(t *testing.T) {
	ctx := context.Background()
	dataDir := filepath.Join(t.TempDir(), "data")
	vars := map[string]string{"WIDGET_DATA_DIR": dataDir}
	var out, errOut bytes.Buffer
	runOK := func(stdin string, args ...string) string {
		t.Helper()
		out.Reset()
		if err := run(ctx, args, env(vars), strings.NewReader(stdin), &out, &errOut); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return out.String()
	}
	runErr := func(stdin string, args ...string) string {
		t.Helper()
		out.Reset()
		err := run(ctx, args, env(vars), strings.NewReader(stdin), &out, &errOut)
		if err == nil {
			t.Fatalf("%v succeeded:\n%s", args, out.String())
		}
		return err.Error()
	}
	runOK("", "accounts", "add", "--company", "Acme", "--main-number", "+1 415 555 0100")
	runOK("ann password 1\n", "extensions", "add", "--main-number", "+14155550100", "--number", "101",
		"--name", "Ann", "--email", "ann@acme.test", "--password-stdin")
	runOK("bob password 1\n", "extensions", "add", "--main-number", "+14155550100", "--number", "102",
		"--name", "Bob", "--email", "bob@acme.test", "--password-stdin")
	runOK("", "extensions", "add", "--type", "department", "--main-number", "+14155550100", "--number", "200",
		"--name", "Sales", "--email", "sales@acme.test")

	// By email, the password on stdin; the settings name the dev registrar.
	added := runOK("desk-secret-phone-1\nignored\n", "phones", "add", "--extension", "Ann@acme.test",
		"--username", "101-desk", "--display-name", "Desk phone", "--password-stdin")
	for _, re := range []string{
		`phone 101-desk saved for extension 101 \(Ann, ann@acme\.test\)`,
		`registrar and outbound proxy\s+127\.0\.0\.1:5060 over udp\n\s+127\.0\.0\.1:5060 over tcp`,
		`username and auth username\s+101-desk`,
		`realm \(domain\)\s+callbridge`,
		`<sip:101-desk@127\.0\.0\.1:5060;transport=udp>;auth_pass=PASSWORD;regint=600`,
	} {
		if !regexp.MustCompile(re).MatchString(added) {
			t.Errorf("add does not match %s:\n%s", re, added)
		}
	}
	if strings.Contains(added, "desk-secret-phone-1") {
		t.Errorf("add prints the password:\n%s", added)
	}

	// By login, the password from a file, the server's SIP settings from
	// the environment.
	pwFile := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(pwFile, []byte("soft-secret-phone-2\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	vars["WIDGET_SIP_LISTEN"] = "udp:0.0.0.0:5070"
	vars["WIDGET_SIP_TLS_LISTEN"] = "0.0.0.0:5071"
	vars["WIDGET_SIP_REALM"] = "acme pbx"
	added = runOK("", "phones", "add", "--extension", "(415) 555-0100*102", "--username", "102.soft", "--password-file", pwFile)
	if !regexp.MustCompile(`SERVER-ADDRESS:5070 over udp\n\s+SERVER-ADDRESS:5071 over tls`).MatchString(added) ||
		!regexp.MustCompile(`realm \(domain\)\s+acme pbx\n`).MatchString(added) || !strings.Contains(added, "SERVER-ADDRESS: the server's address") {
		t.Errorf("add with listeners on every interface says:\n%s", added)
	}
	added = runOK("third-secret-phone\n", "phones", "add", "--extension", "+14155550100*102", "--username", "102-desk",
		"--password-stdin", "--sip-public-host", "pbx.acme.test", "--sip-realm", "callbridge")
	if !strings.Contains(added, "pbx.acme.test:5070 over udp") || strings.Contains(added, "SERVER-ADDRESS") {
		t.Errorf("add with a public host says:\n%s", added)
	}
	delete(vars, "WIDGET_SIP_LISTEN")
	delete(vars, "WIDGET_SIP_TLS_LISTEN")
	delete(vars, "WIDGET_SIP_REALM")

	// Only the HA1 of the password in the realm is kept.
	db, err := store.Open(ctx, dataDir)
	if err != nil {
		t.Fatal(err)
	}
	kept, err := db.SIPDevices(ctx)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(kept) != 3 {
		t.Fatalf("kept %+v", kept)
	}
	want := map[string][3]string{
		"101-desk": {sip.HA1("101-desk", "callbridge", "desk-secret-phone-1"), "callbridge", "Desk phone"},
		"102-desk": {sip.HA1("102-desk", "callbridge", "third-secret-phone"), "callbridge", ""},
		"102.soft": {sip.HA1("102.soft", "acme pbx", "soft-secret-phone-2"), "acme pbx", ""},
	}
	for _, d := range kept {
		if w := want[d.Username]; [3]string{d.HA1, d.Realm, d.DisplayName} != w {
			t.Errorf("kept %+v, want HA1, realm and name %v", d, w)
		}
	}

	list := runOK("", "phones", "list")
	for _, re := range []string{
		`(?m)^USERNAME\s+EXTENSION\s+EMAIL\s+DISPLAY NAME\s+REALM\s+CREATED$`,
		`(?m)^101-desk\s+101\s+ann@acme\.test\s+Desk phone\s+callbridge\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s*$`,
		`(?m)^102-desk\s+102\s+bob@acme\.test\s+-\s+callbridge\s+`,
		`(?m)^102\.soft\s+102\s+bob@acme\.test\s+-\s+acme pbx\s+`,
	} {
		if !regexp.MustCompile(re).MatchString(list) {
			t.Errorf("list does not match %s:\n%s", re, list)
		}
	}
	for _, d := range kept {
		if strings.Contains(list, d.HA1) {
			t.Errorf("list prints an HA1:\n%s", list)
		}
	}
	if list = runOK("", "phones", "list", "--extension", "ann@acme.test"); strings.Contains(list, "102") || !strings.Contains(list, "101-desk") {
		t.Errorf("list of Ann's phones:\n%s", list)
	}

	for _, tc := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", []string{"phones", "add", "--extension", "ann@acme.test", "--username", "x", "--password", "p"}, "never a flag"},
		{"", []string{"phones", "add", "--extension", "ann@acme.test", "--username", "101-x"}, "--password-stdin or --password-file"},
		{"short\n", []string{"phones", "add", "--extension", "ann@acme.test", "--username", "101-x", "--password-stdin"}, "fewer than 12"},
		{"long enough secret\n", []string{"phones", "add", "--extension", "ann@acme.test", "--username", "101-desk", "--password-stdin"}, "a phone has the username 101-desk"},
		{"long enough secret\n", []string{"phones", "add", "--extension", "ann@acme.test", "--username", "Desk 1", "--password-stdin"}, "lower-case letters"},
		{"long enough secret\n", []string{"phones", "add", "--extension", "nobody@acme.test", "--username", "101-x", "--password-stdin"}, "no such extension"},
		{"long enough secret\n", []string{"phones", "add", "--extension", "+14155550100*999", "--username", "101-x", "--password-stdin"}, "no such extension"},
		{"long enough secret\n", []string{"phones", "add", "--extension", "101", "--username", "101-x", "--password-stdin"}, "MAIN*EXT"},
		{"long enough secret\n", []string{"phones", "add", "--extension", "sales@acme.test", "--username", "200-x", "--password-stdin"}, "department"},
		{"long enough secret\n", []string{"phones", "add", "--extension", "ann@acme.test", "--username", "101-x", "--password-stdin", "--sip-realm", `a"b`}, "--sip-realm"},
		{"", []string{"phones", "remove", "--username", "nobody"}, "no phone has the username nobody"},
		{"", []string{"phones", "call"}, "unknown subcommand"},
	} {
		if got := runErr(tc.stdin, tc.args...); !strings.Contains(got, tc.want) {
			t.Errorf("%v: %q, want it to say %q", tc.args, got, tc.want)
		}
	}

	if got := runOK("", "phones", "remove", "--username", "102.soft"); !strings.Contains(got, "phone 102.soft removed") {
		t.Errorf("remove says %q", got)
	}
	db, err = store.Open(ctx, dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.SIPDeviceByUsername(ctx, "102.soft"); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("removed phone: %v", err)
	}
}
