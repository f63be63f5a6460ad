package store

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/webhooks"
)

// demoIDs seeds the demo account and returns its id and Alice's and Bob's.
func demoIDs(t *testing.T, db *DB) (account, alice, bob int64) {
	t.Helper()
	ctx := context.Background()
	dir := identity.NewDirectory(db)
	if err := dir.SeedDemo(ctx); err != nil {
		t.Fatal(err)
	}
	a, x, err := dir.ExtensionByEmail(ctx, "alice@demo.test")
	if err != nil {
		t.Fatal(err)
	}
	_, y, err := dir.ExtensionByEmail(ctx, "bob@demo.test")
	if err != nil {
		t.Fatal(err)
	}
	return a.ID, x.ID, y.ID
}

func TestSubscriptions(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	acct, alice, bob := demoIDs(t, db)
	now := time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC)
	sub := func(id string, created time.Time, life time.Duration) webhooks.Subscription {
		return webhooks.Subscription{
			ID: id, AccountID: acct, OwnerID: alice, Address: "https://crm.example.com/hook", VerificationToken: "tok",
			Filters: []webhooks.Filter{
				{AccountID: acct, ExtensionID: alice, Kind: webhooks.KindPresence, Detailed: true},
				{AccountID: acct, ExtensionID: bob, Kind: webhooks.KindTelephonySessions},
			},
			Secret: "s3cret", Status: webhooks.StatusActive, Lifetime: life, Created: created, Expires: created.Add(life),
		}
	}
	a := sub("a", now, time.Hour)
	if err := db.CreateSubscription(ctx, a, 2, now.Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Subscription(ctx, "a", now); err != nil || !reflect.DeepEqual(got, a) {
		t.Fatalf("Subscription = %+v, %v; want %+v", got, err, a)
	}
	if _, err := db.Subscription(ctx, "nope", now); !errors.Is(err, webhooks.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}

	// The limit counts what has not expired before since.
	b := sub("b", now.Add(time.Second), 2*time.Hour)
	if err := db.CreateSubscription(ctx, b, 2, now); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateSubscription(ctx, sub("c", now, time.Hour), 2, now); !errors.Is(err, webhooks.ErrLimit) {
		t.Fatalf("third of two: %v", err)
	}
	if all, err := db.Subscriptions(ctx, acct, now); err != nil || len(all) != 2 || all[0].ID != "a" || all[1].ID != "b" {
		t.Fatalf("Subscriptions = %+v, %v", all, err)
	}
	if all, err := db.Subscriptions(ctx, 0, now); err != nil || len(all) != 2 {
		t.Fatalf("every account's: %+v, %v", all, err)
	}
	if all, err := db.Subscriptions(ctx, acct+1, now); err != nil || len(all) != 0 {
		t.Fatalf("another account's: %+v, %v", all, err)
	}
	// Once "a" expired before since it is gone, and no longer counts.
	later := now.Add(90 * time.Minute)
	if _, err := db.Subscription(ctx, "a", later); !errors.Is(err, webhooks.ErrNotFound) {
		t.Fatalf("expired before since: %v", err)
	}
	if err := db.CreateSubscription(ctx, sub("c", later, time.Hour), 2, later); err != nil {
		t.Fatalf("after one expired: %v", err)
	}
	if all, err := db.Subscriptions(ctx, acct, now); err != nil || len(all) != 2 || all[0].ID != "b" || all[1].ID != "c" {
		t.Fatalf("the expired one was not removed: %+v, %v", all, err)
	}

	b.Filters = b.Filters[:1]
	b.Address, b.VerificationToken, b.Status = "https://other.example.com/", "", webhooks.StatusSuspended
	b.Lifetime, b.Expires = 3*time.Hour, now.Add(5*time.Hour)
	if err := db.UpdateSubscription(ctx, b); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Subscription(ctx, "b", now); err != nil || !reflect.DeepEqual(got, b) {
		t.Fatalf("after update %+v, %v; want %+v", got, err, b)
	}
	if err := db.SetSubscriptionStatus(ctx, "b", webhooks.StatusBlacklisted); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Subscription(ctx, "b", now); got.Status != webhooks.StatusBlacklisted {
		t.Fatalf("status %q", got.Status)
	}
	if err := db.DeleteSubscription(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"update":  db.UpdateSubscription(ctx, b),
		"status":  db.SetSubscriptionStatus(ctx, "b", webhooks.StatusActive),
		"delete":  db.DeleteSubscription(ctx, "b"),
		"no such": db.DeleteSubscription(ctx, "zzz"),
	} {
		if !errors.Is(err, webhooks.ErrNotFound) {
			t.Errorf("%s of a deleted subscription: %v", name, err)
		}
	}
	bad := sub("d", now, time.Hour)
	bad.OwnerID = 99999
	if err := db.CreateSubscription(ctx, bad, 20, now); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("unknown owner: %v", err)
	}
}

// TestSubscriptionLimitConcurrent creates many subscriptions at once: no
// more than the limit are stored.
func TestSubscriptionLimitConcurrent(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	acct, alice, _ := demoIDs(t, db)
	now := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- db.CreateSubscription(ctx, webhooks.Subscription{
				ID: string(rune('a' + i)), AccountID: acct, OwnerID: alice, Address: "https://x.test/",
				Filters: []webhooks.Filter{{AccountID: acct, ExtensionID: alice, Kind: webhooks.KindPresence}},
				Secret:  "s", Status: webhooks.StatusActive, Lifetime: time.Hour, Created: now, Expires: now.Add(time.Hour),
			}, 5, now)
		}()
	}
	wg.Wait()
	close(errs)
	ok, limited := 0, 0
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, webhooks.ErrLimit):
			limited++
		default:
			t.Errorf("create: %v", err)
		}
	}
	if ok != 5 || limited != 7 {
		t.Fatalf("%d created, %d over the limit; want 5 and 7", ok, limited)
	}
}
