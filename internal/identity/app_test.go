package identity

import (
	"fmt"
	"testing"
)

func TestCanonicalOrigin(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"https://crm.example.com", "https://crm.example.com", true},
		{"HTTPS://CRM.Example.COM:443", "https://crm.example.com", true},
		{"http://127.0.0.1:8081", "http://127.0.0.1:8081", true},
		{"http://127.0.0.1:80", "http://127.0.0.1", true},
		{"https://crm.example.com/", "https://crm.example.com", true},
		{"http://[::1]:8081", "http://[::1]:8081", true},
		{"null", "", false},
		{"", "", false},
		{"crm.example.com", "", false},
		{"ftp://crm.example.com", "", false},
		{"javascript:alert(1)", "", false},
		{"https://crm.example.com/path", "", false},
		{"https://crm.example.com?x=1", "", false},
		{"https://user@crm.example.com", "", false},
		{"http://127.0.0.1:80811", "", false},
		{"http://127.0.0.1:0", "", false},
		{"http://127.0.0.1:-1", "", false},
		{"https://:", "", false},
		{"https://:443", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := CanonicalOrigin(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("CanonicalOrigin(%q) = %q, %v; want %q, ok=%t", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestAllowsOrigin(t *testing.T) {
	app := App{ClientID: "crm", Origins: []string{"http://127.0.0.1:8081", "https://crm.example.com"}}
	if err := app.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		origin string
		want   bool
	}{
		{"http://127.0.0.1:8081", true},
		{"https://crm.example.com", true},
		{"https://CRM.example.com:443", true},
		{"http://localhost:8081", false},
		{"http://127.0.0.1:80811", false},
		{"http://127.0.0.1:8082", false},
		{"https://127.0.0.1:8081", false},
		{"http://crm.example.com", false},
		{"https://crm.example.com.evil.test", false},
		{"http://localhost.evil.test", false},
		{"https://evilcrm.example.com", false},
		{"null", false},
		{"", false},
		{"*", false},
	}
	for _, tt := range tests {
		if got := app.AllowsOrigin(tt.origin); got != tt.want {
			t.Errorf("AllowsOrigin(%q) = %t, want %t", tt.origin, got, tt.want)
		}
	}
}

func TestValidateApp(t *testing.T) {
	tests := []struct {
		name string
		app  App
		ok   bool
	}{
		{"good", App{ClientID: "crm", Origins: []string{"https://a.test"}, RedirectURIs: []string{"https://w.test/oauth/redirect"}}, true},
		{"no origins", App{ClientID: "crm"}, false},
		{"bad id", App{ClientID: "a b", Origins: []string{"https://a.test"}}, false},
		{"empty id", App{Origins: []string{"https://a.test"}}, false},
		{"bad origin", App{ClientID: "crm", Origins: []string{"https://a.test/x"}}, false},
		{"relative redirect", App{ClientID: "crm", Origins: []string{"https://a.test"}, RedirectURIs: []string{"/cb"}}, false},
		{"redirect with fragment", App{ClientID: "crm", Origins: []string{"https://a.test"}, RedirectURIs: []string{"https://w.test/cb#x"}}, false},
		{"http origin", App{ClientID: "crm", Origins: []string{"http://crm.example.com"}}, false},
		{"http redirect", App{ClientID: "crm", Origins: []string{"https://a.test"}, RedirectURIs: []string{"http://w.test/cb"}}, false},
		{"http loopback origin", App{ClientID: "crm", Origins: []string{"http://127.0.0.1:8081"}, RedirectURIs: []string{"http://localhost:8081/cb"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.app.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%t", err, tt.ok)
			}
		})
	}
}

// TestValidateRegistration is the transport rule for app origins and
// redirect URIs: https, or plain http on a loopback host in development
// mode only. Plain http elsewhere is refused in every mode, also by the
// store (Validate).
func TestValidateRegistration(t *testing.T) {
	tests := []struct {
		origin, redirect string
		dev, prod        bool // accepted in development mode, in production
	}{
		{"https://crm.example.com", "https://crm.example.com/cb", true, true},
		{"https://crm.example.com:8443", "", true, true},
		{"https://127.0.0.1:8443", "https://localhost/cb", true, true},
		{"http://127.0.0.1:8081", "http://127.0.0.1:8081/oauth/callback", true, false},
		{"http://localhost:3000", "http://localhost:3000/cb", true, false},
		{"HTTP://LOCALHOST:3000", "", true, false},
		{"http://[::1]:3000", "http://[::1]:3000/cb", true, false},
		{"http://127.8.9.10", "", true, false},
		{"http://crm.example.com", "", false, false},
		{"https://crm.example.com", "http://crm.example.com/cb", false, false},
		{"http://10.0.0.5:8080", "", false, false},
		{"http://192.168.1.10", "", false, false},
		{"http://0.0.0.0:8081", "", false, false},
		{"http://localhost.evil.test", "", false, false},
		{"http://127.0.0.1.nip.io", "", false, false},
		{"http://sub.localhost", "", false, false},
		{"https://crm.example.com", "http://localhost.evil.test/cb", false, false},
		{"https://crm.example.com", "http://127.0.0.1:3000/cb", true, false},
		{"https://crm.example.com", "ftp://crm.example.com/cb", false, false},
		{"https://crm.example.com", "https://crm.example.com/cb#x", false, false},
	}
	for _, tt := range tests {
		for _, dev := range []bool{true, false} {
			want := tt.prod
			if dev {
				want = tt.dev
			}
			t.Run(fmt.Sprintf("%s %s dev=%t", tt.origin, tt.redirect, dev), func(t *testing.T) {
				app := App{ClientID: "crm", Origins: []string{tt.origin}}
				if tt.redirect != "" {
					app.RedirectURIs = []string{tt.redirect}
				}
				if err := app.ValidateRegistration(dev); (err == nil) != want {
					t.Fatalf("ValidateRegistration(%t) = %v, want ok=%t", dev, err, want)
				}
			})
		}
	}
}

func FuzzCanonicalOrigin(f *testing.F) {
	for _, s := range []string{"https://a.test", "http://127.0.0.1:8081", "null", "http://[::1]:1", "https://a.test:99999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := CanonicalOrigin(s)
		if err != nil {
			return
		}
		again, err := CanonicalOrigin(c)
		if err != nil || again != c {
			t.Fatalf("canonical form %q of %q is not stable: %q, %v", c, s, again, err)
		}
	})
}
