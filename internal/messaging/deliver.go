package messaging

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// runBatch bounds the deliveries Run loads at once, and runParallel those
// it has at the provider at the same time.
const (
	runBatch    = 100
	runParallel = 4
	// idleCheck is how often Run looks for work when it has none in sight.
	idleCheck = time.Minute
)

// Run works on pending deliveries until ctx ends: those left by a restart,
// and every SMS for the provider, with retries. It returns when ctx ends
// and its requests in flight are done; a delivery cut short stays pending.
func (s *Service) Run(ctx context.Context) {
	sem := make(chan struct{}, runParallel)
	defer s.workers.Wait()
	for {
		wait := s.runDue(ctx, sem)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-s.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// kick makes Run look for work now.
func (s *Service) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// runDue starts the deliveries that are due and returns how long until the
// next one is.
func (s *Service) runDue(ctx context.Context, sem chan struct{}) time.Duration {
	jobs, err := s.store.Deliveries(ctx, runBatch)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("pending messages not loaded", slog.Any("err", err))
		}
		return s.cfg.RetryDelay
	}
	wait := idleCheck
	now := s.cfg.Now()
	for _, job := range jobs {
		if d := job.NextAttempt.Sub(now); d > 0 {
			wait = min(wait, d)
			continue
		}
		select {
		case sem <- struct{}{}:
		default:
			return idleCheck // all workers busy: the first one done kicks Run
		}
		if !s.claim(job.MessageID) {
			<-sem
			continue
		}
		s.workers.Add(1)
		go func() {
			defer s.workers.Done()
			defer func() { <-sem; s.kick() }()
			defer s.release(job.MessageID)
			if err := s.deliverDue(ctx, job.MessageID); err != nil && ctx.Err() == nil {
				s.log.Error("message delivery failed", slog.String("message", job.MessageID), slog.Any("err", err))
			}
		}()
	}
	if len(jobs) == runBatch {
		wait = min(wait, s.cfg.RetryDelay)
	}
	return max(wait, time.Millisecond)
}

// deliverDue carries out a listed delivery if it is still pending and due.
// It is read again first: the list may predate another worker finishing it
// or putting its next attempt off, and the provider must not get it twice.
func (s *Service) deliverDue(ctx context.Context, messageID string) error {
	job, ok, err := s.store.Delivery(ctx, messageID)
	if err != nil || !ok || job.NextAttempt.After(s.cfg.Now()) {
		return err
	}
	return s.deliver(ctx, job)
}

// claim marks a delivery as being worked on, unless it already is.
func (s *Service) claim(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight[id] {
		return false
	}
	s.inflight[id] = true
	return true
}

func (s *Service) release(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inflight, id)
}

// deliver carries out one delivery. Every step is idempotent, so a
// delivery cut short by a crash is simply done again.
func (s *Service) deliver(ctx context.Context, job Delivery) error {
	m, err := s.store.Message(ctx, job.MessageID)
	if errors.Is(err, ErrNotFound) {
		return s.store.DeleteDelivery(ctx, job.MessageID)
	}
	if err != nil {
		return err
	}
	switch job.Route {
	case RouteOnNet:
		err = s.deliverOnNet(ctx, m, job.Recipients)
	case RouteTestLine:
		err = s.deliverTestLine(ctx, m)
	case RouteProvider:
		return s.deliverProvider(ctx, m, job)
	default:
		err = fmt.Errorf("unknown route %q", job.Route)
	}
	if err != nil {
		return fmt.Errorf("deliver message %s (%s): %w", m.ID, job.Route, err)
	}
	return s.store.DeleteDelivery(ctx, job.MessageID)
}

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
		From: Party{PhoneNumber: to, Name: testLineName}, To: []Party{{PhoneNumber: m.From.PhoneNumber, Name: m.From.Name}},
		Subject: tl.reply(m.Subject), CreationTime: now, LastModifiedTime: now,
		ReadStatus: Unread, Status: Received, Availability: Alive, ConversationID: m.ConversationID, OriginID: m.ID,
	}
	_, err := s.add(ctx, []Message{reply}, nil)
	return err
}

// deliverProvider hands an SMS to the provider's webhook. A 2xx answer
// makes it Sent; a failure is tried again after RetryDelay, doubled each
// time, until MaxAttempts, and then it is DeliveryFailed. Without a
// webhook it fails at once.
func (s *Service) deliverProvider(ctx context.Context, m Message, job Delivery) error {
	if s.cfg.WebhookURL == "" {
		_, err := s.setStatus(ctx, m.ID, DeliveryFailed, func(m *Message) {
			m.DeliveryErrorCode = "NoRoute"
			m.DeliveryErrorReason = "no SMS provider is configured for numbers outside this server (--sms-webhook-url)"
		})
		if err != nil {
			return err
		}
		return s.store.DeleteDelivery(ctx, m.ID)
	}
	err := s.post(ctx, m)
	if ctx.Err() != nil {
		return ctx.Err() // cut short by a stop: not an attempt; tried again after the restart
	}
	job.Attempts++
	if err == nil {
		if _, err := s.setStatus(ctx, m.ID, Sent, func(m *Message) { m.Attempts = job.Attempts }); err != nil {
			return err
		}
		return s.store.DeleteDelivery(ctx, m.ID)
	}
	s.log.Warn("SMS provider did not take a message", slog.String("message", m.ID),
		slog.Int("attempt", job.Attempts), slog.Any("err", err))
	if job.Attempts >= s.cfg.MaxAttempts {
		_, serr := s.setStatus(ctx, m.ID, DeliveryFailed, func(m *Message) {
			m.Attempts = job.Attempts
			m.DeliveryErrorCode = "ProviderError"
			m.DeliveryErrorReason = fmt.Sprintf("the SMS provider did not take the message in %d attempts%s", job.Attempts, providerAnswer(err))
		})
		if serr != nil {
			return serr
		}
		return s.store.DeleteDelivery(ctx, m.ID)
	}
	job.LastError = err.Error()
	job.NextAttempt = s.cfg.Now().Add(s.cfg.RetryDelay << (job.Attempts - 1))
	return s.store.SaveDelivery(ctx, job)
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

// maxProviderAnswer bounds what is read of the provider's answer.
const maxProviderAnswer = 4 << 10

// post sends one SMS to the provider's webhook, signed.
func (s *Service) post(ctx context.Context, m Message) error {
	body, err := json.Marshal(OutboundSMS{ID: m.ID, From: m.From.PhoneNumber, To: m.To[0].PhoneNumber, Text: m.Subject,
		CreationTime: m.CreationTime.UTC().Format(TimeFormat)})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, WebhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "callbridge-widget-server")
	for k, v := range Sign(s.cfg.WebhookSecret, Outbound, s.cfg.Now(), body) {
		req.Header[k] = v
	}
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxProviderAnswer))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &providerStatusError{resp.Status}
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
