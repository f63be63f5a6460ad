package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/phonenumber"
	"github.com/callbridge/widget-server/internal/server"
	"github.com/callbridge/widget-server/internal/sip"
	"github.com/callbridge/widget-server/internal/store"
)

// runPhones manages the SIP desk phones and softphones of extensions in
// the data dir's database (docs/sip.md). The password is read from the
// first line of stdin or of a file, never from a flag; only its digest
// HA1 in the realm is kept, and no command prints it:
//
//	phones list [--extension EMAIL|MAIN*EXT]
//	phones add --extension EMAIL|MAIN*EXT --username USER [--display-name NAME]
//	           (--password-stdin | --password-file FILE) [--sip-realm REALM]
//	           [--sip-listen ADDR,…] [--sip-tls-listen ADDR] [--sip-public-host HOST]
//	phones remove --username USER
//
// add prints the settings the phone needs; the --sip-* flags and their
// WIDGET_SIP_* variables are read as the server reads them, so give the
// command the server's. The registrar reads the devices on every
// REGISTER: a running server takes a new phone at once.
func runPhones(ctx context.Context, args []string, getenv lookupEnv, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("phones: want a subcommand: list, add or remove")
	}
	sub, args := args[0], args[1:]
	if sub != "list" && sub != "add" && sub != "remove" {
		return fmt.Errorf("phones: unknown subcommand %q: want list, add or remove", sub)
	}
	if err := refusePasswordFlag(args); err != nil {
		return fmt.Errorf("phones %s: %w", sub, err)
	}
	fs := flag.NewFlagSet("widget-server phones "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	ef := envFlags{fs, getenv}
	var dataDir, extRef, passwordFile, realm, sipListen, sipTLSListen, publicHost string
	var passwordStdin bool
	var d store.SIPDevice
	ef.str(&dataDir, "data-dir", "WIDGET_DATA_DIR", "./data", "directory of the database")
	database := ef.database()
	if sub == "list" || sub == "add" {
		fs.StringVar(&extRef, "extension", "", "the extension: its user's email, or its login MAIN*EXT such as +14155550100*101")
	}
	if sub == "add" || sub == "remove" {
		fs.StringVar(&d.Username, "username", "", "the phone's SIP username, e.g. 101-desk: 1-32 lower-case letters, digits, '.', '_' or '-'")
	}
	if sub == "add" {
		fs.StringVar(&d.DisplayName, "display-name", "", "what the phone is, for lists, e.g. \"Desk phone\"")
		fs.BoolVar(&passwordStdin, "password-stdin", false, "read the phone's password from the first line of stdin")
		fs.StringVar(&passwordFile, "password-file", "", "read the phone's password from the first line of this file")
		ef.str(&realm, "sip-realm", "WIDGET_SIP_REALM", sip.DefaultRealm, "the registrar's digest realm, as the server has it")
		ef.str(&sipListen, "sip-listen", "WIDGET_SIP_LISTEN", "", "the server's SIP listen addresses, [udp:|tcp:]host:port,… (as the server has them)")
		ef.str(&sipTLSListen, "sip-tls-listen", "WIDGET_SIP_TLS_LISTEN", "", "the server's SIP over TLS listen address, host:port")
		ef.str(&publicHost, "sip-public-host", "WIDGET_SIP_PUBLIC_HOST", "", "the address phones reach the SIP listener at (behind NAT: the public IP)")
	}
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	d.Username = strings.TrimSpace(d.Username)
	d.DisplayName = strings.TrimSpace(d.DisplayName)
	switch {
	case sub != "list" && d.Username == "":
		return fmt.Errorf("phones %s: --username is required, e.g. --username 101-desk", sub)
	case sub == "add" && extRef == "":
		return errors.New("phones add: --extension is required: the user's email, or MAIN*EXT such as +14155550100*101")
	case sub == "add" && !sip.ValidDeviceUsername(d.Username):
		return fmt.Errorf("phones add: --username %q: use 1-32 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit", d.Username)
	case sub == "add" && !sip.ValidRealm(realm):
		return fmt.Errorf("phones add: --sip-realm %q: use 1-64 printable characters without quotes or backslashes", realm)
	case sub == "add" && passwordStdin == (passwordFile != ""):
		return errors.New("phones add: give the phone's password once: --password-stdin or --password-file")
	}
	var endpoints []registrarEndpoint
	if sub == "add" {
		var err error
		if endpoints, err = registrarEndpoints(sipListen, sipTLSListen, publicHost); err != nil {
			return fmt.Errorf("phones add: %w", err)
		}
		var password string
		if passwordStdin {
			password, err = readPassword(stdin)
		} else {
			password, err = readPasswordFile(passwordFile)
		}
		if err != nil {
			return fmt.Errorf("phones add: %w", err)
		}
		if len([]rune(password)) < sip.MinDevicePassword {
			return fmt.Errorf("phones add: the password has fewer than %d characters; a phone's must not be guessable (try: openssl rand -base64 15)", sip.MinDevicePassword)
		}
		d.Realm, d.HA1 = realm, sip.HA1(d.Username, realm, password)
	}
	db, err := store.OpenDatabase(ctx, *database, dataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	dir := identity.NewDirectory(db)

	switch sub {
	case "remove":
		if err := db.RemoveSIPDevice(ctx, d.Username); err != nil {
			if errors.Is(err, identity.ErrNotFound) {
				return fmt.Errorf("phones remove: no phone has the username %s", d.Username)
			}
			return err
		}
		fmt.Fprintf(stdout, "phone %s removed; a running server refuses its calls, and its registration runs out within the hour\n", d.Username)
		return nil
	case "add":
		_, ext, err := findExtension(ctx, dir, db, extRef)
		if err != nil {
			return fmt.Errorf("phones add: %w", err)
		}
		d.ExtensionID = ext.ID
		if err := db.AddSIPDevice(ctx, &d); err != nil {
			if errors.Is(err, identity.ErrConflict) {
				return fmt.Errorf("phones add: a phone has the username %s: choose another, or remove it first (phones remove --username %s)", d.Username, d.Username)
			}
			return err
		}
		printPhoneSettings(stdout, d, ext, endpoints)
		return nil
	}

	var devices []store.SIPDevice
	if extRef != "" {
		_, ext, err := findExtension(ctx, dir, db, extRef)
		if err != nil {
			return fmt.Errorf("phones list: %w", err)
		}
		devices, err = db.SIPDevicesOf(ctx, ext.ID)
		if err != nil {
			return err
		}
	} else if devices, err = db.SIPDevices(ctx); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USERNAME\tEXTENSION\tEMAIL\tDISPLAY NAME\tREALM\tCREATED")
	exts := map[int64]identity.Extension{}
	for _, d := range devices {
		e, ok := exts[d.ExtensionID]
		if !ok {
			if e, err = db.Extension(ctx, d.ExtensionID); err != nil {
				return err
			}
			exts[d.ExtensionID] = e
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.Username, e.Number, e.Email, dash(d.DisplayName), d.Realm,
			d.Created.UTC().Format(time.DateTime))
	}
	return tw.Flush()
}

// findExtension finds a user extension by its user's email or by its
// login, MAIN*EXT, as sign-in takes them.
func findExtension(ctx context.Context, dir *identity.Directory, db *store.DB, ref string) (identity.Account, identity.Extension, error) {
	ref = strings.TrimSpace(ref)
	var a identity.Account
	var e identity.Extension
	var err error
	if strings.Contains(ref, "@") {
		a, e, err = dir.ExtensionByEmail(ctx, ref)
	} else {
		main, number, ok := phonenumber.SplitLogin(ref)
		if !ok {
			return a, e, fmt.Errorf("--extension %q: want the user's email, or MAIN*EXT such as +14155550100*101", ref)
		}
		if a, err = dir.AccountByMainNumber(ctx, main); err == nil {
			e, err = db.ExtensionByNumber(ctx, a.ID, strings.TrimSpace(number))
		}
	}
	if errors.Is(err, identity.ErrNotFound) {
		return a, e, fmt.Errorf("--extension %q: no such extension", ref)
	}
	if err != nil {
		return a, e, err
	}
	if e.Department() {
		return a, e, fmt.Errorf("--extension %q: %s %s is a department: phones belong to users", ref, e.Number, e.Name)
	}
	return a, e, nil
}

// registrarEndpoint is one address and transport phones register at.
type registrarEndpoint struct {
	hostPort  string
	transport sip.Transport
}

// registrarEndpoints are the addresses phones reach the server's SIP
// listeners at: the public host when given, else each listener's own
// address (one on every interface is the server's address on the
// phones' network, which the command cannot know).
func registrarEndpoints(list, tlsAddr, publicHost string) ([]registrarEndpoint, error) {
	cert, key := "", ""
	if tlsAddr != "" {
		cert, key = "-", "-" // only the addresses are read here
	}
	listen, err := parseSIPListen(list, tlsAddr, cert, key)
	if err != nil {
		return nil, err
	}
	if len(listen) == 0 {
		// As a development server with no --sip-listen.
		listen = []sip.Listen{{Transport: sip.UDP, Addr: server.DevSIPListen}, {Transport: sip.TCP, Addr: server.DevSIPListen}}
	}
	var out []registrarEndpoint
	for _, l := range listen {
		host, port, _ := net.SplitHostPort(l.Addr)
		switch {
		case publicHost != "":
			host = publicHost
		case host == "" || net.ParseIP(host) != nil && net.ParseIP(host).IsUnspecified():
			host = "SERVER-ADDRESS"
		}
		out = append(out, registrarEndpoint{net.JoinHostPort(host, port), l.Transport})
	}
	return out, nil
}

// printPhoneSettings says what to enter in the phone.
func printPhoneSettings(w io.Writer, d store.SIPDevice, ext identity.Extension, endpoints []registrarEndpoint) {
	fmt.Fprintf(w, "phone %s saved for extension %s (%s, %s); it can register now\n\n", d.Username, ext.Number, ext.Name, ext.Email)
	fmt.Fprintln(w, "Settings for the phone:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i, e := range endpoints {
		label := "\t"
		if i == 0 {
			label = "  registrar and outbound proxy\t"
		}
		fmt.Fprintf(tw, "%s%s over %s\n", label, e.hostPort, e.transport)
	}
	fmt.Fprintf(tw, "  username and auth username\t%s\n", d.Username)
	fmt.Fprintln(tw, "  password\tthe one given (only its digest is kept)")
	fmt.Fprintf(tw, "  realm (domain)\t%s\n", d.Realm)
	fmt.Fprintln(tw, "  registration interval\t60 to 3600 seconds")
	tw.Flush()
	if len(endpoints) == 0 {
		return
	}
	e := endpoints[0]
	fmt.Fprintf(w, "\nA baresip account line, for example:\n  <sip:%s@%s;transport=%s>;auth_pass=PASSWORD;regint=600\n", d.Username, e.hostPort, e.transport)
	if strings.Contains(e.hostPort, "SERVER-ADDRESS") {
		fmt.Fprintln(w, "\nSERVER-ADDRESS: the server's address on the phone's network (or give --sip-public-host).")
	}
}
