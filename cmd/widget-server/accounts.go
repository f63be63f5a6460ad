package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/store"
)

// runAccounts manages accounts in the data dir's database:
//
//	accounts list
//	accounts add --company NAME --main-number NUMBER [--country CC] [--area-code AREA]
func runAccounts(ctx context.Context, args []string, getenv lookupEnv, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("accounts: want a subcommand: list or add")
	}
	sub, args := args[0], args[1:]
	if sub != "list" && sub != "add" {
		return fmt.Errorf("accounts: unknown subcommand %q: want list or add", sub)
	}
	fs := flag.NewFlagSet("widget-server accounts "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	ef := envFlags{fs, getenv}
	var dataDir string
	var a identity.Account
	ef.str(&dataDir, "data-dir", "WIDGET_DATA_DIR", "./data", "directory of the database")
	database := ef.database()
	if sub == "add" {
		fs.StringVar(&a.Company, "company", "", "the company's name")
		fs.StringVar(&a.MainNumber, "main-number", "", "the account's main number, e.g. +14155550100")
		fs.StringVar(&a.CountryCode, "country", "US", "country code (ISO 3166), e.g. US")
		fs.StringVar(&a.AreaCode, "area-code", "", "area code (default: from the main number in North America)")
	}
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	db, err := store.OpenDatabase(ctx, *database, dataDir)
	if err != nil {
		return err
	}
	defer db.Close()

	if sub == "add" {
		if err := identity.NewDirectory(db).CreateAccount(ctx, &a); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "account %d saved: %s %s\n", a.ID, a.Company, a.MainNumber)
		return nil
	}
	accounts, err := db.Accounts(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCOMPANY\tMAIN NUMBER\tCOUNTRY\tAREA CODE")
	for _, a := range accounts {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", a.ID, a.Company, a.MainNumber, a.CountryCode, a.AreaCode)
	}
	return tw.Flush()
}

