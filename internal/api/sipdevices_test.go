package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/params"
	"github.com/callbridge/widget-server/internal/sip"
	"github.com/callbridge/widget-server/internal/store"
)

// phoneEnv serves the SIP device routes to callers named by the X-As
// header — alice, the account's administrator; bob, a user of it; eve,
// the administrator of another account — as the bearer middleware would
// after checking their tokens. sales is a department of alice's account.
type phoneEnv struct {
	h       http.Handler
	db      *store.DB
	callers map[string]apiCaller
	sales   identity.Extension
	// bodies are every answer's body, to check no secret is in any.
	bodies []string
}

var testRegistrar = Registrar{Realm: "pbx.test", Endpoints: []RegistrarEndpoint{
	{Host: "pbx.acme.example", Port: 5060, Transport: sip.UDP},
	{Host: "pbx.acme.example", Port: 5061, Transport: sip.TLS},
}}

func newPhoneEnv(t testing.TB, reg Registrar, phones bool) *phoneEnv {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	env := &phoneEnv{db: db, callers: map[string]apiCaller{}}
	for i, who := range []struct {
		name, account string
		role          identity.Role
	}{{"alice", "+14155550100", identity.RoleAdmin}, {"bob", "+14155550100", identity.RoleUser}, {"eve", "+4930123456", identity.RoleAdmin}} {
		acct, err := db.AccountByMainNumber(ctx, who.account)
		if err != nil {
			acct = identity.Account{Company: who.account, MainNumber: who.account, CountryCode: "US"}
			if err := db.CreateAccount(ctx, &acct); err != nil {
				t.Fatal(err)
			}
		}
		x := identity.Extension{AccountID: acct.ID, Number: strconv.Itoa(101 + i), Name: who.name, Email: who.name + "@example.com",
			Role: who.role, Status: identity.StatusEnabled}
		if err := db.CreateExtension(ctx, &x, "no-password"); err != nil {
			t.Fatal(err)
		}
		env.callers[who.name] = apiCaller{acct, x}
	}
	env.sales = identity.Extension{AccountID: env.callers["alice"].Account.ID, Number: "200", Name: "Sales", Email: "sales@example.com",
		Type: identity.TypeDepartment, Role: identity.RoleUser, Status: identity.StatusEnabled}
	if err := db.CreateExtension(ctx, &env.sales, "no-password"); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	deps := Deps{Log: log, Directory: identity.NewDirectory(db)}
	if phones {
		deps.Phones = db
	}
	srv := NewServer(Config{PublicURL: "http://localhost:8080", Registrar: reg}, deps)
	e := echo.New()
	e.HTTPErrorHandler = httperror.Handler(log)
	as := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Set(string(extensionKey), env.callers[c.Request().Header.Get("X-As")])
			return next(c)
		}
	}
	srv.sipDeviceAPIRoutes(e.Group("/restapi/v1.0"), []echo.MiddlewareFunc{as})
	env.h = e
	return env
}

// do sends a request as a caller; path follows /restapi/v1.0.
func (env *phoneEnv) do(as, method, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/restapi/v1.0"+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-As", as)
	rec := httptest.NewRecorder()
	env.h.ServeHTTP(rec, req)
	env.bodies = append(env.bodies, rec.Body.String())
	return rec
}

func (env *phoneEnv) id(name string) string {
	return strconv.FormatInt(env.callers[name].Extension.ID, 10)
}

func devicesPath(ext string) string { return "/account/~/extension/" + ext + "/sip-devices" }

func deviceBody(username, password, displayName string) string {
	b, _ := json.Marshal(sipDeviceRequest{Username: username, Password: password, DisplayName: displayName})
	return string(b)
}

const (
	bobPassword   = "correct-horse-battery"
	alicePassword = "staple-staple-staple"
)

