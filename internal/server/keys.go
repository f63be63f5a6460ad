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
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/store"
)

// Names of the secrets the server generates on first start: files of the
// data dir with SQLite, rows of the database's secrets table with
// PostgreSQL.
const (
	sessionKeysFile = "session.keys"      // cookie signing and encryption keys
	tokenKeyFile    = "token.key"         // seals the tokens widget sessions hold
	webhookKeyFile  = "webhook.key"       // seals webhook subscriptions' secrets
	oauthHMACFile   = "oauth-hmac.key"    // signs opaque tokens
	signingKeyFile  = "oauth-signing.pem" // signs ID tokens and JWT credentials
)

// keyring keeps the secrets the server generates once. With SQLite (one
// node) they are files of the data dir, mode 0600. With PostgreSQL they
// are in the database, so that every node behind a load balancer opens
// the cookies, tokens and sealed secrets any other made: the first node
// to start stores them and the others read them. A PostgreSQL database
// without one of them takes the data dir's file of that name once, if
// there is one (a deployment that kept its keys there, or moves to
// several nodes), so that what was issued under it stays valid; from then
// on the database's copy is the one used and the file is ignored.
type keyring struct {
	dir string
	db  *store.DB // nil: the data dir keeps the secrets
	log *slog.Logger
}

// newKeyring returns the keyring of a server on db with that data dir.
func newKeyring(db *store.DB, dataDir string, log *slog.Logger) keyring {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	k := keyring{dir: dataDir, log: log}
	if db.Engine() == "postgres" {
		k.db = db
	}
	return k
}

// keep returns the secret kept under name, parsed; the first time it is
// generated (as the text a file of that name holds) and kept. Errors name
// where the secret is kept.
func keep[T any](ctx context.Context, k keyring, name string, generate func() (string, error), parse func(string) (T, error)) (T, error) {
	var zero T
	path := filepath.Join(k.dir, name)
	file, readErr := os.ReadFile(path)
	present := readErr == nil
	if readErr != nil && !errors.Is(readErr, os.ErrNotExist) {
		readErr = fmt.Errorf("%s: %w", path, readErr)
	} else {
		readErr = nil
	}
	if k.db == nil {
		if readErr != nil {
			return zero, readErr
		}
		if present {
			v, err := parse(string(file))
			if err != nil {
				return zero, fmt.Errorf("%s: %w", path, err)
			}
			return v, nil
		}
		text, err := generate()
		if err != nil {
			return zero, fmt.Errorf("%s: %w", path, err)
		}
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			return zero, fmt.Errorf("%s: %w", path, err)
		}
		return parse(text)
	}

	imported := false
	text, err := k.db.Secret(ctx, name, func() (string, error) {
		if readErr != nil { // it may hold what was issued: not replaced unread
			return "", readErr
		}
		if !present {
			return generate()
		}
		if _, err := parse(string(file)); err != nil {
			return "", fmt.Errorf("%s, not taken into the database: %w", path, err)
		}
		imported = true
		return string(file), nil
	})
	if err != nil {
		return zero, err
	}
	v, err := parse(text)
	if err != nil {
		return zero, fmt.Errorf("secret %s in the database: %w", name, err)
	}
	switch {
	case imported && text == string(file):
		k.log.Info("key file taken into the database: every node uses the database's copy from now on",
			slog.String("file", path))
	case present && strings.TrimSpace(text) != strings.TrimSpace(string(file)):
		k.log.Warn("key file ignored: the database keeps another key of that name, which every node uses",
			slog.String("file", path))
	}
	return v, nil
}

// loadSessionKeys returns the cookie signing (64 bytes) and encryption (32
// bytes) keys: from the configured value when given, else from the
// keyring, generated on first start.
func loadSessionKeys(ctx context.Context, keys keyring, configured string) (hashKey, blockKey []byte, err error) {
	if configured != "" {
		return parseSessionKeys(configured)
	}
	type pair struct{ hash, block []byte }
	p, err := keep(ctx, keys, sessionKeysFile, func() (string, error) {
		hashKey, blockKey := make([]byte, 64), make([]byte, 32)
		rand.Read(hashKey)
		rand.Read(blockKey)
		return hex.EncodeToString(hashKey) + ":" + hex.EncodeToString(blockKey) + "\n", nil
	}, func(s string) (pair, error) {
		h, b, err := parseSessionKeys(strings.TrimSpace(s))
		return pair{h, b}, err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("session keys: %w", err)
	}
	return p.hash, p.block, nil
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

// secretKey returns n random bytes kept in the keyring under name,
// generated on first start.
func secretKey(ctx context.Context, keys keyring, name string, n int) ([]byte, error) {
	return keep(ctx, keys, name, func() (string, error) {
		key := make([]byte, n)
		rand.Read(key)
		return hex.EncodeToString(key) + "\n", nil
	}, func(s string) ([]byte, error) {
		key, err := hex.DecodeString(strings.TrimSpace(s))
		if err != nil || len(key) != n {
			return nil, fmt.Errorf("want %d hex-encoded bytes", n)
		}
		return key, nil
	})
}

// signingKey returns the RSA key that signs ID tokens and JWT credentials,
// kept in the keyring as PKCS#8 PEM and generated on first start.
func signingKey(ctx context.Context, keys keyring) (*rsa.PrivateKey, error) {
	return keep(ctx, keys, signingKeyFile, func() (string, error) {
		rk, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return "", err
		}
		der, err := x509.MarshalPKCS8PrivateKey(rk)
		if err != nil {
			return "", err
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
	}, func(s string) (*rsa.PrivateKey, error) {
		block, _ := pem.Decode([]byte(s))
		if block == nil {
			return nil, errors.New("no PEM block")
		}
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, errors.New("not an RSA key")
		}
		return rk, nil
	})
}

// JWTCredentials is the JWT credentials service over the database and
// the keys its servers use (the data dir's, or with PostgreSQL the
// database's), for the operator's commands: the credentials it makes are
// the ones a server of that database and data dir, at that public URL
// (as browsers see it, or empty for the default of the listen address),
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
	keys := newKeyring(db, dataDir, nil)
	secret, err := secretKey(ctx, keys, oauthHMACFile, 32)
	if err != nil {
		return nil, err
	}
	key, err := signingKey(ctx, keys)
	if err != nil {
		return nil, err
	}
	auth, err := identity.NewAuthServer(identity.AuthServerConfig{Issuer: issuer, GlobalSecret: secret, SigningKey: key}, db, db.OAuth())
	if err != nil {
		return nil, err
	}
	return auth.JWTCredentials(db, identity.NewDirectory(db))
}
