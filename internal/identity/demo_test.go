package identity_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/callbridge/widget-server/internal/identity"
)

func TestSeedDemo(t *testing.T) {
	ctx := context.Background()
	dir, db := newDirectory(t)
	for i := 0; i < 2; i++ {
		if err := dir.SeedDemo(ctx); err != nil {
			t.Fatalf("seed #%d: %v", i+1, err)
		}
	}
	accounts, err := db.Accounts(ctx)
	if err != nil || len(accounts) != 1 {
		t.Fatalf("accounts = %+v, %v", accounts, err)
	}
	demo := accounts[0]
	want := identity.Account{ID: demo.ID, Company: "Demo Co.", MainNumber: "+16505550100", CountryCode: "US", AreaCode: "650"}
	if demo != want {
		t.Fatalf("demo account %+v, want %+v", demo, want)
	}
	exts, err := db.Extensions(ctx, demo.ID)
	if err != nil {
		t.Fatal(err)
	}
	type user struct {
		number, name, email string
		role                identity.Role
		direct              []string
		typ                 identity.ExtensionType
		members             []int64
	}
	var got []user
	for _, e := range exts {
		if e.Status != identity.StatusEnabled {
			t.Errorf("%s is %s", e.Email, e.Status)
		}
		got = append(got, user{e.Number, e.Name, e.Email, e.Role, e.DirectNumbers, e.Type, e.Members})
	}
	if len(exts) != 4 {
		t.Fatalf("demo extensions: %+v", exts)
	}
	wantUsers := []user{
		{"101", "Alice Adams", "alice@demo.test", identity.RoleAdmin, []string{"+16505550101"}, identity.TypeUser, nil},
		{"102", "Bob Brown", "bob@demo.test", identity.RoleUser, []string{"+16505550102"}, identity.TypeUser, nil},
		{"103", "Carol Chen", "carol@demo.test", identity.RoleUser, []string{"+16505550103"}, identity.TypeUser, nil},
		{"200", "Support", "support@demo.test", identity.RoleUser, nil, identity.TypeDepartment, []int64{exts[1].ID, exts[2].ID}},
	}
	if !reflect.DeepEqual(got, wantUsers) {
		t.Fatalf("demo users:\n%+v\nwant\n%+v", got, wantUsers)
	}
	for _, username := range []string{"alice@demo.test", "+16505550100*101", "(650) 555-0100*101"} {
		a, e, err := dir.Authenticate(ctx, username, identity.DemoPassword)
		if err != nil || a.ID != demo.ID || e.Email != "alice@demo.test" || !e.Admin() {
			t.Errorf("sign in as %s: %+v, %+v, %v", username, a, e, err)
		}
	}
}

