package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/callbridge/widget-server/internal/outbox"
)

// userAgent names the sender to receivers.
const userAgent = "Callbridge-Webhooks/1"

// JobKind is the kind of the outbox jobs (internal/outbox) that carry the
// notifications: one job per notification and subscription, whose target
// is the subscription, so each subscription's go out in order.
const JobKind = "webhook"

// deliveryParallel bounds the notifications being sent at the same time,
// over every subscription.
const deliveryParallel = 32

// timestampFormat is how notifications say when they were made.
const timestampFormat = "2006-01-02T15:04:05.000Z"

// entry is a subscription in the delivery index.
type entry struct {
	sub      Subscription
	gone     bool              // deleted: nothing more is delivered
	failures int               // notifications in a row that were not delivered
	lastSeq  map[string]uint64 // presence sequence last queued, per filter
}

// notification is what a receiver gets (seeds/001 "Call States").
type notification struct {
	UUID           string          `json:"uuid"`
	Event          string          `json:"event"`
	Timestamp      string          `json:"timestamp"`
	SubscriptionID string          `json:"subscriptionId"`
	OwnerID        string          `json:"ownerId"`
	Body           json.RawMessage `json:"body"`
}

func (s *Service) put(sub Subscription) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putLocked(sub)
}

// putLocked adds or replaces a subscription in the index; its queued
// notifications stay (those of one no longer Active are dropped as they
// come up).
func (s *Service) putLocked(sub Subscription) {
	e := s.subs[sub.ID]
	if e == nil {
		e = &entry{lastSeq: map[string]uint64{}}
		s.subs[sub.ID] = e
	} else {
		s.unindexLocked(e)
	}
	e.sub = sub
	for _, f := range sub.Filters {
		if !slices.Contains(s.byExt[f.ExtensionID], e) {
			s.byExt[f.ExtensionID] = append(s.byExt[f.ExtensionID], e)
		}
	}
}

func (s *Service) removeLocked(id string) {
	e := s.subs[id]
	if e == nil {
		return
	}
	s.unindexLocked(e)
	delete(s.subs, id)
	e.gone = true
}

func (s *Service) unindexLocked(e *entry) {
	for _, f := range e.sub.Filters {
		list := slices.DeleteFunc(s.byExt[f.ExtensionID], func(x *entry) bool { return x == e })
		if len(list) == 0 {
			delete(s.byExt, f.ExtensionID)
		} else {
			s.byExt[f.ExtensionID] = list
		}
	}
}

// Notify queues ev for every Active subscription with a matching filter and
// returns once the notifications are stored; Run delivers them. A
// subscription's queue holds QueueSize waiting notifications: the oldest
// is dropped beyond.
func (s *Service) Notify(ev Event) { s.notify(ev, true, true) }

// NotifyWebhooks is Notify for the webhook (HTTP) subscriptions alone, and
// NotifySockets for the WebSocket ones: with several nodes, the node where
// an event happens queues its webhook notifications, once, and every node
// pushes it to the sockets it holds.
func (s *Service) NotifyWebhooks(ev Event) { s.notify(ev, true, false) }

// NotifySockets: see NotifyWebhooks.
func (s *Service) NotifySockets(ev Event) { s.notify(ev, false, true) }

