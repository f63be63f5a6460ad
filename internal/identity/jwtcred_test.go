package identity_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/callbridge/widget-server/internal/identity"
)

// confidential makes crm a confidential app and returns its secret.
func (a *authServer) confidential(t testing.TB) string {
	t.Helper()
	secret, hash := identity.NewClientSecret()
	if err := a.db.SetAppSecret(context.Background(), "crm", hash); err != nil {
		t.Fatal(err)
	}
	return secret
}

// TestConfidentialClient: an app with a secret must present it at the
// token endpoint (HTTP Basic or in the form), or this server's widget
// secret for the app; a wrong one, or none, is invalid_client. A public
// app ignores a secret.
func TestConfidentialClient(t *testing.T) {
	a := newAuthServer(t, &clock{now: time.Now()})
	// Public: no secret needed, one given is ignored.
	code, verifier := a.authorize(t, "")
	exchange := url.Values{"grant_type": {"authorization_code"}, "redirect_uri": {"https://crm.example.com/callback"},
		"code": {code}, "code_verifier": {verifier}}
	if res, status := a.tokenAs(exchange, "crm", "anything"); status != http.StatusOK {
		t.Fatalf("public app with a secret: %d %v", status, res)
	}

	secret := a.confidential(t)
	for _, tc := range []struct {
		name, id, secret string
		form             url.Values
		want             int
	}{
		{"no secret", "", "", url.Values{"client_id": {"crm"}}, http.StatusUnauthorized},
		{"wrong secret", "crm", secret + "x", nil, http.StatusUnauthorized},
		{"another app's widget secret", "crm", a.WidgetClientSecret("other"), nil, http.StatusUnauthorized},
		{"basic", "crm", secret, nil, http.StatusOK},
		{"in the form", "", "", url.Values{"client_id": {"crm"}, "client_secret": {secret}}, http.StatusOK},
		{"the widget's secret", "crm", a.WidgetClientSecret("crm"), nil, http.StatusOK},
	} {
		code, verifier := a.authorize(t, "")
		form := url.Values{"grant_type": {"authorization_code"}, "redirect_uri": {"https://crm.example.com/callback"},
			"code": {code}, "code_verifier": {verifier}}
		for k, v := range tc.form {
			form[k] = v
		}
		res, status := a.tokenAs(form, tc.id, tc.secret)
		if status != tc.want {
			t.Errorf("%s: %d %v, want %d", tc.name, status, res, tc.want)
			continue
		}
		if status != http.StatusOK {
			if res["error"] != "invalid_client" {
				t.Errorf("%s: error %v, want invalid_client", tc.name, res["error"])
			}
			continue
		}
		refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {res["refresh_token"].(string)}}
		if res, status := a.tokenAs(url.Values{"grant_type": refresh["grant_type"], "refresh_token": refresh["refresh_token"],
			"client_id": {"crm"}}, "", ""); status != http.StatusUnauthorized {
			t.Errorf("%s: refresh without the secret: %d %v", tc.name, status, res)
		}
		if res, status := a.tokenAs(refresh, "crm", secret); status != http.StatusOK {
			t.Errorf("%s: refresh with the secret: %d %v", tc.name, status, res)
		}
	}
	md := a.Metadata()
	if m := md["token_endpoint_auth_methods_supported"].([]string); len(m) != 3 || m[1] != "client_secret_basic" {
		t.Errorf("metadata auth methods = %v", m)
	}
	if p := md["platform_endpoints"].(map[string]string); p["token_endpoint"] != testIssuer+"/restapi/oauth/token" {
		t.Errorf("metadata platform endpoints = %v", p)
	}
}

// jwtFixture is an authorization server with JWT credentials, a
// confidential crm, and a second user and an admin in the same account
// and an admin of another.
type jwtFixture struct {
	*authServer
	clk              *clock
	jwt              *identity.JWTCredentials
	secret           string
	bo, admin, other identity.Extension
}

