package identity

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// defaultCost records the production work factor before init lowers it.
var defaultCost = bcryptCost

// The package's tests hash many passwords; the cheapest cost keeps them fast.
func init() { bcryptCost = bcrypt.MinCost }

func TestDefaultCost(t *testing.T) {
	if defaultCost != bcrypt.DefaultCost {
		t.Fatalf("bcrypt cost %d, want bcrypt.DefaultCost (%d)", defaultCost, bcrypt.DefaultCost)
	}
}

func TestHashPassword(t *testing.T) {
	tests := []struct {
		name, password string
		ok             bool
	}{
		{"demo", "demo", true},
		{"long passphrase", "correct horse battery staple", true},
		{"72 bytes", strings.Repeat("x", 72), true},
		{"four runes", "éééé", true},
		{"empty", "", false},
		{"three", "abc", false},
		{"three runes in six bytes", "ééé", false},
		{"73 bytes", strings.Repeat("x", 73), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := HashPassword(tt.password)
			if !tt.ok {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("HashPassword = %q, %v; want ErrInvalid", h, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cost, err := bcrypt.Cost([]byte(h)); err != nil || cost != bcryptCost {
				t.Fatalf("cost %d, %v", cost, err)
			}
			if !CheckPassword(h, tt.password) {
				t.Fatal("password does not match its own hash")
			}
			for _, other := range []string{tt.password + "x", tt.password[1:], strings.ToUpper(tt.password)} {
				if other != tt.password && CheckPassword(h, other) {
					t.Fatalf("%q matches the hash of %q", other, tt.password)
				}
			}
		})
	}
}

func TestHashPasswordSalts(t *testing.T) {
	a, err1 := HashPassword("demo")
	b, err2 := HashPassword("demo")
	if err1 != nil || err2 != nil || a == b {
		t.Fatalf("two hashes of one password: %q, %q (%v, %v)", a, b, err1, err2)
	}
}

func TestCheckPasswordMalformedHash(t *testing.T) {
	for _, h := range []string{"", "demo", "$2a$04$short", "$argon2id$v=19$m=65536,t=1,p=4$x$y"} {
		if CheckPassword(h, "demo") {
			t.Errorf("CheckPassword(%q, demo) = true", h)
		}
	}
}