// TestSeedDemoLeavesChanges checks that seeding again restores what was
// missing but neither resets a changed password nor fights over a taken
// email or number.
func TestSeedDemoLeavesChanges(t *testing.T) {
	ctx := context.Background()
	dir, db := newDirectory(t)
	// carol@demo.test belongs to another account; 102 of the demo account to someone else.
	other := identity.Account{Company: "Other", MainNumber: "+14155550100", CountryCode: "US"}
	if err := dir.CreateAccount(ctx, &other); err != nil {
		t.Fatal(err)
	}
	carol := identity.Extension{AccountID: other.ID, Number: "103", Name: "Carol Elsewhere", Email: "carol@demo.test"}
	if err := dir.CreateExtension(ctx, &carol, "carols"); err != nil {
		t.Fatal(err)
	}
	demo := identity.Account{Company: "Demo Co.", MainNumber: identity.DemoMainNumber, CountryCode: "US"}
	if err := dir.CreateAccount(ctx, &demo); err != nil {
		t.Fatal(err)
	}
	dan := identity.Extension{AccountID: demo.ID, Number: "102", Name: "Dan", Email: "dan@demo.test"}
	if err := dir.CreateExtension(ctx, &dan, "dans"); err != nil {
		t.Fatal(err)
	}
	if err := dir.SeedDemo(ctx); err != nil {
		t.Fatal(err)
	}
	exts, err := db.Extensions(ctx, demo.ID)
	if err != nil {
		t.Fatal(err)
	}
	var emails []string
	for _, e := range exts {
		emails = append(emails, e.Email)
	}
	if want := []string{"alice@demo.test", "dan@demo.test", "support@demo.test"}; !reflect.DeepEqual(emails, want) {
		t.Fatalf("demo account holds %v, want %v", emails, want)
	}
	if support := exts[2]; !support.Department() || support.Members != nil {
		t.Fatalf("support has another account's user or someone else as member: %+v", support)
	}
	_, alice, err := dir.ExtensionByEmail(ctx, "alice@demo.test")
	if err != nil {
		t.Fatal(err)
	}
	if err := dir.SetPassword(ctx, alice.ID, "changed"); err != nil {
		t.Fatal(err)
	}
	if err := dir.SeedDemo(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := dir.Authenticate(ctx, "alice@demo.test", identity.DemoPassword); err != identity.ErrBadCredentials {
		t.Fatalf("seeding reset a changed password: %v", err)
	}
	if _, _, err := dir.Authenticate(ctx, "carol@demo.test", "carols"); err != nil {
		t.Fatalf("seeding touched another account's user: %v", err)
	}
}

// TestRefuseDemoPassword checks that, outside development mode, the demo
// users' known password opens nothing, in any spelling of their name, while
// a password changed since and other users' passwords still work.
func TestRefuseDemoPassword(t *testing.T) {
	ctx := context.Background()
	dir, db := newDirectory(t)
	if users, err := dir.DemoUsers(ctx); err != nil || len(users) != 0 {
		t.Fatalf("demo users before seeding: %v, %v", users, err)
	}
	if err := dir.SeedDemo(ctx); err != nil {
		t.Fatal(err)
	}
	prod := identity.NewDirectory(db)
	prod.RefuseDemoPassword()
	users, err := prod.DemoUsers(ctx)
	if want := []string{"alice@demo.test", "bob@demo.test", "carol@demo.test"}; err != nil || !reflect.DeepEqual(users, want) {
		t.Fatalf("demo users %v, %v; want %v", users, err, want)
	}
	_, bob, err := prod.ExtensionByEmail(ctx, "bob@demo.test")
	if err != nil {
		t.Fatal(err)
	}
	if err := prod.SetPassword(ctx, bob.ID, "bobs own"); err != nil {
		t.Fatal(err)
	}
	acct, err := prod.AccountByMainNumber(ctx, identity.DemoMainNumber)
	if err != nil {
		t.Fatal(err)
	}
	dave := identity.Extension{AccountID: acct.ID, Number: "104", Name: "Dave", Email: "dave@demo.test"}
	if err := prod.CreateExtension(ctx, &dave, identity.DemoPassword); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		username, password string
		ok                 bool
	}{
		{"alice@demo.test", identity.DemoPassword, false},
		{"ALICE@demo.test ", identity.DemoPassword, false},
		{"+16505550100*101", identity.DemoPassword, false},
		{"(650) 555-0100*103", identity.DemoPassword, false},
		{"bob@demo.test", identity.DemoPassword, false},
		{"bob@demo.test", "bobs own", true},
		{"dave@demo.test", identity.DemoPassword, true}, // not a seeded user: an operator chose this
	}
	for _, tt := range tests {
		t.Run(tt.username+"/"+tt.password, func(t *testing.T) {
			if _, _, err := prod.Authenticate(ctx, tt.username, tt.password); (err == nil) != tt.ok {
				t.Fatalf("Authenticate = %v, want ok=%t", err, tt.ok)
			}
		})
	}
	if _, _, err := dir.Authenticate(ctx, "alice@demo.test", identity.DemoPassword); err != nil {
		t.Fatalf("a development directory refuses the demo password: %v", err)
	}
}

// TestSignInKey checks that every spelling of one user's name gives one
// back-off key, known or not, and that different users get different keys.
func TestSignInKey(t *testing.T) {
	ctx := context.Background()
	dir, _ := newDirectory(t)
	if err := dir.SeedDemo(ctx); err != nil {
		t.Fatal(err)
	}
	groups := [][]string{
		{"alice@demo.test", "ALICE@Demo.Test", " alice@demo.test ", "+16505550100*101", "+1 650-555-0100*101",
			"6505550100*101", "(650) 555-0100*101", "16505550100*101", "+1.650.555.0100*101"},
		{"bob@demo.test", "+16505550100*102"},
		{"nobody@demo.test", "NoBody@demo.test "},
		{"+14155550100*101", "+1 415-555-0100*101", "4155550100*101", "(415) 555 0100*101"},
		{"+14155550100*102"},
		{"not a name", "NOT A NAME"},
	}
	seen := map[string]int{}
	for i, group := range groups {
		want := dir.SignInKey(ctx, group[0])
		if want == "" {
			t.Fatalf("empty key for %q", group[0])
		}
		if j, ok := seen[want]; ok {
			t.Errorf("%q shares key %q with group %d", group[0], want, j)
		}
		seen[want] = i
		for _, name := range group[1:] {
			if got := dir.SignInKey(ctx, name); got != want {
				t.Errorf("SignInKey(%q) = %q, want %q as for %q", name, got, want, group[0])
			}
		}
	}
}
