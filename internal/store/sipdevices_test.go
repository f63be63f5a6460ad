package store

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/sip"
)

func TestSIPDevices(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	acme := identity.Account{Company: "Acme", MainNumber: "+14155550100", CountryCode: "US"}
	if err := db.CreateAccount(ctx, &acme); err != nil {
		t.Fatal(err)
	}
	var exts []identity.Extension
	for _, n := range []string{"101", "102"} {
		e := identity.Extension{AccountID: acme.ID, Number: n, Name: "N " + n, Email: n + "@acme.test",
			Role: identity.RoleUser, Status: identity.StatusEnabled}
		if err := db.CreateExtension(ctx, &e, "h"); err != nil {
			t.Fatal(err)
		}
		exts = append(exts, e)
	}
	if list, err := db.SIPDevices(ctx); err != nil || len(list) != 0 {
		t.Fatalf("SIPDevices of a new database = %v, %v", list, err)
	}

	before := time.Now().Add(-time.Second)
	desk := SIPDevice{ExtensionID: exts[0].ID, Username: "101-desk", HA1: sip.HA1("101-desk", "callbridge", "pw1"),
		Realm: "callbridge", DisplayName: "Desk phone"}
	if err := db.AddSIPDevice(ctx, &desk); err != nil {
		t.Fatal(err)
	}
	if desk.ID == 0 || desk.Created.Before(before) || desk.Created.After(time.Now().Add(time.Second)) {
		t.Fatalf("added device %+v: want an id and a creation time of now", desk)
	}
	soft := SIPDevice{ExtensionID: exts[0].ID, Username: "101.soft", HA1: sip.HA1("101.soft", "callbridge", "pw2"), Realm: "callbridge"}
	other := SIPDevice{ExtensionID: exts[1].ID, Username: "102-desk", HA1: sip.HA1("102-desk", "callbridge", "pw3"), Realm: "callbridge"}
	for _, d := range []*SIPDevice{&soft, &other} {
		if err := db.AddSIPDevice(ctx, d); err != nil {
			t.Fatal(err)
		}
	}

	got, err := db.SIPDeviceByUsername(ctx, "101-desk")
	if err != nil || !reflect.DeepEqual(got, desk) {
		t.Fatalf("SIPDeviceByUsername = %+v, %v\nwant %+v", got, err, desk)
	}
	if _, err := db.SIPDeviceByUsername(ctx, "nobody"); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("unknown username: %v", err)
	}
	names := func(list []SIPDevice, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range list {
			out = append(out, d.Username)
		}
		return strings.Join(out, " ")
	}
	if got := names(db.SIPDevices(ctx)); got != "101-desk 101.soft 102-desk" {
		t.Errorf("SIPDevices = %s", got)
	}
	if got := names(db.SIPDevicesOf(ctx, exts[0].ID)); got != "101-desk 101.soft" {
		t.Errorf("SIPDevicesOf(101) = %s", got)
	}

	for _, tc := range []struct {
		name string
		d    SIPDevice
		want error
	}{
		{"taken username", SIPDevice{ExtensionID: exts[1].ID, Username: "101-desk", HA1: desk.HA1, Realm: "callbridge"}, identity.ErrConflict},
		{"no such extension", SIPDevice{ExtensionID: 999, Username: "999-desk", HA1: desk.HA1, Realm: "callbridge"}, identity.ErrNotFound},
		{"upper-case username", SIPDevice{ExtensionID: exts[1].ID, Username: "Desk", HA1: desk.HA1, Realm: "callbridge"}, identity.ErrInvalid},
		{"long username", SIPDevice{ExtensionID: exts[1].ID, Username: strings.Repeat("d", 33), HA1: desk.HA1, Realm: "callbridge"}, identity.ErrInvalid},
		{"password for HA1", SIPDevice{ExtensionID: exts[1].ID, Username: "102-soft", HA1: "secret", Realm: "callbridge"}, identity.ErrInvalid},
		{"no realm", SIPDevice{ExtensionID: exts[1].ID, Username: "102-soft", HA1: desk.HA1}, identity.ErrInvalid},
		{"control in name", SIPDevice{ExtensionID: exts[1].ID, Username: "102-soft", HA1: desk.HA1, Realm: "callbridge", DisplayName: "a\nb"}, identity.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := db.AddSIPDevice(ctx, &tc.d); !errors.Is(err, tc.want) {
				t.Errorf("AddSIPDevice = %v, want %v", err, tc.want)
			}
		})
	}

	if err := db.RemoveSIPDevice(ctx, "101.soft"); err != nil {
		t.Fatal(err)
	}
	if err := db.RemoveSIPDevice(ctx, "101.soft"); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("removing twice: %v", err)
	}
	// A phone goes with its extension.
	if _, err := db.sql.ExecContext(ctx, `DELETE FROM extensions WHERE id = ?`, exts[1].ID); err != nil {
		t.Fatal(err)
	}
	if got := names(db.SIPDevices(ctx)); got != "101-desk" {
		t.Errorf("SIPDevices after removals = %s", got)
	}
}
