package bridge

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/callbridge/widget-server/internal/presence"
	"github.com/callbridge/widget-server/internal/telephony"
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

// CallMapper turns the switch's events into the rc-* messages of each
// extension's widgets. It remembers which devices it told about a ringing
// call, so when another device answers they hear that their ringing ended,
// and the last presence it sent per extension, so presence goes out only on
// change. It also remembers each transfer under way, since the transferor
// has left the call when it completes or fails.
type CallMapper struct {
	mu        sync.Mutex
	ringing   map[string]map[string]bool // party id → devices told it rings
	presence  map[int64]telephony.TelephonyStatus
	transfers map[string]transferView // session id → its transfer under way
	now       func() time.Time
}

// transferView is a transfer as its transferor's device was told of it.
type transferView struct {
	ext    int64
	device string
	call   WebphoneCall // the transferor's call when it left
	target string
}

// NewCallMapper returns an empty mapper.
func NewCallMapper() *CallMapper {
	return &CallMapper{ringing: map[string]map[string]bool{}, presence: map[int64]telephony.TelephonyStatus{},
		transfers: map[string]transferView{}, now: time.Now}
}

// Messages returns, in order, what the extension's widgets are told about ev.
func (m *CallMapper) Messages(ev telephony.Event) []Envelope {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := ev.Session
	out := m.transfer(ev)
	if p, ok := partyOf(s, ev.Extension); ok {
		out = append(out, m.webphone(ev, p)...)
		if isRingOutLeg(s, p) {
			out = append(out, Envelope{Message: ActiveCallNotify{Type: EventRingoutCall, Call: activeCall(s, p, ev.Sequence)}})
		}
		out = append(out,
			Envelope{Message: ActiveCallNotify{Type: EventActiveCall, Call: activeCall(s, p, ev.Sequence)}},
			Envelope{Message: TelephonySessionNotify{Type: EventTelephonySession, TelephonySession: telephonySession(s, ev.Sequence, m.now())}},
		)
	}
	status := ev.Presence.TelephonyStatus
	if m.presence[ev.Extension] != status {
		m.presence[ev.Extension] = status
		// What the user set is not the switch's: the dispatcher completes it.
		out = append(out, Envelope{Message: NewSyncPresence(presence.Of(status, presence.UserPresence{}))})
	}
	if !s.Ended.IsZero() {
		delete(m.transfers, s.ID)
	}
	return out
}

// transfer is rc-call-transfer-notify for the transferor's device: its
// party left the call with result Transferred at "transferStarted"; at
// "transferCompleted" (the target answered) or "transferFailed" (the call
// rings the transferor's devices again, seeds/004 call:transferring and
// call:transferred, seeds/002 TransferComplete) the transfer is over. The
// other extensions of the call hear of it through their sessions.
func (m *CallMapper) transfer(ev telephony.Event) []Envelope {
	s := ev.Session
	var x transferView
	var state string
	switch ev.Cause {
	case telephony.CauseTransferStarted:
		p, ok := transferorOf(s, ev.Extension)
		if !ok {
			return nil
		}
		x = transferView{ext: ev.Extension, device: ev.Device, call: m.callOf(s, p), target: transferTarget(s)}
		m.transfers[s.ID] = x
		state = TransferStarted
	case telephony.CauseTransferCompleted, telephony.CauseTransferFailed:
		var ok bool
		if x, ok = m.transfers[s.ID]; !ok || x.ext != ev.Extension {
			return nil
		}
		delete(m.transfers, s.ID)
		x.call.IsOnTransfer = false
		state = TransferCompleted
		if ev.Cause == telephony.CauseTransferFailed {
			state = TransferFailed
			if p, ok := partyOf(s, ev.Extension); ok && p.Status != telephony.StatusDisconnected {
				x.call = webphoneCall(s, p) // the recall, which rings
			}
		}
	default:
		return nil
	}
	if x.device == "" {
		return nil
	}
	return []Envelope{{To: x.device, Message: CallTransferNotify{Type: EventCallTransfer, Call: x.call, State: state, Target: x.target}}}
}

// callOf is party p's call; a party that left a call which goes on (a
// transfer, a forward) ended now, as far as its devices are concerned.
func (m *CallMapper) callOf(s telephony.Session, p telephony.Party) WebphoneCall {
	if p.Status == telephony.StatusDisconnected && s.Ended.IsZero() {
		s.Ended = m.now()
	}
	return webphoneCall(s, p)
}

// transferorOf returns the party of ext that transferred the call and left it.
func transferorOf(s telephony.Session, ext int64) (telephony.Party, bool) {
	for _, p := range s.Parties {
		if p.Owner == ext && p.Status == telephony.StatusDisconnected && p.Result == telephony.ResultTransferred {
			return p, true
		}
	}
	return telephony.Party{}, false
}