func newJWTFixture(t testing.TB) *jwtFixture {
	t.Helper()
	clk := &clock{now: time.Now()}
	a := newAuthServer(t, clk)
	j, err := a.JWTCredentials(a.db, a.dir)
	if err != nil {
		t.Fatal(err)
	}
	f := &jwtFixture{authServer: a, clk: clk, jwt: j, secret: a.confidential(t)}
	ctx := context.Background()
	f.bo = identity.Extension{AccountID: a.acct.ID, Number: "102", Name: "Bo", Email: "bo@acme.test"}
	f.admin = identity.Extension{AccountID: a.acct.ID, Number: "100", Name: "Ada", Email: "ada@acme.test", Role: identity.RoleAdmin}
	globex := identity.Account{Company: "Globex", MainNumber: "+16505550200", CountryCode: "US"}
	if err := a.dir.CreateAccount(ctx, &globex); err != nil {
		t.Fatal(err)
	}
	f.other = identity.Extension{AccountID: globex.ID, Number: "100", Name: "Hank", Email: "hank@globex.test", Role: identity.RoleAdmin}
	for _, e := range []*identity.Extension{&f.bo, &f.admin, &f.other} {
		if err := a.dir.CreateExtension(ctx, e, "correct horse"); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *jwtFixture) create(t testing.TB, ttl time.Duration) (identity.JWTCredential, string) {
	t.Helper()
	c, token, err := f.jwt.Create(context.Background(), identity.ExtensionActor(f.ext), f.ext.ID, "CRM sync", ttl)
	if err != nil {
		t.Fatal(err)
	}
	return c, token
}

func (f *jwtFixture) exchange(assertion string) (map[string]any, int) {
	return f.tokenAs(url.Values{"grant_type": {identity.GrantTypeJWTBearer}, "assertion": {assertion}}, "crm", f.secret)
}

// TestJWTCredentialExchange: a JWT credential, exchanged by a
// confidential app, gives the user's tokens, refreshable; a public app,
// or one without its secret, cannot exchange it; revoking it ends the
// tokens it gave at once and refuses it after; an expired one is refused.
func TestJWTCredentialExchange(t *testing.T) {
	f := newJWTFixture(t)
	ctx := context.Background()
	cred, token := f.create(t, 0)
	if cred.Status(f.clk.Now()) != identity.JWTActive || cred.ExtensionID != f.ext.ID || cred.CreatedBy != f.ext.ID {
		t.Fatalf("created %+v", cred)
	}
	res, status := f.exchange(token)
	if status != http.StatusOK {
		t.Fatalf("exchange: %d %v", status, res)
	}
	if res["owner_id"] != identity.Subject(f.ext.ID) || res["refresh_token"] == nil || res["refresh_token_expires_in"] == nil {
		t.Errorf("token answer %v", res)
	}
	access := res["access_token"].(string)
	if id, err := f.ValidateAccessToken(ctx, access); err != nil || id != f.ext.ID {
		t.Fatalf("access token: %d %v", id, err)
	}
	refreshed, status := f.tokenAs(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {res["refresh_token"].(string)}}, "crm", f.secret)
	if status != http.StatusOK {
		t.Fatalf("refresh: %d %v", status, refreshed)
	}
	if got, _ := f.db.JWTCredential(ctx, cred.ID); got.LastUsedAt.IsZero() {
		t.Error("last use not recorded")
	}

	// Without the secret, or as a public app: refused.
	if res, status := f.tokenAs(url.Values{"grant_type": {identity.GrantTypeJWTBearer}, "assertion": {token}, "client_id": {"crm"}}, "", ""); status != http.StatusUnauthorized {
		t.Errorf("exchange without the secret: %d %v", status, res)
	}
	if err := f.db.SetAppSecret(ctx, "crm", ""); err != nil {
		t.Fatal(err)
	}
	if res, status := f.tokenAs(url.Values{"grant_type": {identity.GrantTypeJWTBearer}, "assertion": {token}, "client_id": {"crm"}}, "", ""); status != http.StatusBadRequest || res["error"] != "unauthorized_client" {
		t.Errorf("exchange by a public app: %d %v", status, res)
	}
	f.secret = f.confidential(t)

	// Revoked: the tokens it gave end, it is refused.
	if _, err := f.jwt.Revoke(ctx, identity.ExtensionActor(f.bo), cred.ID); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("another user revoked it: %v", err)
	}
	if _, err := f.jwt.Revoke(ctx, identity.ExtensionActor(f.ext), cred.ID); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{access, refreshed["access_token"].(string)} {
		if _, err := f.ValidateAccessToken(ctx, tok); err == nil {
			t.Error("an access token outlived its credential's revocation")
		}
	}
	if res, status := f.tokenAs(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshed["refresh_token"].(string)}}, "crm", f.secret); status == http.StatusOK {
		t.Errorf("refresh after revocation: %v", res)
	}
	if res, status := f.exchange(token); status != http.StatusBadRequest || res["error"] != "invalid_grant" {
		t.Errorf("revoked credential: %d %v", status, res)
	}

	// Expired.
	_, short := f.create(t, 24*time.Hour)
	if _, status := f.exchange(short); status != http.StatusOK {
		t.Fatalf("fresh credential: %d", status)
	}
	f.clk.set(f.clk.Now().Add(25 * time.Hour))
	if res, status := f.exchange(short); status != http.StatusBadRequest || res["error"] != "invalid_grant" {
		t.Errorf("expired credential: %d %v", status, res)
	}
}