// runExtensions manages the extensions of accounts. Passwords are read from
// the first line of stdin, never from a flag, so they stay out of shell
// history and process listings. A department has members and no password:
//
//	extensions list --main-number NUMBER
//	extensions add --main-number NUMBER --number EXT --name NAME --email EMAIL [--role admin] [--direct-number NUMBER …] --password-stdin
//	extensions add --type department --main-number NUMBER --number EXT --name NAME --email EMAIL [--direct-number NUMBER …] [--members EXT,EXT…]
//	extensions import --main-number NUMBER --password-stdin  (password, then NUMBER,NAME,EMAIL a line; see runExtensionsImport)
//	extensions members --main-number NUMBER --number EXT --members EXT,EXT…
//	extensions set-password --email EMAIL --password-stdin
//	extensions disable --email EMAIL
//	extensions enable --email EMAIL
//
// A new password or a disable ends every widget session and API token of the
// extension at once, and a running server cuts its event streams and phones.
func runExtensions(ctx context.Context, args []string, getenv lookupEnv, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("extensions: want a subcommand: list, add, import, members, set-password, disable or enable")
	}
	sub, args := args[0], args[1:]
	if sub == "import" {
		return runExtensionsImport(ctx, args, getenv, stdin, stdout, stderr)
	}
	byEmail := sub == "set-password" || sub == "disable" || sub == "enable"
	if sub != "list" && sub != "add" && sub != "members" && !byEmail {
		return fmt.Errorf("extensions: unknown subcommand %q: want list, add, import, members, set-password, disable or enable", sub)
	}
	fs := flag.NewFlagSet("widget-server extensions "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	ef := envFlags{fs, getenv}
	var dataDir, mainNumber, role, typ, members string
	var passwordStdin bool
	var e identity.Extension
	var direct listFlag
	ef.str(&dataDir, "data-dir", "WIDGET_DATA_DIR", "./data", "directory of the database")
	database := ef.database()
	if !byEmail {
		fs.StringVar(&mainNumber, "main-number", "", "the account's main number, e.g. +14155550100")
	}
	if sub == "add" || sub == "members" {
		fs.StringVar(&e.Number, "number", "", "extension number, 2-8 digits, e.g. 101")
		fs.StringVar(&members, "members", "", "a department's members: extension numbers separated by commas, e.g. 101,102")
	}
	if sub == "add" {
		fs.StringVar(&e.Name, "name", "", "the user's or department's name")
		fs.StringVar(&role, "role", string(identity.RoleUser), "user or admin")
		fs.StringVar(&typ, "type", "user", "user or department")
		fs.Var(&direct, "direct-number", "a direct number of the extension, e.g. +14155550101 (repeatable)")
	}
	if sub == "add" || byEmail {
		fs.StringVar(&e.Email, "email", "", "the user's email, their sign-in name")
	}
	if sub == "add" || sub == "set-password" {
		fs.BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of stdin (required for a user)")
	}
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	department := false
	switch strings.ToLower(typ) {
	case "", "user":
	case "department":
		department = true
		e.Type = identity.TypeDepartment
	default:
		return fmt.Errorf("extensions add: --type %q: want user or department", typ)
	}
	memberNumbers, err := parseMembers(members)
	if err != nil {
		return fmt.Errorf("extensions %s: %w", sub, err)
	}
	switch {
	case sub == "add" && !department && members != "":
		return errors.New("extensions add: --members is for a department (--type department)")
	case sub == "add" && department && passwordStdin:
		return errors.New("extensions add: a department does not sign in and has no password: drop --password-stdin")
	case sub == "members" && members == "":
		return errors.New("extensions members: --members is required, e.g. --members 101,102")
	}
	var password string
	if sub == "set-password" || sub == "add" && !department {
		if !passwordStdin {
			return fmt.Errorf("extensions %s: --password-stdin is required: the password is read from stdin, never from a flag", sub)
		}
		p, err := readPassword(stdin)
		if err != nil {
			return fmt.Errorf("extensions %s: %w", sub, err)
		}
		password = p
	}
	db, err := store.OpenDatabase(ctx, *database, dataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	dir := identity.NewDirectory(db)

	if byEmail {
		_, ext, err := dir.ExtensionByEmail(ctx, e.Email)
		if err != nil {
			return err
		}
		if ext.Department() {
			return fmt.Errorf("extensions %s: %s is a department, which does not sign in", sub, ext.Email)
		}
		switch sub {
		case "set-password":
			if err := dir.SetPassword(ctx, ext.ID, password); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "password of %s set; its sessions and tokens ended\n", ext.Email)
		case "disable":
			if err := dir.SetStatus(ctx, ext.ID, identity.StatusDisabled); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s disabled; its sessions and tokens ended\n", ext.Email)
		case "enable":
			if err := dir.SetStatus(ctx, ext.ID, identity.StatusEnabled); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s enabled\n", ext.Email)
		}
		return nil
	}
	a, err := dir.AccountByMainNumber(ctx, mainNumber)
	if err != nil {
		return err
	}
	var memberIDs []int64
	if len(memberNumbers) > 0 {
		if memberIDs, err = dir.ExtensionIDs(ctx, a.ID, memberNumbers); err != nil {
			return fmt.Errorf("extensions %s: %w", sub, err)
		}
	}
	switch sub {
	case "add":
		e.AccountID, e.Role, e.DirectNumbers, e.Members = a.ID, identity.Role(role), direct, memberIDs
		if err := dir.CreateExtension(ctx, &e, password); err != nil {
			return err
		}
		if department {
			fmt.Fprintf(stdout, "department %d saved: %s %s, %d members\n", e.ID, e.Number, e.Name, len(e.Members))
			return nil
		}
		fmt.Fprintf(stdout, "extension %d saved: %s %s, signs in as %s or %s\n",
			e.ID, e.Number, e.Name, e.Email, identity.LoginNumber(a, e))
		return nil
	case "members":
		dept, err := db.ExtensionByNumber(ctx, a.ID, e.Number)
		if err != nil {
			return err
		}
		if err := dir.SetMembers(ctx, dept.ID, memberIDs); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "members of department %s %s: %s\n", dept.Number, dept.Name, strings.Join(memberNumbers, ", "))
		return nil
	}
	exts, err := db.Extensions(ctx, a.ID)
	if err != nil {
		return err
	}
	numbers := make(map[int64]string, len(exts))
	for _, e := range exts {
		numbers[e.ID] = e.Number
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNUMBER\tNAME\tEMAIL\tTYPE\tROLE\tSTATUS\tDIRECT NUMBERS\tLOGIN NUMBER\tMEMBERS")
	for _, e := range exts {
		login, members := identity.LoginNumber(a, e), make([]string, 0, len(e.Members))
		if e.Department() {
			login = "-" // a department does not sign in
		}
		for _, id := range e.Members {
			members = append(members, numbers[id])
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.Number, e.Name, e.Email, e.Type, e.Role, e.Status,
			strings.Join(e.DirectNumbers, " "), login, strings.Join(members, ","))
	}
	return tw.Flush()
}

// parseMembers splits "101, 102" into extension numbers; "" is none, and
// "-" too, to leave a department with no members.
func parseMembers(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "-" {
		return nil, nil
	}
	var out []string
	for _, n := range strings.Split(s, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			return nil, fmt.Errorf("--members %q: an empty extension number", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// parseNoArgs parses flags and refuses stray arguments, which are most
// often a value whose flag was misspelt.
func parseNoArgs(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

// maxPasswordLine bounds what is read from stdin for a password.
const maxPasswordLine = 1024

// readPassword returns the first line of r without its line ending.
func readPassword(r io.Reader) (string, error) {
	if r == nil {
		return "", errors.New("no stdin to read the password from")
	}
	sc := bufio.NewScanner(io.LimitReader(r, maxPasswordLine))
	sc.Buffer(make([]byte, 0, maxPasswordLine), maxPasswordLine)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return "", fmt.Errorf("read password from stdin: %w", err)
		}
		return "", errors.New("read password from stdin: no input")
	}
	if sc.Text() == "" {
		return "", errors.New("read password from stdin: empty first line")
	}
	return sc.Text(), nil
}
