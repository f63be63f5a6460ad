package webhooks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/callbridge/widget-server/internal/outbox"
)

// Defaults of Config.
const (
	DefaultLimit            = 20                 // subscriptions per account (seeds/003: "about 20")
	DefaultExpiresIn        = 7 * 24 * time.Hour // lifetime when the client names none
	DefaultMaxExpiresIn     = 365 * 24 * time.Hour
	DefaultRetention        = 24 * time.Hour // an expired subscription can be renewed this long, then it is gone
	DefaultQueueSize        = 100            // notifications waiting per subscription
	DefaultSuspendAfter     = 10             // undelivered notifications in a row that suspend a subscription
	DefaultTimeout          = 5 * time.Second
	DefaultSocketLimit      = 10   // WebSocket subscriptions per socket session
	MaxFilters              = 16   // event filters per subscription
	MaxAddressLength        = 2048 // characters of a receiver URL
	MaxVerificationTokenLen = 64
)

// DefaultBackoff are the waits between the attempts of one notification,
// doubling from a second: five attempts in all.
var DefaultBackoff = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}

// Config tunes the service. Zero values take the defaults.
type Config struct {
	Limit        int             // subscriptions per account, WebSocket ones included
	SocketLimit  int             // WebSocket subscriptions per socket session (Sink)
	DefaultLife  time.Duration   // expiresIn when the client names none
	MaxLife      time.Duration   // the largest expiresIn
	Retention    time.Duration   // how long an expired subscription stays renewable
	QueueSize    int             // notifications waiting per subscription; the oldest is dropped beyond
	SuspendAfter int             // undelivered notifications in a row that suspend a subscription
	Backoff      []time.Duration // waits after each failed attempt: len(Backoff)+1 attempts, then it is given up
	Timeout      time.Duration   // of one attempt, response included
	// AllowLoopback admits http:// addresses and receivers on loopback
	// (127/8, ::1): development mode and tests. Otherwise receivers must be
	// https and not on loopback. Private, link-local and the other special
	// addresses are refused either way (address.go).
	AllowLoopback bool
	// SecretKey seals each subscription's signing secret and verification
	// token in the store (AES-GCM under a key derived from it; any length,
	// 32 random bytes kept in the data dir in production). nil: a key of
	// this process only, so what it stores cannot be read after a restart.
	SecretKey []byte
	// Client sends the notifications; nil builds one that follows no
	// redirect and refuses the addresses above (NewClient).
	Client *http.Client
	Clock  Clock
	Logger *slog.Logger
	// Observe, when set, is told the outcome of every delivery attempt.
	Observe outbox.Observer
}

// Clock is the time deliveries run on; tests use a fake one.
type Clock interface {
	Now() time.Time
	// Sleep waits d, or until ctx is done (then it returns ctx's error).
	Sleep(ctx context.Context, d time.Duration) error
}

// Service keeps subscriptions and delivers their notifications. It is safe
// for concurrent use; Run delivers, Close stops its deliveries.
type Service struct {
	cfg    Config
	store  Store // sealed
	sealed *sealedStore
	client *http.Client
	clock  Clock
	log    *slog.Logger
	out    *outbox.Engine // the notifications queued, in the store

	ctx    context.Context // ends with Close: Run, its attempts and back-off waits stop
	cancel context.CancelFunc
	runs   sync.WaitGroup // calls of Run

	notifying sync.Mutex // Notify's matching and storing, so that notifications are stored in order
	creating  sync.Mutex // Create's counting and storing, so that the account's limit holds
	mu        sync.Mutex
	closed    bool
	subs      map[string]*entry  // by subscription id
	byExt     map[int64][]*entry // by the extensions their filters name
}