// TestJWTCredentialAssertions: only an unaltered JWT of this server's
// key, naming a live credential of an enabled user, is accepted.
func TestJWTCredentialAssertions(t *testing.T) {
	f := newJWTFixture(t)
	ctx := context.Background()
	cred, token := f.create(t, 0)
	parts := strings.Split(token, ".")
	foreignKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(key any, alg jose.SignatureAlgorithm, kid string, claims josejwt.Claims) string {
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
		if err != nil {
			t.Fatal(err)
		}
		out, err := josejwt.Signed(s).Claims(claims).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	parsed, err := josejwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	kid := parsed.Headers[0].KeyID
	claims := josejwt.Claims{Issuer: testIssuer, Subject: identity.Subject(f.ext.ID), ID: cred.ID,
		Audience: josejwt.Audience{testIssuer + "/restapi/oauth/token"}, IssuedAt: josejwt.NewNumericDate(time.Now())}
	otherUser := claims
	otherUser.Subject = identity.Subject(f.bo.ID)
	for name, assertion := range map[string]string{
		"empty":              "",
		"garbage":            "not.a.jwt",
		"altered payload":    parts[0] + "." + parts[1] + "x." + parts[2],
		"altered signature":  parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2])),
		"unsigned":           "eyJhbGciOiJub25lIn0." + parts[1] + ".",
		"another key":        sign(foreignKey, jose.RS256, kid, claims),
		"HMAC with the key":  sign([]byte(strings.Repeat("k", 32)), jose.HS256, kid, claims),
		"another user's sub": sign(foreignKey, jose.RS256, kid, otherUser),
		"huge":               strings.Repeat("a", 10000),
	} {
		if res, status := f.exchange(assertion); status != http.StatusBadRequest || (res["error"] != "invalid_grant" && res["error"] != "invalid_request") {
			t.Errorf("%s: %d %v", name, status, res)
		}
	}
	if _, _, _, err := f.jwt.Verify(ctx, token); err != nil {
		t.Fatalf("the real one: %v", err)
	}
	// A disabled user's credential stops working.
	if err := f.dir.SetStatus(ctx, f.ext.ID, identity.StatusDisabled); err != nil {
		t.Fatal(err)
	}
	if res, status := f.exchange(token); status != http.StatusBadRequest || res["error"] != "invalid_grant" {
		t.Errorf("disabled user: %d %v", status, res)
	}
}