// transferTarget is the number a transfer rings: the callee of its first
// ringing party. The transferee is Parties[0] once a transfer started.
func transferTarget(s telephony.Session) string {
	for i, p := range s.Parties {
		if i > 0 && p.Status != telephony.StatusDisconnected {
			return dialable(p.To)
		}
	}
	return ""
}

// webphone picks the device-level call events (seeds/000): the caller's
// device learns of its call at init, and — for a call to another widget user
// — it starts when the callee rings; for a call to a phone number when it
// is answered. The callee's devices ring; the answering one starts. The
// from leg of a RingOut rings its owner's devices as an inbound call does.
func (m *CallMapper) webphone(ev telephony.Event, p telephony.Party) []Envelope {
	s := ev.Session
	var out []Envelope
	send := func(device, typ string) {
		if device != "" {
			out = append(out, Envelope{To: device, Message: CallNotify{Type: typ, Call: m.callOf(s, p)}})
		}
	}
	ended := p.Status == telephony.StatusDisconnected
	rings := deviceView(s, p).Direction == telephony.Inbound
	if !rings {
		switch ev.Cause {
		case telephony.CauseDial:
			send(p.Device, EventCallInit)
			if callee, ok := otherParty(s, p.ID); ok && callee.Owner != 0 && len(callee.Ringing) > 0 {
				send(p.Device, EventCallStart)
			}
		case telephony.CauseAnswer:
			if callee, ok := otherParty(s, p.ID); ok && callee.Owner == 0 {
				send(p.Device, EventCallStart)
			}
		}
	} else {
		told := m.ringing[p.ID]
		switch {
		case ev.Cause == telephony.CauseRing:
			if told == nil {
				told = map[string]bool{}
				m.ringing[p.ID] = told
			}
			for _, d := range p.Ringing {
				if !told[d] {
					told[d] = true
					send(d, EventCallRing)
				}
			}
		case ev.Cause == telephony.CauseAnswer && ev.Device == p.Device && p.Device != "":
			send(p.Device, EventCallStart)
			for _, d := range sortedKeys(told) {
				if d != p.Device {
					send(d, EventCallEnd) // answered on another device
				}
			}
			delete(m.ringing, p.ID)
		case (ev.Cause == telephony.CauseReject || ev.Cause == telephony.CauseIgnore) && !ended:
			// this device stopped ringing; the others go on
			send(ev.Device, EventCallEnd)
			delete(told, ev.Device)
		}
	}
	if ev.Device == p.Device && p.Device != "" {
		switch ev.Cause {
		case telephony.CauseHold:
			send(p.Device, EventCallHold)
		case telephony.CauseUnhold:
			send(p.Device, EventCallResume)
		case telephony.CauseMute, telephony.CauseUnmute:
			send(p.Device, EventCallMute)
		}
	}
	if ended {
		devices := map[string]bool{}
		if p.Device != "" {
			devices[p.Device] = true
		}
		for d := range m.ringing[p.ID] {
			devices[d] = true
		}
		delete(m.ringing, p.ID)
		failed := p.Code != 0 && s.Connected.IsZero() && p.Direction == telephony.Outbound
		for _, d := range sortedKeys(devices) {
			if failed && (!rings || d == p.Device) { // a RingOut's from leg: the device that answered it
				out = append(out, Envelope{To: d, Message: CallFailedNotify{Type: EventCallFailed, Call: m.callOf(s, p), Code: p.Code, Reason: p.Reason}})
			}
			send(d, EventCallEnd)
		}
	}
	return out
}

// sortedKeys lists a set of devices in order, so that messages to several
// devices go out in the same order every time.
func sortedKeys(set map[string]bool) []string {
	return slices.Sorted(maps.Keys(set))
}

// isRingOutLeg reports whether p is the owner's leg of a RingOut: its from leg.
func isRingOutLeg(s telephony.Session, p telephony.Party) bool {
	return s.Origin == telephony.OriginRingOut && len(s.Parties) > 0 && s.Parties[0].ID == p.ID
}

// deviceView is the party as its devices see it. The from leg of a RingOut
// is, for the owner's devices, an inbound call from the number it will
// connect to; presence and the call log keep it Outbound from → to
// (seeds/001 "Outbound Call Statuses").
func deviceView(s telephony.Session, p telephony.Party) telephony.Party {
	if isRingOutLeg(s, p) {
		p.Direction = telephony.Inbound
		p.From, p.To = p.To, p.From
	}
	return p
}

func partyOf(s telephony.Session, ext int64) (telephony.Party, bool) {
	for _, p := range s.Parties {
		if p.Owner == ext {
			return p, true
		}
	}
	return telephony.Party{}, false
}

func otherParty(s telephony.Session, id string) (telephony.Party, bool) {
	for _, p := range s.Parties {
		if p.ID != id {
			return p, true
		}
	}
	return telephony.Party{}, false
}

