package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/store"
)

// sessionKeysFile holds the generated session keys inside the data dir.
const sessionKeysFile = "session.keys"

// loadSessionKeys returns the cookie signing (64 bytes) and encryption (32
// bytes) keys: from the configured value when given, else from the data dir,
// generating and saving them (mode 0600) on first start.
func loadSessionKeys(dataDir, configured string) (hashKey, blockKey []byte, err error) {
	if configured != "" {
		return parseSessionKeys(configured)
	}
	path := filepath.Join(dataDir, sessionKeysFile)
	b, err := os.ReadFile(path)
	if err == nil {
		return parseSessionKeys(strings.TrimSpace(string(b)))
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("session keys %s: %w", path, err)
	}
	hashKey, blockKey = make([]byte, 64), make([]byte, 32)
	rand.Read(hashKey)
	rand.Read(blockKey)
	line := hex.EncodeToString(hashKey) + ":" + hex.EncodeToString(blockKey) + "\n"
	if err := os.WriteFile(path, []byte(line), 0o600); err != nil {
		return nil, nil, fmt.Errorf("session keys %s: %w", path, err)
	}
	return hashKey, blockKey, nil
}

func parseSessionKeys(s string) ([]byte, []byte, error) {
	h, b, ok := strings.Cut(s, ":")
	hashKey, err1 := hex.DecodeString(h)
	blockKey, err2 := hex.DecodeString(b)
	if !ok || err1 != nil || err2 != nil || len(hashKey) < 32 || len(blockKey) != 32 {
		return nil, nil, errors.New("session keys must be hex HASHKEY:BLOCKKEY with a hash key of at least 32 bytes and a 32-byte block key")
	}
	return hashKey, blockKey, nil
}

// deriveKey derives a 32-byte key for one purpose from a master key, so one
// configured secret serves several uses without one use's MAC being valid
// for another.
func deriveKey(master []byte, purpose string) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// secretFile returns n random bytes kept in the data dir under name,
// generating them on first start (mode 0600).
func secretFile(dataDir, name string, n int) ([]byte, error) {
	path := filepath.Join(dataDir, name)
	b, err := os.ReadFile(path)
	if err == nil {
		key, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(key) != n {
			return nil, fmt.Errorf("%s: want %d hex-encoded bytes", path, n)
		}
		return key, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	key := make([]byte, n)
	rand.Read(key)
	if err := os.WriteFile(path, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return key, nil
}

// signingKey returns the RSA key that signs ID tokens, kept in the data dir
// as PKCS#8 PEM and generated on first start.
func signingKey(dataDir string) (*rsa.PrivateKey, error) {
	path := filepath.Join(dataDir, "oauth-signing.pem")
	b, err := os.ReadFile(path)
	if err == nil {
		block, _ := pem.Decode(b)
		if block == nil {
			return nil, fmt.Errorf("%s: no PEM block", path)
		}
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%s: not an RSA key", path)
		}
		return rk, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(rk)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rk, nil
}

// JWTCredentials is the JWT credentials service over the data dir's
// database and keys, for the operator's commands: the credentials it makes
// are the ones a server of that data dir, at that public URL (as
// browsers see it, or empty for the default of the listen address),
// accepts.
func JWTCredentials(ctx context.Context, db *store.DB, dataDir, publicURL, listen string) (*identity.JWTCredentials, error) {
	if publicURL == "" {
		_, port, err := net.SplitHostPort(listen)
		if err != nil {
			return nil, fmt.Errorf("listen address %q: %w", listen, err)
		}
		publicURL = "http://localhost:" + port
	}
	issuer, err := identity.CanonicalOrigin(strings.TrimSuffix(publicURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("public URL %q: %w", publicURL, err)
	}
	secret, err := secretFile(dataDir, "oauth-hmac.key", 32)
	if err != nil {
		return nil, err
	}
	key, err := signingKey(dataDir)
	if err != nil {
		return nil, err
	}
	auth, err := identity.NewAuthServer(identity.AuthServerConfig{Issuer: issuer, GlobalSecret: secret, SigningKey: key}, db, db.OAuth())
	if err != nil {
		return nil, err
	}
	return auth.JWTCredentials(db, identity.NewDirectory(db))
}