func (s *Service) notify(ev Event, webhooks, sockets bool) {
	s.notifying.Lock() // stored in the order they were matched
	defer s.notifying.Unlock()
	jobs, pushes := s.match(ev, webhooks, sockets)
	for _, p := range pushes {
		p.sink.Deliver(p.id, p.payload)
	}
	if len(jobs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := s.out.Add(ctx, jobs...); err != nil {
		s.log.Error("notifications not queued", slog.String("kind", ev.Kind), slog.Any("err", err))
	}
}

// push is a notification of a WebSocket subscription, handed to its sink.
type push struct {
	sink    Sink
	id      string
	payload []byte
}

// match returns the notifications of ev, one per matching filter of each
// Active subscription: jobs for webhooks, pushes for WebSocket ones (each
// kind only when asked for).
func (s *Service) match(ev Event, webhooks, sockets bool) ([]outbox.Job, []push) {
	now := s.clock.Now()
	var bodies [2]json.RawMessage // brief, detailed: marshalled once, if needed
	body := func(detailed bool) (json.RawMessage, bool) {
		i, v := 0, ev.BriefBody
		if detailed || v == nil {
			i, v = 1, ev.Body
		}
		if bodies[i] == nil {
			b, err := json.Marshal(v)
			if err != nil {
				s.log.Error("notification body not encoded", slog.String("kind", ev.Kind), slog.Any("err", err))
				return nil, false
			}
			bodies[i] = b
		}
		return bodies[i], true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, nil
	}
	var jobs []outbox.Job
	var pushes []push
	for _, e := range s.byExt[ev.ExtensionID] {
		if e.sub.State(now) != StatusActive || e.sub.Sink != nil && !sockets || e.sub.Sink == nil && !webhooks {
			continue
		}
		for _, f := range e.sub.Filters {
			if !f.matches(ev) {
				continue
			}
			event := f.String()
			if ev.Kind == KindPresence && ev.Sequence != 0 {
				if ev.Sequence <= e.lastSeq[event] {
					continue
				}
				e.lastSeq[event] = ev.Sequence
			}
			b, ok := body(f.Detailed)
			if !ok {
				return jobs, pushes
			}
			id := newID()
			payload, _ := json.Marshal(notification{UUID: id, Event: event, Timestamp: now.UTC().Format(timestampFormat),
				SubscriptionID: e.sub.ID, OwnerID: strconv.FormatInt(e.sub.OwnerID, 10), Body: b})
			if e.sub.Sink != nil {
				pushes = append(pushes, push{sink: e.sub.Sink, id: e.sub.ID, payload: payload})
				continue
			}
			jobs = append(jobs, outbox.Job{Kind: JobKind, Target: e.sub.ID, Ref: id, Payload: payload, NextAttempt: now})
		}
	}
	return jobs, pushes
}

// deliveries makes the attempts of the notifications (JobKind). A 2xx
// answer delivers one; 410 Gone blacklists the subscription; anything else
// (another status, a redirect, a timeout, a refused connection) is tried
// again after the next wait of Config.Backoff. Attempts stop when the
// subscription is deleted, suspended or expires meanwhile.
type deliveries struct{ s *Service }

func (d deliveries) Attempt(ctx context.Context, j outbox.Job) error {
	s := d.s
	e, sub, ok := s.deliverable(j.Target)
	if !ok {
		return fmt.Errorf("%w: subscription %s no longer delivers", outbox.ErrDrop, j.Target)
	}
	status, err := s.post(ctx, sub, j.Payload)
	switch {
	case err != nil:
		return errors.New(reason(err))
	case status/100 == 2:
		s.mu.Lock()
		e.failures = 0
		s.mu.Unlock()
		return nil
	case status == http.StatusGone:
		s.log.Warn("webhook receiver answered 410 Gone: subscription blacklisted", slog.String("subscription", sub.ID))
		s.setStatus(e, StatusBlacklisted)
		return fmt.Errorf("%w: the receiver answered 410 Gone", outbox.ErrDrop)
	}
	return errors.New("status " + strconv.Itoa(status))
}

// GiveUp counts a notification that failed every attempt; enough of them
// in a row suspend the subscription.
func (d deliveries) GiveUp(_ context.Context, j outbox.Job, err error) {
	s := d.s
	s.mu.Lock()
	e := s.subs[j.Target]
	if e == nil || e.gone {
		s.mu.Unlock()
		return
	}
	e.failures++
	n := e.failures
	s.mu.Unlock()
	var n0 struct{ Event string }
	json.Unmarshal(j.Payload, &n0)
	s.log.Warn("webhook notification not delivered", slog.String("subscription", j.Target), slog.String("uuid", j.Ref),
		slog.String("event", n0.Event), slog.Int("attempts", j.Attempts), slog.String("reason", err.Error()),
		slog.Int("failuresInARow", n))
	if n >= s.cfg.SuspendAfter {
		s.log.Warn("webhook subscription suspended: its receiver keeps failing", slog.String("subscription", j.Target))
		s.setStatus(e, StatusSuspended)
	}
}

// deliverable returns a subscription's entry and the subscription as it
// is now, if it still delivers.
func (s *Service) deliverable(id string) (*entry, Subscription, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.subs[id]
	if e == nil || e.gone || s.closed || e.sub.State(s.clock.Now()) != StatusActive {
		return nil, Subscription{}, false
	}
	return e, e.sub, true
}

// storeTimeout bounds a status change the deliveries make, and the storing
// of notifications.
const storeTimeout = 5 * time.Second

// setStatus stops an entry's deliveries with a new status, in the index and
// in the store, and drops its queued notifications.
func (s *Service) setStatus(e *entry, status string) {
	s.mu.Lock()
	if e.gone {
		s.mu.Unlock()
		return
	}
	e.sub.Status, e.failures = status, 0
	id := e.sub.ID
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), storeTimeout)
	defer cancel()
	if err := s.store.SetSubscriptionStatus(ctx, id, status); err != nil && !errors.Is(err, ErrNotFound) {
		s.log.Error("subscription status not stored", slog.String("subscription", id), slog.String("status", status), slog.Any("err", err))
	}
	if err := s.out.Drop(ctx, JobKind, id); err != nil {
		s.log.Error("queued notifications not dropped", slog.String("subscription", id), slog.Any("err", err))
	}
}

// post makes one attempt, signed now, and returns the receiver's status.
func (s *Service) post(ctx context.Context, sub Subscription, payload []byte) (int, error) {
	ts := s.clock.Now().Unix()
	h := http.Header{}
	h.Set("User-Agent", userAgent)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(HeaderSignature, Sign(sub.Secret, ts, payload))
	if sub.VerificationToken != "" {
		h.Set(HeaderVerificationToken, sub.VerificationToken)
	}
	return outbox.Post(ctx, s.client, outbox.Request{URL: sub.Address, Header: h, Body: payload})
}

// reason is an error of an attempt without the URL, which the log has.
func reason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}

// NewClient returns the HTTP client for requests to addresses given from
// outside (webhook receivers, the SMS provider): each request within
// timeout, response included; no redirect followed (a 3xx is a failed
// attempt); response headers at most 16 KB; no proxy; and no connection,
// after name resolution, to a private, shared, link-local (cloud metadata)
// or special address, IPv4 inside IPv6 included, nor to loopback unless
// allowLoopback (address.go).
func NewClient(timeout time.Duration, allowLoopback bool) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, Control: dialGuard(allowLoopback)}
	return &http.Client{
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{
			DialContext:            dialer.DialContext,
			TLSHandshakeTimeout:    timeout,
			ResponseHeaderTimeout:  timeout,
			MaxResponseHeaderBytes: 16 << 10,
			MaxIdleConnsPerHost:    2,
			IdleConnTimeout:        90 * time.Second,
			ForceAttemptHTTP2:      true,
		},
	}
}
