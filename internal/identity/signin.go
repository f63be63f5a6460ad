package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/callbridge/widget-server/internal/phonenumber"
)

// Authenticate resolves username — an email, or "mainNumber*ext" with the
// main number in any format AccountByMainNumber accepts — and checks the
// password. Unknown users, wrong passwords, disabled extensions,
// departments (which have no password) and, after RefuseDemoPassword, the
// demo users' demo password are all ErrBadCredentials, and an unknown user costs a password hash too, so
// neither the answer nor its timing tells which users exist. Other errors
// are the store's.
func (d *Directory) Authenticate(ctx context.Context, username, password string) (Account, Extension, error) {
	a, e, err := d.resolve(ctx, strings.TrimSpace(username))
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalid) {
		CheckPassword(d.dummy(), password)
		return Account{}, Extension{}, ErrBadCredentials
	}
	if err != nil {
		return Account{}, Extension{}, fmt.Errorf("authenticate: %w", err)
	}
	if e.Department() { // no password: costs one as an unknown user does
		CheckPassword(d.dummy(), password)
		return Account{}, Extension{}, ErrBadCredentials
	}
	hash, err := d.store.PasswordHash(ctx, e.ID)
	if errors.Is(err, ErrNotFound) {
		CheckPassword(d.dummy(), password)
		return Account{}, Extension{}, ErrBadCredentials
	}
	if err != nil {
		return Account{}, Extension{}, fmt.Errorf("authenticate extension %d: %w", e.ID, err)
	}
	if !CheckPassword(hash, password) || !e.Enabled() || d.refuseDemo && demoPassword(a, e, password) {
		return Account{}, Extension{}, ErrBadCredentials
	}
	return a, e, nil
}

// resolve finds the extension a sign-in name stands for.
func (d *Directory) resolve(ctx context.Context, username string) (Account, Extension, error) {
	if strings.Contains(username, "@") {
		return d.ExtensionByEmail(ctx, username)
	}
	main, ext, ok := phonenumber.SplitLogin(username)
	if !ok || !phonenumber.IsExtension(ext) {
		return Account{}, Extension{}, fmt.Errorf("%w: username %q: want an email or mainNumber*ext", ErrInvalid, username)
	}
	a, err := d.AccountByMainNumber(ctx, main)
	if err != nil {
		return Account{}, Extension{}, err
	}
	e, err := d.store.ExtensionByNumber(ctx, a.ID, ext)
	if err != nil {
		return Account{}, Extension{}, fmt.Errorf("extension %s of account %d: %w", ext, a.ID, err)
	}
	return a, e, nil
}

// dummy returns a hash, made once, that an unknown user's password is
// compared against to spend the time a real check would.
func (d *Directory) dummy() string {
	d.dummyOnce.Do(func() {
		h, err := HashPassword("no such user: a password nobody has")
		if err == nil {
			d.dummyHash = h
		}
	})
	return d.dummyHash
}

// SignInKey is the key under which the sign-in back-off (Throttle) counts
// username's failures: the extension it resolves to, however it is spelled
// ("+1 650-555-0100*101", "6505550100*101" and alice's email are one key),
// and for a name that resolves to no one a normalised form of it, so that
// guessing at unknown names in many spellings is slowed as well.
func (d *Directory) SignInKey(ctx context.Context, username string) string {
	username = strings.TrimSpace(username)
	if _, e, err := d.resolve(ctx, username); err == nil {
		return fmt.Sprint("ext:", e.ID)
	}
	name := strings.ToLower(username)
	if main, ext, ok := phonenumber.SplitLogin(name); ok && !strings.Contains(name, "@") {
		for _, cc := range []string{"", "US"} {
			if n, err := phonenumber.E164(main, cc); err == nil {
				return "name:" + phonenumber.Login(n, strings.TrimSpace(ext))
			}
		}
	}
	return "name:" + strings.Join(strings.Fields(name), " ")
}
