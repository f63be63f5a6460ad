package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/callbridge/widget-server/internal/phonenumber"
)

// Directory holds the rules over an AccountStore: validation, password
// hashing and how a sign-in name resolves to an extension.
type Directory struct {
	store      AccountStore
	refuseDemo bool // see RefuseDemoPassword

	dummyOnce sync.Once
	dummyHash string // compared against when the user is unknown
}

// NewDirectory returns a Directory over s.
func NewDirectory(s AccountStore) *Directory { return &Directory{store: s} }

// CreateAccount validates a and stores it, setting a.ID. A main number that
// is already taken is ErrConflict.
func (d *Directory) CreateAccount(ctx context.Context, a *Account) error {
	if err := a.Validate(); err != nil {
		return err
	}
	return d.store.CreateAccount(ctx, a)
}

// CreateExtension validates e against its account, hashes password and
// stores both, setting e.ID. A taken email or number is ErrConflict. A
// department has no password (password must be ""): nobody signs in as it;
// its members, users of its account, are checked as SetMembers does.
func (d *Directory) CreateExtension(ctx context.Context, e *Extension, password string) error {
	a, err := d.store.Account(ctx, e.AccountID)
	if err != nil {
		return fmt.Errorf("create extension %s: %w", e.Number, err)
	}
	if err := e.Validate(a); err != nil {
		return err
	}
	if e.Department() {
		if password != "" {
			return fmt.Errorf("%w: extension %s: a department does not sign in and has no password", ErrInvalid, e.Number)
		}
		members, err := d.checkMembers(ctx, e.AccountID, e.Members)
		if err != nil {
			return fmt.Errorf("department %s: %w", e.Number, err)
		}
		e.Members = members
		return d.store.CreateExtension(ctx, e, "")
	}
	hash, err := HashPassword(password)
	if err != nil {
		return fmt.Errorf("extension %s: %w", e.Number, err)
	}
	return d.store.CreateExtension(ctx, e, hash)
}

// SetPassword replaces an extension's password and ends, at once, every
// widget session and API token of it (see Revocation): whoever knew the old
// password, or holds a token got with it, is out.
func (d *Directory) SetPassword(ctx context.Context, extensionID int64, password string) error {
	hash, err := HashPassword(password)
	if err != nil {
		return fmt.Errorf("extension %d: %w", extensionID, err)
	}
	return d.store.SetPasswordHash(ctx, extensionID, hash)
}

// SetStatus enables (StatusEnabled) or disables (StatusDisabled) a user.
// Disabling ends, at once, every widget session and API token of the
// extension (see Revocation); it cannot sign in until enabled again. A
// department does not sign in and has no status to change: ErrInvalid.
func (d *Directory) SetStatus(ctx context.Context, extensionID int64, status string) error {
	if status != StatusEnabled && status != StatusDisabled {
		return fmt.Errorf("%w: status %q: want %s or %s", ErrInvalid, status, StatusEnabled, StatusDisabled)
	}
	e, err := d.store.Extension(ctx, extensionID)
	if err != nil {
		return fmt.Errorf("extension %d: %w", extensionID, err)
	}
	if e.Department() {
		return fmt.Errorf("%w: extension %s is a department, which does not sign in", ErrInvalid, e.Number)
	}
	return d.store.SetExtensionStatus(ctx, extensionID, status)
}

// AccountByMainNumber finds the account whose main number is raw in any
// common format: E.164 with or without separators ("+1 650 555 0100"), or,
// for an account in a North American country, its national format
// ("(650) 555-0100", "16505550100"). ErrNotFound when there is none.
func (d *Directory) AccountByMainNumber(ctx context.Context, raw string) (Account, error) {
	tried := map[string]bool{}
	// The country is not known until the account is found, so a national
	// number is tried as North American (the plan of the ten-digit numbers
	// people type without a "+"); the account found must then read raw the
	// same way in its own country.
	for _, cc := range []string{"", "US"} {
		n, err := phonenumber.E164(raw, cc)
		if err != nil || tried[n] {
			continue
		}
		tried[n] = true
		a, err := d.store.AccountByMainNumber(ctx, n)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return Account{}, fmt.Errorf("account %q: %w", raw, err)
		}
		if own, err := phonenumber.E164(raw, a.CountryCode); err == nil && own == a.MainNumber {
			return a, nil
		}
	}
	return Account{}, fmt.Errorf("account %q: %w", raw, ErrNotFound)
}

// ExtensionWithAccount returns an extension and the account it belongs to.
func (d *Directory) ExtensionWithAccount(ctx context.Context, extensionID int64) (Account, Extension, error) {
	e, err := d.store.Extension(ctx, extensionID)
	if err != nil {
		return Account{}, Extension{}, fmt.Errorf("extension %d: %w", extensionID, err)
	}
	a, err := d.store.Account(ctx, e.AccountID)
	if err != nil {
		return Account{}, Extension{}, fmt.Errorf("account of extension %d: %w", extensionID, err)
	}
	return a, e, nil
}

// ExtensionByEmail returns the extension with that email, in any case, and
// its account.
func (d *Directory) ExtensionByEmail(ctx context.Context, email string) (Account, Extension, error) {
	e, err := d.store.ExtensionByEmail(ctx, strings.ToLower(strings.TrimSpace(email)))
	if err != nil {
		return Account{}, Extension{}, fmt.Errorf("extension %q: %w", email, err)
	}
	a, err := d.store.Account(ctx, e.AccountID)
	if err != nil {
		return Account{}, Extension{}, fmt.Errorf("account of extension %q: %w", email, err)
	}
	return a, e, nil
}

// Extensions lists an account's extensions, users and departments, enabled
// or not, in the order of their numbers (99 before 100).
func (d *Directory) Extensions(ctx context.Context, accountID int64) ([]Extension, error) {
	exts, err := d.store.Extensions(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("extensions of account %d: %w", accountID, err)
	}
	return exts, nil
}