// TestJWTCredentialManagement: a user manages their own credentials, an
// administrator those of the account's users, nobody another account's;
// names and lifetimes are checked; each user holds a bounded number.
func TestJWTCredentialManagement(t *testing.T) {
	f := newJWTFixture(t)
	ctx := context.Background()
	as := identity.ExtensionActor
	if _, _, err := f.jwt.Create(ctx, as(f.bo), f.ext.ID, "x", 0); !errors.Is(err, identity.ErrForbidden) {
		t.Errorf("a user for another: %v", err)
	}
	if _, _, err := f.jwt.Create(ctx, as(f.other), f.ext.ID, "x", 0); !errors.Is(err, identity.ErrForbidden) {
		t.Errorf("another account's admin: %v", err)
	}
	byAdmin, _, err := f.jwt.Create(ctx, as(f.admin), f.ext.ID, "made by the admin", 0)
	if err != nil || byAdmin.CreatedBy != f.admin.ID {
		t.Fatalf("admin for a user: %+v %v", byAdmin, err)
	}
	if _, _, err := f.jwt.Create(ctx, identity.OperatorActor(), f.bo.ID, "ops", 0); err != nil {
		t.Errorf("operator: %v", err)
	}
	for _, tc := range []struct {
		name  string
		ttl   time.Duration
		param string
	}{
		{"", 0, "name"}, {"  ", 0, "name"}, {strings.Repeat("n", 65), 0, "name"}, {"a\nb", 0, "name"},
		{"ok", -time.Hour, "expiresInDays"}, {"ok", identity.MaxJWTCredentialLifetime + time.Hour, "expiresInDays"},
	} {
		var pe *identity.ParamError
		if _, _, err := f.jwt.Create(ctx, as(f.ext), f.ext.ID, tc.name, tc.ttl); !errors.As(err, &pe) || pe.Param != tc.param {
			t.Errorf("name %q ttl %v: %v, want a %s error", tc.name, tc.ttl, err, tc.param)
		}
	}
	list, err := f.jwt.List(ctx, as(f.ext), f.ext.ID)
	if err != nil || len(list) != 1 || list[0].ID != byAdmin.ID {
		t.Fatalf("list: %v %v", list, err)
	}
	if _, err := f.jwt.List(ctx, as(f.bo), f.ext.ID); !errors.Is(err, identity.ErrForbidden) {
		t.Errorf("a user listed another's: %v", err)
	}
	if l, err := f.jwt.List(ctx, as(f.admin), f.ext.ID); err != nil || len(l) != 1 {
		t.Errorf("admin's list: %v %v", l, err)
	}
	for i := 1; i < identity.MaxJWTCredentials; i++ {
		f.create(t, 0)
	}
	if _, _, err := f.jwt.Create(ctx, as(f.ext), f.ext.ID, "one too many", 0); !errors.Is(err, identity.ErrLimit) {
		t.Fatalf("over the limit: %v", err)
	}
	if _, err := f.jwt.Revoke(ctx, as(f.admin), byAdmin.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.jwt.Create(ctx, as(f.ext), f.ext.ID, "after a revocation", 0); err != nil {
		t.Errorf("a revoked one still counted: %v", err)
	}
	for _, d := range []string{"", "never", "1d", "90", "1098d"} {
		if _, err := identity.ParseJWTLifetime(d); err != nil {
			t.Errorf("lifetime %q: %v", d, err)
		}
	}
	for _, d := range []string{"0d", "-1d", "1099d", "1y", "d"} {
		if _, err := identity.ParseJWTLifetime(d); err == nil {
			t.Errorf("lifetime %q accepted", d)
		}
	}
}

// FuzzJWTAssertion: whatever the assertion, Verify answers without
// panicking and accepts nothing but the credential's own JWT.
func FuzzJWTAssertion(f *testing.F) {
	fx := newJWTFixture(f)
	_, token := fx.create(f, 0)
	parts := strings.Split(token, ".")
	f.Add(token[:len(token)-1] + "A")
	f.Add(parts[0] + "." + parts[1] + ".")
	f.Add("eyJhbGciOiJub25lIn0." + parts[1] + ".")
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		if _, _, _, err := fx.jwt.Verify(context.Background(), s); err == nil && s != token {
			t.Fatalf("accepted %q", s)
		}
	})
}
