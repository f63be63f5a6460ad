package templates

import (
	"context"
	"strings"
	"testing"
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
	if !strings.Contains(dark, `<html lang="en" data-theme="dark">`) || !strings.Contains(dark, `<meta name="color-scheme" content="dark">`) {
		t.Errorf("dark sign-in page starts %.300s", dark)
	}
	system := render("")
	if strings.Contains(system, "data-theme") || !strings.Contains(system, `<meta name="color-scheme" content="light dark">`) {
		t.Errorf("sign-in page without a theme starts %.300s", system)
	}
}
