package webhooks

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// A subscription's signing secret and verification token are sealed in
// the store (AES-256-GCM), as the sign-in tokens are, so a copy of the
// database — a backup, a stolen file — cannot forge notifications. Each
// value is bound to its subscription and column (the associated data), so
// a sealed value moved to another row or column does not open.

// sealedPrefix starts a sealed value. It holds a space, which neither a
// secret (hex) nor a verification token (printable ASCII without blanks)
// can: a value without it was stored plain, before sealing.
const sealedPrefix = "sealed1 "

// Columns a sealed value is bound to.
const (
	columnSecret = "secret"
	columnToken  = "verification_token"
)

// errUnsealed: a sealed value does not open (another key, or moved).
var errUnsealed = errors.New("sealed value does not open")

// sealedStore is the Store as the service uses it: it seals the secret
// and the verification token on the way in and opens them on the way out.
type sealedStore struct {
	Store
	aead cipher.AEAD
	log  *slog.Logger
}

func newSealedStore(st Store, key []byte, log *slog.Logger) *sealedStore {
	if key == nil {
		key = make([]byte, 32)
		rand.Read(key)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("callbridge webhook secrets v1"))
	block, _ := aes.NewCipher(mac.Sum(nil)) // a 32-byte key: no error
	aead, _ := cipher.NewGCM(block)         // AES's 16-byte blocks: no error
	return &sealedStore{Store: st, aead: aead, log: log}
}

func aad(id, column string) []byte { return []byte(id + "\x00" + column) }

func (s *sealedStore) seal(id, column, plain string) string {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(s.aead.Seal(nonce, nonce, []byte(plain), aad(id, column)))
}

// open returns a stored value in the clear; one stored plain is returned
// as it is.
func (s *sealedStore) open(id, column, stored string) (string, error) {
	enc, ok := strings.CutPrefix(stored, sealedPrefix)
	if !ok {
		return stored, nil
	}
	b, err := base64.RawStdEncoding.DecodeString(enc)
	n := s.aead.NonceSize()
	if err != nil || len(b) < n {
		return "", fmt.Errorf("subscription %s %s: %w", id, column, errUnsealed)
	}
	plain, err := s.aead.Open(nil, b[:n], b[n:], aad(id, column))
	if err != nil {
		return "", fmt.Errorf("subscription %s %s: %w", id, column, errUnsealed)
	}
	return string(plain), nil
}

func (s *sealedStore) openSub(sub Subscription) (Subscription, error) {
	var err1, err2 error
	sub.Secret, err1 = s.open(sub.ID, columnSecret, sub.Secret)
	sub.VerificationToken, err2 = s.open(sub.ID, columnToken, sub.VerificationToken)
	return sub, errors.Join(err1, err2)
}

func (s *sealedStore) CreateSubscription(ctx context.Context, sub Subscription, limit int, since time.Time) error {
	sub.Secret = s.seal(sub.ID, columnSecret, sub.Secret)
	sub.VerificationToken = s.seal(sub.ID, columnToken, sub.VerificationToken)
	return s.Store.CreateSubscription(ctx, sub, limit, since)
}

func (s *sealedStore) UpdateSubscription(ctx context.Context, sub Subscription) error {
	sub.VerificationToken = s.seal(sub.ID, columnToken, sub.VerificationToken)
	return s.Store.UpdateSubscription(ctx, sub)
}

func (s *sealedStore) Subscription(ctx context.Context, id string, since time.Time) (Subscription, error) {
	sub, err := s.Store.Subscription(ctx, id, since)
	if err != nil {
		return sub, err
	}
	return s.openSub(sub)
}

// Subscriptions leaves out, with an error in the log, those whose secrets
// do not open: they cannot be delivered, and one of them must not keep the
// others from being listed or loaded.
func (s *sealedStore) Subscriptions(ctx context.Context, accountID int64, since time.Time) ([]Subscription, error) {
	all, err := s.Store.Subscriptions(ctx, accountID, since)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, sub := range all {
		sub, err := s.openSub(sub)
		if err != nil {
			s.log.Error("webhook subscription unreadable: its secrets do not open under this key", slog.String("subscription", sub.ID), slog.Any("err", err))
			continue
		}
		out = append(out, sub)
	}
	return out, nil
}

func (s *sealedStore) SetSubscriptionSecrets(ctx context.Context, id, verificationToken, secret string) error {
	return s.Store.SetSubscriptionSecrets(ctx, id, s.seal(id, columnToken, verificationToken), s.seal(id, columnSecret, secret))
}

// sealPlain seals the secrets of every subscription stored plain, before
// sealing, expired ones included.
func (s *sealedStore) sealPlain(ctx context.Context) error {
	all, err := s.Store.Subscriptions(ctx, 0, time.Time{})
	if err != nil {
		return fmt.Errorf("seal subscription secrets: %w", err)
	}
	n := 0
	for _, sub := range all {
		if strings.HasPrefix(sub.Secret, sealedPrefix) && strings.HasPrefix(sub.VerificationToken, sealedPrefix) {
			continue
		}
		sub, err := s.openSub(sub)
		if err != nil {
			continue // half sealed under another key: Subscriptions reports it
		}
		if err := s.SetSubscriptionSecrets(ctx, sub.ID, sub.VerificationToken, sub.Secret); err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("seal subscription secrets: %w", err)
		}
		n++
	}
	if n > 0 {
		s.log.Info("webhook subscription secrets sealed in the store", slog.Int("subscriptions", n))
	}
	return nil
}
