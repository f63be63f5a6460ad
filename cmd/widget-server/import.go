package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/store"
)

// Bounds of what extensions import reads from stdin.
const (
	maxImportUsers = 100_000
	maxImportBytes = 64 << 20
)

// runExtensionsImport adds many users to an account at once: stdin holds
// their initial password on its first line, then one user a line as CSV
// (NUMBER,NAME,EMAIL). The password is hashed once for all of them, so
// ten thousand users take seconds instead of the minutes that as many
// extensions add commands take; each user then gets a password of their own
// (extensions set-password).
//
//	extensions import --main-number NUMBER --password-stdin < users.csv
func runExtensionsImport(ctx context.Context, args []string, getenv lookupEnv, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("widget-server extensions import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ef := envFlags{fs, getenv}
	var dataDir, mainNumber string
	var passwordStdin bool
	ef.str(&dataDir, "data-dir", "WIDGET_DATA_DIR", "./data", "directory of the database")
	database := ef.database()
	fs.StringVar(&mainNumber, "main-number", "", "the account's main number, e.g. +14155550100")
	fs.BoolVar(&passwordStdin, "password-stdin", false, "read the users' initial password from the first line of stdin (required)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if !passwordStdin {
		return errors.New("extensions import: --password-stdin is required: the first line of stdin is the users' initial password")
	}
	if stdin == nil {
		return errors.New("extensions import: no stdin to read the users from")
	}
	br := bufio.NewReader(io.LimitReader(stdin, maxImportBytes))
	password, err := readImportPassword(br)
	if err != nil {
		return err
	}
	users, err := readImportUsers(br)
	if err != nil {
		return err
	}
	db, err := store.OpenDatabase(ctx, *database, dataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	dir := identity.NewDirectory(db)
	a, err := dir.AccountByMainNumber(ctx, mainNumber)
	if err != nil {
		return err
	}
	n, err := dir.ImportExtensions(ctx, a.ID, users, password)
	if err != nil {
		return fmt.Errorf("extensions import: %d of %d imported, then: %w", n, len(users), err)
	}
	fmt.Fprintf(stdout, "%d extensions imported into %s\n", n, a.MainNumber)
	return nil
}

// readImportPassword reads the first line, the password.
func readImportPassword(br *bufio.Reader) (string, error) {
	line, err := br.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull) || len(line) > maxPasswordLine:
		return "", errors.New("extensions import: the password line is too long")
	case err != nil && !errors.Is(err, io.EOF):
		return "", fmt.Errorf("extensions import: read password: %w", err)
	}
	p := strings.TrimRight(string(line), "\r\n")
	if p == "" {
		return "", errors.New("extensions import: the first line of stdin, the password, is empty")
	}
	return p, nil
}

// readImportUsers reads the users, NUMBER,NAME,EMAIL a line; blank lines
// are skipped.
func readImportUsers(r io.Reader) ([]identity.Extension, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 3
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	var users []identity.Extension
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("extensions import: want NUMBER,NAME,EMAIL a line: %w", err)
		}
		if len(users) == maxImportUsers {
			return nil, fmt.Errorf("extensions import: more than %d users: import them in parts", maxImportUsers)
		}
		users = append(users, identity.Extension{Number: strings.TrimSpace(rec[0]), Name: rec[1], Email: strings.TrimSpace(rec[2])})
	}
	if len(users) == 0 {
		return nil, errors.New("extensions import: no users after the password line")
	}
	return users, nil
}
