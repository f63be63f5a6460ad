package server

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/identity"
)

// oidcProvider is an OpenID Connect provider reduced to what a relying
// party uses: discovery, an authorization endpoint that signs its one user
// in at once, a token endpoint that returns an ID token with the claims the
// test chose, and the key set. It lets a test send claims a real provider
// may send but Callbridge's own authorization server never does.
type oidcProvider struct {
	*httptest.Server
	key *rsa.PrivateKey

	mu     sync.Mutex
	claims map[string]any            // extra claims of the next ID token
	codes  map[string]map[string]any // code → the claims it was issued with
}

func newOIDCProvider(t *testing.T) *oidcProvider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &oidcProvider{key: key, codes: map[string]map[string]any{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{
			"issuer": p.URL, "authorization_endpoint": p.URL + "/oauth/authorize", "token_endpoint": p.URL + "/token",
			"jwks_uri": p.URL + "/jwks", "response_types_supported": []string{"code"},
			"subject_types_supported": []string{"public"}, "id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"keys": []map[string]string{{
			"kty": "RSA", "use": "sig", "alg": "RS256", "kid": "k1",
			"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
		}}})
	})
	mux.HandleFunc("GET /oauth/authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		code := rand.Text()
		p.mu.Lock()
		claims := map[string]any{"aud": q.Get("client_id")}
		for k, v := range p.claims {
			claims[k] = v
		}
		p.codes[code] = claims
		p.mu.Unlock()
		back, _ := url.Parse(q.Get("redirect_uri"))
		bq := back.Query()
		bq.Set("code", code)
		bq.Set("state", q.Get("state"))
		back.RawQuery = bq.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		claims, ok := p.codes[r.FormValue("code")]
		delete(p.codes, r.FormValue("code"))
		p.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			writeJSON(w, map[string]string{"error": "invalid_grant"})
			return
		}
		now := time.Now()
		claims["iss"], claims["iat"], claims["exp"] = p.URL, now.Unix(), now.Add(time.Hour).Unix()
		writeJSON(w, map[string]any{"access_token": rand.Text(), "token_type": "Bearer", "expires_in": 3600,
			"id_token": p.sign(t, claims)})
	})
	p.Server = httptest.NewServer(mux)
	t.Cleanup(p.Close)
	return p
}

// signInWith sets the claims of the next ID token.
func (p *oidcProvider) signInWith(claims map[string]any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.claims = claims
}

// sign makes an RS256 JWT of claims.
func (p *oidcProvider) sign(t *testing.T, claims map[string]any) string {
	head, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": "k1", "typ": "JWT"})
	body, err := json.Marshal(claims)
	if err != nil {
		t.Error(err)
	}
	input := base64.RawURLEncoding.EncodeToString(head) + "." + base64.RawURLEncoding.EncodeToString(body)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, p.key, crypto.SHA256, sum[:])
	if err != nil {
		t.Error(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// TestExternalProviderEmailVerified: a user of an external provider maps to
// an extension here only when the ID token says the email is verified with
// the boolean claim email_verified = true. Whoever can make an account at the
// provider with someone else's address, unverified, must not sign in as them.
func TestExternalProviderEmailVerified(t *testing.T) {
	t.Parallel()
	provider := newOIDCProvider(t)
	rp := startServer(t, Config{OIDCIssuer: provider.URL, OIDCClientID: "rp"})
	disabled := addUser(t, rp, "140", "gil@demo.test")
	withDirectory(t, rp, func(ctx context.Context, dir *identity.Directory) error {
		return dir.SetStatus(ctx, disabled.ID, identity.StatusDisabled)
	})

	for _, tc := range []struct {
		name     string
		email    string
		verified any // nil: the claim is absent
		signedIn bool
	}{
		{"email_verified absent", "Carol@Demo.test", nil, false},
		{"email_verified false", "Carol@Demo.test", false, false},
		{"email_verified a string", "Carol@Demo.test", "true", false},
		{"email_verified null", "Carol@Demo.test", json.RawMessage("null"), false},
		{"no email, email_verified true", "", true, false},
		{"a disabled user's verified email", "gil@demo.test", true, false},
		{"email_verified true", "Carol@Demo.test", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			claims := map[string]any{"sub": "ext-user-1"}
			if tc.email != "" {
				claims["email"] = tc.email
			}
			if tc.verified != nil {
				claims["email_verified"] = tc.verified
			}
			provider.signInWith(claims)
			iframe := browser()
			openWidget(t, iframe, rp)
			callback := location(t, do(t, browser(), "GET", startLogin(t, iframe, rp, "popup"), nil))
			r := widgetPost(t, iframe, rp.WidgetURL, "/widget/login/complete", map[string]string{"callbackUri": callback.String()})
			st := do(t, iframe, "GET", rp.WidgetURL+"/widget/state", nil, "X-Callbridge", "1", "X-Callbridge-Client", "demo").json(t)
			if tc.signedIn {
				if r.StatusCode != http.StatusOK || r.json(t)["loginNumber"] != "+16505550100*103" || st["loggedIn"] != true {
					t.Fatalf("verified email: %d %s; state %v", r.StatusCode, r.body, st)
				}
				return
			}
			if r.StatusCode != http.StatusForbidden || r.json(t)["errorCode"] != "UnknownUser" || st["loggedIn"] != false {
				t.Fatalf("signed in on an unverified email: %d %s; state %v", r.StatusCode, r.body, st)
			}
		})
	}
}
