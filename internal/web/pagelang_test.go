package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestRefusalLanguage: the refusal page speaks the language the widget would
// have: its lang flag, else the browser's.
func TestRefusalLanguage(t *testing.T) {
	env := newTestEnv(t)
	tests := []struct{ name, query, accept, lang, want string }{
		{"lang flag", "clientId=nope&lang=fr-FR", "de", `lang="fr-FR"`, "Application inconnue"},
		{"browser", "clientId=nope", "de-CH,de;q=0.9", `lang="de-CH"`, "Unbekannte App"},
		{"no clientId", "lang=es", "", `lang="es"`, "Falta clientId"},
		{"host origin", "clientId=demo&lang=de&hostOrigin=" + url.QueryEscape("http://127.0.0.1:9999"), "", `lang="de"`,
			"Diese Website darf das Widget nicht einbetten"},
		{"no language", "clientId=nope", "", `lang="en-US"`, "Unknown app"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, nil, env.widget.URL+"/app?"+tt.query, "Accept-Language", tt.accept)
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("status %d", resp.StatusCode)
			}
			for _, want := range []string{tt.lang, tt.want} {
				if !strings.Contains(body, want) {
					t.Errorf("refusal page lacks %q:\n%s", want, body)
				}
			}
		})
	}
}

// TestRedirectPageLanguage: the sign-in window's last page speaks the
// browser's language, and carries what it says when no widget takes it.
func TestRedirectPageLanguage(t *testing.T) {
	env := newTestEnv(t)
	_, body := get(t, nil, env.widget.URL+"/oauth/redirect?code=c&state=s", "Accept-Language", "fr-CA,fr;q=0.9")
	for _, want := range []string{`lang="fr-CA"`, "Connexion en cours…", `data-stranded-title="Revenez au widget"`} {
		if !strings.Contains(body, want) {
			t.Errorf("redirect page lacks %q:\n%s", want, body)
		}
	}
}
