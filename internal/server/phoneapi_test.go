package server

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/callbridge/widget-server/internal/sip"
	"github.com/callbridge/widget-server/internal/siptest"
	"github.com/callbridge/widget-server/internal/store"
)

// TestPhoneAPI: an administrator gives bob a desk phone through the
// platform API; the answer names the server's SIP listener, and the
// phone (SIPp) registers with the password given there. Removed through
// the API, it is gone from the store the registrar reads.
func TestPhoneAPI(t *testing.T) {
	sipPort, phonePort := siptest.FreeUDPPort(t), siptest.FreeUDPPort(t)
	srv, logs := startPhoneServer(t, sipPort)
	admin := newPlatform(t, srv, "alice@demo.test")
	bob := newPlatform(t, srv, "bob@demo.test")
	devices := fmt.Sprintf("/account/~/extension/%d/sip-devices", bob.extensionID())

	r := admin.call("POST", devices, `{"username": "101-desk", "password": "desk-secret-1", "displayName": "Desk phone"}`)
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("alice adds bob's phone: %d %s", r.StatusCode, r.body)
	}
	dev := r.json(t)
	info := dev["sipInfo"].(map[string]any)
	want := map[string]any{"host": "127.0.0.1", "port": float64(sipPort), "transport": "UDP"}
	if regs := info["registrars"].([]any); len(regs) != 1 || fmt.Sprint(regs[0]) != fmt.Sprint(want) || info["domain"] != sip.DefaultRealm {
		t.Fatalf("sipInfo %v, want the registrar %v in realm %s", info, want, sip.DefaultRealm)
	}
	startCarrier(t, phonePort, "phone_register_stay.xml", fmt.Sprintf("127.0.0.1:%d", sipPort)).Finish()
	logs.wait(t, logPhoneDevice)

	if list := bob.get("/account/~/extension/~/sip-devices")["records"].([]any); len(list) != 1 {
		t.Fatalf("bob's phones: %v", list)
	}
	wantAPIError(t, bob.call("DELETE", fmt.Sprintf("%s/%v", devices, dev["id"]), ""), 403, "InsufficientPermissions", "")
	if r := admin.call("DELETE", fmt.Sprintf("%s/%v", devices, dev["id"]), ""); r.StatusCode != http.StatusNoContent {
		t.Fatalf("alice removes bob's phone: %d %s", r.StatusCode, r.body)
	}
	db, err := store.Open(context.Background(), srv.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if all, err := db.SIPDevices(context.Background()); err != nil || len(all) != 0 {
		t.Fatalf("after the removal the store keeps %v (%v)", all, err)
	}
}

// TestPhoneAPIWithoutSIP: a server without a SIP listener adds no phone
// through the API, since none could register.
func TestPhoneAPIWithoutSIP(t *testing.T) {
	srv := startServer(t, Config{})
	admin := newPlatform(t, srv, "alice@demo.test")
	wantAPIError(t, admin.call("POST", "/account/~/extension/~/sip-devices", `{"username": "101-desk", "password": "desk-secret-1"}`),
		501, "RegistrarOff", "")
	if list := admin.get("/account/~/extension/~/sip-devices")["records"].([]any); len(list) != 0 {
		t.Fatalf("alice's phones: %v", list)
	}
}
