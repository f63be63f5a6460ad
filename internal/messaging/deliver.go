package messaging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/callbridge/widget-server/internal/outbox"
)

// Kinds of the service's delivery jobs (internal/outbox). Both are ordered
// per conversation: the messages of one go out in the order they were sent.
const (
	// KindSMS hands an SMS to the provider's webhook: MaxAttempts tries,
	// RetryDelay after the first failure, doubled after each further one
	// up to MaxRetryDelay, then the message is DeliveryFailed.
	KindSMS = "sms"
	// KindLocal delivers a message on this server: to extensions or a
	// test line. It is done at once when it is sent; the job is there for
	// when that is cut short, and is tried until it is done.
	KindLocal = "message"
)

// MaxRetryDelay caps the wait between two tries of a delivery.
const MaxRetryDelay = time.Hour

// runParallel bounds the deliveries Run makes at the same time.
const runParallel = 4

// Route is how a sent message reaches its recipients.
type Route string

// Routes of a delivery.
const (
	RouteOnNet    Route = "on-net"    // extensions served here
	RouteTestLine Route = "test-line" // a built-in test number
	RouteProvider Route = "provider"  // the SMS provider's webhook
)

// Delivery is how one sent copy reaches its recipients; a job of the
// outbox carries it, stored with the copy until the copy's status is final.
type Delivery struct {
	Route      Route   `json:"route"`
	Recipients []int64 `json:"recipients"` // extension ids, for RouteOnNet
}

// Job is the outbox job that makes the delivery of a sent copy of
// conversationID, due at due. Its Ref is the copy's id, which the store
// sets when it stores the copy with it.
func (d Delivery) Job(conversationID string, due time.Time) outbox.Job {
	if d.Route == RouteProvider {
		return outbox.Job{Kind: KindSMS, Target: conversationID, NextAttempt: due}
	}
	payload, _ := json.Marshal(d) // ints and a string: never fails
	return outbox.Job{Kind: KindLocal, Target: conversationID, Payload: payload, NextAttempt: due}
}

// newOutbox returns the engine of the service's deliveries.
func (s *Service) newOutbox() *outbox.Engine {
	return outbox.New(outbox.Config{Parallel: runParallel, Clock: clock{s.cfg.Now}, Logger: s.log, Observe: s.cfg.Observe}, s.store, map[string]outbox.Kind{
		KindSMS: {Handler: providerDeliveries{s}, Policy: outbox.Policy{
			MaxAttempts: s.cfg.MaxAttempts, Backoff: outbox.Exponential(s.cfg.RetryDelay, MaxRetryDelay)}},
		KindLocal: {Handler: localDeliveries{s}, Policy: outbox.Policy{
			Backoff: outbox.Exponential(s.cfg.RetryDelay, time.Minute)}},
	})
}

// clock is the service's Now with the wall clock's waits.
type clock struct{ now func() time.Time }

func (c clock) Now() time.Time { return c.now() }

func (clock) Sleep(ctx context.Context, d time.Duration) error {
	return outbox.RealClock{}.Sleep(ctx, d)
}

// Run works on pending deliveries until ctx ends: those left by a restart,
// and every SMS for the provider, with retries. It returns when ctx ends
// and its requests in flight are done; a delivery cut short stays pending.
func (s *Service) Run(ctx context.Context) { s.out.Run(ctx) }

// localDeliveries makes the deliveries on this server. Every step is
// idempotent, so a delivery cut short by a crash is simply done again.
type localDeliveries struct{ s *Service }

func (h localDeliveries) Attempt(ctx context.Context, j outbox.Job) error {
	s := h.s
	var d Delivery
	err := json.Unmarshal(j.Payload, &d)
	if err != nil {
		err = fmt.Errorf("%w: %v", outbox.ErrDrop, err)
	} else {
		err = h.deliver(ctx, j.Ref, d)
	}
	if err != nil && ctx.Err() == nil {
		s.log.Error("message delivery failed", slog.String("message", j.Ref), slog.Any("err", err))
	}
	return err
}

