package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/callbridge/widget-server/internal/sip"
	"github.com/callbridge/widget-server/internal/store"
)

// runTrunks manages the SIP trunks to carriers in the data dir's database
// (docs/sip.md). The digest password is read from the first line of stdin
// or of a file, never from a flag, and no command prints it:
//
//	trunks list
//	trunks add --name NAME --host HOST[:PORT] [--transport udp|tcp|tls] [--outbound-proxy HOST[:PORT]]
//	           [--username USER] [--auth-username USER] [--realm REALM] [--password-stdin | --password-file FILE]
//	           [--register [--register-expiry 1h]] [--from-domain DOMAIN] [--caller-id from|pai]
//	           [--allowed-source ADDR|CIDR …] [--keep-alive 30s] [--prefix +E164 …] [--deny-prefix +E164 …] [--priority N]
//	trunks remove --name NAME
//
// A running server reads the trunks when it starts.
func runTrunks(ctx context.Context, args []string, getenv lookupEnv, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("trunks: want a subcommand: list, add or remove")
	}
	sub, args := args[0], args[1:]
	if sub != "list" && sub != "add" && sub != "remove" {
		return fmt.Errorf("trunks: unknown subcommand %q: want list, add or remove", sub)
	}
	if err := refusePasswordFlag(args); err != nil {
		return fmt.Errorf("trunks %s: %w", sub, err)
	}
	fs := flag.NewFlagSet("widget-server trunks "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	ef := envFlags{fs, getenv}
	var dataDir, transport, callerID, passwordFile, expiry, keepAlive string
	var passwordStdin bool
	var sources, prefixes, deny listFlag
	var c sip.TrunkConfig
	ef.str(&dataDir, "data-dir", "WIDGET_DATA_DIR", "./data", "directory of the database")
	database := ef.database()
	if sub == "add" || sub == "remove" {
		fs.StringVar(&c.Name, "name", "", "the trunk's name: 1-32 lower-case letters, digits, '-' or '_'")
	}
	if sub == "add" {
		fs.StringVar(&c.Host, "host", "", "the carrier's SIP server, host[:port] (port 5060, 5061 for tls)")
		fs.StringVar(&transport, "transport", "udp", "udp, tcp or tls")
		fs.StringVar(&c.OutboundProxy, "outbound-proxy", "", "host[:port] that receives every request instead of the host")
		fs.StringVar(&c.Username, "username", "", "the account the carrier gave you: the registered user and the From user")
		fs.StringVar(&c.AuthUsername, "auth-username", "", "the digest user, where it differs from --username")
		fs.StringVar(&c.Realm, "realm", "", "give the credentials only to challenges of this realm")
		fs.BoolVar(&passwordStdin, "password-stdin", false, "read the digest password from the first line of stdin")
		fs.StringVar(&passwordFile, "password-file", "", "read the digest password from the first line of this file")
		fs.BoolVar(&c.Register, "register", false, "register the username at the host (off: peering authenticated by address)")
		fs.StringVar(&expiry, "register-expiry", "", "the registration lifetime asked for, 60s to 24h (default 1h)")
		fs.StringVar(&c.FromDomain, "from-domain", "", "the host part of From (default: the host)")
		fs.StringVar(&callerID, "caller-id", "from", "where calls present the caller's number: from, or pai (P-Asserted-Identity)")
		fs.Var(&sources, "allowed-source", "an address or CIDR inbound calls may come from (repeatable; default: the host's and proxy's addresses)")
		fs.StringVar(&keepAlive, "keep-alive", "", "interval of OPTIONS probes that mark the trunk up or down (0: none)")
		fs.Var(&prefixes, "prefix", "an E.164 prefix of the numbers the trunk takes, e.g. +1 (repeatable; default: every number)")
		fs.Var(&deny, "deny-prefix", "an E.164 prefix of numbers the trunk never takes, e.g. +1900 (repeatable)")
		fs.IntVar(&c.Priority, "priority", 0, "0-1000: of the trunks that take a number and are up, the lowest places the call")
	}
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	switch {
	case sub != "list" && c.Name == "":
		return fmt.Errorf("trunks %s: --name is required", sub)
	case sub == "add" && c.Host == "":
		return errors.New("trunks add: --host is required, e.g. --host sip.carrier.example")
	case passwordStdin && passwordFile != "":
		return errors.New("trunks add: give the password once: --password-stdin or --password-file")
	case sub == "add" && c.Register && !passwordStdin && passwordFile == "":
		return errors.New("trunks add: --register needs the password: --password-stdin or --password-file")
	}
	if sub == "add" {
		var err error
		if expiry != "" {
			if c.RegisterExpiry, err = time.ParseDuration(expiry); err != nil {
				return fmt.Errorf("trunks add: --register-expiry %q: want a duration such as 1h", expiry)
			}
			if !c.Register {
				return errors.New("trunks add: --register-expiry is for a registering trunk (--register)")
			}
		}
		if keepAlive != "" {
			if c.KeepAlive, err = time.ParseDuration(keepAlive); err != nil {
				return fmt.Errorf("trunks add: --keep-alive %q: want a duration such as 30s", keepAlive)
			}
		}
		c.Transport, c.CallerID = sip.Transport(transport), sip.CallerIDPolicy(callerID)
		c.AllowedSources, c.Prefixes, c.DenyPrefixes = splitAll(sources), splitAll(prefixes), splitAll(deny)
		switch {
		case passwordStdin:
			if c.Password, err = readPassword(stdin); err != nil {
				return fmt.Errorf("trunks add: %w", err)
			}
		case passwordFile != "":
			if c.Password, err = readPasswordFile(passwordFile); err != nil {
				return fmt.Errorf("trunks add: %w", err)
			}
		}
		if err := c.Validate(); err != nil {
			return fmt.Errorf("trunks add: %w", err)
		}
	}
	db, err := store.OpenDatabase(ctx, *database, dataDir)
	if err != nil {
		return err
	}
	defer db.Close()

	switch sub {
	case "add":
		if err := db.AddTrunk(ctx, c); err != nil {
			if errors.Is(err, sip.ErrTrunkExists) {
				return fmt.Errorf("trunks add: a trunk named %s exists: remove it first (trunks remove --name %s)", c.Name, c.Name)
			}
			return err
		}
		how := "peering"
		if c.Register {
			how = "registers as " + c.Username
		}
		fmt.Fprintf(stdout, "trunk %s saved: %s over %s, %s; a running server takes it at its next start\n",
			c.Name, c.Host, cmp.Or(string(c.Transport), "udp"), how)
		return nil
	case "remove":
		if err := db.RemoveTrunk(ctx, c.Name); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "trunk %s removed; a running server lets it go at its next start\n", c.Name)
		return nil
	}
	trunks, err := db.Trunks(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPRIORITY\tHOST\tTRANSPORT\tOUTBOUND PROXY\tREGISTER\tUSERNAME\tAUTH USERNAME\tREALM\tPASSWORD\tFROM DOMAIN\tCALLER ID\tKEEP-ALIVE\tALLOWED SOURCES\tPREFIXES\tDENY PREFIXES")
	for _, t := range trunks {
		register := "no"
		if t.Register {
			register = "yes"
			if t.RegisterExpiry > 0 {
				register += " (" + t.RegisterExpiry.String() + ")"
			}
		}
		password := "-" // whether there is one, never what it is
		if t.Password != "" {
			password = "set"
		}
		keep := "-"
		if t.KeepAlive > 0 {
			keep = t.KeepAlive.String()
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			t.Name, t.Priority, t.Host, cmp.Or(string(t.Transport), "udp"), dash(t.OutboundProxy), register,
			dash(t.Username), dash(t.AuthUsername), dash(t.Realm), password, dash(t.FromDomain),
			cmp.Or(string(t.CallerID), "from"), keep, dash(strings.Join(t.AllowedSources, " ")),
			dash(strings.Join(t.Prefixes, " ")), dash(strings.Join(t.DenyPrefixes, " ")))
	}
	return tw.Flush()
}

// refusePasswordFlag says where the password goes when the command line
// tries to give it as a flag, without repeating it.
func refusePasswordFlag(args []string) error {
	for _, a := range args {
		if a == "--" {
			return nil
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && (name == "password" || name == "secret") {
			return errors.New("the password is never a flag, which would leave it in shell history and process lists: use --password-stdin or --password-file")
		}
	}
	return nil
}

// readPasswordFile returns the first line of the file at path, without
// its line ending.
func readPasswordFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("password file: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, maxPasswordLine))
	sc.Buffer(make([]byte, 0, maxPasswordLine), maxPasswordLine)
	if !sc.Scan() || sc.Text() == "" {
		if err := sc.Err(); err != nil {
			return "", fmt.Errorf("password file %s: %w", path, err)
		}
		return "", fmt.Errorf("password file %s: the first line is empty", path)
	}
	return sc.Text(), nil
}

// splitAll splits every value of a repeatable flag at commas.
func splitAll(values []string) []string {
	var out []string
	for _, v := range values {
		out = append(out, splitList(v)...)
	}
	return out
}

func dash(s string) string { return cmp.Or(s, "-") }