// TestSIPDevices: an administrator gives a user a phone, the user reads
// it, the administrator removes it; the answer to the create says what to
// enter in the phone, and no answer carries the password or its HA1.
func TestSIPDevices(t *testing.T) {
	env := newPhoneEnv(t, testRegistrar, true)
	bob := env.id("bob")

	rec := env.do("alice", "POST", devicesPath(bob), deviceBody(" 102-desk ", bobPassword, " Desk phone "))
	if rec.Code != http.StatusCreated {
		t.Fatalf("alice adds bob's phone: %d %s", rec.Code, rec.Body)
	}
	var created apiSIPDevice
	if err := json.Unmarshal(rec.Body.Bytes(), &created); err != nil {
		t.Fatal(err)
	}
	acct := strconv.FormatInt(env.callers["bob"].Account.ID, 10)
	wantURI := "http://localhost:8080/restapi/v1.0/account/" + acct + "/extension/" + bob + "/sip-devices/" + strconv.FormatInt(created.ID, 10)
	if created.ID <= 0 || created.URI != wantURI || rec.Header().Get("Location") != wantURI || created.Username != "102-desk" ||
		created.DisplayName != "Desk phone" || created.Realm != "pbx.test" || created.CreationTime == "" ||
		created.Extension.ID != env.callers["bob"].Extension.ID {
		t.Fatalf("created %+v (Location %q), want uri %s", created, rec.Header().Get("Location"), wantURI)
	}
	info := created.SIPInfo
	if info.UserName != "102-desk" || info.AuthorizationID != "102-desk" || info.Domain != "pbx.test" || len(info.Registrars) != 2 ||
		info.Registrars[0] != (apiRegistrar{"pbx.acme.example", 5060, "UDP"}) || info.Registrars[1] != (apiRegistrar{"pbx.acme.example", 5061, "TLS"}) {
		t.Fatalf("sipInfo %+v", info)
	}
	kept, err := env.db.SIPDeviceByUsername(context.Background(), "102-desk")
	if err != nil {
		t.Fatal(err)
	}
	if kept.HA1 != sip.HA1("102-desk", "pbx.test", bobPassword) || kept.ExtensionID != env.callers["bob"].Extension.ID {
		t.Fatalf("kept %+v: not the password's HA1 in the realm, or not bob's", kept)
	}

	// alice's own phone, to see lists hold only the extension's.
	if rec := env.do("alice", "POST", devicesPath("~"), deviceBody("101-soft", alicePassword, "")); rec.Code != http.StatusCreated {
		t.Fatalf("alice adds her own phone: %d %s", rec.Code, rec.Body)
	}

	for _, as := range []string{"bob", "alice"} {
		path := devicesPath("~")
		if as == "alice" {
			path = devicesPath(bob)
		}
		rec := env.do(as, "GET", path, "")
		var list apiSIPDeviceList
		if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || rec.Code != http.StatusOK {
			t.Fatalf("%s lists bob's phones: %d %s", as, rec.Code, rec.Body)
		}
		if len(list.Records) != 1 || list.Records[0].Username != "102-desk" || !strings.HasSuffix(list.URI, "/extension/"+bob+"/sip-devices") {
			t.Fatalf("%s lists bob's phones: %s", as, rec.Body)
		}
		rec = env.do(as, "GET", path+"/"+strconv.FormatInt(created.ID, 10), "")
		var one apiSIPDevice
		if err := json.Unmarshal(rec.Body.Bytes(), &one); err != nil || rec.Code != http.StatusOK || one.URI != created.URI || one.SIPInfo.Domain != "pbx.test" {
			t.Fatalf("%s reads bob's phone: %d %s", as, rec.Code, rec.Body)
		}
	}

	one := devicesPath(bob) + "/" + strconv.FormatInt(created.ID, 10)
	if rec := env.do("bob", "DELETE", one, ""); rec.Code != http.StatusForbidden {
		t.Fatalf("bob removes his phone: %d %s, want 403", rec.Code, rec.Body)
	}
	if rec := env.do("alice", "DELETE", one, ""); rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
		t.Fatalf("alice removes bob's phone: %d %s, want 204", rec.Code, rec.Body)
	}
	if _, err := env.db.SIPDeviceByUsername(context.Background(), "102-desk"); err == nil {
		t.Fatal("the removed phone is still kept")
	}
	wantError(t, env.do("alice", "GET", one, ""), 404, "NotFound", "")
	wantError(t, env.do("alice", "DELETE", one, ""), 404, "NotFound", "")
	if rec := env.do("bob", "GET", devicesPath("~"), ""); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"records":[]`) {
		t.Fatalf("bob's phones after the removal: %d %s", rec.Code, rec.Body)
	}
	// The username is free again.
	if rec := env.do("alice", "POST", devicesPath(bob), deviceBody("102-desk", bobPassword, "")); rec.Code != http.StatusCreated {
		t.Fatalf("alice adds bob's phone again: %d %s", rec.Code, rec.Body)
	}
	env.wantNoSecrets(t, map[string]string{"102-desk": bobPassword, "101-soft": alicePassword})
}

// wantNoSecrets fails if any answer so far holds a password or the HA1 a
// password gives for its username.
func (env *phoneEnv) wantNoSecrets(t *testing.T, passwords map[string]string) {
	t.Helper()
	for user, pw := range passwords {
		ha1 := sip.HA1(user, testRegistrar.Realm, pw)
		for _, b := range env.bodies {
			if strings.Contains(b, pw) || strings.Contains(strings.ToLower(b), ha1) {
				t.Fatalf("an answer holds the password or HA1 of %s: %s", user, b)
			}
		}
	}
}

// TestSIPDeviceRefusals: who may not do what, and what each bad request
// is answered.
func TestSIPDeviceRefusals(t *testing.T) {
	env := newPhoneEnv(t, testRegistrar, true)
	bob, alice, eve := env.id("bob"), env.id("alice"), env.id("eve")
	sales := strconv.FormatInt(env.sales.ID, 10)
	if rec := env.do("alice", "POST", devicesPath(bob), deviceBody("102-desk", bobPassword, "")); rec.Code != http.StatusCreated {
		t.Fatalf("alice adds bob's phone: %d %s", rec.Code, rec.Body)
	}
	kept, err := env.db.SIPDeviceByUsername(context.Background(), "102-desk")
	if err != nil {
		t.Fatal(err)
	}
	dev := strconv.FormatInt(kept.ID, 10)
	eveAcct := strconv.FormatInt(env.callers["eve"].Account.ID, 10)

	tests := []struct {
		name, as, method, path, body string
		status                       int
		code, param                  string
	}{
		// Users read their own phones only; adding and removing is the administrator's.
		{"user adds own", "bob", "POST", devicesPath("~"), deviceBody("102-soft", bobPassword, ""), 403, "InsufficientPermissions", ""},
		{"user removes own", "bob", "DELETE", devicesPath("~") + "/" + dev, "", 403, "InsufficientPermissions", ""},
		{"user lists another's", "bob", "GET", devicesPath(alice), "", 403, "InsufficientPermissions", ""},
		{"user adds for another", "bob", "POST", devicesPath(alice), deviceBody("101-desk", alicePassword, ""), 403, "InsufficientPermissions", ""},
		// Another account's extensions do not exist for its administrator.
		{"stranger lists", "eve", "GET", devicesPath(bob), "", 404, "NotFound", ""},
		{"stranger reads", "eve", "GET", devicesPath(bob) + "/" + dev, "", 404, "NotFound", ""},
		{"stranger adds", "eve", "POST", devicesPath(bob), deviceBody("666-evil", bobPassword, ""), 404, "NotFound", ""},
		{"stranger removes", "eve", "DELETE", devicesPath(bob) + "/" + dev, "", 404, "NotFound", ""},
		{"stranger's own device path", "eve", "DELETE", devicesPath("~") + "/" + dev, "", 404, "NotFound", ""},
		{"another account by id", "alice", "GET", "/account/" + eveAcct + "/extension/" + eve + "/sip-devices", "", 404, "NotFound", ""},
		{"unknown extension", "alice", "GET", devicesPath("999999"), "", 404, "NotFound", ""},
		// Devices are found under their own extension only.
		{"device under another extension", "alice", "GET", devicesPath("~") + "/" + dev, "", 404, "NotFound", ""},
		{"unknown device", "alice", "GET", devicesPath(bob) + "/999999", "", 404, "NotFound", ""},
		{"device id not a number", "alice", "DELETE", devicesPath(bob) + "/102-desk", "", 404, "NotFound", ""},
		// Departments ring their members' phones.
		{"department", "alice", "POST", devicesPath(sales), deviceBody("200-desk", bobPassword, ""), 400, "DepartmentHasNoPhones", ""},
		// Bad requests.
		{"no username", "alice", "POST", devicesPath(bob), deviceBody("", bobPassword, ""), 400, "InvalidParameter", "username"},
		{"upper case username", "alice", "POST", devicesPath(bob), deviceBody("Bob", bobPassword, ""), 400, "InvalidParameter", "username"},
		{"username with @", "alice", "POST", devicesPath(bob), deviceBody("bob@pbx", bobPassword, ""), 400, "InvalidParameter", "username"},
		{"long username", "alice", "POST", devicesPath(bob), deviceBody(strings.Repeat("a", 33), bobPassword, ""), 400, "InvalidParameter", "username"},
		{"no password", "alice", "POST", devicesPath(bob), deviceBody("102-soft", "", ""), 400, "InvalidParameter", "password"},
		{"short password", "alice", "POST", devicesPath(bob), deviceBody("102-soft", "elevenchars", ""), 400, "InvalidParameter", "password"},
		{"long password", "alice", "POST", devicesPath(bob), deviceBody("102-soft", strings.Repeat("x", 129), ""), 400, "InvalidParameter", "password"},
		{"control in password", "alice", "POST", devicesPath(bob), deviceBody("102-soft", "twelve-chars\nmore", ""), 400, "InvalidParameter", "password"},
		{"long display name", "alice", "POST", devicesPath(bob), deviceBody("102-soft", bobPassword, strings.Repeat("d", 65)), 400, "InvalidParameter", "displayName"},
		{"unknown field", "alice", "POST", devicesPath(bob), `{"username": "102-soft", "password": "` + bobPassword + `", "ha1": "00"}`, 400, "InvalidParameter", "ha1"},
		{"not JSON", "alice", "POST", devicesPath(bob), `username=102-soft`, 400, "InvalidJSON", ""},
		{"no body", "alice", "POST", devicesPath(bob), "", 400, "InvalidJSON", ""},
		{"wrong type", "alice", "POST", devicesPath(bob), `{"username": 102}`, 400, "InvalidParameter", "username"},
		// Usernames are unique on the server, whoever's phone has it.
		{"taken", "alice", "POST", devicesPath("~"), deviceBody("102-desk", alicePassword, ""), 409, "UsernameTaken", "username"},
		{"taken by another account's", "eve", "POST", devicesPath("~"), deviceBody("102-desk", alicePassword, ""), 409, "UsernameTaken", "username"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, env.do(tt.as, tt.method, tt.path, tt.body), tt.status, tt.code, tt.param)
		})
	}
	// Nothing refused was kept, and bob's phone is still there.
	all, err := env.db.SIPDevices(context.Background())
	if err != nil || len(all) != 1 || all[0].Username != "102-desk" {
		t.Fatalf("after the refusals the server keeps %+v (%v), want only 102-desk", all, err)
	}
	env.wantNoSecrets(t, map[string]string{"102-desk": bobPassword, "101-desk": alicePassword, "102-soft": bobPassword})
	// A department lists no phones.
	if rec := env.do("alice", "GET", devicesPath(sales), ""); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"records":[]`) {
		t.Fatalf("the department's phones: %d %s", rec.Code, rec.Body)
	}
}

