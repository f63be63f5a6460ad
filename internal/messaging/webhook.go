package messaging

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/callbridge/widget-server/internal/phonenumber"
	"github.com/callbridge/widget-server/internal/webhooks"
)

// The SMS webhooks are signed as webhook subscriptions' notifications are
// (internal/webhooks, docs/api-subscriptions.md), but each direction with a
// key of its own, derived from the shared secret, so that a request signed
// for one direction is refused in the other (docs/api-messages.md
// "Signatures"):
//
//	key       = HMAC-SHA256(secret, "callbridge sms outbound v1")  server to provider
//	key       = HMAC-SHA256(secret, "callbridge sms inbound v1")   provider to server
//	signature = "sha256=" hex(HMAC-SHA256(key, timestamp "." body))
//
// SignatureHeader carries the signature, TimestampHeader the time it was
// signed, in Unix seconds.
const (
	SignatureHeader = webhooks.HeaderSignature
	TimestampHeader = webhooks.HeaderTimestamp
)

// SignatureTolerance is how far a signature's time may be from the
// receiver's clock; older requests are refused as replays.
const SignatureTolerance = 5 * time.Minute

// directionKey is the key that signs the webhook requests of one
// direction: Outbound (to the provider) or Inbound (from it). The labels
// are part of the protocol the provider implements: changing one is a new
// version.
func directionKey(secret []byte, dir Direction) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("callbridge sms " + strings.ToLower(string(dir)) + " v1"))
	return string(mac.Sum(nil))
}

// Sign returns the headers that sign body, sent at t in direction dir.
func Sign(secret []byte, dir Direction, t time.Time, body []byte) http.Header {
	h := http.Header{}
	h.Set(TimestampHeader, strconv.FormatInt(t.Unix(), 10))
	h.Set(SignatureHeader, webhooks.Sign(directionKey(secret, dir), t.Unix(), body))
	return h
}

// VerifySignature checks the signature headers of a request in direction
// dir against its body, and that it was signed within SignatureTolerance
// of now. Failures wrap ErrBadSignature.
func VerifySignature(secret []byte, dir Direction, h http.Header, body []byte, now time.Time) error {
	if len(secret) == 0 {
		return fmt.Errorf("%w: no secret to verify with", ErrBadSignature)
	}
	if err := webhooks.Verify(directionKey(secret, dir), h, body, now, SignatureTolerance); err != nil {
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return nil
}

// InboundEnabled reports whether SMS from the provider are accepted: only
// with a secret to verify them.
func (s *Service) InboundEnabled() bool { return len(s.cfg.WebhookSecret) > 0 }

// VerifyWebhook checks the signature of a request to the inbound webhook:
// signed for the Inbound direction, so nothing the server sent the
// provider passes.
func (s *Service) VerifyWebhook(h http.Header, body []byte) error {
	return VerifySignature(s.cfg.WebhookSecret, Inbound, h, body, s.cfg.Now())
}

// InboundSMS is an SMS the provider received for one of the server's
// numbers (docs/api-messages.md "Inbound webhook").
type InboundSMS struct {
	ID   string `json:"id"`   // the provider's id: a repeat of it is the same message
	From string `json:"from"` // E.164
	To   string `json:"to"`   // a direct number of an extension, or an account's main number
	Text string `json:"text"`
}

// maxProviderID bounds the provider's message id.
const maxProviderID = 128

// ReceiveSMS stores an SMS from outside as an inbound copy of the
// extension its number reaches. A repeat of the provider's id is the
// message already stored, with created false.
func (s *Service) ReceiveSMS(ctx context.Context, in InboundSMS) (m Message, created bool, err error) {
	if in.ID == "" || len(in.ID) > maxProviderID || strings.IndexFunc(in.ID, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return Message{}, false, invalid("id", fmt.Sprintf("the provider's message id: 1-%d printable characters", maxProviderID))
	}
	if err := checkText(in.Text); err != nil {
		return Message{}, false, err
	}
	to, err := phonenumber.Normalize(in.To, "")
	if err != nil || !strings.HasPrefix(to, "+") {
		return Message{}, false, invalid("to", "an E.164 number, e.g. +16505550101")
	}
	ext, ok, err := s.onNet(ctx, to)
	if err != nil {
		return Message{}, false, err
	}
	if !ok {
		return Message{}, false, invalid("to", "not a number of this server")
	}
	acct, err := s.accounts.Account(ctx, ext.AccountID)
	if err != nil {
		return Message{}, false, fmt.Errorf("account of extension %d: %w", ext.ID, err)
	}
	from, err := phonenumber.Normalize(in.From, acct.CountryCode)
	if err != nil || !strings.HasPrefix(from, "+") {
		return Message{}, false, invalid("from", "a phone number, e.g. +14155550123")
	}
	now := s.now()
	msg := Message{
		AccountID: acct.ID, ExtensionID: ext.ID, Type: SMS, Direction: Inbound,
		From: Party{PhoneNumber: from}, To: []Party{{PhoneNumber: to, Name: ext.Name}}, Subject: in.Text,
		CreationTime: now, LastModifiedTime: now, ReadStatus: Unread, Status: Received, Availability: Alive,
		ConversationID: smsConversation(from, to), ProviderID: in.ID,
	}
	stored, createdAll, err := s.store.AddMessages(ctx, []Message{msg}, nil)
	if err != nil {
		return Message{}, false, fmt.Errorf("store inbound SMS %q: %w", in.ID, err)
	}
	if createdAll[0] {
		s.notify(stored[0], true)
	}
	return stored[0], createdAll[0], nil
}

// minSecret is the shortest webhook secret accepted.
const minSecret = 16

// LoadWebhook checks the SMS provider's settings: webhookURL, when set,
// an absolute http or https URL; and the secret in secretFile (surrounding
// blanks dropped), at least 16 bytes, which an outbound webhook needs.
func LoadWebhook(webhookURL, secretFile string) (secret []byte, err error) {
	if webhookURL != "" {
		u, err := url.Parse(webhookURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("SMS webhook URL %q: want an absolute http or https URL", webhookURL)
		}
		if secretFile == "" {
			return nil, errors.New("an SMS webhook URL needs a secret to sign its requests (--sms-webhook-secret-file)")
		}
	}
	if secretFile == "" {
		return nil, nil
	}
	b, err := os.ReadFile(secretFile)
	if err != nil {
		return nil, fmt.Errorf("SMS webhook secret: %w", err)
	}
	secret = bytes.TrimSpace(b)
	if len(secret) < minSecret {
		return nil, fmt.Errorf("SMS webhook secret in %s: want at least %d bytes", secretFile, minSecret)
	}
	return secret, nil
}
