package identity_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/callbridge/widget-server/internal/identity"
)

func TestDepartments(t *testing.T) {
	ctx := context.Background()
	dir, _ := newDirectory(t)
	acme := identity.Account{Company: "Acme", MainNumber: "+14155550100", CountryCode: "US"}
	other := identity.Account{Company: "Other", MainNumber: "+14155550200", CountryCode: "US"}
	for _, a := range []*identity.Account{&acme, &other} {
		if err := dir.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	ext := map[string]identity.Extension{}
	for _, u := range []struct {
		acct int64
		key  string
	}{{acme.ID, "101"}, {acme.ID, "102"}, {acme.ID, "103"}, {other.ID, "301"}} {
		e := identity.Extension{AccountID: u.acct, Number: u.key, Name: "User " + u.key, Email: u.key + "@acme.test"}
		if err := dir.CreateExtension(ctx, &e, "secret"); err != nil {
			t.Fatal(err)
		}
		if e.Type != identity.TypeUser {
			t.Fatalf("type of a new user: %q", e.Type)
		}
		ext[u.key] = e
	}
	ids, err := dir.ExtensionIDs(ctx, acme.ID, []string{"103", " 101"})
	if err != nil || !reflect.DeepEqual(ids, []int64{ext["103"].ID, ext["101"].ID}) {
		t.Fatalf("ExtensionIDs = %v, %v", ids, err)
	}
	if _, err := dir.ExtensionIDs(ctx, acme.ID, []string{"101", "301"}); !errors.Is(err, identity.ErrInvalid) {
		t.Fatalf("ExtensionIDs of another account's number: %v", err)
	}

	support := identity.Extension{AccountID: acme.ID, Number: "200", Name: "Support", Email: "support@acme.test",
		Type: identity.TypeDepartment, Members: []int64{ext["103"].ID, ext["102"].ID, ext["103"].ID}}
	if err := dir.CreateExtension(ctx, &support, ""); err != nil {
		t.Fatal(err)
	}
	members, err := dir.Members(ctx, support.ID)
	if err != nil || len(members) != 2 || members[0].Number != "102" || members[1].Number != "103" {
		t.Fatalf("Members = %+v, %v", members, err)
	}
	if _, _, err := dir.Authenticate(ctx, "support@acme.test", ""); !errors.Is(err, identity.ErrBadCredentials) {
		t.Fatalf("a department signed in: %v", err)
	}
	if _, _, err := dir.Authenticate(ctx, "+14155550100*200", "secret"); !errors.Is(err, identity.ErrBadCredentials) {
		t.Fatalf("a department signed in: %v", err)
	}

	bad := []struct {
		name     string
		e        identity.Extension
		password string
	}{
		{"department with a password", identity.Extension{Number: "201", Type: identity.TypeDepartment}, "secret"},
		{"admin department", identity.Extension{Number: "201", Type: identity.TypeDepartment, Role: identity.RoleAdmin}, ""},
		{"unknown type", identity.Extension{Number: "201", Type: "Queue"}, ""},
		{"user with members", identity.Extension{Number: "201", Members: []int64{ext["101"].ID}}, "secret"},
		{"member of another account", identity.Extension{Number: "201", Type: identity.TypeDepartment, Members: []int64{ext["301"].ID}}, ""},
		{"department as a member", identity.Extension{Number: "201", Type: identity.TypeDepartment, Members: []int64{support.ID}}, ""},
		{"unknown member", identity.Extension{Number: "201", Type: identity.TypeDepartment, Members: []int64{999}}, ""},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.e
			e.AccountID, e.Name, e.Email = acme.ID, "Sales", "sales@acme.test"
			if err := dir.CreateExtension(ctx, &e, tt.password); !errors.Is(err, identity.ErrInvalid) {
				t.Fatalf("CreateExtension = %v, want ErrInvalid", err)
			}
		})
	}

	sets := []struct {
		name    string
		dept    int64
		members []int64
		want    error
	}{
		{"replace", support.ID, []int64{ext["101"].ID}, nil},
		{"of a user", ext["101"].ID, []int64{ext["102"].ID}, identity.ErrInvalid},
		{"other account's user", support.ID, []int64{ext["301"].ID}, identity.ErrInvalid},
		{"itself", support.ID, []int64{support.ID}, identity.ErrInvalid},
		{"unknown department", 999, nil, identity.ErrNotFound},
	}
	for _, tt := range sets {
		t.Run("set members "+tt.name, func(t *testing.T) {
			if err := dir.SetMembers(ctx, tt.dept, tt.members); !errors.Is(err, tt.want) && (tt.want != nil || err != nil) {
				t.Fatalf("SetMembers = %v, want %v", err, tt.want)
			}
		})
	}
	members, err = dir.Members(ctx, support.ID)
	if err != nil || len(members) != 1 || members[0].Number != "101" {
		t.Fatalf("after the changes Members = %+v, %v", members, err)
	}
	if none, err := dir.Members(ctx, ext["101"].ID); err != nil || none != nil {
		t.Fatalf("members of a user: %+v, %v", none, err)
	}
}
