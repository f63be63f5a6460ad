package oauth

import (
	"errors"
	"strings"
	"testing"
)

func TestParseCallback(t *testing.T) {
	const redirect = "http://localhost:8080/oauth/redirect"
	tests := []struct {
		name, raw string
		want      Callback
		err       error
	}{
		{"code", redirect + "?code=abc&state=xyz", Callback{Code: "abc", State: "xyz"}, nil},
		{"error", redirect + "?error=access_denied&state=xyz", Callback{Error: "access_denied", State: "xyz"}, nil},
		{"host differs", "http://evil.test/oauth/redirect?code=a&state=b", Callback{}, ErrBadCallback},
		{"port differs", "http://localhost:8081/oauth/redirect?code=a&state=b", Callback{}, ErrBadCallback},
		{"scheme differs", "https://localhost:8080/oauth/redirect?code=a&state=b", Callback{}, ErrBadCallback},
		{"path differs", "http://localhost:8080/oauth/redirect/x?code=a&state=b", Callback{}, ErrBadCallback},
		{"user info", "http://me@localhost:8080/oauth/redirect?code=a&state=b", Callback{}, ErrBadCallback},
		{"no state", redirect + "?code=a", Callback{}, ErrBadCallback},
		{"no code", redirect + "?state=b", Callback{}, ErrBadCallback},
		{"two codes", redirect + "?code=a&code=b&state=c", Callback{}, ErrBadCallback},
		{"not a URL", "::::", Callback{}, ErrBadCallback},
		{"too long", redirect + "?code=" + strings.Repeat("a", MaxCallbackLength) + "&state=b", Callback{}, ErrBadCallback},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCallback(tt.raw, redirect)
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Fatalf("ParseCallback = %+v, %v; want %+v, %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func FuzzParseCallback(f *testing.F) {
	const redirect = "https://phone.example.com/oauth/redirect"
	f.Add(redirect + "?code=abc&state=xyz")
	f.Add(redirect + "?error=access_denied&state=%zz")
	f.Add("https://phone.example.com:443/oauth/redirect?code=a&state=b#frag")
	f.Fuzz(func(t *testing.T, raw string) {
		cb, err := ParseCallback(raw, redirect)
		if err != nil {
			if !errors.Is(err, ErrBadCallback) {
				t.Fatalf("error %v is not ErrBadCallback", err)
			}
			return
		}
		if cb.State == "" || (cb.Code == "" && cb.Error == "") || len(raw) > MaxCallbackLength {
			t.Fatalf("accepted %q as %+v", raw, cb)
		}
	})
}
