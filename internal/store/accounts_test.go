package store

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/callbridge/widget-server/internal/identity"
)

func TestAccounts(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	if v, err := db.SchemaVersion(ctx); err != nil || v < 2 {
		t.Fatalf("schema version %d, %v", v, err)
	}
	acme := identity.Account{Company: "Acme", MainNumber: "+14155550100", CountryCode: "US", AreaCode: "415"}
	if err := db.CreateAccount(ctx, &acme); err != nil || acme.ID == 0 {
		t.Fatalf("create: id %d, %v", acme.ID, err)
	}
	globex := identity.Account{Company: "Globex", MainNumber: "+4930123456", CountryCode: "DE"}
	if err := db.CreateAccount(ctx, &globex); err != nil {
		t.Fatal(err)
	}
	dup := identity.Account{Company: "Copy", MainNumber: "+14155550100", CountryCode: "US"}
	if err := db.CreateAccount(ctx, &dup); !errors.Is(err, identity.ErrConflict) {
		t.Fatalf("duplicate main number: %v", err)
	}
	if got, err := db.Account(ctx, acme.ID); err != nil || got != acme {
		t.Fatalf("Account = %+v, %v", got, err)
	}
	if got, err := db.AccountByMainNumber(ctx, "+4930123456"); err != nil || got != globex {
		t.Fatalf("AccountByMainNumber = %+v, %v", got, err)
	}
	if all, err := db.Accounts(ctx); err != nil || !reflect.DeepEqual(all, []identity.Account{acme, globex}) {
		t.Fatalf("Accounts = %+v, %v", all, err)
	}
	if _, err := db.Account(ctx, 999); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
	if _, err := db.AccountByMainNumber(ctx, "+14155550199"); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("unknown number: %v", err)
	}
}

func TestExtensions(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	acme := identity.Account{Company: "Acme", MainNumber: "+14155550100", CountryCode: "US"}
	globex := identity.Account{Company: "Globex", MainNumber: "+14155550200", CountryCode: "US"}
	for _, a := range []*identity.Account{&acme, &globex} {
		if err := db.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	ext := func(accountID int64, number, email string) identity.Extension {
		return identity.Extension{AccountID: accountID, Number: number, Name: "N " + number, Email: email,
			Role: identity.RoleUser, Status: identity.StatusEnabled}
	}
	ann := ext(acme.ID, "101", "Ann@Acme.Test")
	ann.Role = identity.RoleAdmin
	ann.DirectNumbers = []string{"+14155550101", "+14155550111"}
	if err := db.CreateExtension(ctx, &ann, "hash-ann"); err != nil || ann.ID == 0 || ann.Email != "ann@acme.test" {
		t.Fatalf("create: %+v, %v", ann, err)
	}
	// created out of numeric order, listed in it
	var made []identity.Extension
	for _, n := range []string{"1000", "99", "102"} {
		e := ext(acme.ID, n, "x"+n+"@acme.test")
		if err := db.CreateExtension(ctx, &e, "h"); err != nil {
			t.Fatal(err)
		}
		made = append(made, e)
	}
	tests := []struct {
		name string
		ext  identity.Extension
		want error
	}{
		{"same number, other account", ext(globex.ID, "101", "ed@globex.test"), nil},
		{"email taken in another case", ext(globex.ID, "102", "ANN@acme.test"), identity.ErrConflict},
		{"number taken", ext(acme.ID, "101", "al@acme.test"), identity.ErrConflict},
		{"no such account", ext(999, "101", "al@nowhere.test"), identity.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.ext
			err := db.CreateExtension(ctx, &e, "h")
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("CreateExtension = %v, want %v", err, tt.want)
			}
		})
	}

	for name, get := range map[string]func() (identity.Extension, error){
		"by id":     func() (identity.Extension, error) { return db.Extension(ctx, ann.ID) },
		"by email":  func() (identity.Extension, error) { return db.ExtensionByEmail(ctx, "ANN@acme.TEST") },
		"by number": func() (identity.Extension, error) { return db.ExtensionByNumber(ctx, acme.ID, "101") },
	} {
		if got, err := get(); err != nil || !reflect.DeepEqual(got, ann) {
			t.Errorf("%s: %+v, %v; want %+v", name, got, err, ann)
		}
	}
	all, err := db.Extensions(ctx, acme.ID)
	if err != nil {
		t.Fatal(err)
	}
	var numbers []string
	for _, e := range all {
		numbers = append(numbers, e.Number)
	}
	if want := []string{"99", "101", "102", "1000"}; !reflect.DeepEqual(numbers, want) {
		t.Fatalf("numbers %v, want %v", numbers, want)
	}
	if !reflect.DeepEqual(all[0], made[1]) || all[0].DirectNumbers != nil {
		t.Fatalf("listed %+v, want %+v", all[0], made[1])
	}

	for _, lookup := range []error{
		func() error { _, err := db.Extension(ctx, 999); return err }(),
		func() error { _, err := db.ExtensionByEmail(ctx, "nobody@acme.test"); return err }(),
		func() error { _, err := db.ExtensionByNumber(ctx, globex.ID, "102"); return err }(),
		func() error { _, err := db.PasswordHash(ctx, 999); return err }(),
		db.SetPasswordHash(ctx, 999, "h"),
	} {
		if !errors.Is(lookup, identity.ErrNotFound) {
			t.Errorf("missing row: %v, want ErrNotFound", lookup)
		}
	}

	if h, err := db.PasswordHash(ctx, ann.ID); err != nil || h != "hash-ann" {
		t.Fatalf("PasswordHash = %q, %v", h, err)
	}
	if err := db.SetPasswordHash(ctx, ann.ID, "hash-2"); err != nil {
		t.Fatal(err)
	}
	if h, err := db.PasswordHash(ctx, ann.ID); err != nil || h != "hash-2" {
		t.Fatalf("PasswordHash after set = %q, %v", h, err)
	}
}