func (h localDeliveries) deliver(ctx context.Context, id string, d Delivery) error {
	s := h.s
	m, err := s.store.Message(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	switch d.Route {
	case RouteOnNet:
		err = s.deliverOnNet(ctx, m, d.Recipients)
	case RouteTestLine:
		err = s.deliverTestLine(ctx, m)
	default:
		err = fmt.Errorf("%w: unknown route %q", outbox.ErrDrop, d.Route)
	}
	if err != nil {
		return fmt.Errorf("deliver message %s (%s): %w", m.ID, d.Route, err)
	}
	return nil
}

// GiveUp is never called: local deliveries are tried until they are done.
func (localDeliveries) GiveUp(context.Context, outbox.Job, error) {}

// deliverOnNet gives each recipient extension its copy: Inbound, Unread,
// Received. The sender's copy goes Sent, then Delivered.
func (s *Service) deliverOnNet(ctx context.Context, m Message, recipients []int64) error {
	if _, err := s.setStatus(ctx, m.ID, Sent, nil); err != nil {
		return err
	}
	now := s.now()
	var copies []Message
	for _, id := range recipients {
		ext, err := s.accounts.Extension(ctx, id)
		if err != nil {
			return fmt.Errorf("recipient %d: %w", id, err)
		}
		copies = append(copies, Message{
			AccountID: ext.AccountID, ExtensionID: ext.ID, Type: m.Type, Direction: Inbound,
			From: m.From, To: m.To, Subject: m.Subject, CreationTime: now, LastModifiedTime: now,
			ReadStatus: Unread, Status: Received, Availability: Alive, ConversationID: m.ConversationID,
			OriginID: m.ID, ToDepartment: m.ToDepartment,
		})
	}
	if _, err := s.add(ctx, copies, nil); err != nil {
		return err
	}
	_, err := s.setStatus(ctx, m.ID, Delivered, nil)
	return err
}

// deliverTestLine plays a test number: it accepts or refuses the SMS, and
// may reply, which arrives as an inbound SMS of the sender.
func (s *Service) deliverTestLine(ctx context.Context, m Message) error {
	to := m.To[0].PhoneNumber
	tl, ok := lookupTestLine(to)
	if !ok {
		return fmt.Errorf("%s is not a test number", to)
	}
	if _, err := s.setStatus(ctx, m.ID, Sent, nil); err != nil {
		return err
	}
	if tl.status == DeliveryFailed {
		_, err := s.setStatus(ctx, m.ID, DeliveryFailed, func(m *Message) {
			m.DeliveryErrorCode, m.DeliveryErrorReason = tl.code, tl.reason
		})
		return err
	}
	if tl.status != Delivered {
		return nil // Sent, and no delivery report ever comes
	}
	if _, err := s.setStatus(ctx, m.ID, Delivered, nil); err != nil {
		return err
	}
	if tl.reply == nil {
		return nil
	}
	now := s.now()
	reply := Message{
		AccountID: m.AccountID, ExtensionID: m.ExtensionID, Type: SMS, Direction: Inbound,
		From: Party{PhoneNumber: to, Name: tl.name}, To: []Party{{PhoneNumber: m.From.PhoneNumber, Name: m.From.Name}},
		Subject: tl.reply(m.Subject), CreationTime: now, LastModifiedTime: now,
		ReadStatus: Unread, Status: Received, Availability: Alive, ConversationID: m.ConversationID, OriginID: m.ID,
	}
	_, err := s.add(ctx, []Message{reply}, nil)
	return err
}

// providerDeliveries hands SMS to the provider's webhook. A 2xx answer
// makes one Sent; a failure is tried again (KindSMS), and after the last
// attempt the SMS is DeliveryFailed. Without a webhook it fails at once.
type providerDeliveries struct{ s *Service }

func (h providerDeliveries) Attempt(ctx context.Context, j outbox.Job) error {
	s := h.s
	m, err := s.store.Message(ctx, j.Ref)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if s.cfg.WebhookURL == "" {
		_, err := s.setStatus(ctx, m.ID, DeliveryFailed, func(m *Message) {
			m.DeliveryErrorCode = "NoRoute"
			m.DeliveryErrorReason = "no SMS provider is configured for numbers outside this server (--sms-webhook-url)"
		})
		return err
	}
	err = s.post(ctx, m)
	if ctx.Err() != nil {
		return ctx.Err() // cut short by a stop: not an attempt; tried again after the restart
	}
	if err == nil {
		_, err := s.setStatus(ctx, m.ID, Sent, func(m *Message) { m.Attempts = j.Attempts + 1 })
		return err
	}
	s.log.Warn("SMS provider did not take a message", slog.String("message", m.ID),
		slog.Int("attempt", j.Attempts+1), slog.Any("err", err))
	return err
}

// GiveUp makes the SMS DeliveryFailed, telling the sender the provider's
// last answer.
func (h providerDeliveries) GiveUp(ctx context.Context, j outbox.Job, err error) {
	_, serr := h.s.setStatus(ctx, j.Ref, DeliveryFailed, func(m *Message) {
		m.Attempts = j.Attempts
		m.DeliveryErrorCode = "ProviderError"
		m.DeliveryErrorReason = fmt.Sprintf("the SMS provider did not take the message in %d attempts%s", j.Attempts, providerAnswer(err))
	})
	if serr != nil {
		h.s.log.Error("failed SMS not marked", slog.String("message", j.Ref), slog.Any("err", serr))
	}
}

// OutboundSMS is the JSON body the provider's webhook receives
// (docs/api-messages.md "Outbound webhook"). ID stays the same across
// retries, so the provider can drop a repeat.
type OutboundSMS struct {
	ID           string `json:"id"`
	From         string `json:"from"`
	To           string `json:"to"`
	Text         string `json:"text"`
	CreationTime string `json:"creationTime"`
}

// post sends one SMS to the provider's webhook, signed.
func (s *Service) post(ctx context.Context, m Message) error {
	body, err := json.Marshal(OutboundSMS{ID: m.ID, From: m.From.PhoneNumber, To: m.To[0].PhoneNumber, Text: m.Subject,
		CreationTime: m.CreationTime.UTC().Format(TimeFormat)})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, WebhookTimeout)
	defer cancel()
	header := Sign(s.cfg.WebhookSecret, Outbound, s.cfg.Now(), body)
	header.Set("User-Agent", "callbridge-widget-server")
	status, err := outbox.Post(ctx, s.cfg.HTTPClient, outbox.Request{URL: s.cfg.WebhookURL, Header: header, Body: body})
	if err != nil {
		return err
	}
	if status < 200 || status > 299 {
		return &providerStatusError{fmt.Sprintf("%d %s", status, http.StatusText(status))}
	}
	return nil
}

// providerStatusError is the provider's answer other than 2xx.
type providerStatusError struct{ status string }

func (e *providerStatusError) Error() string { return "webhook answered " + e.status }

// providerAnswer is what the sender of an SMS may be told of the last
// failure: the provider's status, never the provider's address or a
// connection error (those are in the log).
func providerAnswer(err error) string {
	var se *providerStatusError
	if errors.As(err, &se) {
		return ": it answered " + se.status
	}
	return ": it could not be reached"
}

// TimeFormat is how message times are written: ISO 8601 in UTC with
// milliseconds, as the platform API writes them.
const TimeFormat = "2006-01-02T15:04:05.000Z"
