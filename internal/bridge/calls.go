package bridge

import (
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/callbridge/widget-server/internal/presence"
	"github.com/callbridge/widget-server/internal/telephony"
)

// CallMapper turns the switch's events into the rc-* messages of each
// extension's widgets. It remembers which devices it told about a ringing
// call, so when another device answers they hear that their ringing ended,
// and the last presence it sent per extension, so presence goes out only on
// change. It also remembers each transfer under way, since the transferor
// has left the call when it completes or fails.
type CallMapper struct {
	mu        sync.Mutex
	ringing   map[string]map[string]bool // party id → devices told it rings
	started   map[string]bool            // caller party ids whose device was told the call started
	presence  map[int64]telephony.TelephonyStatus
	transfers map[string]transferView // session id → its transfer under way
	now       func() time.Time
}

// NewCallMapper returns an empty mapper.
func NewCallMapper() *CallMapper {
	return &CallMapper{ringing: map[string]map[string]bool{}, started: map[string]bool{}, presence: map[int64]telephony.TelephonyStatus{},
		transfers: map[string]transferView{}, now: time.Now}
}

// Messages returns, in order, what the extension's widgets are told about ev.
func (m *CallMapper) Messages(ev telephony.Event) []Envelope {
	if ev.Cause == telephony.CauseRejoin {
		// Not a change of the call: the device connects its audio again.
		if ev.Device == "" {
			return nil
		}
		return []Envelope{{To: ev.Device, Message: RejoinNotify{Type: RejoinType, TelephonySessionID: ev.Session.ID}}}
	}
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
			Envelope{Message: TelephonySessionNotify{Type: EventTelephonySession, TelephonySession: telephonySession(s, ev.Conference, ev.Sequence, m.now())}},
		)
	}
	out = append(out, conference(ev)...)
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
	switch ev.Cause {
	case telephony.CauseMoveOffer, telephony.CauseMoveEnd, telephony.CauseMoved:
		return m.move(ev, p) // move.go
	}
	if !rings {
		start := func() {
			if p.Device != "" && !m.started[p.ID] {
				m.started[p.ID] = true
				send(p.Device, EventCallStart)
			}
		}
		switch ev.Cause {
		case telephony.CauseDial:
			send(p.Device, EventCallInit)
			if callee, ok := otherParty(s, p.ID); ok && callee.Owner != 0 && len(callee.Ringing) > 0 {
				start()
			}
		case telephony.CauseAnswer:
			if callee, ok := otherParty(s, p.ID); ok && callee.Owner == 0 {
				start()
			}
		case telephony.CauseVoicemail: // also a call that went there at once, which never rang
			if !ended {
				start()
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
	if ev.Cause == telephony.CauseRecord && p.Device != "" && !ended {
		out = append(out, Envelope{To: p.Device, Message: recordNotify(ev, m.callOf(s, p))})
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
		delete(m.started, p.ID)
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

// A call's recordStatus.
const (
	RecordStatusIdle      = "idle"
	RecordStatusRecording = "recording"
	RecordStatusPaused    = "paused"
)

// recordStatus is a call's recordStatus.
func recordStatus(r *telephony.Recording) string {
	switch {
	case r == nil:
		return RecordStatusIdle
	case r.Status == telephony.RecordPaused:
		return RecordStatusPaused
	}
	return RecordStatusRecording
}

// recordNotify is the rc-call-record-notify of a "record" event: the
// call, and the recording once it stopped.
func recordNotify(ev telephony.Event, call WebphoneCall) CallRecordNotify {
	n := CallRecordNotify{Type: EventCallRecord, Call: call}
	if ev.Recording.Status == telephony.RecordIdle && ev.Recording.ID != "" {
		n.Recording = &RecordingRef{ID: ev.Recording.ID, Type: ev.Recording.Type, ContentURI: RecordingContentURI(ev.Recording.ID)}
	}
	return n
}

// RecordingContentURI is where the platform's API serves a recording's audio.
func RecordingContentURI(id string) string {
	return "/restapi/v1.0/account/~/recording/" + id + "/content"
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
		IsOnHold: p.Status == telephony.StatusHold, IsOnMute: p.Muted, RecordStatus: recordStatus(s.Recording),
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

// terminationFinal is the terminationType of an activeCall that ended.
const terminationFinal = "final"

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
		a.TerminationType = terminationFinal
	}
	return a
}

// NewTelephonySession is the call-control view of a session: the payload of
// rc-telephony-session-notify, and the platform API's telephony session. cf
// is the conference the session is in, whose parties it lists too; nil for
// none.
func NewTelephonySession(s telephony.Session, cf *telephony.Conference, seq uint64, at time.Time) TelephonySession {
	return telephonySession(s, cf, seq, at)
}

// telephonySession is the call-control view; a party's status code is the
// switch's name of its state, which the contract spells the same.
func telephonySession(s telephony.Session, cf *telephony.Conference, seq uint64, at time.Time) TelephonySession {
	ts := TelephonySession{
		ID: s.ID, SessionID: s.SessionID, Sequence: seq, EventTime: at.UTC().Format(time.RFC3339Nano),
		Origin: SessionOrigin{Type: s.Origin},
	}
	for _, p := range s.Parties {
		sp := SessionParty{
			ID: p.ID, Direction: string(p.Direction), From: endpoint(p.From), To: endpoint(p.To),
			Status: PartyStatus{Code: string(p.Status), Reason: p.Reason}, Muted: p.Muted || mutedByHost(cf, p.ID),
		}
		if p.Owner != 0 {
			sp.Owner = &PartyOwner{ExtensionID: strconv.FormatInt(p.Owner, 10)}
		}
		ts.Parties = append(ts.Parties, sp)
	}
	ts.Parties = append(ts.Parties, conferenceParties(s, cf)...)
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
