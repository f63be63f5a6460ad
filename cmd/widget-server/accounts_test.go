package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/store"
)

func TestAccountsAndExtensionsCommands(t *testing.T) {
	ctx := context.Background()
	dataDir := filepath.Join(t.TempDir(), "data")
	vars := env(map[string]string{"WIDGET_DATA_DIR": dataDir})
	var out bytes.Buffer
	runOK := func(stdin string, args ...string) string {
		t.Helper()
		out.Reset()
		if err := run(ctx, args, vars, strings.NewReader(stdin), &out, io.Discard); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return out.String()
	}
	runOK("", "accounts", "add", "--company", "Acme", "--main-number", "+1 415 555 0100")
	runOK("", "accounts", "add", "--company", "Globex GmbH", "--main-number", "+49 30 123456", "--country", "de", "--area-code", "30")
	list := runOK("", "accounts", "list")
	for _, want := range []string{"Acme", "+14155550100", "US", "415", "Globex GmbH", "+4930123456", "DE"} {
		if !strings.Contains(list, want) {
			t.Errorf("accounts list lacks %q:\n%s", want, list)
		}
	}

	added := runOK("s3cret pass\nignored\n", "extensions", "add", "--main-number", "(415) 555-0100", "--number", "101",
		"--name", "Ann Lee", "--email", "Ann@Acme.test", "--role", "admin",
		"--direct-number", "+14155550101", "--direct-number", "415-555-0111", "--password-stdin")
	if !strings.Contains(added, "+14155550100*101") {
		t.Errorf("add does not tell the login number:\n%s", added)
	}
	runOK("bo-pass\r\n", "extensions", "add", "--main-number", "+14155550100", "--number", "102",
		"--name", "Bo Diaz", "--email", "bo@acme.test", "--password-stdin")
	list = runOK("", "extensions", "list", "--main-number", "+14155550100")
	for _, want := range []string{"Ann Lee", "ann@acme.test", "admin", "+14155550101 +14155550111", "+14155550100*101",
		"Bo Diaz", "user", "Enabled"} {
		if !strings.Contains(list, want) {
			t.Errorf("extensions list lacks %q:\n%s", want, list)
		}
	}
	if strings.Index(list, "Ann Lee") > strings.Index(list, "Bo Diaz") {
		t.Errorf("extensions out of order:\n%s", list)
	}
	runOK("another pass\n", "extensions", "set-password", "--email", "BO@acme.test", "--password-stdin")
	runOK("di-pass\n", "extensions", "add", "--main-number", "+14155550100", "--number", "104",
		"--name", "Di Fox", "--email", "di@acme.test", "--password-stdin")
	added = runOK("", "extensions", "add", "--type", "department", "--main-number", "+14155550100", "--number", "200",
		"--name", "Support", "--email", "support@acme.test", "--members", "102, 101")
	if !strings.Contains(added, "department") || !strings.Contains(added, "2 members") {
		t.Errorf("add department says:\n%s", added)
	}
	list = runOK("", "extensions", "list", "--main-number", "+14155550100")
	if !regexp.MustCompile(`200\s+Support\s+support@acme.test\s+Department\s+user\s+Enabled\s+-\s+101,102`).MatchString(list) {
		t.Errorf("extensions list does not show the department and its members:\n%s", list)
	}
	runOK("", "extensions", "members", "--main-number", "+14155550100", "--number", "200", "--members", "104")
	list = runOK("", "extensions", "list", "--main-number", "+14155550100")
	if !regexp.MustCompile(`Department\s+user\s+Enabled\s+-\s+104\n`).MatchString(list) {
		t.Errorf("members not replaced:\n%s", list)
	}

	db, err := store.Open(ctx, dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dir := identity.NewDirectory(db)
	for _, login := range []struct{ username, password string }{
		{"ann@acme.test", "s3cret pass"},
		{"+14155550100*102", "another pass"},
	} {
		if _, _, err := dir.Authenticate(ctx, login.username, login.password); err != nil {
			t.Errorf("sign in as %s: %v", login.username, err)
		}
	}
	if _, _, err := dir.Authenticate(ctx, "bo@acme.test", "bo-pass"); !errors.Is(err, identity.ErrBadCredentials) {
		t.Errorf("old password still signs in: %v", err)
	}

	// Disabled, Bo does not sign in and the list says so; enabled again, he does.
	runOK("", "extensions", "disable", "--email", "Bo@acme.test")
	if _, _, err := dir.Authenticate(ctx, "bo@acme.test", "another pass"); !errors.Is(err, identity.ErrBadCredentials) {
		t.Errorf("a disabled user signs in: %v", err)
	}
	if list := runOK("", "extensions", "list", "--main-number", "+14155550100"); !regexp.MustCompile(`102\s+Bo Diaz\s+bo@acme.test\s+User\s+user\s+Disabled`).MatchString(list) {
		t.Errorf("extensions list does not show bo disabled:\n%s", list)
	}
	runOK("", "extensions", "enable", "--email", "bo@acme.test")
	if _, _, err := dir.Authenticate(ctx, "bo@acme.test", "another pass"); err != nil {
		t.Errorf("sign in once enabled again: %v", err)
	}

	tests := []struct {
		name  string
		stdin string
		args  []string
	}{
		{"accounts without subcommand", "", []string{"accounts"}},
		{"accounts unknown subcommand", "", []string{"accounts", "remove"}},
		{"account without company", "", []string{"accounts", "add", "--main-number", "+14155550200"}},
		{"account with bad number", "", []string{"accounts", "add", "--company", "X", "--main-number", "555-0100"}},
		{"account with taken number", "", []string{"accounts", "add", "--company", "X", "--main-number", "4155550100"}},
		{"stray argument", "", []string{"accounts", "list", "extra"}},
		{"extensions without subcommand", "", []string{"extensions"}},
		{"extensions unknown subcommand", "", []string{"extensions", "remove"}},
		{"password as a flag", "", []string{"extensions", "add", "--main-number", "+14155550100", "--number", "103",
			"--name", "Cy", "--email", "cy@acme.test", "--password", "pass"}},
		{"no --password-stdin", "pass\n", []string{"extensions", "add", "--main-number", "+14155550100", "--number", "103",
			"--name", "Cy", "--email", "cy@acme.test"}},
		{"empty stdin", "", []string{"extensions", "add", "--main-number", "+14155550100", "--number", "103",
			"--name", "Cy", "--email", "cy@acme.test", "--password-stdin"}},
		{"short password", "abc\n", []string{"extensions", "add", "--main-number", "+14155550100", "--number", "103",
			"--name", "Cy", "--email", "cy@acme.test", "--password-stdin"}},
		{"unknown account", "pass\n", []string{"extensions", "add", "--main-number", "+14155550199", "--number", "103",
			"--name", "Cy", "--email", "cy@acme.test", "--password-stdin"}},
		{"taken email", "pass\n", []string{"extensions", "add", "--main-number", "+4930123456", "--number", "103",
			"--name", "Ann", "--email", "ann@acme.test", "--password-stdin"}},
		{"taken number", "pass\n", []string{"extensions", "add", "--main-number", "+14155550100", "--number", "101",
			"--name", "Cy", "--email", "cy@acme.test", "--password-stdin"}},
		{"bad role", "pass\n", []string{"extensions", "add", "--main-number", "+14155550100", "--number", "103",
			"--name", "Cy", "--email", "cy@acme.test", "--role", "root", "--password-stdin"}},
		{"list unknown account", "", []string{"extensions", "list", "--main-number", "+14155550199"}},
		{"set password of nobody", "pass\n", []string{"extensions", "set-password", "--email", "nobody@acme.test", "--password-stdin"}},
		{"set password without stdin flag", "pass\n", []string{"extensions", "set-password", "--email", "bo@acme.test"}},
		{"unknown type", "", []string{"extensions", "add", "--type", "queue", "--main-number", "+14155550100", "--number", "201",
			"--name", "Sales", "--email", "sales@acme.test"}},
		{"department with a password", "pass\n", []string{"extensions", "add", "--type", "department", "--main-number", "+14155550100",
			"--number", "201", "--name", "Sales", "--email", "sales@acme.test", "--password-stdin"}},
		{"user with members", "pass\n", []string{"extensions", "add", "--main-number", "+14155550100", "--number", "201",
			"--name", "Sales", "--email", "sales@acme.test", "--members", "101", "--password-stdin"}},
		{"department with an unknown member", "", []string{"extensions", "add", "--type", "department", "--main-number", "+14155550100",
			"--number", "201", "--name", "Sales", "--email", "sales@acme.test", "--members", "101,109"}},
		{"department with a department member", "", []string{"extensions", "add", "--type", "department", "--main-number", "+14155550100",
			"--number", "201", "--name", "Sales", "--email", "sales@acme.test", "--members", "200"}},
		{"department with an empty member", "", []string{"extensions", "add", "--type", "department", "--main-number", "+14155550100",
			"--number", "201", "--name", "Sales", "--email", "sales@acme.test", "--members", "101,,102"}},
		{"members of a user", "", []string{"extensions", "members", "--main-number", "+14155550100", "--number", "101", "--members", "102"}},
		{"members of nobody", "", []string{"extensions", "members", "--main-number", "+14155550100", "--number", "209", "--members", "102"}},
		{"members without --members", "", []string{"extensions", "members", "--main-number", "+14155550100", "--number", "200"}},
		{"members positional", "", []string{"extensions", "members", "--main-number", "+14155550100", "--number", "200", "101,102"}},
		{"password of a department", "pass\n", []string{"extensions", "set-password", "--email", "support@acme.test", "--password-stdin"}},
		{"disable a department", "", []string{"extensions", "disable", "--email", "support@acme.test"}},
		{"disable nobody", "", []string{"extensions", "disable", "--email", "nobody@acme.test"}},
		{"disable without email", "", []string{"extensions", "disable"}},
		{"disable by main number", "", []string{"extensions", "disable", "--main-number", "+14155550100", "--email", "bo@acme.test"}},
		{"enable with a password", "pass\n", []string{"extensions", "enable", "--email", "bo@acme.test", "--password-stdin"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := run(ctx, tt.args, vars, strings.NewReader(tt.stdin), io.Discard, io.Discard); err == nil {
				t.Fatalf("%v accepted", tt.args)
			}
		})
	}
}

func TestReadPassword(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"demo\n", "demo", true},
		{"demo", "demo", true},
		{"de mo \r\nnext\n", "de mo ", true},
		{"", "", false},
		{"\nsecond\n", "", false},
		{strings.Repeat("x", 2000), "", false},
	}
	for _, tt := range tests {
		got, err := readPassword(strings.NewReader(tt.in))
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("readPassword(%.20q) = %q, %v; want %q, ok=%t", tt.in, got, err, tt.want, tt.ok)
		}
	}
	if _, err := readPassword(nil); err == nil {
		t.Error("read a password from no stdin")
	}
}
