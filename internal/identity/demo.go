package identity

import (
	"context"
	"errors"
	"fmt"
)

// The demo account, seeded for trying the widget on a development machine.
const (
	DemoMainNumber = "+16505550100"
	DemoPassword   = "demo"
)

// demoExtensions are the demo account's users; they all sign in with DemoPassword.
var demoExtensions = []Extension{
	{Number: "101", Name: "Alice Adams", Email: "alice@demo.test", Role: RoleAdmin, DirectNumbers: []string{"+16505550101"}},
	{Number: "102", Name: "Bob Brown", Email: "bob@demo.test", Role: RoleUser, DirectNumbers: []string{"+16505550102"}},
	{Number: "103", Name: "Carol Chen", Email: "carol@demo.test", Role: RoleUser, DirectNumbers: []string{"+16505550103"}},
}

// SeedDemo creates what is missing of the demo account "Demo Co."
// (DemoMainNumber, US, area 650) and its users alice@, bob@ and
// carol@demo.test (101 admin, 102, 103), password DemoPassword. It is
// idempotent and leaves alone what exists: an extension whose email or
// number is already taken is not touched, nor is a changed password reset.
// The caller seeds only servers that listen on loopback.
func (d *Directory) SeedDemo(ctx context.Context) error {
	a, err := d.store.AccountByMainNumber(ctx, DemoMainNumber)
	if errors.Is(err, ErrNotFound) {
		a = Account{Company: "Demo Co.", MainNumber: DemoMainNumber, CountryCode: "US", AreaCode: "650"}
		err = d.CreateAccount(ctx, &a)
		if errors.Is(err, ErrConflict) { // created meanwhile by another process
			a, err = d.store.AccountByMainNumber(ctx, DemoMainNumber)
		}
	}
	if err != nil {
		return fmt.Errorf("seed demo account: %w", err)
	}
	for _, want := range demoExtensions {
		if _, err := d.store.ExtensionByEmail(ctx, want.Email); !errors.Is(err, ErrNotFound) {
			if err != nil {
				return fmt.Errorf("seed demo %s: %w", want.Email, err)
			}
			continue
		}
		if _, err := d.store.ExtensionByNumber(ctx, a.ID, want.Number); !errors.Is(err, ErrNotFound) {
			if err != nil {
				return fmt.Errorf("seed demo %s: %w", want.Email, err)
			}
			continue
		}
		e := want
		e.AccountID = a.ID
		e.DirectNumbers = append([]string(nil), want.DirectNumbers...)
		if err := d.CreateExtension(ctx, &e, DemoPassword); err != nil && !errors.Is(err, ErrConflict) {
			return fmt.Errorf("seed demo %s: %w", want.Email, err)
		}
	}
	return nil
}
