package bridge

import (
	"time"

	"github.com/callbridge/widget-server/internal/messaging"
)

// Message is the contract's message object (CONTRACT §5): one
// extension's copy of an SMS or pager message. Times are ISO 8601 in UTC
// with milliseconds; id and lastModifiedTime together name one version.
type Message struct {
	ID                  string         `json:"id"`
	Type                string         `json:"type"`
	Direction           string         `json:"direction"`
	From                MessageParty   `json:"from"`
	To                  []MessageParty `json:"to"`
	Subject             string         `json:"subject"`
	CreationTime        string         `json:"creationTime"`
	LastModifiedTime    string         `json:"lastModifiedTime"`
	ReadStatus          string         `json:"readStatus"`
	MessageStatus       string         `json:"messageStatus"`
	ConversationID      string         `json:"conversationId"`
	Availability        string         `json:"availability"`
	DeliveryErrorCode   string         `json:"deliveryErrorCode,omitempty"`
	DeliveryErrorReason string         `json:"deliveryErrorReason,omitempty"`
	// Attachments is a voicemail's audio: where the platform API serves
	// it (with the owner's bearer token), never a token-bearing address.
	Attachments []MessageAttachment `json:"attachments,omitempty"`
}

// MessageAttachment is a voicemail's audio (CONTRACT §5): vmDuration in
// whole seconds.
type MessageAttachment struct {
	ID          string `json:"id"`
	URI         string `json:"uri"`
	Type        string `json:"type"`
	ContentType string `json:"contentType"`
	VMDuration  int64  `json:"vmDuration"`
}

// MessageParty is one end of a message: a phone number (SMS) or an
// extension number (pager), with a name when one is known.
type MessageParty struct {
	PhoneNumber     string `json:"phoneNumber,omitempty"`
	ExtensionNumber string `json:"extensionNumber,omitempty"`
	Name            string `json:"name,omitempty"`
}

// MessageNotify is rc-message-updated-notify and rc-inbound-message-notify.
type MessageNotify struct {
	Type    string  `json:"type"`
	Message Message `json:"message"`
}

// MessageFor is the contract's view of a stored copy.
func MessageFor(m messaging.Message) Message {
	to := make([]MessageParty, len(m.To))
	for i, p := range m.To {
		to[i] = MessageParty(p)
	}
	var atts []MessageAttachment
	for _, a := range m.Attachments {
		atts = append(atts, MessageAttachment{ID: a.ID, URI: messaging.AttachmentPath(m, a), Type: messaging.AttachmentType,
			ContentType: a.ContentType, VMDuration: int64(a.Duration.Round(time.Second) / time.Second)})
	}
	return Message{
		Attachments: atts,
		ID:          m.ID, Type: string(m.Type), Direction: string(m.Direction), From: MessageParty(m.From), To: to,
		Subject: m.Subject, CreationTime: m.CreationTime.UTC().Format(messaging.TimeFormat),
		LastModifiedTime: m.LastModifiedTime.UTC().Format(messaging.TimeFormat),
		ReadStatus:       string(m.ReadStatus), MessageStatus: string(m.Status), ConversationID: m.ConversationID,
		Availability: string(m.Availability), DeliveryErrorCode: m.DeliveryErrorCode, DeliveryErrorReason: m.DeliveryErrorReason,
	}
}

// MessageEvents returns, in order, what the copy's extension's widgets are
// told of a change: rc-message-updated-notify for every version, and for a
// copy that just arrived, rc-inbound-message-notify. The messaging service
// reports each version once, so each goes out once per id and
// lastModifiedTime, and the inbound event once per id.
func MessageEvents(c messaging.Change) []Envelope {
	msg := MessageFor(c.Message)
	out := []Envelope{{Message: MessageNotify{Type: EventMessageUpdated, Message: msg}}}
	if c.New && c.Message.Direction == messaging.Inbound {
		out = append(out, Envelope{Message: MessageNotify{Type: EventInboundMessage, Message: msg}})
	}
	return out
}
