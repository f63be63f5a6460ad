package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/store"
)

// listFlag collects a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// runApps manages registered apps in the data dir's database:
//
//	apps list
//	apps add --client-id ID --origin ORIGIN [--origin …] [--redirect-uri URI …] [--name N] [--no-call] [--no-sms] [--dev]
//	apps remove --client-id ID
//	apps secret --client-id ID [--remove]
//
// secret gives the app a new client secret, printed once, which makes it
// confidential (its servers authenticate at the token endpoint and may
// exchange JWT credentials); --remove makes it public again.
func runApps(ctx context.Context, args []string, getenv lookupEnv, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("apps: want a subcommand: list, add, remove or secret")
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("widget-server apps "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	ef := envFlags{fs, getenv}
	var dataDir, clientID, name string
	var origins, redirects listFlag
	var noCall, noSMS, dev, removeSecret bool
	ef.str(&dataDir, "data-dir", "WIDGET_DATA_DIR", "./data", "directory of the database")
	database := ef.database()
	if sub == "add" || sub == "remove" || sub == "secret" {
		fs.StringVar(&clientID, "client-id", "", "the app's clientId")
	}
	if sub == "secret" {
		fs.BoolVar(&removeSecret, "remove", false, "remove the secret: the app becomes public again")
	}
	if sub == "add" {
		fs.StringVar(&name, "name", "", "display name (default: the client id)")
		fs.Var(&origins, "origin", "a host origin allowed to embed the widget, e.g. https://crm.example.com (repeatable)")
		fs.Var(&redirects, "redirect-uri", "a sign-in redirect URI (repeatable)")
		fs.BoolVar(&noCall, "no-call", false, "turn calling off for this app")
		fs.BoolVar(&noSMS, "no-sms", false, "turn messaging off for this app")
		// Only a development server admits plain http origins (on loopback):
		// WIDGET_DEV=true, as the server reads it, or --dev.
		devDefault := false
		if v, ok := getenv("WIDGET_DEV"); ok {
			devDefault, _ = strconv.ParseBool(v)
		}
		fs.BoolVar(&dev, "dev", devDefault, "for a development server: admit plain http origins and redirect URIs on loopback (localhost, 127.0.0.1, [::1]) ($WIDGET_DEV)")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := store.OpenDatabase(ctx, *database, dataDir)
	if err != nil {
		return err
	}
	defer db.Close()

	switch sub {
	case "list":
		apps, err := db.Apps(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CLIENT ID\tNAME\tTYPE\tORIGINS\tREDIRECT URIS\tFEATURES")
		for _, a := range apps {
			kind := "public"
			if a.Confidential() {
				kind = "confidential"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\tcall=%t sms=%t\n", a.ClientID, a.Name, kind,
				strings.Join(a.Origins, " "), strings.Join(a.RedirectURIs, " "), a.Features.Call, a.Features.SMS)
		}
		return tw.Flush()
	case "add":
		app := identity.App{
			ClientID: clientID, Name: name, Origins: origins, RedirectURIs: redirects,
			Features: identity.Features{Call: !noCall, SMS: !noSMS},
		}
		if err := app.ValidateRegistration(dev); err != nil {
			return err
		}
		if err := db.PutApp(ctx, app); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "app %s saved\n", clientID)
		return nil
	case "remove":
		if err := db.DeleteApp(ctx, clientID); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "app %s removed\n", clientID)
		return nil
	case "secret":
		if removeSecret {
			if err := db.SetAppSecret(ctx, clientID, ""); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "app %s is public: it has no secret\n", clientID)
			return nil
		}
		secret, hash := identity.NewClientSecret()
		if err := db.SetAppSecret(ctx, clientID, hash); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "app %s is confidential; its client secret, shown only now (a new one replaces it):\n", clientID)
		fmt.Fprintln(stdout, secret)
		return nil
	}
	return fmt.Errorf("apps: unknown subcommand %q: want list, add, remove or secret", sub)
}