func TestDeleteAccountCascades(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	acme := identity.Account{Company: "Acme", MainNumber: "+14155550100", CountryCode: "US"}
	if err := db.CreateAccount(ctx, &acme); err != nil {
		t.Fatal(err)
	}
	ann := identity.Extension{AccountID: acme.ID, Number: "101", Name: "Ann", Email: "ann@acme.test", Role: identity.RoleUser, Status: identity.StatusEnabled}
	if err := db.CreateExtension(ctx, &ann, "h"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.sql.ExecContext(ctx, `DELETE FROM accounts WHERE id = ?`, acme.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Extension(ctx, ann.ID); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("extension outlived its account: %v", err)
	}
}

func TestDepartmentMembers(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	acme := identity.Account{Company: "Acme", MainNumber: "+14155550100", CountryCode: "US"}
	if err := db.CreateAccount(ctx, &acme); err != nil {
		t.Fatal(err)
	}
	users := map[string]*identity.Extension{}
	for _, n := range []string{"101", "102", "103"} {
		e := identity.Extension{AccountID: acme.ID, Number: n, Name: "N " + n, Email: n + "@acme.test",
			Role: identity.RoleUser, Status: identity.StatusEnabled}
		if err := db.CreateExtension(ctx, &e, "h"); err != nil {
			t.Fatal(err)
		}
		users[n] = &e
	}
	sales := identity.Extension{AccountID: acme.ID, Number: "200", Name: "Sales", Email: "sales@acme.test",
		Role: identity.RoleUser, Status: identity.StatusEnabled, Type: identity.TypeDepartment,
		Members: []int64{users["103"].ID, users["101"].ID}}
	if err := db.CreateExtension(ctx, &sales, ""); err != nil {
		t.Fatal(err)
	}
	want := []int64{users["101"].ID, users["103"].ID}
	got, err := db.ExtensionByNumber(ctx, acme.ID, "200")
	if err != nil || got.Type != identity.TypeDepartment || !reflect.DeepEqual(got.Members, want) {
		t.Fatalf("department read back as %+v, %v; want members %v", got, err, want)
	}
	if u, err := db.Extension(ctx, users["101"].ID); err != nil || u.Type != identity.TypeUser || u.Members != nil {
		t.Fatalf("user read back as %+v, %v", u, err)
	}

	tests := []struct {
		name    string
		dept    int64
		members []int64
		want    []int64
		err     error
	}{
		{"replace", sales.ID, []int64{users["102"].ID}, []int64{users["102"].ID}, nil},
		{"given twice", sales.ID, []int64{users["103"].ID, users["102"].ID, users["103"].ID}, []int64{users["102"].ID, users["103"].ID}, nil},
		{"unknown member", sales.ID, []int64{users["101"].ID, 999}, []int64{users["102"].ID, users["103"].ID}, identity.ErrNotFound},
		{"unknown department", 999, []int64{users["101"].ID}, nil, identity.ErrNotFound},
		{"a user", users["101"].ID, []int64{users["102"].ID}, nil, identity.ErrInvalid},
		{"none", sales.ID, nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := db.SetDepartmentMembers(ctx, tt.dept, tt.members)
			if tt.err == nil && err != nil || tt.err != nil && !errors.Is(err, tt.err) {
				t.Fatalf("SetDepartmentMembers = %v, want %v", err, tt.err)
			}
			if tt.dept != sales.ID {
				return
			}
			got, err := db.Extension(ctx, sales.ID)
			if err != nil || !reflect.DeepEqual(got.Members, tt.want) {
				t.Fatalf("members %v, %v; want %v (a failed change leaves them as they were)", got.Members, err, tt.want)
			}
		})
	}

	// a deleted member leaves its departments
	if err := db.SetDepartmentMembers(ctx, sales.ID, []int64{users["101"].ID, users["102"].ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.sql.ExecContext(ctx, `DELETE FROM extensions WHERE id = ?`, users["101"].ID); err != nil {
		t.Fatal(err)
	}
	all, err := db.Extensions(ctx, acme.ID)
	if err != nil {
		t.Fatal(err)
	}
	last := all[len(all)-1]
	if last.Number != "200" || !reflect.DeepEqual(last.Members, []int64{users["102"].ID}) {
		t.Fatalf("after a member's deletion the department is %+v", last)
	}
}
