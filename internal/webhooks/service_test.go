package webhooks_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/store"
	"github.com/callbridge/widget-server/internal/webhooks"
)

// fakeClock stands still until a delivery sleeps: a sleep moves it on and
// is recorded.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newClock() *fakeClock { return &fakeClock{now: time.Now().UTC().Truncate(time.Second)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func (c *fakeClock) slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sleeps)
}

// delivery is one request a receiver got.
type delivery struct {
	header http.Header
	body   []byte
	n      notification
}

type notification struct {
	UUID           string          `json:"uuid"`
	Event          string          `json:"event"`
	Timestamp      string          `json:"timestamp"`
	SubscriptionID string          `json:"subscriptionId"`
	OwnerID        string          `json:"ownerId"`
	Body           json.RawMessage `json:"body"`
}

// receiver is a webhook endpoint: it passes the address check and answers
// the n-th notification (from 0) as answer says; every notification is
// recorded, in order.
type receiver struct {
	*httptest.Server
	got chan delivery
}

func newReceiver(t *testing.T, answer func(n int, w http.ResponseWriter)) *receiver {
	t.Helper()
	r := &receiver{got: make(chan delivery, 1000)}
	var mu sync.Mutex
	count := 0
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if tok := req.Header.Get(webhooks.HeaderValidationToken); tok != "" {
			w.Header().Set(webhooks.HeaderValidationToken, tok)
			return
		}
		b, _ := io.ReadAll(req.Body)
		d := delivery{header: req.Header.Clone(), body: b}
		if err := json.Unmarshal(b, &d.n); err != nil {
			t.Errorf("notification not JSON: %s", b)
		}
		mu.Lock()
		n := count
		count++
		mu.Unlock()
		r.got <- d
		if answer != nil {
			answer(n, w)
		}
	}))
	t.Cleanup(r.Close)
	return r
}

// next returns the next notification, failing after a generous while.
func (r *receiver) next(t *testing.T) delivery {
	t.Helper()
	select {
	case d := <-r.got:
		return d
	case <-time.After(20 * time.Second):
		t.Fatal("no notification arrived")
	}
	return delivery{}
}

type env struct {
	svc   *webhooks.Service
	db    *store.DB
	dir   string // the data dir: the database file is in it
	key   []byte // the service's SecretKey
	clock *fakeClock
	owner webhooks.Owner
	bob   int64
}

func newEnv(t *testing.T, cfg webhooks.Config) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// The store's own methods, not the directory's: no password to hash.
	acct := identity.Account{Company: "Acme", MainNumber: "+14155550100", CountryCode: "US"}
	if err := db.CreateAccount(ctx, &acct); err != nil {
		t.Fatal(err)
	}
	alice := identity.Extension{AccountID: acct.ID, Number: "101", Name: "Alice", Email: "alice@acme.test", Role: identity.RoleAdmin, Status: identity.StatusEnabled}
	bob := identity.Extension{AccountID: acct.ID, Number: "102", Name: "Bob", Email: "bob@acme.test", Role: identity.RoleUser, Status: identity.StatusEnabled}
	for _, x := range []*identity.Extension{&alice, &bob} {
		if err := db.CreateExtension(ctx, x, "no-password"); err != nil {
			t.Fatal(err)
		}
	}
	clock := newClock()
	cfg.Clock, cfg.AllowLoopback = clock, true
	if cfg.SecretKey == nil {
		cfg.SecretKey = []byte("the key of the test's data dir, 32+ bytes")
	}
	svc := webhooks.New(cfg, db)
	if err := svc.Load(ctx); err != nil {
		t.Fatal(err)
	}
	go svc.Run(ctx)
	t.Cleanup(svc.Close) // stops Run and waits for it
	return &env{svc: svc, db: db, dir: dir, key: cfg.SecretKey, clock: clock,
		owner: webhooks.Owner{AccountID: acct.ID, ExtensionID: alice.ID}, bob: bob.ID}
}

func (e *env) presence(detailed bool) webhooks.Filter {
	return webhooks.Filter{AccountID: e.owner.AccountID, ExtensionID: e.owner.ExtensionID, Kind: webhooks.KindPresence, Detailed: detailed}
}

