package identity

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// Password limits. bcrypt reads at most 72 bytes, so a longer password is
// refused rather than silently cut; four characters admit the demo's "demo".
const (
	MinPasswordLen   = 4  // characters
	MaxPasswordBytes = 72 // bytes
)

// bcryptCost is the work factor of new hashes. Tests lower it to
// bcrypt.MinCost; nothing else may change it.
var bcryptCost = bcrypt.DefaultCost

// HashPassword returns the bcrypt hash of password (cost bcrypt.DefaultCost,
// random salt). A password outside the limits is ErrInvalid.
func HashPassword(password string) (string, error) {
	if utf8.RuneCountInString(password) < MinPasswordLen {
		return "", fmt.Errorf("%w: password must be at least %d characters", ErrInvalid, MinPasswordLen)
	}
	if len(password) > MaxPasswordBytes {
		return "", fmt.Errorf("%w: password must be at most %d bytes", ErrInvalid, MaxPasswordBytes)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if errors.Is(err, bcrypt.ErrPasswordTooLong) {
		return "", fmt.Errorf("%w: password must be at most %d bytes", ErrInvalid, MaxPasswordBytes)
	}
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// CheckPassword reports whether password matches hash, in time that does
// not depend on where they differ. A malformed hash matches nothing, and
// neither does a password longer than bcrypt reads: it would otherwise match
// the hash of its first 72 bytes.
func CheckPassword(hash, password string) bool {
	ok := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
	return ok && len(password) <= MaxPasswordBytes
}
