package identity_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/store"
)

// newDirectory returns a Directory over a real database in a temp dir.
func newDirectory(t testing.TB) (*identity.Directory, *store.DB) {
	t.Helper()
	db, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return identity.NewDirectory(db), db
}

func TestValidateAccount(t *testing.T) {
	tests := []struct {
		name string
		in   identity.Account
		want identity.Account // when valid
		ok   bool
	}{
		{"canonical", identity.Account{Company: "Acme", MainNumber: "+14155550100", CountryCode: "US", AreaCode: "415"},
			identity.Account{Company: "Acme", MainNumber: "+14155550100", CountryCode: "US", AreaCode: "415"}, true},
		{"national number, area derived", identity.Account{Company: " Acme ", MainNumber: "(415) 555-0100", CountryCode: "us"},
			identity.Account{Company: "Acme", MainNumber: "+14155550100", CountryCode: "US", AreaCode: "415"}, true},
		{"abroad, no area", identity.Account{Company: "Acme GmbH", MainNumber: "+49 30 123456", CountryCode: "DE"},
			identity.Account{Company: "Acme GmbH", MainNumber: "+4930123456", CountryCode: "DE"}, true},
		{"no company", identity.Account{Company: "  ", MainNumber: "+14155550100", CountryCode: "US"}, identity.Account{}, false},
		{"bad number", identity.Account{Company: "Acme", MainNumber: "555-0100", CountryCode: "US"}, identity.Account{}, false},
		{"national number abroad", identity.Account{Company: "Acme", MainNumber: "030 123456", CountryCode: "DE"},
			identity.Account{Company: "Acme", MainNumber: "+4930123456", CountryCode: "DE"}, true},
		{"no country", identity.Account{Company: "Acme", MainNumber: "+14155550100"}, identity.Account{}, false},
		{"three-letter country", identity.Account{Company: "Acme", MainNumber: "+14155550100", CountryCode: "USA"}, identity.Account{}, false},
		{"bad area code", identity.Account{Company: "Acme", MainNumber: "+14155550100", CountryCode: "US", AreaCode: "4a5"}, identity.Account{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.in
			err := a.Validate()
			if !tt.ok {
				if !errors.Is(err, identity.ErrInvalid) {
					t.Fatalf("Validate() = %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil || a != tt.want {
				t.Fatalf("Validate() = %v: %+v, want %+v", err, a, tt.want)
			}
		})
	}
}

func TestValidateExtension(t *testing.T) {
	acct := identity.Account{ID: 7, Company: "Acme", MainNumber: "+14155550100", CountryCode: "US"}
	tests := []struct {
		name string
		in   identity.Extension
		want identity.Extension // when valid
		ok   bool
	}{
		{"defaults", identity.Extension{Number: "101", Name: " Ann Lee ", Email: "Ann@Acme.TEST", DirectNumbers: []string{"(415) 555-0101"}},
			identity.Extension{AccountID: 7, Number: "101", Name: "Ann Lee", Email: "ann@acme.test", Role: identity.RoleUser,
				DirectNumbers: []string{"+14155550101"}, Status: identity.StatusEnabled, Type: identity.TypeUser}, true},
		{"admin, disabled", identity.Extension{Number: "12345678", Name: "Bo", Email: "bo@acme.test", Role: identity.RoleAdmin, Status: identity.StatusDisabled},
			identity.Extension{AccountID: 7, Number: "12345678", Name: "Bo", Email: "bo@acme.test", Role: identity.RoleAdmin, Status: identity.StatusDisabled,
				Type: identity.TypeUser}, true},
		{"department", identity.Extension{Number: "200", Name: "Support", Email: "support@acme.test", Type: identity.TypeDepartment},
			identity.Extension{AccountID: 7, Number: "200", Name: "Support", Email: "support@acme.test", Role: identity.RoleUser,
				Status: identity.StatusEnabled, Type: identity.TypeDepartment}, true},
		{"admin department", identity.Extension{Number: "200", Name: "S", Email: "s@acme.test", Type: identity.TypeDepartment, Role: identity.RoleAdmin}, identity.Extension{}, false},
		{"bad type", identity.Extension{Number: "200", Name: "S", Email: "s@acme.test", Type: "department"}, identity.Extension{}, false},
		{"user with members", identity.Extension{Number: "200", Name: "S", Email: "s@acme.test", Members: []int64{1}}, identity.Extension{}, false},
		{"one digit", identity.Extension{Number: "1", Name: "A", Email: "a@acme.test"}, identity.Extension{}, false},
		{"nine digits", identity.Extension{Number: "123456789", Name: "A", Email: "a@acme.test"}, identity.Extension{}, false},
		{"letters", identity.Extension{Number: "10a", Name: "A", Email: "a@acme.test"}, identity.Extension{}, false},
		{"no name", identity.Extension{Number: "101", Email: "a@acme.test"}, identity.Extension{}, false},
		{"no email", identity.Extension{Number: "101", Name: "A"}, identity.Extension{}, false},
		{"bad email", identity.Extension{Number: "101", Name: "A", Email: "a@"}, identity.Extension{}, false},
		{"email with display name", identity.Extension{Number: "101", Name: "A", Email: "A <a@acme.test>"}, identity.Extension{}, false},
		{"bad role", identity.Extension{Number: "101", Name: "A", Email: "a@acme.test", Role: "root"}, identity.Extension{}, false},
		{"bad status", identity.Extension{Number: "101", Name: "A", Email: "a@acme.test", Status: "enabled"}, identity.Extension{}, false},
		{"bad direct number", identity.Extension{Number: "101", Name: "A", Email: "a@acme.test", DirectNumbers: []string{"555-0101"}}, identity.Extension{}, false},
		{"direct number twice", identity.Extension{Number: "101", Name: "A", Email: "a@acme.test", DirectNumbers: []string{"+14155550101", "415 555 0101"}}, identity.Extension{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.in
			err := e.Validate(acct)
			if !tt.ok {
				if !errors.Is(err, identity.ErrInvalid) {
					t.Fatalf("Validate() = %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(e, tt.want) {
				t.Fatalf("Validate() = %v: %+v, want %+v", err, e, tt.want)
			}
		})
	}
}

func TestLoginNumberAndAdmin(t *testing.T) {
	a := identity.Account{MainNumber: "+16505550100"}
	e := identity.Extension{Number: "101", Role: identity.RoleAdmin}
	if got := identity.LoginNumber(a, e); got != "+16505550100*101" {
		t.Fatalf("LoginNumber = %q", got)
	}
	if !e.Admin() || (identity.Extension{Role: identity.RoleUser}).Admin() {
		t.Fatal("Admin() wrong")
	}
}

// fixture is an account with an admin, a user and a disabled user.
type fixture struct {
	dir           *identity.Directory
	acme          identity.Account
	ann, bo, cleo identity.Extension
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	ctx := context.Background()
	dir, _ := newDirectory(t)
	f := fixture{dir: dir, acme: identity.Account{Company: "Acme", MainNumber: "+1 415 555 0100", CountryCode: "US"}}
	if err := dir.CreateAccount(ctx, &f.acme); err != nil {
		t.Fatal(err)
	}
	f.ann = identity.Extension{AccountID: f.acme.ID, Number: "101", Name: "Ann Lee", Email: "Ann@Acme.test", Role: identity.RoleAdmin}
	f.bo = identity.Extension{AccountID: f.acme.ID, Number: "102", Name: "Bo Diaz", Email: "bo@acme.test"}
	f.cleo = identity.Extension{AccountID: f.acme.ID, Number: "103", Name: "Cleo Park", Email: "cleo@acme.test", Status: identity.StatusDisabled}
	for _, e := range []*identity.Extension{&f.ann, &f.bo, &f.cleo} {
		if err := dir.CreateExtension(ctx, e, "secret-"+e.Number); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func TestDirectoryCreate(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	if f.acme.ID == 0 || f.acme.MainNumber != "+14155550100" || f.acme.AreaCode != "415" {
		t.Fatalf("account %+v", f.acme)
	}
	if f.ann.ID == 0 || f.ann.Email != "ann@acme.test" || f.ann.Status != identity.StatusEnabled {
		t.Fatalf("extension %+v", f.ann)
	}
	other := identity.Account{Company: "Other", MainNumber: "+14155550200", CountryCode: "US"}
	if err := f.dir.CreateAccount(ctx, &other); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		ext      identity.Extension
		password string
		want     error // nil for success
	}{
		{"same number, other account", identity.Extension{AccountID: other.ID, Number: "101", Name: "Ed", Email: "ed@other.test"}, "pass", nil},
		{"email taken in another case", identity.Extension{AccountID: other.ID, Number: "102", Name: "Ann", Email: "ANN@acme.test"}, "pass", identity.ErrConflict},
		{"number taken", identity.Extension{AccountID: f.acme.ID, Number: "101", Name: "Al", Email: "al@acme.test"}, "pass", identity.ErrConflict},
		{"no such account", identity.Extension{AccountID: 999, Number: "101", Name: "Al", Email: "al@acme.test"}, "pass", identity.ErrNotFound},
		{"short password", identity.Extension{AccountID: f.acme.ID, Number: "104", Name: "Al", Email: "al@acme.test"}, "abc", identity.ErrInvalid},
		{"invalid", identity.Extension{AccountID: f.acme.ID, Number: "1", Name: "Al", Email: "al@acme.test"}, "pass", identity.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.ext
			err := f.dir.CreateExtension(ctx, &e, tt.password)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("CreateExtension = %v, want %v", err, tt.want)
			}
		})
	}
	dup := identity.Account{Company: "Copy", MainNumber: "(415) 555-0100", CountryCode: "US"}
	if err := f.dir.CreateAccount(ctx, &dup); !errors.Is(err, identity.ErrConflict) {
		t.Fatalf("duplicate main number: %v", err)
	}
	if err := f.dir.CreateAccount(ctx, &identity.Account{Company: "Bad"}); !errors.Is(err, identity.ErrInvalid) {
		t.Fatalf("invalid account: %v", err)
	}
}

func TestAuthenticate(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	// A company abroad with a US main number: national formats are read in
	// the account's country, so only the international form signs in.
	abroad := identity.Account{Company: "Abroad", MainNumber: "+12125550100", CountryCode: "GB"}
	if err := f.dir.CreateAccount(ctx, &abroad); err != nil {
		t.Fatal(err)
	}
	dee := identity.Extension{AccountID: abroad.ID, Number: "201", Name: "Dee", Email: "dee@abroad.test"}
	if err := f.dir.CreateExtension(ctx, &dee, "secret-201"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		username, password string
		want               int64 // extension id; 0 for ErrBadCredentials
	}{
		{"ann@acme.test", "secret-101", f.ann.ID},
		{" ANN@Acme.Test ", "secret-101", f.ann.ID},
		{"bo@acme.test", "secret-102", f.bo.ID},
		{"+14155550100*101", "secret-101", f.ann.ID},
		{"+1 415 555 0100*101", "secret-101", f.ann.ID},
		{"14155550100*102", "secret-102", f.bo.ID},
		{"(415) 555-0100*102", "secret-102", f.bo.ID},
		{"415.555.0100*101", "secret-101", f.ann.ID},
		{"+1 212 555 0100*201", "secret-201", dee.ID},
		{"(212) 555-0100*201", "secret-201", 0},
		{"12125550100*201", "secret-201", 0},
		{"ann@acme.test", "secret-102", 0},
		{"ann@acme.test", "", 0},
		{"+14155550100*101", "Secret-101", 0},
		{"cleo@acme.test", "secret-103", 0},
		{"+14155550100*103", "secret-103", 0},
		{"nobody@acme.test", "secret-101", 0},
		{"+14155550100*109", "secret-101", 0},
		{"+14155550199*101", "secret-101", 0},
		{"+14155550100*", "secret-101", 0},
		{"*101", "secret-101", 0},
		{"+14155550100", "secret-101", 0},
		{"101", "secret-101", 0},
		{"", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.username+"/"+tt.password, func(t *testing.T) {
			a, e, err := f.dir.Authenticate(ctx, tt.username, tt.password)
			if tt.want == 0 {
				if err != identity.ErrBadCredentials || e.ID != 0 || a.ID != 0 {
					t.Fatalf("Authenticate = %+v, %+v, %v; want ErrBadCredentials", a, e, err)
				}
				return
			}
			if err != nil || e.ID != tt.want || a.ID != e.AccountID {
				t.Fatalf("Authenticate = %+v, %+v, %v; want extension %d", a, e, err, tt.want)
			}
		})
	}
}

func TestSetPassword(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	if err := f.dir.SetPassword(ctx, f.bo.ID, "new password"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.dir.Authenticate(ctx, "bo@acme.test", "secret-102"); err != identity.ErrBadCredentials {
		t.Fatalf("old password: %v", err)
	}
	if _, e, err := f.dir.Authenticate(ctx, "bo@acme.test", "new password"); err != nil || e.ID != f.bo.ID {
		t.Fatalf("new password: %+v, %v", e, err)
	}
	if err := f.dir.SetPassword(ctx, f.bo.ID, "abc"); !errors.Is(err, identity.ErrInvalid) {
		t.Fatalf("short password: %v", err)
	}
	if err := f.dir.SetPassword(ctx, 999, "long enough"); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("unknown extension: %v", err)
	}
}

func TestDirectoryLookups(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a, e, err := f.dir.ExtensionWithAccount(ctx, f.bo.ID)
	if err != nil || a != f.acme || !reflect.DeepEqual(e, f.bo) {
		t.Fatalf("ExtensionWithAccount = %+v, %+v, %v", a, e, err)
	}
	a, e, err = f.dir.ExtensionByEmail(ctx, "ANN@ACME.TEST")
	if err != nil || a != f.acme || !reflect.DeepEqual(e, f.ann) {
		t.Fatalf("ExtensionByEmail = %+v, %+v, %v", a, e, err)
	}
	if _, _, err := f.dir.ExtensionWithAccount(ctx, 999); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
	if _, _, err := f.dir.ExtensionByEmail(ctx, "nobody@acme.test"); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("unknown email: %v", err)
	}
	for _, raw := range []string{"+14155550100", "(415) 555-0100", "1-415-555-0100"} {
		if a, err := f.dir.AccountByMainNumber(ctx, raw); err != nil || a != f.acme {
			t.Errorf("AccountByMainNumber(%q) = %+v, %v", raw, a, err)
		}
	}
	if _, err := f.dir.AccountByMainNumber(ctx, "+14155550199"); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("unknown main number: %v", err)
	}
}

// BenchmarkAuthenticate shows that an unknown user costs what a wrong
// password does: both compare against a hash of the same cost.
func BenchmarkAuthenticate(b *testing.B) {
	ctx := context.Background()
	dir, _ := newDirectory(b)
	acme := identity.Account{Company: "Acme", MainNumber: "+14155550100", CountryCode: "US"}
	if err := dir.CreateAccount(ctx, &acme); err != nil {
		b.Fatal(err)
	}
	ann := identity.Extension{AccountID: acme.ID, Number: "101", Name: "Ann", Email: "ann@acme.test"}
	if err := dir.CreateExtension(ctx, &ann, "secret"); err != nil {
		b.Fatal(err)
	}
	for _, bm := range []struct{ name, username, password string }{
		{"right password", "ann@acme.test", "secret"},
		{"wrong password", "ann@acme.test", "guess"},
		{"unknown user", "nobody@acme.test", "guess"},
		{"unknown main number", "+14155550199*101", "guess"},
	} {
		b.Run(bm.name, func(b *testing.B) {
			for b.Loop() {
				dir.Authenticate(ctx, bm.username, bm.password)
			}
		})
	}
}
