package templates

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/callbridge/widget-server/internal/locale"
)

// TestLoginTheme: the sign-in page is dark or light as the widget asked,
// and follows the system otherwise.
func TestLoginTheme(t *testing.T) {
	for param, want := range map[string]string{"dark": "dark", "light": "light", "auto": "", "": "", "<x>": ""} {
		if got := LoginTheme(param); got != want {
			t.Errorf("LoginTheme(%q) = %q, want %q", param, got, want)
		}
	}
	render := func(theme string) string {
		var b strings.Builder
		if err := Login(LoginPage{AppName: "Demo", Action: "/oauth/authorize", Theme: theme}).Render(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	dark := render("dark")
	if !strings.Contains(dark, `<html lang="en-US" data-theme="dark">`) || !strings.Contains(dark, `<meta name="color-scheme" content="dark">`) {
		t.Errorf("dark sign-in page starts %.300s", dark)
	}
	system := render("")
	if strings.Contains(system, "data-theme") || !strings.Contains(system, `<meta name="color-scheme" content="light dark">`) {
		t.Errorf("sign-in page without a theme starts %.300s", system)
	}
}

// TestServerPagesSpeakTheLanguage: the sign-in, refusal and redirect pages
// name the language of their context and say their words in it.
func TestServerPagesSpeakTheLanguage(t *testing.T) {
	in := func(tag string) context.Context {
		l, ok := locale.Default.Match(tag, "")
		if !ok {
			t.Fatalf("no catalogue for %s", tag)
		}
		return locale.With(context.Background(), l)
	}
	render := func(ctx context.Context, c interface {
		Render(context.Context, io.Writer) error
	}) string {
		var b strings.Builder
		if err := c.Render(ctx, &b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	login := render(in("fr-CA"), Login(LoginPage{AppName: "Demo CRM", Action: "/oauth/authorize", Error: "x"}))
	for _, want := range []string{`<html lang="fr-CA"`, "<title>Connexion à Demo CRM</title>", "Mot de passe", ">Se connecter</button>"} {
		if !strings.Contains(login, want) {
			t.Errorf("French sign-in page lacks %s:\n%s", want, login)
		}
	}
	if strings.Contains(login, "Password") || strings.Contains(login, "Sign in") {
		t.Errorf("French sign-in page has English words:\n%s", login)
	}
	redirect := render(in("de"), Redirect(RedirectPage{WidgetOrigin: "http://localhost:8080"}))
	for _, want := range []string{`<html lang="de"`, "Sie werden angemeldet…", `data-stranded-title="Zurück zum Widget"`} {
		if !strings.Contains(redirect, want) {
			t.Errorf("German redirect page lacks %s:\n%s", want, redirect)
		}
	}
	refusal := render(in("es"), Forbidden("Aplicación desconocida", "…"))
	if !strings.Contains(refusal, `<html lang="es">`) {
		t.Errorf("Spanish refusal page starts %.100s", refusal)
	}
}
