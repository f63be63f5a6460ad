// Package telephony is the switch: extensions' devices, calls (sessions and
// their parties), the party state machine, routing of dialled numbers
// (extensions, the account's numbers, built-in test numbers), and the call
// log records of ended calls.
//
// Every change is published as an Event on a Bus, with the extension's
// telephony presence and next sequence, which the presence keeper gives
// (PresenceKeeper: internal/presence owns presence, do-not-disturb and the
// sequence); the bridge turns events into the widget's messages. Audio is
// driven through the small Media interface. The package must not import
// net/http, echo, pion, internal/web, internal/bridge, internal/presence or
// internal/store (presence and the store import this package).
//
// One file per concern: the call and its parties (call.go, state.go, whose
// table every move of a party passes), dialling (dial.go), ringing and
// answering (answer.go), departments (departments.go), hold, mute and the
// platform's call control (control.go), a device's second call — held for
// a new one, SwitchCall, answering with hold or end (AnswerWith), Ignore —
// (second.go), blind Transfer with its recall and Forward (transfer.go),
// conferences of a user's calls, mixed at the gateway (conference.go),
// teardown (teardown.go), call
// records (records.go), RingOut (ringout.go), presence and do-not-disturb
// as the switch sees them (presence.go, dnd.go), and what runs after the
// lock (effects.go): state changes under the switch's lock, media, events,
// log lines and call-log writes after it; events are published in order,
// by one operation at a time (publish.go).
package telephony

import (
	"context"
	"errors"
	"time"

	"github.com/callbridge/widget-server/internal/phonenumber"
)

// Sentinel errors; callers test them with errors.Is.
var (
	// ErrNoSuchCall: no active session with that id.
	ErrNoSuchCall = errors.New("no such call")
	// ErrInvalidState: the call or party is not in a state that allows the action.
	ErrInvalidState = errors.New("invalid call state")
	// ErrNotYourCall: the device neither carries a party of the call nor rings for it.
	ErrNotYourCall = errors.New("not a call of this device")
	// ErrNoDevice: the device is not registered.
	ErrNoDevice = errors.New("no such device")
	// ErrBadNumber: the dialled string is empty or cannot be a phone or extension number.
	ErrBadNumber = phonenumber.ErrBadNumber
	// ErrClosed: the switch has been closed.
	ErrClosed = errors.New("switch closed")
	// ErrBadOffer: the device's session description cannot be answered
	// (unparsable, or without a codec the call can use).
	ErrBadOffer = errors.New("session description not acceptable")
)

// Direction of a party, as seen by its owner.
type Direction string

// Directions.
const (
	Inbound  Direction = "Inbound"
	Outbound Direction = "Outbound"
)

// PartyStatus is a party's state in the call (seeds/001 telephony sessions).
type PartyStatus string

// Party states. Legal moves: Setup → Proceeding → Answered ⇄ Hold →
// Disconnected, and Setup/Proceeding → Disconnected.
const (
	StatusSetup        PartyStatus = "Setup"
	StatusProceeding   PartyStatus = "Proceeding"
	StatusAnswered     PartyStatus = "Answered"
	StatusHold         PartyStatus = "Hold"
	StatusDisconnected PartyStatus = "Disconnected"
)

// TelephonyStatus is an extension's aggregated presence (seeds/001 "Call
// States"); internal/presence aggregates it from the states of its parties.
type TelephonyStatus string

// Presence states.
const (
	NoCall        TelephonyStatus = "NoCall"
	Ringing       TelephonyStatus = "Ringing"
	CallConnected TelephonyStatus = "CallConnected"
	OnHold        TelephonyStatus = "OnHold"
)

// Call-log results (CONTRACT §5, rc-call-end-notify result).
const (
	ResultConnected = "Call connected"
	ResultMissed    = "Missed"
	ResultBusy      = "Busy"
	ResultRejected  = "Rejected"
	ResultNoAnswer  = "No Answer"
	ResultCanceled  = "Canceled"
	ResultFailed    = "Failed"
	ResultAccepted  = "Accepted"
	// ResultTransferred is the result of a party that transferred its call
	// and left it; ResultForwarded that of a ringing party that forwarded it.
	ResultTransferred = "Transferred"
	ResultForwarded   = "Forwarded"
	// ResultInProgress is the result of a live call's record (ActiveRecords).
	ResultInProgress = "In Progress"
)

// Cause is what happened to a session: the cause of an Event, one of the
// Cause constants, which consumers compare it with.
type Cause string