func (e *env) subscribe(t *testing.T, address string, filters ...webhooks.Filter) webhooks.Subscription {
	t.Helper()
	sub, err := e.svc.Create(context.Background(), e.owner, webhooks.Request{Filters: filters,
		Delivery: &webhooks.Delivery{Address: address, VerificationToken: "tok-123"}})
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

// presenceEvent is a presence change of the owner with a sequence.
func (e *env) presenceEvent(seq uint64) webhooks.Event {
	body := map[string]any{"sequence": seq, "activeCalls": []string{"call"}}
	return webhooks.Event{ExtensionID: e.owner.ExtensionID, Kind: webhooks.KindPresence, Body: body,
		BriefBody: map[string]any{"sequence": seq}, Sequence: seq}
}

func sequenceOf(t *testing.T, d delivery) uint64 {
	t.Helper()
	var b struct{ Sequence uint64 }
	if err := json.Unmarshal(d.n.Body, &b); err != nil {
		t.Fatalf("body %s: %v", d.n.Body, err)
	}
	return b.Sequence
}

// TestDeliverySignedInOrder: notifications arrive in order, signed, with
// the verification token and the envelope of seeds/001.
func TestDeliverySignedInOrder(t *testing.T) {
	e := newEnv(t, webhooks.Config{})
	r := newReceiver(t, nil)
	sub := e.subscribe(t, r.URL+"/hook", e.presence(true))
	for seq := uint64(1); seq <= 20; seq++ {
		e.svc.Notify(e.presenceEvent(seq))
	}
	for seq := uint64(1); seq <= 20; seq++ {
		d := r.next(t)
		if got := sequenceOf(t, d); got != seq {
			t.Fatalf("notification %d has sequence %d", seq, got)
		}
		if err := webhooks.Verify(sub.Secret, d.header, d.body, e.clock.Now(), 5*time.Minute); err != nil {
			t.Fatalf("signature: %v", err)
		}
		if d.header.Get("Verification-Token") != "tok-123" || d.header.Get("Content-Type") != "application/json" {
			t.Fatalf("headers %v", d.header)
		}
		want := "/restapi/v1.0/account/" + strconv.FormatInt(e.owner.AccountID, 10) + "/extension/" +
			strconv.FormatInt(e.owner.ExtensionID, 10) + "/presence?detailedTelephonyState=true"
		if d.n.Event != want || d.n.SubscriptionID != sub.ID || d.n.OwnerID != strconv.FormatInt(e.owner.ExtensionID, 10) ||
			len(d.n.UUID) != 36 || !strings.HasSuffix(d.n.Timestamp, "Z") || !strings.Contains(string(d.n.Body), "activeCalls") {
			t.Fatalf("notification %+v", d.n)
		}
	}
}

// TestRetriesWithBackoff: a receiver that fails twice gets the notification
// on the third attempt, after waits of 1 s and 2 s, and the next one after it.
func TestRetriesWithBackoff(t *testing.T) {
	e := newEnv(t, webhooks.Config{})
	r := newReceiver(t, func(n int, w http.ResponseWriter) {
		if n < 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	e.subscribe(t, r.URL, e.presence(false))
	e.svc.Notify(e.presenceEvent(10))
	e.svc.Notify(e.presenceEvent(11))
	var seqs []uint64
	for range 4 {
		seqs = append(seqs, sequenceOf(t, r.next(t)))
	}
	if !slices.Equal(seqs, []uint64{10, 10, 10, 11}) {
		t.Fatalf("sequences received %v, want 10 three times, then 11", seqs)
	}
	if got := e.clock.slept(); !slices.Equal(got, []time.Duration{time.Second, 2 * time.Second}) {
		t.Fatalf("back-off waits %v", got)
	}
}

// TestFailingReceiverSuspended: five attempts per notification with
// doubling waits; after SuspendAfter undelivered notifications in a row the
// subscription is Suspended (also in the store) until it is renewed.
func TestFailingReceiverSuspended(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, webhooks.Config{SuspendAfter: 2})
	var failing sync.Map
	failing.Store("on", true)
	r := newReceiver(t, func(n int, w http.ResponseWriter) {
		if _, on := failing.Load("on"); on {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	sub := e.subscribe(t, r.URL, e.presence(false))
	e.svc.Notify(e.presenceEvent(1))
	e.svc.Notify(e.presenceEvent(2))
	for i := range 10 {
		if got, want := sequenceOf(t, r.next(t)), uint64(1+i/5); got != want {
			t.Fatalf("attempt %d carried sequence %d, want %d", i, got, want)
		}
	}
	waitStatus(t, e, sub.ID, webhooks.StatusSuspended)
	backoff := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}
	if got := e.clock.slept(); !slices.Equal(got, append(slices.Clone(backoff), backoff...)) {
		t.Fatalf("waits %v", got)
	}
	// Suspended: nothing more is sent. Renewed: the next change is.
	e.svc.Notify(e.presenceEvent(3))
	failing.Delete("on")
	renewed, err := e.svc.Renew(ctx, sub.ID)
	if err != nil || renewed.State(e.clock.Now()) != webhooks.StatusActive {
		t.Fatalf("renew: %+v, %v", renewed, err)
	}
	e.svc.Notify(e.presenceEvent(4))
	if got := sequenceOf(t, r.next(t)); got != 4 {
		t.Fatalf("after renewal the first notification has sequence %d, want 4", got)
	}
}

func waitStatus(t *testing.T, e *env, id, status string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s, err := e.svc.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if s.State(e.clock.Now()) == status {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("status %q, want %q", s.State(e.clock.Now()), status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestGoneBlacklists: 410 Gone blacklists at once; renewal is refused and
// an update with a delivery that passes the check makes it Active again.
func TestGoneBlacklists(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, webhooks.Config{})
	gone := newReceiver(t, func(int, http.ResponseWriter) {})
	gone.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if tok := req.Header.Get(webhooks.HeaderValidationToken); tok != "" {
			w.Header().Set(webhooks.HeaderValidationToken, tok)
			return
		}
		gone.got <- delivery{}
		w.WriteHeader(http.StatusGone)
	})
	sub := e.subscribe(t, gone.URL, e.presence(false))
	e.svc.Notify(e.presenceEvent(1))
	gone.next(t)
	waitStatus(t, e, sub.ID, webhooks.StatusBlacklisted)
	if len(e.clock.slept()) != 0 {
		t.Fatalf("410 was retried: %v", e.clock.slept())
	}
	if _, err := e.svc.Renew(ctx, sub.ID); !errors.Is(err, webhooks.ErrBlacklisted) {
		t.Fatalf("renew a blacklisted subscription: %v", err)
	}
	if s, err := e.svc.Update(ctx, sub.ID, webhooks.Request{Filters: sub.Filters}); err != nil || s.Status != webhooks.StatusBlacklisted {
		t.Fatalf("update without delivery: %+v, %v", s, err)
	}
	r := newReceiver(t, nil)
	s, err := e.svc.Update(ctx, sub.ID, webhooks.Request{Filters: sub.Filters, Delivery: &webhooks.Delivery{Address: r.URL}})
	if err != nil || s.Status != webhooks.StatusActive || s.VerificationToken != "" {
		t.Fatalf("update with a new receiver: %+v, %v", s, err)
	}
	e.svc.Notify(e.presenceEvent(2))
	if d := r.next(t); sequenceOf(t, d) != 2 || d.header.Get("Verification-Token") != "" {
		t.Fatalf("after the update: %s %v", d.body, d.header)
	}
}

// TestExpiry: an expired subscription reads Suspended and gets nothing;
// renewed, it gets the changes from then on; long expired, it is gone.
func TestExpiry(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, webhooks.Config{})
	r := newReceiver(t, nil)
	sub, err := e.svc.Create(ctx, e.owner, webhooks.Request{Filters: []webhooks.Filter{e.presence(false)},
		Delivery: &webhooks.Delivery{Address: r.URL}, ExpiresIn: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if sub.ExpiresIn(e.clock.Now()) != time.Minute || !sub.Expires.Equal(e.clock.Now().Add(time.Minute)) {
		t.Fatalf("expires %v", sub.Expires)
	}
	e.clock.advance(time.Minute)
	if s, _ := e.svc.Get(ctx, sub.ID); s.State(e.clock.Now()) != webhooks.StatusSuspended || s.ExpiresIn(e.clock.Now()) != 0 {
		t.Fatalf("expired subscription reads %q", s.State(e.clock.Now()))
	}
	e.svc.Notify(e.presenceEvent(1))
	s, err := e.svc.Renew(ctx, sub.ID)
	if err != nil || !s.Expires.Equal(e.clock.Now().Add(time.Minute)) {
		t.Fatalf("renew: %+v, %v", s, err)
	}
	e.svc.Notify(e.presenceEvent(2))
	if got := sequenceOf(t, r.next(t)); got != 2 {
		t.Fatalf("first notification %d: one sent while expired was delivered", got)
	}
	e.clock.advance(time.Minute + webhooks.DefaultRetention)
	if _, err := e.svc.Get(ctx, sub.ID); !errors.Is(err, webhooks.ErrNotFound) {
		t.Fatalf("a day after expiry: %v", err)
	}
	if _, err := e.svc.Renew(ctx, sub.ID); !errors.Is(err, webhooks.ErrNotFound) {
		t.Fatalf("renew a day after expiry: %v", err)
	}
}

// TestQueueDropsOldest: while the receiver holds one notification, the
// queue keeps only the newest QueueSize; Notify never waits.
func TestQueueDropsOldest(t *testing.T) {
	e := newEnv(t, webhooks.Config{QueueSize: 3})
	release := make(chan struct{})
	r := newReceiver(t, func(n int, w http.ResponseWriter) {
		if n == 0 {
			<-release
		}
	})
	e.subscribe(t, r.URL, e.presence(false))
	e.svc.Notify(e.presenceEvent(1))
	if got := sequenceOf(t, r.next(t)); got != 1 {
		t.Fatalf("first %d", got)
	}
	for seq := uint64(2); seq <= 7; seq++ {
		e.svc.Notify(e.presenceEvent(seq))
	}
	close(release)
	for _, want := range []uint64{5, 6, 7} {
		if got := sequenceOf(t, r.next(t)); got != want {
			t.Fatalf("got sequence %d, want %d (2-4 dropped)", got, want)
		}
	}
}

// TestMatching: a notification goes to the filters it matches, with the
// body its filter asks for; a stale presence is not sent.
func TestMatching(t *testing.T) {
	e := newEnv(t, webhooks.Config{})
	r := newReceiver(t, nil)
	sessions := webhooks.Filter{AccountID: e.owner.AccountID, ExtensionID: e.bob, Kind: webhooks.KindTelephonySessions}
	e.subscribe(t, r.URL, e.presence(false), sessions)
	e.svc.Notify(webhooks.Event{ExtensionID: e.owner.ExtensionID, Kind: webhooks.KindTelephonySessions, Body: "alice's"})
	e.svc.Notify(webhooks.Event{AccountID: e.owner.AccountID + 1, ExtensionID: e.bob, Kind: webhooks.KindTelephonySessions, Body: "other account"})
	e.svc.Notify(webhooks.Event{ExtensionID: e.bob, Kind: webhooks.KindMessageStore, Body: "bob's messages"})
	e.svc.Notify(webhooks.Event{AccountID: e.owner.AccountID, ExtensionID: e.bob, Kind: webhooks.KindTelephonySessions, Body: "bob's session"})
	e.svc.Notify(e.presenceEvent(5))
	e.svc.Notify(e.presenceEvent(4)) // stale
	e.svc.Notify(e.presenceEvent(6))
	d := r.next(t)
	if string(d.n.Body) != `"bob's session"` || !strings.HasSuffix(d.n.Event, "/extension/"+strconv.FormatInt(e.bob, 10)+"/telephony/sessions") {
		t.Fatalf("first notification %s %s", d.n.Event, d.n.Body)
	}
	for _, want := range []string{`{"sequence":5}`, `{"sequence":6}`} {
		if d := r.next(t); string(d.n.Body) != want {
			t.Fatalf("presence body %s, want %s (brief, no stale one)", d.n.Body, want)
		}
	}
}

// TestCreateChecks: the rules of a new subscription, the address check and
// the limit.
func TestCreateChecks(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, webhooks.Config{Limit: 2})
	good := newReceiver(t, nil)
	silent := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer silent.Close()
	redirect := httptest.NewServer(http.RedirectHandler(good.URL, http.StatusFound))
	defer redirect.Close()
	filters := []webhooks.Filter{e.presence(false)}
	req := func(address string, mod func(*webhooks.Request)) webhooks.Request {
		r := webhooks.Request{Filters: filters, Delivery: &webhooks.Delivery{Address: address}}
		if mod != nil {
			mod(&r)
		}
		return r
	}
	params := map[string]webhooks.Request{
		"eventFilters":         req(good.URL, func(r *webhooks.Request) { r.Filters = nil }),
		"deliveryMode":         req(good.URL, func(r *webhooks.Request) { r.Delivery = nil }),
		"expiresIn":            req(good.URL, func(r *webhooks.Request) { r.ExpiresIn = 400 * 24 * time.Hour }),
		"deliveryMode.address": req("ftp://x.test/", nil),
		"deliveryMode.verificationToken": req(good.URL, func(r *webhooks.Request) {
			r.Delivery.VerificationToken = "has space"
		}),
	}
	for param, r := range params {
		_, err := e.svc.Create(ctx, e.owner, r)
		var pe *webhooks.ParamError
		if !errors.As(err, &pe) || pe.Param != param {
			t.Errorf("%s: error %v", param, err)
		}
	}
	for name, address := range map[string]string{"no Validation-Token echo": silent.URL, "redirect": redirect.URL,
		"nobody listening": "http://127.0.0.1:1/"} {
		if _, err := e.svc.Create(ctx, e.owner, req(address, nil)); !errors.Is(err, webhooks.ErrVerification) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for range 2 {
		if _, err := e.svc.Create(ctx, e.owner, req(good.URL, nil)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.svc.Create(ctx, e.owner, req(good.URL, nil)); !errors.Is(err, webhooks.ErrLimit) {
		t.Fatalf("over the limit: %v", err)
	}
}

// TestPublicServerRules: beyond development, receivers must be https and
// not on loopback or link-local addresses: a literal one is refused at
// once, a name that resolves to one when the connection is about to be
// made. The client is told nothing of what was found; the log is.
func TestPublicServerRules(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, webhooks.Config{})
	var logs syncBuffer
	svc := webhooks.New(webhooks.Config{Clock: e.clock, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, e.db)
	defer svc.Close()
	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set(webhooks.HeaderValidationToken, req.Header.Get(webhooks.HeaderValidationToken))
	}))
	defer tls.Close()
	r := webhooks.Request{Filters: []webhooks.Filter{e.presence(false)}, Delivery: &webhooks.Delivery{Address: "http://crm.example.com/hook"}}
	for _, address := range []string{"http://crm.example.com/hook", tls.URL, "https://169.254.169.254/latest"} {
		r.Delivery.Address = address
		var pe *webhooks.ParamError
		if _, err := svc.Create(ctx, e.owner, r); !errors.As(err, &pe) || pe.Param != "deliveryMode.address" {
			t.Errorf("%s: %v", address, err)
		}
	}
	r.Delivery.Address = strings.Replace(tls.URL, "127.0.0.1", "localhost", 1)
	_, err := svc.Create(ctx, e.owner, r)
	if !errors.Is(err, webhooks.ErrVerification) || err.Error() != webhooks.ErrVerification.Error() {
		t.Fatalf("%s: %v, want ErrVerification and nothing more", r.Delivery.Address, err)
	}
	if !strings.Contains(logs.String(), "may not be on this address") {
		t.Fatalf("the log does not say why:\n%s", logs.String())
	}
}

// syncBuffer is a log's output that tests read while the service writes.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestHostileReceivers: redirects are not followed, a huge answer is not
// read, a slow one times out; the notifications behind them still arrive.
func TestHostileReceivers(t *testing.T) {
	e := newEnv(t, webhooks.Config{Timeout: 2 * time.Second, Backoff: []time.Duration{time.Second}})
	followed := make(chan struct{}, 10)
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { followed <- struct{}{} }))
	defer target.Close()
	stop := make(chan struct{})
	defer close(stop)
	r := newReceiver(t, func(n int, w http.ResponseWriter) {
		switch n {
		case 0, 1: // a redirect, twice
			w.Header().Set("Location", target.URL)
			w.WriteHeader(http.StatusTemporaryRedirect)
		case 2: // a 200 with an endless body
			w.WriteHeader(http.StatusOK)
			chunk := []byte(strings.Repeat("x", 64<<10))
			for {
				if _, err := w.Write(chunk); err != nil {
					return
				}
				select {
				case <-stop:
					return
				default:
				}
			}
		case 3, 4: // no answer until the test ends: the attempt times out
			<-stop
		}
	})
	e.subscribe(t, r.URL, e.presence(false))
	for seq := uint64(1); seq <= 4; seq++ {
		e.svc.Notify(e.presenceEvent(seq))
	}
	var seqs []uint64
	for range 6 {
		seqs = append(seqs, sequenceOf(t, r.next(t)))
	}
	// 1: redirected twice, undelivered; 2: delivered (the body is not
	// read); 3: timed out twice; 4: delivered.
	if !slices.Equal(seqs, []uint64{1, 1, 2, 3, 3, 4}) {
		t.Fatalf("attempts carried %v", seqs)
	}
	if len(followed) != 0 {
		t.Fatal("a redirect was followed")
	}
}

// TestDeleteAndClose: a deleted subscription gets nothing more; Close ends
// a delivery waiting to retry.
func TestDeleteAndClose(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, webhooks.Config{})
	r := newReceiver(t, nil)
	sub := e.subscribe(t, r.URL, e.presence(false))
	keep := e.subscribe(t, r.URL, webhooks.Filter{AccountID: e.owner.AccountID, ExtensionID: e.owner.ExtensionID, Kind: webhooks.KindMessageStore})
	if err := e.svc.Delete(ctx, sub.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Delete(ctx, sub.ID); !errors.Is(err, webhooks.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	e.svc.Notify(e.presenceEvent(1))
	e.svc.Notify(webhooks.Event{ExtensionID: e.owner.ExtensionID, Kind: webhooks.KindMessageStore, Body: 1})
	if d := r.next(t); d.n.SubscriptionID != keep.ID {
		t.Fatalf("a deleted subscription got %s", d.body)
	}
	list, err := e.svc.List(ctx, e.owner.AccountID)
	if err != nil || len(list) != 1 || list[0].ID != keep.ID {
		t.Fatalf("list %+v, %v", list, err)
	}

	blocked := make(chan struct{})
	svc := webhooks.New(webhooks.Config{Clock: blockingClock{e.clock, blocked}, AllowLoopback: true, SecretKey: e.key}, e.db)
	if err := svc.Load(ctx); err != nil {
		t.Fatal(err)
	}
	go svc.Run(ctx)
	failing := newReceiver(t, func(_ int, w http.ResponseWriter) { w.WriteHeader(http.StatusInternalServerError) })
	if _, err := svc.Create(ctx, e.owner, webhooks.Request{Filters: []webhooks.Filter{e.presence(false)},
		Delivery: &webhooks.Delivery{Address: failing.URL}}); err != nil {
		t.Fatal(err)
	}
	svc.Notify(e.presenceEvent(9))
	<-blocked // waiting to retry
	svc.Close()
	svc.Notify(e.presenceEvent(10)) // after Close: nothing
	if len(failing.got) != 1 {
		t.Fatalf("%d attempts", len(failing.got))
	}
}

// blockingClock's Sleep reports that it waits and waits for ctx.
type blockingClock struct {
	*fakeClock
	waiting chan struct{}
}

func (c blockingClock) Sleep(ctx context.Context, d time.Duration) error {
	close(c.waiting)
	<-ctx.Done()
	return ctx.Err()
}

// TestQueuedSurviveRestart: notifications queued when the service stops,
// one of them in the middle of its attempt, are delivered in order, signed,
// by the next service on the same data; the one cut short was no attempt.
func TestQueuedSurviveRestart(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, webhooks.Config{})
	release := make(chan struct{})
	r := newReceiver(t, func(n int, w http.ResponseWriter) {
		if n == 0 {
			<-release
		}
	})
	sub := e.subscribe(t, r.URL, e.presence(false))
	e.svc.Notify(e.presenceEvent(1))
	e.svc.Notify(e.presenceEvent(2))
	if got := sequenceOf(t, r.next(t)); got != 1 {
		t.Fatalf("first %d", got)
	}
	e.svc.Close() // while the receiver holds the first
	close(release)
	queued, err := e.db.Jobs(ctx, webhooks.JobKind)
	if err != nil || len(queued) != 2 || queued[0].Attempts != 0 || queued[1].Attempts != 0 {
		t.Fatalf("queued after the stop: %+v, %v", queued, err)
	}

	svc := webhooks.New(webhooks.Config{Clock: e.clock, AllowLoopback: true, SecretKey: e.key}, e.db)
	if err := svc.Load(ctx); err != nil {
		t.Fatal(err)
	}
	go svc.Run(ctx)
	defer svc.Close()
	for _, want := range []uint64{1, 2} {
		d := r.next(t)
		if got := sequenceOf(t, d); got != want {
			t.Fatalf("after the restart sequence %d, want %d", got, want)
		}
		if err := webhooks.Verify(sub.Secret, d.header, d.body, e.clock.Now(), time.Minute); err != nil {
			t.Fatalf("signature after the restart: %v", err)
		}
	}
	if len(e.clock.slept()) != 0 {
		t.Fatalf("the stop counted as a failed attempt: waits %v", e.clock.slept())
	}
}
