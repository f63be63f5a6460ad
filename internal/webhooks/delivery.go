package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// userAgent names the sender to receivers.
const userAgent = "Callbridge-Webhooks/1"

// maxResponseBody bounds what is read of a receiver's answer; the rest is
// not read (the connection is then not reused).
const maxResponseBody = 4 << 10

// timestampFormat is how notifications say when they were made.
const timestampFormat = "2006-01-02T15:04:05.000Z"

// entry is a subscription in the delivery index with its queue.
type entry struct {
	sub      Subscription
	queue    []job
	running  bool              // a goroutine delivers the queue
	gone     bool              // deleted: drop everything
	failures int               // notifications in a row that were not delivered
	lastSeq  map[string]uint64 // presence sequence last queued, per filter
}

// job is one notification for one subscription.
type job struct {
	uuid    string
	event   string
	payload []byte
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

// putLocked adds or replaces a subscription in the index; its queue stays.
func (s *Service) putLocked(sub Subscription) {
	e := s.subs[sub.ID]
	if e == nil {
		e = &entry{lastSeq: map[string]uint64{}}
		s.subs[sub.ID] = e
	} else {
		s.unindexLocked(e)
	}
	e.sub = sub
	if sub.Status != StatusActive {
		e.queue = nil
	}
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
	e.gone, e.queue = true, nil
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
// returns at once; deliveries run on their own goroutines. A full queue
// drops its oldest notification.
func (s *Service) Notify(ev Event) {
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
		return
	}
	for _, e := range s.byExt[ev.ExtensionID] {
		if e.sub.State(now) != StatusActive {
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
				return
			}
			id := newID()
			payload, _ := json.Marshal(notification{UUID: id, Event: event, Timestamp: now.UTC().Format(timestampFormat),
				SubscriptionID: e.sub.ID, OwnerID: strconv.FormatInt(e.sub.OwnerID, 10), Body: b})
			s.enqueueLocked(e, job{uuid: id, event: event, payload: payload})
		}
	}
}

func (s *Service) enqueueLocked(e *entry, j job) {
	if len(e.queue) >= s.cfg.QueueSize {
		dropped := e.queue[0]
		e.queue = e.queue[1:]
		s.log.Warn("webhook queue full: oldest notification dropped", slog.String("subscription", e.sub.ID),
			slog.String("uuid", dropped.uuid), slog.String("event", dropped.event), slog.Int("queue", s.cfg.QueueSize))
	}
	e.queue = append(e.queue, j)
	if !e.running {
		e.running = true
		s.wg.Add(1)
		go s.drain(e)
	}
}

// drain delivers an entry's queue in order, then ends.
func (s *Service) drain(e *entry) {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		if len(e.queue) == 0 || e.gone || s.closed {
			e.running = false
			s.mu.Unlock()
			return
		}
		j := e.queue[0]
		e.queue = e.queue[1:]
		s.mu.Unlock()
		s.deliver(e, j)
	}
}

// deliver makes the attempts of one notification: the first at once, the
// others after the back-off waits. A 2xx answer delivers it; 410 Gone
// blacklists the subscription; anything else (another status, a redirect,
// a timeout, a refused connection) is retried. Attempts stop when the
// subscription is deleted, suspended or expires meanwhile.
func (s *Service) deliver(e *entry, j job) {
	for attempt := 0; ; attempt++ {
		sub, ok := s.deliverable(e)
		if !ok {
			return
		}
		status, err := s.post(sub, j)
		switch {
		case err == nil && status/100 == 2:
			s.mu.Lock()
			e.failures = 0
			s.mu.Unlock()
			return
		case err == nil && status == http.StatusGone:
			s.log.Warn("webhook receiver answered 410 Gone: subscription blacklisted", slog.String("subscription", sub.ID))
			s.setStatus(e, StatusBlacklisted)
			return
		}
		why := "status " + strconv.Itoa(status)
		if err != nil {
			why = reason(err)
		}
		if attempt >= len(s.cfg.Backoff) {
			s.undelivered(e, j, why)
			return
		}
		wait := s.cfg.Backoff[attempt]
		s.log.Debug("webhook attempt failed", slog.String("subscription", sub.ID), slog.String("uuid", j.uuid),
			slog.Int("attempt", attempt+1), slog.String("reason", why), slog.Duration("retry_in", wait))
		if s.clock.Sleep(s.ctx, wait) != nil {
			return
		}
	}
}

// deliverable returns the subscription as it is now, if it still delivers.
func (s *Service) deliverable(e *entry) (Subscription, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.gone || s.closed || e.sub.State(s.clock.Now()) != StatusActive {
		return Subscription{}, false
	}
	return e.sub, true
}

// undelivered counts a notification that failed every attempt; enough of
// them in a row suspend the subscription.
func (s *Service) undelivered(e *entry, j job, why string) {
	s.mu.Lock()
	e.failures++
	n, id := e.failures, e.sub.ID
	s.mu.Unlock()
	s.log.Warn("webhook notification not delivered", slog.String("subscription", id), slog.String("uuid", j.uuid),
		slog.String("event", j.event), slog.Int("attempts", len(s.cfg.Backoff)+1), slog.String("reason", why),
		slog.Int("failures_in_a_row", n))
	if n >= s.cfg.SuspendAfter {
		s.log.Warn("webhook subscription suspended: its receiver keeps failing", slog.String("subscription", id))
		s.setStatus(e, StatusSuspended)
	}
}

// storeTimeout bounds a status change the deliveries make.
const storeTimeout = 5 * time.Second

// setStatus stops an entry's deliveries with a new status, in the index and
// in the store.
func (s *Service) setStatus(e *entry, status string) {
	s.mu.Lock()
	if e.gone {
		s.mu.Unlock()
		return
	}
	e.sub.Status, e.queue, e.failures = status, nil, 0
	id := e.sub.ID
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), storeTimeout)
	defer cancel()
	if err := s.store.SetSubscriptionStatus(ctx, id, status); err != nil && !errors.Is(err, ErrNotFound) {
		s.log.Error("subscription status not stored", slog.String("subscription", id), slog.String("status", status), slog.Any("err", err))
	}
}

// post makes one attempt and returns the receiver's status.
func (s *Service) post(sub Subscription, j job) (int, error) {
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, sub.Address, bytes.NewReader(j.payload))
	if err != nil {
		return 0, err
	}
	ts := s.clock.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(sub.Secret, ts, j.payload))
	if sub.VerificationToken != "" {
		req.Header.Set(HeaderVerificationToken, sub.VerificationToken)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBody))
	return resp.StatusCode, nil
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