// New returns a service over st. Call Load before Run and Notify: Run
// drops the notifications of subscriptions it does not know.
func New(cfg Config, st Store) *Service {
	if cfg.Limit <= 0 {
		cfg.Limit = DefaultLimit
	}
	if cfg.SocketLimit <= 0 {
		cfg.SocketLimit = DefaultSocketLimit
	}
	if cfg.DefaultLife <= 0 {
		cfg.DefaultLife = DefaultExpiresIn
	}
	if cfg.MaxLife <= 0 {
		cfg.MaxLife = DefaultMaxExpiresIn
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.SuspendAfter <= 0 {
		cfg.SuspendAfter = DefaultSuspendAfter
	}
	if cfg.Backoff == nil {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Client == nil {
		cfg.Client = NewClient(cfg.Timeout, cfg.AllowLoopback)
	}
	if cfg.Clock == nil {
		cfg.Clock = outbox.RealClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	sealed := newSealedStore(st, cfg.SecretKey, cfg.Logger)
	s := &Service{cfg: cfg, store: sealed, sealed: sealed, client: cfg.Client, clock: cfg.Clock, log: cfg.Logger,
		ctx: ctx, cancel: cancel, subs: map[string]*entry{}, byExt: map[int64][]*entry{}}
	backoff := cfg.Backoff
	s.out = outbox.New(outbox.Config{Parallel: deliveryParallel, Clock: cfg.Clock, Logger: cfg.Logger, Observe: cfg.Observe}, st, map[string]outbox.Kind{
		JobKind: {Handler: deliveries{s}, Policy: outbox.Policy{
			MaxAttempts: len(backoff) + 1,
			Backoff:     func(n int) time.Duration { return backoff[min(n, len(backoff))-1] },
			Keep:        cfg.QueueSize,
		}},
	})
	return s
}

// Run delivers queued notifications until ctx ends or Close is called:
// also those stored before a restart, once Load has read their
// subscriptions. It returns when the attempts in flight are over; a
// notification cut short is sent again by the next Run.
func (s *Service) Run(ctx context.Context) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.runs.Add(1)
	s.mu.Unlock()
	defer s.runs.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.ctx, cancel)()
	s.out.Run(ctx)
}

// Load seals the secrets of subscriptions stored before they were sealed,
// and reads the stored subscriptions into the delivery index.
func (s *Service) Load(ctx context.Context) error {
	if err := s.sealed.sealPlain(ctx); err != nil {
		return err
	}
	all, err := s.store.Subscriptions(ctx, 0, s.since())
	if err != nil {
		return fmt.Errorf("load subscriptions: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sub := range all {
		s.putLocked(sub)
	}
	return nil
}

// Close stops every delivery and waits for Run to return; what is queued
// stays stored for the next start. Notify does nothing afterwards.
func (s *Service) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.runs.Wait()
}

// Now is the service's clock, by which statuses are told.
func (s *Service) Now() time.Time { return s.clock.Now() }

// since is the expiry before which subscriptions are gone.
func (s *Service) since() time.Time { return s.clock.Now().Add(-s.cfg.Retention) }

// Request is what a client asks of a subscription: on create every field but
// ExpiresIn; on update Filters, and Delivery or ExpiresIn when they change.
type Request struct {
	Filters   []Filter
	Delivery  *Delivery
	ExpiresIn time.Duration // 0: the default on create, unchanged on update
}

// Delivery is where notifications go: a webhook receiver, or with Sink a
// socket session (then Address and VerificationToken are unused).
type Delivery struct {
	Address           string
	VerificationToken string
	Sink              Sink
}

// Create checks the request and the receiver (verify) and stores a new
// Active subscription with a new secret. One with a Sink (WebSocket) is
// kept in memory instead, needs no receiver check and no secret, and counts
// against both the account's limit and its session's.
func (s *Service) Create(ctx context.Context, owner Owner, req Request) (Subscription, error) {
	if req.Delivery == nil {
		return Subscription{}, paramError("deliveryMode", "is required")
	}
	life := req.ExpiresIn
	if life == 0 {
		life = s.cfg.DefaultLife
	}
	if err := s.check(req, life); err != nil {
		return Subscription{}, err
	}
	sink := req.Delivery.Sink
	if sink == nil {
		if err := s.verify(ctx, "", req.Delivery.Address); err != nil {
			return Subscription{}, err
		}
	}
	now := s.clock.Now()
	sub := Subscription{
		ID: newID(), AccountID: owner.AccountID, OwnerID: owner.ExtensionID, Filters: dedupe(req.Filters),
		Status: StatusActive, Lifetime: life, Created: now, Expires: now.Add(life),
	}
	s.creating.Lock()
	defer s.creating.Unlock()
	s.mu.Lock()
	s.pruneLocked()
	sockets, ofSink := s.socketCountLocked(owner.AccountID, sink)
	s.mu.Unlock()
	accountFull := fmt.Errorf("%w: an account may have %d", ErrLimit, s.cfg.Limit)
	if sink != nil {
		if ofSink >= s.cfg.SocketLimit {
			return Subscription{}, fmt.Errorf("%w: a socket session may have %d", ErrLimit, s.cfg.SocketLimit)
		}
		stored, err := s.store.Subscriptions(ctx, owner.AccountID, s.since())
		if err != nil {
			return Subscription{}, fmt.Errorf("create subscription: %w", err)
		}
		if len(stored)+sockets >= s.cfg.Limit {
			return Subscription{}, accountFull
		}
		sub.Sink = sink
	} else {
		sub.Address, sub.VerificationToken, sub.Secret = req.Delivery.Address, req.Delivery.VerificationToken, newSecret()
		if sockets >= s.cfg.Limit {
			return Subscription{}, accountFull
		}
		if err := s.store.CreateSubscription(ctx, sub, s.cfg.Limit-sockets, s.since()); err != nil {
			if errors.Is(err, ErrLimit) {
				return Subscription{}, accountFull
			}
			return Subscription{}, fmt.Errorf("create subscription: %w", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putLocked(sub)
	return sub, nil
}

// socketCountLocked counts the WebSocket subscriptions of an account, and
// those of sink among them.
func (s *Service) socketCountLocked(accountID int64, sink Sink) (ofAccount, ofSink int) {
	for _, e := range s.subs {
		if e.sub.Sink != nil && e.sub.AccountID == accountID {
			ofAccount++
			if sink != nil && e.sub.Sink == sink {
				ofSink++
			}
		}
	}
	return ofAccount, ofSink
}

// socketSub returns a WebSocket subscription from memory.
func (s *Service) socketSub(id string) (Subscription, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.subs[id]
	if e == nil || e.sub.Sink == nil || !e.sub.Expires.After(s.since()) {
		return Subscription{}, false
	}
	return e.sub, true
}

// DropSink forgets the WebSocket subscriptions of a socket session that
// ended: nothing more is delivered to it.
func (s *Service) DropSink(sink Sink) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, e := range s.subs {
		if e.sub.Sink == sink {
			s.removeLocked(id)
		}
	}
}

// pruneLocked forgets the subscriptions that expired before since, which
// the store removes as new ones are created, so the index does not grow
// with every subscription ever made.
func (s *Service) pruneLocked() {
	since := s.since()
	for id, e := range s.subs {
		if !e.sub.Expires.After(since) {
			s.removeLocked(id)
		}
	}
}

// Get returns a subscription.
func (s *Service) Get(ctx context.Context, id string) (Subscription, error) {
	if sub, ok := s.socketSub(id); ok {
		return sub, nil
	}
	return s.store.Subscription(ctx, id, s.since())
}

// List returns an account's subscriptions, oldest first: the stored ones
// and the WebSocket ones.
func (s *Service) List(ctx context.Context, accountID int64) ([]Subscription, error) {
	if accountID == 0 {
		return nil, nil
	}
	all, err := s.store.Subscriptions(ctx, accountID, s.since())
	if err != nil {
		return nil, err
	}
	since := s.since()
	s.mu.Lock()
	for _, e := range s.subs {
		if e.sub.Sink != nil && e.sub.AccountID == accountID && e.sub.Expires.After(since) {
			all = append(all, e.sub)
		}
	}
	s.mu.Unlock()
	slices.SortStableFunc(all, func(a, b Subscription) int { return a.Created.Compare(b.Created) })
	return all, nil
}

// Update replaces a subscription's filters and, when given, its delivery
// (verified again) and lifetime (counted from now; otherwise the expiry
// stays). One suspended for failed deliveries is Active again, and so is a
// blacklisted one given a delivery.
func (s *Service) Update(ctx context.Context, id string, req Request) (Subscription, error) {
	sub, err := s.Get(ctx, id)
	if err != nil {
		return Subscription{}, err
	}
	if req.Delivery != nil && (req.Delivery.Sink == nil) != (sub.Sink == nil) {
		return Subscription{}, paramError("deliveryMode.transportType", "stays %s: create a new subscription for another transport", sub.Transport())
	}
	check := req
	if check.Delivery == nil || sub.Sink != nil {
		check.Delivery = &Delivery{Address: sub.Address, VerificationToken: sub.VerificationToken, Sink: sub.Sink}
	}
	life := req.ExpiresIn
	if life == 0 {
		life = sub.Lifetime
	}
	if err := s.check(check, life); err != nil {
		return Subscription{}, err
	}
	if req.Delivery != nil && sub.Sink == nil {
		if err := s.verify(ctx, id, req.Delivery.Address); err != nil {
			return Subscription{}, err
		}
		sub.Address, sub.VerificationToken = req.Delivery.Address, req.Delivery.VerificationToken
		sub.Status = StatusActive
	}
	sub.Filters = dedupe(req.Filters)
	if req.ExpiresIn != 0 {
		sub.Lifetime, sub.Expires = life, s.clock.Now().Add(life)
	}
	if sub.Status == StatusSuspended {
		sub.Status = StatusActive
	}
	return sub, s.save(ctx, sub)
}

// Renew gives a subscription its lifetime again, counted from now, and
// makes a suspended one Active. A blacklisted one answers ErrBlacklisted.
func (s *Service) Renew(ctx context.Context, id string) (Subscription, error) {
	sub, err := s.Get(ctx, id)
	if err != nil {
		return Subscription{}, err
	}
	if sub.Status == StatusBlacklisted {
		return Subscription{}, ErrBlacklisted
	}
	sub.Status, sub.Expires = StatusActive, s.clock.Now().Add(sub.Lifetime)
	return sub, s.save(ctx, sub)
}

// Delete removes a subscription; what was queued for it is dropped.
func (s *Service) Delete(ctx context.Context, id string) error {
	if _, ok := s.socketSub(id); ok {
		s.mu.Lock()
		s.removeLocked(id)
		s.mu.Unlock()
		return nil
	}
	if err := s.store.DeleteSubscription(ctx, id); err != nil {
		return err
	}
	s.mu.Lock()
	s.removeLocked(id)
	s.mu.Unlock()
	if err := s.out.Drop(ctx, JobKind, id); err != nil {
		s.log.Error("queued notifications not dropped", slog.String("subscription", id), slog.Any("err", err))
	}
	return nil
}

func (s *Service) save(ctx context.Context, sub Subscription) error {
	if sub.Sink != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		if e := s.subs[sub.ID]; e == nil || e.gone {
			return ErrNotFound // deleted, or its session ended, meanwhile
		}
		s.putLocked(sub)
		return nil
	}
	if err := s.store.UpdateSubscription(ctx, sub); err != nil {
		return err
	}
	s.put(sub)
	return nil
}

// check applies the rules of a subscription to a request with its delivery
// and lifetime.
func (s *Service) check(req Request, life time.Duration) error {
	if len(req.Filters) == 0 {
		return paramError("eventFilters", "name at least one event")
	}
	if len(req.Filters) > MaxFilters {
		return paramError("eventFilters", "at most %d event filters", MaxFilters)
	}
	if life < time.Second || life > s.cfg.MaxLife {
		return paramError("expiresIn", "must be 1 to %d seconds", int64(s.cfg.MaxLife/time.Second))
	}
	if req.Delivery.Sink != nil {
		return nil
	}
	if err := s.checkAddress(req.Delivery.Address); err != nil {
		return err
	}
	tok := req.Delivery.VerificationToken
	if len(tok) > MaxVerificationTokenLen {
		return paramError("deliveryMode.verificationToken", "at most %d characters", MaxVerificationTokenLen)
	}
	for _, c := range tok {
		if c <= ' ' || c > '~' {
			return paramError("deliveryMode.verificationToken", "printable ASCII without spaces only")
		}
	}
	return nil
}

// checkAddress admits an absolute https URL (http while AllowLoopback) with
// a host and without credentials or fragment. A host that is an IP address
// must be one a receiver may be on, written as usual (checkHost); names
// are checked after resolution, on each connection.
func (s *Service) checkAddress(raw string) error {
	const param = "deliveryMode.address"
	if raw == "" {
		return paramError(param, "is required")
	}
	if len(raw) > MaxAddressLength {
		return paramError(param, "at most %d characters", MaxAddressLength)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return paramError(param, "must be an absolute URL")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && s.cfg.AllowLoopback:
	case u.Scheme == "http":
		return paramError(param, "must be https")
	default:
		return paramError(param, "must be an https URL")
	}
	if u.User != nil || u.Fragment != "" || strings.ContainsAny(raw, " \t\r\n") {
		return paramError(param, "may hold no credentials, fragment or blanks")
	}
	if err := checkHost(u.Hostname(), s.cfg.AllowLoopback); err != nil {
		return paramError(param, "%v", err)
	}
	return nil
}

// maxVerifyBody bounds what is read of the answer to an address check.
const maxVerifyBody = 4 << 10

// verify checks that the address is a receiver that wants these
// notifications: it must answer a POST carrying a random Validation-Token
// header with 2xx and the same header back. A failure is ErrVerification
// and nothing more: what was found at the address (a refused connection, a
// TLS error, a status) would let a client scan the networks this server
// reaches, so it goes to the log only. subID is "" for a new subscription.
func (s *Service) verify(ctx context.Context, subID, address string) error {
	err := s.checkReceiver(ctx, address)
	var pe *ParamError
	if err == nil || errors.As(err, &pe) {
		return err
	}
	host := ""
	if u, perr := url.Parse(address); perr == nil {
		host = u.Host // not the query, which may carry the receiver's own secrets
	}
	s.log.Info("webhook address check failed", slog.String("subscription", subID), slog.String("host", host),
		slog.String("reason", err.Error()))
	return ErrVerification
}

func (s *Service) checkReceiver(ctx context.Context, address string) error {
	token := newSecret()[:32]
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, address, http.NoBody)
	if err != nil {
		return paramError("deliveryMode.address", "must be an absolute URL")
	}
	req.Header.Set(HeaderValidationToken, token)
	req.Header.Set("User-Agent", userAgent)
	resp, err := s.client.Do(req)
	if err != nil {
		return errors.New(reason(err))
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxVerifyBody))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the receiver answered %d", resp.StatusCode)
	}
	if resp.Header.Get(HeaderValidationToken) != token {
		return errors.New("the receiver did not answer with the Validation-Token header it was sent")
	}
	return nil
}

// dedupe drops repeated filters, keeping the first of each.
func dedupe(fs []Filter) []Filter {
	out := make([]Filter, 0, len(fs))
	for _, f := range fs {
		seen := false
		for _, g := range out {
			seen = seen || g == f
		}
		if !seen {
			out = append(out, f)
		}
	}
	return out
}
