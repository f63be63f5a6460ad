// Package messaging owns text messages: SMS between phone numbers and
// company pager messages between the extensions of an account. Every
// extension keeps its own copy of each message it sent or received (the
// message store, seeds/001), and the service delivers what is sent: to
// extensions served here, to the built-in test numbers, or to an SMS
// provider through a signed webhook — durably, so a restart resumes what
// was accepted. It must not import web, bridge or echo; internal/store
// implements its Store, and the caller turns its changes into events.
package messaging

import (
	"errors"
	"time"
)

// Type is the kind of a message.
type Type string

// Message types.
const (
	SMS   Type = "SMS"
	Pager Type = "Pager"
	// VoiceMail is a message a caller left in an extension's voicemail:
	// its audio is its one attachment (voicemail.go).
	VoiceMail Type = "VoiceMail"
)

// Direction says whether a copy was sent or received by its extension.
type Direction string

// Directions of a copy.
const (
	Inbound  Direction = "Inbound"
	Outbound Direction = "Outbound"
)

// Status is where a copy's delivery stands (seeds/001 messageStatus). A
// sent copy goes Queued → Sent → Delivered, or ends DeliveryFailed; a
// received copy is Received.
type Status string

// Message statuses.
const (
	Queued         Status = "Queued"
	Sent           Status = "Sent"
	Delivered      Status = "Delivered"
	DeliveryFailed Status = "DeliveryFailed"
	Received       Status = "Received"
)

// rank orders the statuses of a sent copy: a delivery never moves back.
func (s Status) rank() int {
	switch s {
	case Queued:
		return 1
	case Sent:
		return 2
	case Delivered, DeliveryFailed:
		return 3
	}
	return 0
}

// ReadStatus says whether the extension's user has read a copy.
type ReadStatus string

// Read statuses.
const (
	Read   ReadStatus = "Read"
	Unread ReadStatus = "Unread"
)

// Availability says whether a copy is in the message store or was deleted.
type Availability string

// Availabilities of a copy.
const (
	Alive   Availability = "Alive"
	Deleted Availability = "Deleted"
)

// Party is one end of a message: a phone number (SMS) or an extension
// number (pager), with a name when one is known.
type Party struct {
	PhoneNumber     string `json:"phoneNumber,omitempty"`
	ExtensionNumber string `json:"extensionNumber,omitempty"`
	Name            string `json:"name,omitempty"`
}

// Message is one extension's copy of a message.
type Message struct {
	ID          string // digits, unique across the server
	AccountID   int64
	ExtensionID int64 // whose copy this is
	Type        Type
	Direction   Direction
	From        Party
	To          []Party
	Subject     string // the text
	// CreationTime is when the copy was stored; LastModifiedTime grows by
	// at least a millisecond with every change, so id and
	// LastModifiedTime name one version of a copy.
	CreationTime     time.Time
	LastModifiedTime time.Time
	ReadStatus       ReadStatus
	Status           Status
	Availability     Availability
	// ConversationID is the same for every message between the same
	// parties (docs/api-messages.md "Conversations").
	ConversationID string
	// DeliveryErrorCode and DeliveryErrorReason say why a DeliveryFailed
	// copy failed.
	DeliveryErrorCode   string
	DeliveryErrorReason string
	// Attempts counts the tries to hand an SMS to the provider.
	Attempts int
	// OriginID is the sent copy that a delivered copy, or a test line's
	// reply, comes from; "" for what an extension sent and what arrived
	// from outside.
	OriginID string
	// ProviderID is the SMS provider's id of a message from outside.
	ProviderID string
	// ToDepartment is true for a pager message sent to a department, which
	// its members received (the platform's pgToDepartment).
	ToDepartment bool
	// Attachments is the audio of a VoiceMail message; a deleted message
	// has none (its files are gone).
	Attachments []Attachment
}

// Change is one stored copy that was created or updated.
type Change struct {
	Message Message
	// New is true when the copy was just created.
	New bool
}

// Sentinel errors.
var (
	// ErrNotFound is an unknown message id, or one of another extension.
	ErrNotFound = errors.New("no such message")
	// ErrBadSignature is a webhook request whose signature is missing,
	// wrong or too old.
	ErrBadSignature = errors.New("bad webhook signature")
)

// InvalidError is a request the service refuses; Param names the request
// field at fault.
type InvalidError struct {
	Param  string
	Reason string
}

func (e *InvalidError) Error() string { return e.Param + ": " + e.Reason }

func invalid(param, reason string) error { return &InvalidError{Param: param, Reason: reason} }
