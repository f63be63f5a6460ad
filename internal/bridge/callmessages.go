package bridge

import (
	"encoding/json"

	"github.com/callbridge/widget-server/internal/presence"
)

// Envelope is one message for an extension's widgets: To names the device
// (a widget tab) it is for, or is empty for every device of the extension.
// On the wire the device travels as the "_to" field, which the widget strips
// before anything reaches the host page.
type Envelope struct {
	To      string
	Message any
}

// MarshalJSON writes the message with "_to" added.
func (e Envelope) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(e.Message)
	if err != nil || e.To == "" || len(b) < 2 || b[0] != '{' {
		return b, err
	}
	to, _ := json.Marshal(e.To)
	out := make([]byte, 0, len(b)+len(to)+8)
	out = append(out, `{"_to":`...)
	out = append(out, to...)
	if len(b) > 2 {
		out = append(out, ',')
	}
	return append(out, b[1:]...), nil
}

// RejoinType is the widget-internal message that tells one tab that its
// call's audio moved to another node's gateway (a merge or bridge across
// nodes): the tab connects to it again (POST /widget/calls/{id}/rejoin).
// The host page never sees it.
const RejoinType = "cb-call-rejoin"

// RejoinNotify is the RejoinType message.
type RejoinNotify struct {
	Type               string `json:"type"`
	TelephonySessionID string `json:"telephonySessionId"`
}

// WebphoneCall is the contract's call object (CONTRACT §5): one device's
// view of a call. id and callId are the telephony session id, which host
// commands (rc-adapter-control-call callId) name.
type WebphoneCall struct {
	ID                 string    `json:"id"`
	CallID             string    `json:"callId"`
	SessionID          string    `json:"sessionId"`
	TelephonySessionID string    `json:"telephonySessionId"`
	PartyID            string    `json:"partyId"`
	Direction          string    `json:"direction"`
	CallStatus         string    `json:"callStatus"`
	From               string    `json:"from"`
	FromNumber         string    `json:"fromNumber"`
	FromUserName       string    `json:"fromUserName"`
	To                 string    `json:"to"`
	ToNumber           string    `json:"toNumber"`
	ToUserName         string    `json:"toUserName"`
	StartTime          int64     `json:"startTime"`
	CreationTime       int64     `json:"creationTime"`
	IsOnHold           bool      `json:"isOnHold"`
	IsOnMute           bool      `json:"isOnMute"`
	IsOnTransfer       bool      `json:"isOnTransfer"`
	RecordStatus       string    `json:"recordStatus"`
	PartyData          PartyData `json:"partyData"`
	EndTime            int64     `json:"endTime,omitempty"`
	Duration           *int64    `json:"duration,omitempty"`
	Result             string    `json:"result,omitempty"`
	Reason             string    `json:"reason,omitempty"`
	Code               int       `json:"code,omitempty"`
}

// RecordingRef names a stopped recording: its id, type (OnDemand or
// Automatic) and where the API serves its audio.
type RecordingRef struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	ContentURI string `json:"contentUri"`
}

// PartyData names the party for call control.
type PartyData struct {
	PartyID   string `json:"partyId"`
	SessionID string `json:"sessionId"`
}

// ActiveCall is the presence view of a call (CONTRACT §5 activeCall).
type ActiveCall struct {
	ID                 string       `json:"id"`
	SessionID          string       `json:"sessionId"`
	TelephonySessionID string       `json:"telephonySessionId"`
	PartyID            string       `json:"partyId"`
	Direction          string       `json:"direction"`
	From               CallEndpoint `json:"from"`
	To                 CallEndpoint `json:"to"`
	TelephonyStatus    string       `json:"telephonyStatus"`
	TerminationType    string       `json:"terminationType,omitempty"`
	StartTime          string       `json:"startTime"`
	Sequence           uint64       `json:"sequence"`
}

// CallEndpoint is one end of a call.
type CallEndpoint struct {
	PhoneNumber     string `json:"phoneNumber"`
	Name            string `json:"name,omitempty"`
	ExtensionNumber string `json:"extensionNumber,omitempty"`
}