// Causes of events.
const (
	CauseDial              Cause = "dial"
	CauseRing              Cause = "ring"
	CauseAnswer            Cause = "answer"
	CauseAnsweredElsewhere Cause = "answeredElsewhere" // not emitted on its own: an "answer" event clears Ringing
	CauseReject            Cause = "reject"
	CauseCancel            Cause = "cancel"
	CauseHangup            Cause = "hangup"
	CauseHold              Cause = "hold"
	CauseUnhold            Cause = "unhold"
	CauseMute              Cause = "mute"
	CauseUnmute            Cause = "unmute"
	CauseTimeout           Cause = "timeout"
	CauseFailed            Cause = "failed"
	CauseMediaFailed       Cause = "mediaFailed"
	CauseIgnore            Cause = "ignore"            // a device stopped ringing; the others go on (second.go)
	CauseForward           Cause = "forward"           // a ringing party forwarded the call to another number (transfer.go)
	CauseTransferStarted   Cause = "transferStarted"   // the transferor left; the target rings (transfer.go)
	CauseTransferCompleted Cause = "transferCompleted" // the target answered
	CauseTransferFailed    Cause = "transferFailed"    // the target did not answer: the call rings the transferor again
	CauseBridge            Cause = "bridge"            // a warm transfer joined this call's remote party to another call's (bridge.go)
	CauseMoveOffer         Cause = "moveOffer"         // a connected party's call rings on other devices of its owner (move.go)
	CauseMoveEnd           Cause = "moveEnd"           // those devices stopped ringing: taken, declined or timed out
	CauseMoved             Cause = "moved"             // the party moved to another device; Event.Device is the one it left
)

// Endpoint is one end of a call as the parties see it.
type Endpoint struct {
	PhoneNumber     string // E.164 when known, else as dialled
	Name            string
	ExtensionNumber string // "" unless an extension
	ExtensionID     int64  // 0 unless an extension
}

// Party is one participant of a session. Its ID is also the id of its
// media leg until it moves to another device (move.go).
type Party struct {
	ID        string
	Direction Direction
	From, To  Endpoint
	Status    PartyStatus
	Reason    string // when Disconnected: the SIP reason of a failure, else the Result
	Code      int    // SIP-like failure code (486, 487, 603, 404, 480, 402, 408, 503); 0 = none
	Muted     bool
	Owner     int64    // extension owning the party; 0 for a test line or an outside party
	Device    string   // device carrying the party's media; "" until answered for inbound
	Ringing   []string // devices ringing for this inbound party before answer
	Offered   []string // devices the connected party's call rings on to move there (move.go)
	Result    string   // set when Disconnected: the call-log result
	leg       string   // its media leg, when not ID: it moved to another device
	rtp       bool     // its media leg is an RTP leg: toward a carrier (trunk.go), or a device that speaks RTP
	g711      bool     // its media leg carries G.711: what is connected to it answers in its codec
}

// Session is one call: parties[0] is the caller (Outbound), parties[1] the
// callee (Inbound), also for test numbers and unroutable numbers (Owner 0).
// While a call to a department rings, each further member rings as one more
// Inbound party, until one answers and becomes parties[1]. In a RingOut,
// parties[0] is the owner's from leg and parties[1] the to leg (ringout.go).
// Consumers find a party by its id, owner or device, not by its place.
type Session struct {
	ID                        string // telephonySessionId
	SessionID                 string // numeric, unique across restarts
	Origin                    string // OriginCall or OriginRingOut
	Parties                   []Party
	Created, Connected, Ended time.Time
	Recording                 *Recording // the recording being made; nil when none (recording.go)
}

// Party returns the party with that id.
func (s Session) Party(id string) (Party, bool) {
	for _, p := range s.Parties {
		if p.ID == id {
			return p, true
		}
	}
	return Party{}, false
}

// clone returns a deep copy, safe to hand out while the switch keeps changing the original.
func (s Session) clone() Session {
	c := s
	if s.Recording != nil {
		r := *s.Recording
		c.Recording = &r
	}
	c.Parties = make([]Party, len(s.Parties))
	for i, p := range s.Parties {
		if p.Ringing != nil {
			p.Ringing = append([]string(nil), p.Ringing...)
		}
		if p.Offered != nil {
			p.Offered = append([]string(nil), p.Offered...)
		}
		c.Parties[i] = p
	}
	return c
}

// Device is one signed-in widget tab of an extension.
type Device struct {
	ID          string
	ExtensionID int64
	// RTP: the device speaks plain RTP in G.711 (a desk phone registered
	// over SIP), not WebRTC: its legs are the gateway's RTP legs, which
	// answer the device's SDP offers (TrunkMedia.AnswerRTP), and calls it
	// rings answer their callers in G.711.
	RTP bool
}

// Directory resolves numbers and describes extensions. An adapter over
// identity implements it.
type Directory interface {
	// Lookup resolves, within the caller's account, an extension number
	// ("102"), a direct number or the main number (E.164) to an extension;
	// ok is false when there is none.
	Lookup(ctx context.Context, callerExtension int64, e164OrExt string) (ext Endpoint, ok bool, err error)
	// Describe returns an extension as an endpoint: name, extension number,
	// and its main or first direct number as PhoneNumber.
	Describe(ctx context.Context, extensionID int64) (Endpoint, error)
	// Region returns the ISO country code ("US") of the extension's account,
	// used to parse national numbers.
	Region(ctx context.Context, extensionID int64) (string, error)
}

