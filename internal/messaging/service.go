package messaging

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/callbridge/widget-server/internal/outbox"
	"github.com/callbridge/widget-server/internal/webhooks"
)

// Delivery defaults.
const (
	DefaultMaxAttempts = 5
	DefaultRetryDelay  = time.Second
	// WebhookTimeout bounds one request to the SMS provider.
	WebhookTimeout = 10 * time.Second
)

// Config sets up the service.
type Config struct {
	// WebhookURL is where SMS to numbers not served here are handed to the
	// SMS provider; with none they fail (DeliveryFailed, NoRoute).
	WebhookURL string
	// WebhookSecret signs the requests to WebhookURL and verifies the
	// provider's requests to the inbound webhook; with none, inbound SMS
	// are refused.
	WebhookSecret []byte
	// HTTPClient makes the webhook requests (default: WebhookTimeout, no
	// redirects followed, and no private, loopback or link-local address:
	// webhooks.NewClient).
	HTTPClient *http.Client
	// AllowLoopback lets the default HTTPClient reach a provider on
	// loopback: development and tests.
	AllowLoopback bool
	// MaxAttempts bounds the tries of one SMS at the provider (default 5);
	// RetryDelay is the wait after the first failure, doubled after each
	// further one (default 1 s).
	MaxAttempts int
	RetryDelay  time.Duration
	Logger      *slog.Logger
	Now         func() time.Time
	// OnChange is told every creation and update of a copy, once per
	// version (id and LastModifiedTime), from the goroutine that made it.
	OnChange func(Change)
	// Observe, when set, is told the outcome of every delivery attempt:
	// of an SMS to the provider (KindSMS) and of a message to extensions
	// here (KindLocal).
	Observe outbox.Observer
}

// Service sends, receives and keeps messages.
type Service struct {
	cfg      Config
	store    Store
	accounts Accounts
	log      *slog.Logger
	out      *outbox.Engine // the deliveries
	told     toldVersions
}

// New returns the service; Run delivers what cannot be delivered at once.
func New(cfg Config, store Store, accounts Accounts) *Service {
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = DefaultRetryDelay
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = webhooks.NewClient(WebhookTimeout, cfg.AllowLoopback)
	}
	s := &Service{cfg: cfg, store: store, accounts: accounts, log: cfg.Logger, told: newToldVersions(8192)}
	s.out = s.newOutbox()
	return s
}

// now is the service's clock, to the millisecond the API shows.
func (s *Service) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Millisecond) }

// touch marks a change of m: LastModifiedTime moves to now, and at least a
// millisecond past its last value, so every version has its own.
func (s *Service) touch(m *Message) {
	t := s.now()
	if !t.After(m.LastModifiedTime) {
		t = m.LastModifiedTime.Add(time.Millisecond)
	}
	m.LastModifiedTime = t
}

// notify tells OnChange of a version of a copy it was not told of yet.
func (s *Service) notify(m Message, created bool) {
	if s.cfg.OnChange == nil || !s.told.first(m.ID, m.LastModifiedTime) {
		return
	}
	s.cfg.OnChange(Change{Message: m, New: created})
}

// toldVersions remembers the last version told of the most recent copies,
// so that a change reported twice — by a delivery resumed while it ran —
// or an older version reported after a newer one is not told again.
type toldVersions struct {
	mu    sync.Mutex
	last  map[string]time.Time
	order []string // ring of ids, oldest at next
	next  int
}

func newToldVersions(size int) toldVersions {
	return toldVersions{last: make(map[string]time.Time, size), order: make([]string, 0, size)}
}

// first reports whether the version is newer than any told of its copy.
func (t *toldVersions) first(id string, version time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if last, ok := t.last[id]; ok {
		if !version.After(last) {
			return false
		}
		t.last[id] = version
		return true
	}
	if len(t.order) < cap(t.order) {
		t.order = append(t.order, id)
	} else {
		delete(t.last, t.order[t.next])
		t.order[t.next] = id
		t.next = (t.next + 1) % len(t.order)
	}
	t.last[id] = version
	return true
}

// Message returns a copy of the extension's message store.
func (s *Service) Message(ctx context.Context, extensionID int64, id string) (Message, error) {
	m, err := s.store.Message(ctx, id)
	if err != nil {
		return Message{}, err
	}
	if m.ExtensionID != extensionID {
		return Message{}, fmt.Errorf("message %s of another extension: %w", id, ErrNotFound)
	}
	return m, nil
}

// Messages returns a page of an extension's message store, newest first.
func (s *Service) Messages(ctx context.Context, q Query) (Page, error) {
	if q.ExtensionID == 0 {
		return Page{}, errors.New("messages: no extension")
	}
	return s.store.QueryMessages(ctx, q)
}

// SetReadStatus marks a copy Read or Unread.
func (s *Service) SetReadStatus(ctx context.Context, extensionID int64, id string, status ReadStatus) (Message, error) {
	if status != Read && status != Unread {
		return Message{}, invalid("readStatus", "Read or Unread")
	}
	return s.update(ctx, extensionID, id, func(m *Message) bool {
		if m.ReadStatus == status {
			return false
		}
		m.ReadStatus = status
		return true
	})
}

// Delete moves a copy out of the message store: it stays, as Deleted, for
// who asks for deleted messages.
func (s *Service) Delete(ctx context.Context, extensionID int64, id string) (Message, error) {
	return s.update(ctx, extensionID, id, func(m *Message) bool {
		if m.Availability == Deleted {
			return false
		}
		m.Availability = Deleted
		return true
	})
}

// update changes one of the extension's copies and tells of the change.
func (s *Service) update(ctx context.Context, extensionID int64, id string, change func(*Message) bool) (Message, error) {
	m, changed, err := s.store.UpdateMessage(ctx, id, func(m *Message) bool {
		if m.ExtensionID != extensionID || !change(m) {
			return false
		}
		s.touch(m)
		return true
	})
	if err != nil {
		return Message{}, err
	}
	if m.ExtensionID != extensionID {
		return Message{}, fmt.Errorf("message %s of another extension: %w", id, ErrNotFound)
	}
	if changed {
		s.notify(m, false)
	}
	return m, nil
}

// setStatus moves a sent copy forward to status; a copy already there or
// past it is left alone. fill completes a final status.
func (s *Service) setStatus(ctx context.Context, id string, status Status, fill func(*Message)) (Message, error) {
	m, changed, err := s.store.UpdateMessage(ctx, id, func(m *Message) bool {
		if m.Status.rank() >= status.rank() {
			return false
		}
		m.Status = status
		if fill != nil {
			fill(m)
		}
		s.touch(m)
		return true
	})
	if err != nil {
		return Message{}, fmt.Errorf("message %s to %s: %w", id, status, err)
	}
	if changed {
		s.notify(m, false)
	}
	return m, nil
}

// add stores new copies, with job when it is not nil, and tells of those
// that were created.
func (s *Service) add(ctx context.Context, msgs []Message, job *outbox.Job) ([]Message, error) {
	stored, created, err := s.store.AddMessages(ctx, msgs, job)
	if err != nil {
		return nil, err
	}
	for i, m := range stored {
		if created[i] {
			s.notify(m, true)
		}
	}
	return stored, nil
}