// TelephonySession is the call-control view (CONTRACT §5 telephonySession).
type TelephonySession struct {
	ID        string         `json:"id"`
	SessionID string         `json:"sessionId"`
	Sequence  uint64         `json:"sequence"`
	EventTime string         `json:"eventTime"`
	Origin    SessionOrigin  `json:"origin"`
	Parties   []SessionParty `json:"parties"`
}

// SessionOrigin says how a session began.
type SessionOrigin struct {
	Type string `json:"type"`
}

// SessionParty is one party of a telephony session.
type SessionParty struct {
	ID        string       `json:"id"`
	Direction string       `json:"direction"`
	From      CallEndpoint `json:"from"`
	To        CallEndpoint `json:"to"`
	Status    PartyStatus  `json:"status"`
	Muted     bool         `json:"muted"`
	Owner     *PartyOwner  `json:"owner,omitempty"`
	// ConferenceSessionID is, for a party of the session's conference that
	// is in another call, that call's telephonySessionId.
	ConferenceSessionID string `json:"telephonySessionId,omitempty"`
}

// PartyStatus is a party's state with the reason it ended.
type PartyStatus struct {
	Code   string `json:"code"`
	Reason string `json:"reason,omitempty"`
}

// PartyOwner names the extension a party belongs to.
type PartyOwner struct {
	ExtensionID string `json:"extensionId"`
}

// Messages carrying calls.
type (
	// CallNotify is rc-call-{init,ring,start,hold,resume,mute,end}-notify.
	CallNotify struct {
		Type string       `json:"type"`
		Call WebphoneCall `json:"call"`
	}
	// CallRecordNotify is rc-call-record-notify: the call's recording
	// started, paused, resumed (call.recordStatus) or stopped (recording).
	CallRecordNotify struct {
		Type      string        `json:"type"`
		Call      WebphoneCall  `json:"call"`
		Recording *RecordingRef `json:"recording,omitempty"`
	}
	// CallTransferNotify is rc-call-transfer-notify: a transfer this
	// device made started, completed (the target answered) or failed (the
	// call comes back: a recall). Target is the number or extension
	// number the call was transferred to.
	CallTransferNotify struct {
		Type   string       `json:"type"`
		Call   WebphoneCall `json:"call"`
		State  string       `json:"state"`
		Target string       `json:"target"`
	}
	// CallMovedNotify is rc-call-moved-notify: a call of this user moved
	// to another of their devices, ToDeviceID, which carries it now.
	CallMovedNotify struct {
		Type       string       `json:"type"`
		Call       WebphoneCall `json:"call"`
		ToDeviceID string       `json:"toDeviceId"`
	}
	// CallFailedNotify is rc-call-failed-notify.
	CallFailedNotify struct {
		Type   string       `json:"type"`
		Call   WebphoneCall `json:"call"`
		Code   int          `json:"code"`
		Reason string       `json:"reason"`
	}
	// ActiveCallNotify is rc-active-call-notify, and rc-ringout-call-notify
	// for the owner's leg of a RingOut.
	ActiveCallNotify struct {
		Type string     `json:"type"`
		Call ActiveCall `json:"call"`
	}
	// TelephonySessionNotify is rc-telephony-session-notify.
	TelephonySessionNotify struct {
		Type             string           `json:"type"`
		TelephonySession TelephonySession `json:"telephonySession"`
	}
	// SyncPresence is rc-adapter-syncPresence.
	SyncPresence struct {
		Type            string `json:"type"`
		TelephonyStatus string `json:"telephonyStatus"`
		UserStatus      string `json:"userStatus"`
		DNDStatus       string `json:"dndStatus"`
		PresenceStatus  string `json:"presenceStatus"`
	}
)

// States of rc-call-transfer-notify (CONTRACT §3).
const (
	TransferStarted   = "started"
	TransferCompleted = "completed"
	TransferFailed    = "failed"
)

// NewSyncPresence is rc-adapter-syncPresence for an extension's presence.
func NewSyncPresence(p presence.Presence) SyncPresence {
	return SyncPresence{Type: EventSyncPresence, TelephonyStatus: string(p.TelephonyStatus), UserStatus: p.UserStatus,
		DNDStatus: p.DNDStatus, PresenceStatus: p.PresenceStatus}
}
