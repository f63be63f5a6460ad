package messaging

import (
	"context"
	"time"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/outbox"
)

// Store keeps the message copies and the jobs that deliver them.
// internal/store implements it with SQLite.
type Store interface {
	outbox.Store
	// AddMessages stores new copies in one transaction, with job when it
	// is not nil and the first copy is new (its Ref is then set to that
	// copy's id, and its ID given). A copy whose OriginID and ExtensionID,
	// or whose ProviderID, is already stored is not stored again: the
	// stored one comes back instead, with created false. Copies come back
	// with their ids, and their attachments' ids.
	AddMessages(ctx context.Context, msgs []Message, job *outbox.Job) (stored []Message, created []bool, err error)
	// UpdateMessage applies change to a stored copy in a transaction and
	// saves it when change reports a change. ErrNotFound for an unknown id.
	// A copy that becomes Deleted loses its attachments, files included.
	UpdateMessage(ctx context.Context, id string, change func(*Message) bool) (m Message, changed bool, err error)
	// Message returns one copy; ErrNotFound for an unknown id.
	Message(ctx context.Context, id string) (Message, error)
	// QueryMessages returns a page of an extension's copies, newest first.
	QueryMessages(ctx context.Context, q Query) (Page, error)
	// PurgeMessages removes for good the copies of a type created before
	// cutoff, with their attachments' files, and says how many went.
	PurgeMessages(ctx context.Context, typ Type, cutoff time.Time) (int, error)
	// ExtensionByDirectNumber finds the extension that has an E.164 number
	// as a direct number, in any account; identity.ErrNotFound if none.
	ExtensionByDirectNumber(ctx context.Context, number string) (identity.Extension, error)
}

// Accounts is what the service reads of accounts and extensions.
// internal/store implements it.
type Accounts interface {
	Account(ctx context.Context, id int64) (identity.Account, error)
	AccountByMainNumber(ctx context.Context, number string) (identity.Account, error)
	Extension(ctx context.Context, id int64) (identity.Extension, error)
	ExtensionByNumber(ctx context.Context, accountID int64, number string) (identity.Extension, error)
	Extensions(ctx context.Context, accountID int64) ([]identity.Extension, error)
}

// Query selects copies of one extension's message store.
type Query struct {
	ExtensionID int64
	// Each list, when set, holds the values a copy may have.
	Types          []Type
	Directions     []Direction
	ReadStatuses   []ReadStatus
	Availabilities []Availability
	ConversationID string
	// PhoneNumber, when set, is an E.164 number or an extension number
	// that the sender or a recipient has.
	PhoneNumber string
	// From and To bound the creation time: From <= t < To; a zero time
	// leaves that side open.
	From, To time.Time
	// Offset copies are skipped, then at most Limit returned (none when
	// Limit is 0).
	Offset, Limit int
}

// Page is one page of a query and the number of copies it matches.
type Page struct {
	Messages []Message
	Total    int
}
