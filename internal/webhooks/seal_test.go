package webhooks_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/callbridge/widget-server/internal/store"
	"github.com/callbridge/widget-server/internal/webhooks"
)

// rawRow is a subscription's secret columns as the database file holds them.
func rawRow(t *testing.T, e *env, id string) (token, secret string) {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(e.dir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRow(`SELECT verification_token, secret FROM subscriptions WHERE id = ?`, id).Scan(&token, &secret); err != nil {
		t.Fatal(err)
	}
	return token, secret
}

// execRaw changes the database file behind the service's back.
func execRaw(t *testing.T, e *env, q string, args ...any) {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(e.dir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatal(err)
	}
}

// TestSecretsSealedAtRest: a subscription's signing secret and verification
// token are sealed in the database (a copy of the file gives neither),
// deliveries are still signed with the secret, after a restart too; a row
// stored plain before sealing is read, and sealed at the next start; a
// sealed value moved to another subscription does not open.
func TestSecretsSealedAtRest(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, webhooks.Config{})
	r := newReceiver(t, nil)
	sub := e.subscribe(t, r.URL, e.presence(false)) // token "tok-123"

	leaks := func(t *testing.T, id string, plain ...string) {
		t.Helper()
		token, secret := rawRow(t, e, id)
		for _, p := range plain {
			if strings.Contains(token, p) || strings.Contains(secret, p) {
				t.Fatalf("the database holds %q: verification_token %q, secret %q", p, token, secret)
			}
		}
	}
	delivered := func(t *testing.T, svc *webhooks.Service, seq uint64, id, secret, token string) {
		t.Helper()
		svc.Notify(e.presenceEvent(seq))
		for {
			d := r.next(t)
			if d.n.SubscriptionID != id {
				continue
			}
			if err := webhooks.Verify(secret, d.header, d.body, e.clock.Now(), time.Minute); err != nil {
				t.Fatalf("notification of %s: %v", id, err)
			}
			if got := d.header.Get(webhooks.HeaderVerificationToken); got != token {
				t.Fatalf("Verification-Token %q, want %q", got, token)
			}
			return
		}
	}

	t.Run("new subscription", func(t *testing.T) {
		leaks(t, sub.ID, sub.Secret, "tok-123")
		delivered(t, e.svc, 1, sub.ID, sub.Secret, "tok-123")
	})

	// A row as every one was stored before sealing: written by the store
	// itself, which keeps what it is given.
	legacy := webhooks.Subscription{ID: "0a1b2c3d-0000-4000-8000-000000000001", AccountID: e.owner.AccountID, OwnerID: e.owner.ExtensionID,
		Filters: []webhooks.Filter{e.presence(false)}, Address: r.URL, VerificationToken: "legacy-tok",
		Secret: strings.Repeat("5e", 32), Status: webhooks.StatusActive, Lifetime: time.Hour,
		Created: e.clock.Now(), Expires: e.clock.Now().Add(time.Hour)}
	if err := e.db.CreateSubscription(ctx, legacy, 100, e.clock.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	e.svc.Close()

	// A restart: the same data dir and key.
	svc := webhooks.New(webhooks.Config{Clock: e.clock, AllowLoopback: true, SecretKey: e.key}, e.db)
	if err := svc.Load(ctx); err != nil {
		t.Fatal(err)
	}
	go svc.Run(ctx)
	defer svc.Close()
	t.Run("after a restart", func(t *testing.T) {
		delivered(t, svc, 2, sub.ID, sub.Secret, "tok-123")
	})
	t.Run("row stored plain before", func(t *testing.T) {
		got, err := svc.Get(ctx, legacy.ID)
		if err != nil || got.Secret != legacy.Secret || got.VerificationToken != "legacy-tok" {
			t.Fatalf("Get %+v, %v", got, err)
		}
		leaks(t, legacy.ID, legacy.Secret, "legacy-tok")
		delivered(t, svc, 3, legacy.ID, legacy.Secret, "legacy-tok")
	})
	t.Run("moved to another row", func(t *testing.T) {
		_, secret := rawRow(t, e, sub.ID)
		execRaw(t, e, `UPDATE subscriptions SET secret = ? WHERE id = ?`, secret, legacy.ID)
		if got, err := svc.Get(ctx, legacy.ID); err == nil || errors.Is(err, webhooks.ErrNotFound) {
			t.Fatalf("a secret sealed for %s opened for %s: %+v, %v", sub.ID, legacy.ID, got, err)
		}
	})
	t.Run("another key", func(t *testing.T) {
		other := webhooks.New(webhooks.Config{Clock: e.clock, SecretKey: []byte("another key of 32 bytes or more!!")}, e.db)
		defer other.Close()
		if got, err := other.Get(ctx, sub.ID); err == nil {
			t.Fatalf("opened under another key: %+v", got)
		}
	})
}