// TestSIPDevicesOff: a server without a SIP listener adds no phone (none
// could register), but lists and removes those kept; one that does not
// manage phones through the API says so.
func TestSIPDevicesOff(t *testing.T) {
	env := newPhoneEnv(t, Registrar{}, true)
	wantError(t, env.do("alice", "POST", devicesPath("~"), deviceBody("101-desk", alicePassword, "")), 501, "RegistrarOff", "")
	if err := env.db.AddSIPDevice(context.Background(), &store.SIPDevice{ExtensionID: env.callers["alice"].Extension.ID,
		Username: "101-desk", HA1: sip.HA1("101-desk", sip.DefaultRealm, alicePassword), Realm: sip.DefaultRealm}); err != nil {
		t.Fatal(err)
	}
	rec := env.do("alice", "GET", devicesPath("~"), "")
	var list apiSIPDeviceList
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || rec.Code != http.StatusOK || len(list.Records) != 1 ||
		list.Records[0].Realm != sip.DefaultRealm || list.Records[0].SIPInfo.Registrars == nil || len(list.Records[0].SIPInfo.Registrars) != 0 {
		t.Fatalf("alice's phones without a registrar: %d %s", rec.Code, rec.Body)
	}
	if rec := env.do("alice", "DELETE", devicesPath("~")+"/"+strconv.FormatInt(list.Records[0].ID, 10), ""); rec.Code != http.StatusNoContent {
		t.Fatalf("alice removes her phone: %d %s", rec.Code, rec.Body)
	}

	off := newPhoneEnv(t, testRegistrar, false)
	for _, m := range []struct{ method, path, body string }{
		{"GET", devicesPath("~"), ""}, {"POST", devicesPath("~"), deviceBody("101-desk", alicePassword, "")},
		{"GET", devicesPath("~") + "/1", ""}, {"DELETE", devicesPath("~") + "/1", ""},
	} {
		wantError(t, off.do("alice", m.method, m.path, m.body), 501, "NotImplemented", "")
	}
}

