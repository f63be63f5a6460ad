package api

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/store"
)

// signInEnv is the API's server with the built-in authorization server, one
// app ("crm") and one user, ann@acme.test, whose password is "correct horse".
func signInEnv(t *testing.T) *testEnv {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	frozen := time.Now()
	env := newTestEnvWith(t, func(d *Deps, db *store.DB) {
		auth, err := identity.NewAuthServer(identity.AuthServerConfig{
			Issuer: "http://localhost:8080", GlobalSecret: []byte(strings.Repeat("s", 32)), SigningKey: key,
		}, db, db.OAuth())
		if err != nil {
			t.Fatal(err)
		}
		// A frozen clock: the back-off's wait does not run out between requests.
		d.AuthServer, d.Throttle = auth, identity.NewThrottle(func() time.Time { return frozen })
	})
	ctx := context.Background()
	if err := env.db.PutApp(ctx, identity.App{ClientID: "crm", Name: "Acme CRM", Origins: []string{"https://crm.example.com"},
		RedirectURIs: []string{"https://crm.example.com/callback"}}); err != nil {
		t.Fatal(err)
	}
	dir := identity.NewDirectory(env.db)
	acct := identity.Account{Company: "Acme", MainNumber: "+16505550100", CountryCode: "US"}
	if err := dir.CreateAccount(ctx, &acct); err != nil {
		t.Fatal(err)
	}
	ext := identity.Extension{AccountID: acct.ID, Number: "101", Name: "Ann", Email: "ann@acme.test"}
	if err := dir.CreateExtension(ctx, &ext, "correct horse"); err != nil {
		t.Fatal(err)
	}
	return env
}

// authorizeQuery is a valid authorization request of the app, with extra
// parameters.
func authorizeQuery(extra url.Values) url.Values {
	q := url.Values{
		"client_id": {"crm"}, "response_type": {"code"}, "redirect_uri": {"https://crm.example.com/callback"},
		"state": {"state-0123456789abcdef"}, "scope": {"openid offline_access"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"},
	}
	for k, v := range extra {
		q[k] = v
	}
	return q
}

// signInPage is the sign-in page of an authorization request, asked for
// with the browser's Accept-Language, and the CSRF cookie it set.
func signInPage(t *testing.T, env *testEnv, q url.Values, acceptLanguage string) (string, *http.Cookie) {
	t.Helper()
	resp, body := get(t, nil, env.widget.URL+"/oauth/authorize?"+q.Encode(), "Accept-Language", acceptLanguage)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sign-in page: %d %s", resp.StatusCode, body)
	}
	for _, c := range resp.Cookies() {
		if c.Name == csrfCookie {
			return body, c
		}
	}
	t.Fatal("the sign-in page set no CSRF cookie")
	return "", nil
}

// submitSignIn posts the sign-in form as the page's hidden fields carry the
// request (ui_locales among them).
func submitSignIn(t *testing.T, env *testEnv, page string, cookie *http.Cookie, username, password string) (int, string) {
	t.Helper()
	form := url.Values{"username": {username}, "password": {password}}
	for _, field := range hiddenFields(page) {
		form.Add(field[0], field[1])
	}
	req, _ := http.NewRequest("POST", env.widget.URL+"/oauth/authorize", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(cookie)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// hiddenFields are the name, value pairs of a page's hidden inputs, as
// templ writes them.
func hiddenFields(page string) [][2]string {
	var out [][2]string
	for _, input := range strings.Split(page, `<input type="hidden" name="`)[1:] {
		name, rest, _ := strings.Cut(input, `"`)
		_, rest, _ = strings.Cut(rest, `value="`)
		value, _, _ := strings.Cut(rest, `"`)
		out = append(out, [2]string{name, htmlUnescape(value)})
	}
	return out
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">").Replace(s)
}

func wantAll(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(body, want) {
			t.Errorf("%s lacks %q:\n%s", what, want, body)
		}
	}
}

