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

// demoDepartment is the demo account's department; its members are the
// demo users with demoDepartmentMembers' emails.
var demoDepartment = Extension{Number: "200", Name: "Support", Email: "support@demo.test", Role: RoleUser, Type: TypeDepartment}

var demoDepartmentMembers = []string{"bob@demo.test", "carol@demo.test"}

// SeedDemo creates what is missing of the demo account "Demo Co."
// (DemoMainNumber, US, area 650), its users alice@, bob@ and
// carol@demo.test (101 admin, 102, 103), password DemoPassword, and its
// department Support (200) whose members are bob and carol. It is
// idempotent and leaves alone what exists: an extension whose email or
// number is already taken is not touched, nor is a changed password reset
// or a department's changed members.
// The caller seeds only servers in development mode.
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
		if taken, err := d.taken(ctx, a.ID, want); err != nil {
			return err
		} else if taken {
			continue
		}
		e := want
		e.AccountID = a.ID
		e.DirectNumbers = append([]string(nil), want.DirectNumbers...)
		if err := d.CreateExtension(ctx, &e, DemoPassword); err != nil && !errors.Is(err, ErrConflict) {
			return fmt.Errorf("seed demo %s: %w", want.Email, err)
		}
	}
	return d.seedDemoDepartment(ctx, a)
}

// DemoUsers returns the emails of the seeded demo users (alice@, bob@ and
// carol@demo.test in the demo account) that exist, whatever their
// password: a server outside development mode warns about them.
func (d *Directory) DemoUsers(ctx context.Context) ([]string, error) {
	a, err := d.store.AccountByMainNumber(ctx, DemoMainNumber)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("demo account: %w", err)
	}
	var found []string
	for _, want := range demoExtensions {
		e, err := d.store.ExtensionByEmail(ctx, want.Email)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("demo user %s: %w", want.Email, err)
		}
		if e.AccountID == a.ID && !e.Department() {
			found = append(found, e.Email)
		}
	}
	return found, nil
}

// RefuseDemoPassword makes Authenticate refuse DemoPassword for the seeded
// demo users, so that a data dir seeded on a development machine does not
// open a production server to a password everyone knows. A demo user whose
// password was changed signs in as any user does. Call it before the
// Directory is used.
func (d *Directory) RefuseDemoPassword() { d.refuseDemo = true }

// demoPassword reports whether a sign-in is a seeded demo user's with the
// demo password.
func demoPassword(a Account, e Extension, password string) bool {
	if password != DemoPassword || a.MainNumber != DemoMainNumber {
		return false
	}
	for _, want := range demoExtensions {
		if e.Email == want.Email {
			return true
		}
	}
	return false
}

// seedDemoDepartment creates the demo department, unless its email or
// number is taken, with those of its members that are users of a.
func (d *Directory) seedDemoDepartment(ctx context.Context, a Account) error {
	want := demoDepartment
	if taken, err := d.taken(ctx, a.ID, want); err != nil || taken {
		return err
	}
	e := want
	e.AccountID = a.ID
	for _, email := range demoDepartmentMembers {
		m, err := d.store.ExtensionByEmail(ctx, email)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("seed demo %s: member %s: %w", want.Email, email, err)
		}
		if m.AccountID == a.ID && !m.Department() {
			e.Members = append(e.Members, m.ID)
		}
	}
	if err := d.CreateExtension(ctx, &e, ""); err != nil && !errors.Is(err, ErrConflict) {
		return fmt.Errorf("seed demo %s: %w", want.Email, err)
	}
	return nil
}

// taken reports whether want's email, or its number in the account, is
// already someone's.
func (d *Directory) taken(ctx context.Context, accountID int64, want Extension) (bool, error) {
	if _, err := d.store.ExtensionByEmail(ctx, want.Email); !errors.Is(err, ErrNotFound) {
		if err != nil {
			return false, fmt.Errorf("seed demo %s: %w", want.Email, err)
		}
		return true, nil
	}
	if _, err := d.store.ExtensionByNumber(ctx, accountID, want.Number); !errors.Is(err, ErrNotFound) {
		if err != nil {
			return false, fmt.Errorf("seed demo %s: %w", want.Email, err)
		}
		return true, nil
	}
	return false, nil
}