// Departments is what a Directory also answers when its accounts have
// department extensions: a call to a department rings its members
// (routing.go). A Directory without it has no departments.
type Departments interface {
	// Members returns the member extensions of a department, and whether
	// the extension is one; a user is no department.
	Members(ctx context.Context, extensionID int64) (members []int64, department bool, err error)
}

// LegKind says what the gateway connects a leg to.
type LegKind int

// Leg kinds.
const (
	LegPhone      LegKind = iota // a browser whose audio is bridged to another phone leg
	LegTone                      // the gateway plays a tone to it
	LegEcho                      // the gateway sends its own audio back
	LegTrunkPhone                // a browser on a call through a trunk: answered in G.711, relayed to the carrier (trunk.go)
)

// Media drives the audio of calls. The media gateway implements it. A
// leg's id is its party's id, or a new one when the party moved (move.go).
type Media interface {
	OpenLeg(ctx context.Context, legID string, offerSDP string, kind LegKind) (answerSDP string, err error)
	Connect(a, b string) error        // forward RTP between two open phone legs
	SetForward(legID string, on bool) // whether audio received from legID is forwarded (mute, hold)
	CloseLeg(legID string)
}

// Presence is an extension's telephony presence.
type Presence struct {
	TelephonyStatus TelephonyStatus
	ActiveSessions  int
}

// Event is one change of a session, for one extension involved in it.
type Event struct {
	Extension int64     // the extension this event is for
	Sequence  uint64    // that extension's next sequence: strictly increasing, also across restarts
	Session   Session   // deep copy after the change
	Presence  Presence  // the extension's presence after the change
	Cause     Cause     // what happened: one of the Cause constants
	Device    string    // the device the cause concerns, when one does
	Target    Endpoint  // of a transfer's "transferCompleted" by Bridge: who the call went to
	Recording Recording // of a "record": the recording, Status RecordIdle when it stopped
	// Conference is the conference the session is in, after the change
	// (conference.go): set for every event of a call in one, and for the
	// conference causes; nil otherwise.
	Conference *Conference
	// Quiet marks the events of a call another node already ended for
	// everyone (Forget): for this node's own parts (its desk phones, its
	// cluster subjects), not for the widgets or the webhooks, which heard of
	// the end from that node.
	Quiet bool
}

// Bus carries events to their consumers. The switch calls Publish outside
// its lock, one event at a time, in order; an operation returns once the
// events queued up to its end are published. A subscriber may call the
// switch from inside Publish (that call's events are published before the
// outer operation returns), but must not wait for a call into the switch
// made on another goroutine.
type Bus interface{ Publish(Event) }

// CallLog persists the records of ended calls. The store implements it.
type CallLog interface {
	AddCallRecords(ctx context.Context, recs []CallRecord) error
}

// CallRecord is one call-log entry: one per extension party of an ended session.
type CallRecord struct {
	ID                 string // the party's id
	Extension          int64
	SessionID          string
	TelephonySessionID string
	PartyID            string
	StartTime          time.Time
	Duration           time.Duration // connected time; whole seconds when stored
	Direction          Direction
	From, To           Endpoint
	Type               string // "Voice"
	Action             string // "VoIP Call" (extension to extension), "Phone Call", or ActionRingOutWeb
	Result             string // one of the Result constants
	// Code and Reason are the SIP failure that ended the party's call
	// (480, "Temporarily Unavailable") when it did not connect; 0 and ""
	// for a call that connected.
	Code   int
	Reason string
	// Legs are the call's legs as the party saw them, for the platform's
	// Detailed view: nil for a call that was never handed on, whose one
	// leg, the master, is the record itself; else the master first, then
	// one leg per hand-over (records.go).
	Legs []CallLeg
	// Recording is the call's recording, on the record of the extension
	// whose recording it is; nil when none.
	Recording *RecordingRef
}

// Actions of the legs a hand-over adds to a record (CallLeg.Action).
const (
	ActionTransfer = "Transfer"
	ActionForward  = "Forward"
)

// CallLeg is one leg of a call-log record. The first, the master, is the
// call as it began for the party: its direction, action and ends, from the
// start of the call (or, for a party that joined it, from when it began to
// ring) to the first hand-over. A transfer or a forward adds a leg with
// Action ActionTransfer or ActionForward, Outbound from the party to the
// target, from the hand-over on. Each leg has the time connected within it
// and its own result: Transferred or Forwarded when a hand-over ended it,
// else how its other end answered (Call connected, Missed, Busy, …).
type CallLeg struct {
	StartTime time.Time
	Duration  time.Duration // connected time within the leg; whole seconds when stored
	Direction Direction
	Action    string
	Result    string
	From, To  Endpoint
}