// TestSignInPageLanguage: the sign-in page speaks the first language of the
// request's ui_locales when it is a well-formed tag, else the browser's;
// its form carries ui_locales, so a failed attempt says why in the same
// language.
func TestSignInPageLanguage(t *testing.T) {
	env := signInEnv(t)

	t.Run("ui_locales", func(t *testing.T) {
		page, _ := signInPage(t, env, authorizeQuery(url.Values{"ui_locales": {"fr-FR en"}, "theme": {"dark"}}), "de-DE,de;q=0.9")
		wantAll(t, "French sign-in page", page, `<html lang="fr-FR" data-theme="dark">`, "<title>Connexion à Acme CRM</title>",
			"Mot de passe", ">Se connecter</button>", `name="ui_locales" value="fr-FR en"`)
		if strings.Contains(page, "Password") {
			t.Errorf("French sign-in page has English words:\n%s", page)
		}
	})
	t.Run("browser", func(t *testing.T) {
		page, _ := signInPage(t, env, authorizeQuery(nil), "es-MX,es;q=0.9,en;q=0.5")
		wantAll(t, "Spanish sign-in page", page, `<html lang="es-MX"`, "Contraseña", "Iniciar sesión en Acme CRM")
		page, _ = signInPage(t, env, authorizeQuery(url.Values{"ui_locales": {"<de>"}}), "es")
		wantAll(t, "sign-in page with a malformed ui_locales", page, `<html lang="es"`, "Contraseña")
		page, _ = signInPage(t, env, authorizeQuery(nil), "")
		wantAll(t, "sign-in page without a language", page, `<html lang="en-US"`, "Password", "Sign in to Acme CRM")
	})
	t.Run("wrong password in German", func(t *testing.T) {
		page, cookie := signInPage(t, env, authorizeQuery(url.Values{"ui_locales": {"de"}}), "en-US")
		status, body := submitSignIn(t, env, page, cookie, "ann@acme.test", "wrong")
		if status != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d %s", status, body)
		}
		wantAll(t, "German page after a wrong password", body, `<html lang="de"`, "E-Mail, Nummer oder Passwort ist falsch.",
			`name="ui_locales" value="de"`, `value="ann@acme.test"`)
		if strings.Contains(body, "Wrong email") {
			t.Errorf("the German page says it in English:\n%s", body)
		}
		// Two more failures: the back-off says how long to wait, in German.
		for range 2 {
			submitSignIn(t, env, page, cookie, "ann@acme.test", "wrong")
		}
		status, body = submitSignIn(t, env, page, cookie, "ann@acme.test", "correct horse")
		if status != http.StatusTooManyRequests {
			t.Fatalf("after three failures: %d %s", status, body)
		}
		wantAll(t, "German page of the back-off", body, "Zu viele Fehlversuche. Versuchen Sie es in ")
	})
	t.Run("expired form in Spanish", func(t *testing.T) {
		page, _ := signInPage(t, env, authorizeQuery(url.Values{"ui_locales": {"es"}}), "")
		status, body := submitSignIn(t, env, page, &http.Cookie{Name: csrfCookie, Value: "other"}, "ann@acme.test", "correct horse")
		if status != http.StatusForbidden {
			t.Fatalf("a form without its cookie: %d", status)
		}
		wantAll(t, "Spanish page of an expired form", body, "Este formulario ha caducado.")
	})
	t.Run("invalid link in French", func(t *testing.T) {
		q := authorizeQuery(url.Values{"ui_locales": {"fr"}})
		q.Set("client_id", "nope")
		resp, body := get(t, nil, env.widget.URL+"/oauth/authorize?"+q.Encode())
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("unknown client: %d", resp.StatusCode)
		}
		wantAll(t, "French refusal of a bad link", body, `<html lang="fr">`, "Ce lien de connexion n&#39;est pas valide")
	})
}

func TestUILocale(t *testing.T) {
	for param, want := range map[string]string{
		"fr-CA": "fr-CA", "de en": "de", "  es-MX fr": "es-MX", "": "", " ": "", "<x>": "", "fr--CA": "", "*": "",
		strings.Repeat("a", 100): "",
	} {
		if got := uiLocale(param); got != want {
			t.Errorf("uiLocale(%q) = %q, want %q", param, got, want)
		}
	}
}