var callStatus = map[telephony.PartyStatus]string{
	telephony.StatusSetup:        "webphone-session-setup",
	telephony.StatusProceeding:   "connecting",
	telephony.StatusAnswered:     "connected",
	telephony.StatusHold:         "onHold",
	telephony.StatusDisconnected: "finished",
}

func dialable(e telephony.Endpoint) string {
	if e.ExtensionNumber != "" {
		return e.ExtensionNumber
	}
	return e.PhoneNumber
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func webphoneCall(s telephony.Session, p telephony.Party) WebphoneCall {
	p = deviceView(s, p)
	start := s.Created
	if !s.Connected.IsZero() {
		start = s.Connected
	}
	c := WebphoneCall{
		ID: s.ID, CallID: s.ID, SessionID: s.SessionID, TelephonySessionID: s.ID, PartyID: p.ID,
		Direction: string(p.Direction), CallStatus: callStatus[p.Status],
		From: dialable(p.From), FromNumber: p.From.PhoneNumber, FromUserName: p.From.Name,
		To: dialable(p.To), ToNumber: p.To.PhoneNumber, ToUserName: p.To.Name,
		StartTime: millis(start), CreationTime: millis(s.Created),
		IsOnHold: p.Status == telephony.StatusHold, IsOnMute: p.Muted, RecordStatus: "idle",
		IsOnTransfer: p.Result == telephony.ResultTransferred, // it left for a transfer under way
		PartyData:    PartyData{PartyID: p.ID, SessionID: s.SessionID},
	}
	if p.Status == telephony.StatusDisconnected {
		end := s.Ended
		if end.IsZero() {
			end = s.Created
		}
		c.EndTime = millis(end)
		var d int64
		if !s.Connected.IsZero() {
			d = int64(end.Sub(s.Connected) / time.Second)
		}
		c.Duration = &d
		c.Result = p.Result
		c.Reason = p.Reason
		c.Code = p.Code
	}
	return c
}

func endpoint(e telephony.Endpoint) CallEndpoint {
	return CallEndpoint{PhoneNumber: e.PhoneNumber, Name: e.Name, ExtensionNumber: e.ExtensionNumber}
}

func activeCall(s telephony.Session, p telephony.Party, seq uint64) ActiveCall {
	start := s.Created
	if !s.Connected.IsZero() {
		start = s.Connected
	}
	a := ActiveCall{
		ID: p.ID, SessionID: s.SessionID, TelephonySessionID: s.ID, PartyID: p.ID,
		Direction: string(p.Direction), From: endpoint(p.From), To: endpoint(p.To),
		TelephonyStatus: string(presence.TelephonyStatusOf(p.Status)), StartTime: start.UTC().Format(time.RFC3339Nano), Sequence: seq,
	}
	if p.Status == telephony.StatusDisconnected {
		a.TerminationType = "final"
	}
	return a
}

// NewTelephonySession is the call-control view of a session: the payload of
// rc-telephony-session-notify, and the platform API's telephony session.
func NewTelephonySession(s telephony.Session, seq uint64, at time.Time) TelephonySession {
	return telephonySession(s, seq, at)
}

// telephonySession is the call-control view; a party's status code is the
// switch's name of its state, which the contract spells the same.
func telephonySession(s telephony.Session, seq uint64, at time.Time) TelephonySession {
	ts := TelephonySession{
		ID: s.ID, SessionID: s.SessionID, Sequence: seq, EventTime: at.UTC().Format(time.RFC3339Nano),
		Origin: SessionOrigin{Type: s.Origin},
	}
	for _, p := range s.Parties {
		sp := SessionParty{
			ID: p.ID, Direction: string(p.Direction), From: endpoint(p.From), To: endpoint(p.To),
			Status: PartyStatus{Code: string(p.Status), Reason: p.Reason}, Muted: p.Muted,
		}
		if p.Owner != 0 {
			sp.Owner = &PartyOwner{ExtensionID: strconv.FormatInt(p.Owner, 10)}
		}
		ts.Parties = append(ts.Parties, sp)
	}
	return ts
}

// WebphoneCalls lists a device's calls, for rc-webphone-sessions-sync.
func WebphoneCalls(sessions []telephony.Session, ext int64, device string) []WebphoneCall {
	calls := []WebphoneCall{}
	for _, s := range sessions {
		for _, p := range s.Parties {
			if p.Owner != ext {
				continue
			}
			if p.Device == device || slices.Contains(p.Ringing, device) {
				calls = append(calls, webphoneCall(s, p))
			}
		}
	}
	return calls
}

// CallFor returns a device's view of one session's call.
func CallFor(s telephony.Session, ext int64) (WebphoneCall, bool) {
	p, ok := partyOf(s, ext)
	if !ok {
		return WebphoneCall{}, false
	}
	return webphoneCall(s, p), true
}
