// Package webhooks keeps the platform API's webhook subscriptions (seeds/003
// "Subscriptions") and delivers the events they ask for — presence,
// telephony sessions, the message store — to their receivers: signed with
// HMAC-SHA256, in order per subscription, retried with back-off, through a
// bounded queue per subscription kept in the store (internal/outbox), so
// that it survives a restart.
//
// It owns the rules of subscriptions (filters, limits, expiry, address
// checks) and of addresses given from outside (NewClient); internal/web
// translates HTTP and the switch's events to it, and internal/store keeps
// the subscriptions. It must not import echo, the bridge, the switch or
// the store.
package webhooks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/callbridge/widget-server/internal/outbox"
)

// Kinds of events a filter selects: the last part of its path. The web
// package hands events to Notify with these.
const (
	KindPresence          = "presence"
	KindMessageStore      = "message-store"
	KindTelephonySessions = "telephony/sessions"
)

// Statuses of a subscription.
const (
	// StatusActive: notifications are delivered.
	StatusActive = "Active"
	// StatusSuspended: the subscription expired, or its receiver failed
	// every attempt for Config.SuspendAfter notifications in a row. Nothing
	// is delivered until it is renewed or updated.
	StatusSuspended = "Suspended"
	// StatusBlacklisted: the receiver answered 410 Gone. Nothing is
	// delivered until an update names a receiver that passes verification.
	StatusBlacklisted = "Blacklisted"
)

// Delivery modes (deliveryMode.transportType).
const (
	// TransportWebHook: an HTTPS POST per notification, to a receiver
	// that passed the address check. Kept in the store.
	TransportWebHook = "WebHook"
	// TransportWebSocket: a frame per notification on the client's socket
	// session (a Sink). Kept in memory for as long as the session lives.
	TransportWebSocket = "WebSocket"
)

// Sink takes the notifications of WebSocket subscriptions: the socket
// session that created them.
type Sink interface {
	// Deliver takes one notification, the JSON a webhook receiver would be
	// POSTed. It must not block: the session buffers or drops.
	Deliver(subscriptionID string, notification []byte)
}

// Sentinel errors; callers test them with errors.Is.
var (
	// ErrNotFound: no such subscription (or it expired long ago and is gone).
	ErrNotFound = errors.New("no such subscription")
	// ErrLimit: the account has as many subscriptions as it may have.
	ErrLimit = errors.New("subscription limit reached")
	// ErrBlacklisted: a blacklisted subscription cannot be renewed.
	ErrBlacklisted = errors.New("subscription blacklisted")
	// ErrVerification: the receiver did not pass the address check.
	ErrVerification = errors.New("webhook address verification failed")
)

// ParamError is a request field with a value the rules refuse.
type ParamError struct {
	Param   string // the field, as the API names it: "eventFilters", "deliveryMode.address", "expiresIn"
	Message string
}

func (e *ParamError) Error() string { return e.Param + ": " + e.Message }

func paramError(param, format string, args ...any) error {
	return &ParamError{Param: param, Message: fmt.Sprintf(format, args...)}
}

// Owner is the extension a subscription belongs to, and its account.
type Owner struct {
	AccountID   int64
	ExtensionID int64
}

// Subscription is one client's request for notifications.
type Subscription struct {
	ID        string
	AccountID int64
	OwnerID   int64 // the extension that created it
	Filters   []Filter
	Address   string // the receiver: https, or http on a loopback server; "" for WebSocket
	// Sink is the socket session of a WebSocket subscription; nil for a
	// webhook. Such subscriptions live in memory only, never in the store.
	Sink              Sink
	VerificationToken string // sent back in every notification's Verification-Token header; "" for none
	Secret            string // key of the notifications' HMAC-SHA256 signature; the store keeps it and the token sealed (seal.go)
	Status            string // as stored: one of the Status constants; see State
	Lifetime          time.Duration
	Created, Expires  time.Time
}

// Transport is the subscription's delivery mode: TransportWebHook or
// TransportWebSocket.
func (s Subscription) Transport() string {
	if s.Sink != nil {
		return TransportWebSocket
	}
	return TransportWebHook
}

// State is the subscription's status at now: an Active one that expired is
// Suspended.
func (s Subscription) State(now time.Time) string {
	if s.Status == StatusActive && !now.Before(s.Expires) {
		return StatusSuspended
	}
	return s.Status
}

// ExpiresIn is how long the subscription has left at now, never negative.
func (s Subscription) ExpiresIn(now time.Time) time.Duration {
	return max(s.Expires.Sub(now), 0)
}

// Store keeps subscriptions, and their queued notifications as outbox
// jobs. The store implements it. Subscriptions that expired before since
// are treated as gone.
type Store interface {
	outbox.Store
	// CreateSubscription stores a new subscription, unless its account
	// already has limit that did not expire before since: ErrLimit. It
	// removes the account's subscriptions that expired before since.
	CreateSubscription(ctx context.Context, s Subscription, limit int, since time.Time) error
	// Subscription returns one subscription, or ErrNotFound.
	Subscription(ctx context.Context, id string, since time.Time) (Subscription, error)
	// Subscriptions lists an account's subscriptions (every account's for
	// accountID 0), oldest first.
	Subscriptions(ctx context.Context, accountID int64, since time.Time) ([]Subscription, error)
	// UpdateSubscription replaces the filters, address, verification token,
	// status, lifetime and expiry of a subscription, or answers ErrNotFound.
	UpdateSubscription(ctx context.Context, s Subscription) error
	// SetSubscriptionStatus changes only the status.
	SetSubscriptionStatus(ctx context.Context, id, status string) error
	// SetSubscriptionSecrets replaces the verification token and the
	// secret as given (the service seals them before), or answers
	// ErrNotFound.
	SetSubscriptionSecrets(ctx context.Context, id, verificationToken, secret string) error
	// DeleteSubscription removes a subscription, or answers ErrNotFound.
	DeleteSubscription(ctx context.Context, id string) error
}

// Event is one change that subscriptions may be told of.
type Event struct {
	// AccountID is the extension's account; 0 when the publisher does not
	// know it (extension ids are unique across accounts).
	AccountID   int64
	ExtensionID int64
	Kind        string // one of the Kind constants
	// Body is the notification's body, marshalled to JSON.
	Body any
	// BriefBody, for presence, is the body for filters without
	// detailedTelephonyState; nil means Body.
	BriefBody any
	// Sequence, for presence, is the body's sequence: a subscription is not
	// sent a presence whose sequence is not above the last it was sent for
	// the same filter (the later one already carried the newer state).
	Sequence uint64
}
