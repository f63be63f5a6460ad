package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/server"
	"github.com/callbridge/widget-server/internal/store"
)

// runJWT manages users' JWT credentials, with which a confidential app's
// server signs in as the user (the jwt-bearer grant):
//
//	jwt list --email E
//	jwt create --email E --name N [--expires never|DAYSd]
//	jwt revoke --id ID
//
// create prints the JWT once; the server keeps only its id. It signs with
// the data dir's key for the server's public URL (--public-url, or the
// default of --listen), which must be the running server's.
func runJWT(ctx context.Context, args []string, getenv lookupEnv, stdout, stderr io.Writer) error {
	const subs = "list, create or revoke"
	if len(args) == 0 {
		return errors.New("jwt: want a subcommand: " + subs)
	}
	sub, args := args[0], args[1:]
	if sub != "list" && sub != "create" && sub != "revoke" {
		return fmt.Errorf("jwt: unknown subcommand %q: want %s", sub, subs)
	}
	fs := flag.NewFlagSet("widget-server jwt "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	ef := envFlags{fs, getenv}
	var dataDir, publicURL, listen, email, name, expires, id string
	ef.str(&dataDir, "data-dir", "WIDGET_DATA_DIR", "./data", "directory of the database")
	database := ef.database()
	ef.str(&publicURL, "public-url", "WIDGET_PUBLIC_URL", "", "the server's base URL as browsers see it (default http://localhost:PORT of --listen)")
	ef.str(&listen, "listen", "WIDGET_LISTEN", "127.0.0.1:8080", "the server's widget listener address")
	if sub == "revoke" {
		fs.StringVar(&id, "id", "", "the credential's id")
	} else {
		fs.StringVar(&email, "email", "", "the user's email")
	}
	if sub == "create" {
		fs.StringVar(&name, "name", "", "what the credential is for, e.g. \"CRM sync\"")
		fs.StringVar(&expires, "expires", "never", "never, or a lifetime in days, e.g. 90d")
	}
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	db, err := store.OpenDatabase(ctx, *database, dataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	creds, err := server.JWTCredentials(ctx, db, dataDir, publicURL, listen)
	if err != nil {
		return err
	}
	op := identity.OperatorActor()
	extension := func() (identity.Extension, error) {
		if email == "" {
			return identity.Extension{}, fmt.Errorf("jwt %s: --email is required", sub)
		}
		_, e, err := identity.NewDirectory(db).ExtensionByEmail(ctx, email)
		return e, err
	}
	switch sub {
	case "list":
		e, err := extension()
		if err != nil {
			return err
		}
		list, err := creds.List(ctx, op, e.ID)
		if err != nil {
			return err
		}
		now := time.Now()
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tSTATUS\tCREATED\tEXPIRES\tLAST USED")
		for _, c := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Name, c.Status(now), day(c.CreatedAt), day(c.ExpiresAt), day(c.LastUsedAt))
		}
		return tw.Flush()
	case "create":
		e, err := extension()
		if err != nil {
			return err
		}
		ttl, err := identity.ParseJWTLifetime(expires)
		if err != nil {
			return err
		}
		c, token, err := creds.Create(ctx, op, e.ID, name, ttl)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "credential %s for %s created; the JWT below is shown only now:\n", c.ID, e.Email)
		fmt.Fprintln(stdout, token)
		return nil
	default: // revoke
		if id == "" {
			return errors.New("jwt revoke: --id is required")
		}
		c, err := creds.Revoke(ctx, op, id)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "credential %s (%s) revoked\n", c.ID, c.Name)
		return nil
	}
}

// day prints a date for the listing, "-" for none.
func day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02")
}
