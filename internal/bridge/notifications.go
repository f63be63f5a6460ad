package bridge

import (
	"time"

	"github.com/callbridge/widget-server/internal/messaging"
	"github.com/callbridge/widget-server/internal/presence"
	"github.com/callbridge/widget-server/internal/telephony"
)

// The bodies of the platform's notifications to webhook subscriptions, and
// the presence resource's calls, which the platform API shares with them.

// apiTimeFormat is how the platform API writes times: ISO 8601 in UTC with
// milliseconds.
const apiTimeFormat = "2006-01-02T15:04:05.000Z"

// PresenceCall is a call in a presence's activeCalls, as in the presence
// events of seeds/001: from and to are numbers (E.164, or the extension
// number when there is none).
type PresenceCall struct {
	ID                 string `json:"id"`
	Direction          string `json:"direction"`
	From               string `json:"from"`
	FromName           string `json:"fromName,omitempty"`
	To                 string `json:"to"`
	ToName             string `json:"toName,omitempty"`
	StartTime          string `json:"startTime"`
	TelephonyStatus    string `json:"telephonyStatus"`
	SessionID          string `json:"sessionId"`
	TelephonySessionID string `json:"telephonySessionId"`
	PartyID            string `json:"partyId"`
}

func number(e telephony.Endpoint) string {
	if e.PhoneNumber != "" {
		return e.PhoneNumber
	}
	return e.ExtensionNumber
}

// PresenceCallOf is one party of a session as a presence lists it. Its
// start is when the call was answered, or placed while it rings.
func PresenceCallOf(s telephony.Session, p telephony.Party) PresenceCall {
	start := s.Created
	if !s.Connected.IsZero() {
		start = s.Connected
	}
	return PresenceCall{
		ID: p.ID, Direction: string(p.Direction),
		From: number(p.From), FromName: p.From.Name, To: number(p.To), ToName: p.To.Name,
		StartTime: apiTime(start), TelephonyStatus: string(presence.TelephonyStatusOf(p.Status)),
		SessionID: s.SessionID, TelephonySessionID: s.ID, PartyID: p.ID,
	}
}

// PresenceCalls lists the extension's live calls in its sessions, oldest
// first: its parties that have not left.
func PresenceCalls(sessions []telephony.Session, ext int64) []PresenceCall {
	calls := []PresenceCall{}
	for _, s := range sessions {
		for _, p := range s.Parties {
			if p.Owner == ext && p.Status != telephony.StatusDisconnected {
				calls = append(calls, PresenceCallOf(s, p))
			}
		}
	}
	return calls
}

// PresenceNotification is the body of a presence notification (seeds/001
// "Call States"); activeCalls only for detailedTelephonyState.
type PresenceNotification struct {
	ExtensionID     int64           `json:"extensionId"`
	TelephonyStatus string          `json:"telephonyStatus"`
	ActiveCalls     *[]PresenceCall `json:"activeCalls,omitempty"`
	Sequence        uint64          `json:"sequence"`
	UserStatus      string          `json:"userStatus"`
	DNDStatus       string          `json:"dndStatus"`
	PresenceStatus  string          `json:"presenceStatus"`
}

// MessageStoreNotification is the body of a message-store notification:
// which of the extension's messages are new or changed, by type.
type MessageStoreNotification struct {
	ExtensionID int64                `json:"extensionId"`
	LastUpdated string               `json:"lastUpdated"`
	Changes     []MessageStoreChange `json:"changes"`
}

// MessageStoreChange counts the new and changed messages of one type.
type MessageStoreChange struct {
	Type              string   `json:"type"`
	NewCount          int      `json:"newCount"`
	UpdatedCount      int      `json:"updatedCount"`
	NewMessageIDs     []string `json:"newMessageIds"`
	UpdatedMessageIDs []string `json:"updatedMessageIds"`
}

// NewMessageStoreNotification is the notification of one change of a copy.
func NewMessageStoreNotification(c messaging.Change) MessageStoreNotification {
	ch := MessageStoreChange{Type: string(c.Message.Type), NewMessageIDs: []string{}, UpdatedMessageIDs: []string{}}
	if c.New {
		ch.NewCount, ch.NewMessageIDs = 1, []string{c.Message.ID}
	} else {
		ch.UpdatedCount, ch.UpdatedMessageIDs = 1, []string{c.Message.ID}
	}
	return MessageStoreNotification{ExtensionID: c.Message.ExtensionID,
		LastUpdated: apiTime(c.Message.LastModifiedTime), Changes: []MessageStoreChange{ch}}
}

// apiTime is a time as the platform API writes it.
func apiTime(t time.Time) string { return t.UTC().Format(apiTimeFormat) }
