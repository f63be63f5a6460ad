package identity

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strings"
)

// A confidential app (App.SecretHash set) authenticates at the token and
// revocation endpoints with its client secret, HTTP Basic (RFC 6749 §2.3.1)
// or in the form. Secrets are 256 random bits made here, so a plain SHA-256
// keeps them as safely as a slow password hash would, and checks them in
// microseconds.

// secretHashPrefix marks the hash format, so another can follow.
const secretHashPrefix = "sha256$"

// NewClientSecret makes a client secret and the hash the store keeps. The
// secret is shown once and kept nowhere.
func NewClientSecret() (secret, hash string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	secret = base64.RawURLEncoding.EncodeToString(b)
	return secret, HashClientSecret(secret)
}

// HashClientSecret is the stored form of a client secret.
func HashClientSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return secretHashPrefix + base64.RawURLEncoding.EncodeToString(sum[:])
}

// ValidSecretHash reports whether h is a hash HashClientSecret made.
func ValidSecretHash(h string) bool {
	rest, ok := strings.CutPrefix(h, secretHashPrefix)
	if !ok {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	return err == nil && len(b) == sha256.Size
}

// secretHasher is fosite's view of HashClientSecret.
type secretHasher struct{}

var errSecretMismatch = errors.New("client secret does not match")

func (secretHasher) Compare(_ context.Context, hash, data []byte) error {
	if len(hash) == 0 || subtle.ConstantTimeCompare(hash, []byte(HashClientSecret(string(data)))) != 1 {
		return errSecretMismatch
	}
	return nil
}

func (secretHasher) Hash(_ context.Context, data []byte) ([]byte, error) {
	return []byte(HashClientSecret(string(data))), nil
}

// WidgetClientSecret is the secret this server's widget presents for an
// app's sign-ins. The widget exchanges the codes of every app's users at
// the token endpoint; for a confidential app it must authenticate as the
// app does, with a secret only this server can derive (from its global
// secret) and that never leaves it.
func (a *AuthServer) WidgetClientSecret(clientID string) string {
	m := hmac.New(sha256.New, a.cfg.GlobalSecret)
	m.Write([]byte("widget client secret\x00" + clientID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
