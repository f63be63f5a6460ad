package webhooks_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/webhooks"
)

// sink is a socket session as the service sees it: it keeps what it is
// handed.
type sink struct {
	mu  sync.Mutex
	got []json.RawMessage
}

func (s *sink) Deliver(_ string, n []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, append(json.RawMessage(nil), n...))
}

func (s *sink) notifications() []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]json.RawMessage(nil), s.got...)
}

// TestSocketSubscriptions: a subscription with a sink takes the filters,
// lifetime and limits of a webhook's, is handed its notifications as
// Notify matches them, is listed with the stored ones, keeps its transport
// and goes with its sink.
func TestSocketSubscriptions(t *testing.T) {
	e := newEnv(t, webhooks.Config{Limit: 3, SocketLimit: 2})
	ctx := context.Background()
	a, b := &sink{}, &sink{}
	create := func(s webhooks.Sink) (webhooks.Subscription, error) {
		return e.svc.Create(ctx, e.owner, webhooks.Request{Filters: []webhooks.Filter{e.presence(false)}, Delivery: &webhooks.Delivery{Sink: s}})
	}
	s1, err := create(a)
	if err != nil || s1.Transport() != webhooks.TransportWebSocket || s1.Secret != "" || s1.Address != "" || s1.Expires.Sub(s1.Created) != webhooks.DefaultExpiresIn {
		t.Fatalf("created %+v, %v", s1, err)
	}
	if _, err := create(a); err != nil {
		t.Fatal(err)
	}
	if _, err := create(a); !errors.Is(err, webhooks.ErrLimit) {
		t.Fatalf("third of one sink: %v", err)
	}
	if _, err := create(b); err != nil {
		t.Fatal(err)
	}
	// Three socket subscriptions fill the account: a webhook is refused too.
	r := newReceiver(t, nil)
	if _, err := e.svc.Create(ctx, e.owner, webhooks.Request{Filters: []webhooks.Filter{e.presence(false)},
		Delivery: &webhooks.Delivery{Address: r.URL}}); !errors.Is(err, webhooks.ErrLimit) {
		t.Fatalf("webhook beyond the account's limit: %v", err)
	}
	if l, err := e.svc.List(ctx, e.owner.AccountID); err != nil || len(l) != 3 || !slices.ContainsFunc(l, func(s webhooks.Subscription) bool { return s.ID == s1.ID }) {
		t.Fatalf("list %d %v", len(l), err)
	}
	// A socket subscription stays one.
	if _, err := e.svc.Update(ctx, s1.ID, webhooks.Request{Filters: []webhooks.Filter{e.presence(true)},
		Delivery: &webhooks.Delivery{Address: r.URL}}); err == nil {
		t.Fatal("socket subscription turned into a webhook")
	}
	u, err := e.svc.Update(ctx, s1.ID, webhooks.Request{Filters: []webhooks.Filter{e.presence(true)}, ExpiresIn: time.Hour})
	if err != nil || !u.Filters[0].Detailed || u.Sink != webhooks.Sink(a) {
		t.Fatalf("updated %+v, %v", u, err)
	}

	e.svc.Notify(e.presenceEvent(7))
	got := a.notifications()
	if len(got) != 2 || len(b.notifications()) != 1 {
		t.Fatalf("notifications: sink a %d, sink b %d", len(got), len(b.notifications()))
	}
	detailed := 0
	for _, raw := range got {
		var n struct {
			SubscriptionID string
			Body           map[string]any
		}
		if err := json.Unmarshal(raw, &n); err != nil {
			t.Fatal(err)
		}
		if (n.SubscriptionID == s1.ID) != (n.Body["activeCalls"] != nil) {
			t.Fatalf("notification %s (the detailed subscription is %s)", raw, s1.ID)
		}
		if n.SubscriptionID == s1.ID {
			detailed++
		}
	}
	if detailed != 1 {
		t.Fatalf("%d notifications of the detailed subscription", detailed)
	}

	// The sink ends: its subscriptions go, and the account has room again.
	e.svc.DropSink(a)
	if _, err := e.svc.Get(ctx, s1.ID); !errors.Is(err, webhooks.ErrNotFound) {
		t.Fatalf("subscription of an ended sink: %v", err)
	}
	e.svc.Notify(e.presenceEvent(8))
	if len(a.notifications()) != 2 || len(b.notifications()) != 2 {
		t.Fatalf("after the sink ended: sink a %d, sink b %d", len(a.notifications()), len(b.notifications()))
	}
	if l, _ := e.svc.List(ctx, e.owner.AccountID); len(l) != 1 {
		t.Fatalf("list after the sink ended: %d", len(l))
	}
	// Expired, it is Suspended and delivers nothing; renewed, it does.
	e.clock.advance(webhooks.DefaultExpiresIn + time.Second)
	e.svc.Notify(e.presenceEvent(9))
	if len(b.notifications()) != 2 {
		t.Fatal("notification to an expired subscription")
	}
	l, _ := e.svc.List(ctx, e.owner.AccountID)
	if _, err := e.svc.Renew(ctx, l[0].ID); err != nil {
		t.Fatal(err)
	}
	e.svc.Notify(e.presenceEvent(10))
	if len(b.notifications()) != 3 {
		t.Fatal("no notification after renew")
	}
}