// FuzzSIPDeviceRequests sends arbitrary bodies and device ids to the SIP
// device routes: whatever arrives, the answer is JSON (or 204 for a
// removal), never a panic or a 5xx, and a success is the resource alone.
func FuzzSIPDeviceRequests(f *testing.F) {
	f.Add("POST", "~", deviceBody("101-desk", alicePassword, "Desk phone"), true)
	f.Add("POST", "~", `{"username":"101-desk","password":"short"}`, true)
	f.Add("POST", "~", `{"username":"101-desk","password":"`+alicePassword+`","displayName":"\u0000"}`, true)
	f.Add("POST", "~", `{"username":["a"],"password":{}}`, false)
	f.Add("POST", "~", `{"username":"a","password":"`+alicePassword+`"}{}`, true)
	f.Add("GET", "~/1", "", false)
	f.Add("DELETE", "~/99999999999999999999", "", true)
	f.Add("DELETE", "~/-1", "", true)
	env := newPhoneEnv(f, testRegistrar, true)
	f.Fuzz(func(t *testing.T, method, ext, body string, admin bool) {
		path := devicesPath(ext)
		if strings.ContainsAny(ext, " ?#%\\") || strings.Contains(ext, "//") {
			return
		}
		if _, err := url.ParseRequestURI("/restapi/v1.0" + path); err != nil {
			return
		}
		if strings.HasPrefix(ext, "/") {
			return
		}
		switch method {
		case "GET", "POST", "DELETE":
		default:
			return
		}
		who := "bob"
		if admin {
			who = "alice"
		}
		rec := env.do(who, method, path, body)
		if rec.Code >= 500 && rec.Code != http.StatusNotImplemented {
			t.Fatalf("%s %s %q: status %d %s", method, path, body, rec.Code, rec.Body)
		}
		if rec.Code == http.StatusNoContent {
			return
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("%s %s %q: %d, content type %q", method, path, body, rec.Code, ct)
		}
		// A success is the resource and nothing else: no field could
		// carry the password or its HA1.
		var out any = &apiSIPDevice{}
		if method == "GET" && !strings.Contains(ext, "/") {
			out = &apiSIPDeviceList{}
		}
		if rec.Code < 300 {
			if err := params.Decoder(rec.Body).Decode(out); err != nil {
				t.Fatalf("%s %s %q: %d %s: %v", method, path, body, rec.Code, rec.Body, err)
			}
		}
	})
}
