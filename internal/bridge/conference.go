package bridge

import (
	"strconv"

	"github.com/callbridge/widget-server/internal/telephony"
)

// Conference changes (rc-conference-notify change).
const (
	ConferenceCreated  = "created"
	ConferenceJoined   = "joined"
	ConferenceLeft     = "left"
	ConferenceRemoved  = "removed"
	ConferenceHeld     = "held"
	ConferenceResumed  = "resumed"
	ConferenceUpdated  = "updated"
	ConferenceEnded    = "ended"
	ConferenceInvited  = "invited"
	ConferenceRejected = "rejected"
)

// conferenceChanges maps the switch's conference causes to changes.
var conferenceChanges = map[telephony.Cause]string{
	telephony.CauseConferenceCreated:  ConferenceCreated,
	telephony.CauseConferenceJoined:   ConferenceJoined,
	telephony.CauseConferenceLeft:     ConferenceLeft,
	telephony.CauseConferenceRemoved:  ConferenceRemoved,
	telephony.CauseConferenceHeld:     ConferenceHeld,
	telephony.CauseConferenceResumed:  ConferenceResumed,
	telephony.CauseConferenceUpdated:  ConferenceUpdated,
	telephony.CauseConferenceEnded:    ConferenceEnded,
	telephony.CauseConferenceInvited:  ConferenceInvited,
	telephony.CauseConferenceRejected: ConferenceRejected,
}

// ConferenceNotify is rc-conference-notify: a conference the user is in
// changed.
type ConferenceNotify struct {
	Type       string         `json:"type"`
	Conference ConferenceView `json:"conference"`
	Change     string         `json:"change"`
}

// ConferenceView is a conference as one of its users sees it.
type ConferenceView struct {
	ID string `json:"id"`
	// TelephonySessionID is the session of the user's own call in the
	// conference; HostSessionID that of the host's.
	TelephonySessionID string                  `json:"telephonySessionId"`
	HostSessionID      string                  `json:"hostSessionId"`
	Host               bool                    `json:"host"` // the user hosts it
	HostPresent        bool                    `json:"hostPresent"`
	State              string                  `json:"state"` // connected, held (the host holds), ended
	Participants       []ConferenceParticipant `json:"participants"`
	// Invitations are the calls the host placed to add someone, still
	// ringing: each joins once answered.
	Invitations []ConferenceInvitation `json:"invitations"`
}

// ConferenceInvitation is a call placed to add someone to a conference.
type ConferenceInvitation struct {
	TelephonySessionID string `json:"telephonySessionId"`
	Name               string `json:"name,omitempty"`
	Number             string `json:"number"`
}

// ConferenceParticipant is one party of a conference.
type ConferenceParticipant struct {
	PartyID            string `json:"partyId"`
	TelephonySessionID string `json:"telephonySessionId"`
	Name               string `json:"name"`
	Number             string `json:"number"` // the phone number, or the extension number of a user without one
	ExtensionNumber    string `json:"extensionNumber,omitempty"`
	Host               bool   `json:"host"`
	Status             string `json:"status"` // the party's status: Answered, Hold, Disconnected
	Muted              bool   `json:"muted"`
	MutedByHost        bool   `json:"mutedByHost"`
}

// conference is rc-conference-notify for a conference cause, to every
// widget of the extension.
func conference(ev telephony.Event) []Envelope {
	change, ok := conferenceChanges[ev.Cause]
	if !ok || ev.Conference == nil {
		return nil
	}
	return []Envelope{{Message: ConferenceNotify{Type: EventConference, Conference: NewConferenceView(*ev.Conference, ev.Extension, ev.Session.ID), Change: change}}}
}

// NewConferenceView is cf as extension ext sees it from its call sid: the
// conference of rc-conference-notify.
func NewConferenceView(cf telephony.Conference, ext int64, sid string) ConferenceView {
	v := ConferenceView{
		ID: cf.ID, TelephonySessionID: sid, HostSessionID: cf.SessionID, Host: cf.Host == ext,
		HostPresent: cf.HostPresent, State: string(cf.State), Participants: []ConferenceParticipant{},
		Invitations: []ConferenceInvitation{},
	}
	for _, inv := range cf.Invitations {
		v.Invitations = append(v.Invitations, ConferenceInvitation{TelephonySessionID: inv.SessionID, Name: inv.To.Name, Number: participantNumber(inv.To)})
	}
	for _, p := range cf.Participants {
		number := participantNumber(p.Endpoint)
		v.Participants = append(v.Participants, ConferenceParticipant{
			PartyID: p.PartyID, TelephonySessionID: p.SessionID, Name: p.Name, Number: number,
			ExtensionNumber: p.ExtensionNumber, Host: p.Host, Status: string(p.Status), Muted: p.Muted, MutedByHost: p.MutedByHost,
		})
	}
	return v
}

// participantNumber is the number a participant shows: the phone number,
// or the extension number of a user without one.
func participantNumber(e telephony.Endpoint) string {
	if e.PhoneNumber != "" {
		return e.PhoneNumber
	}
	return e.ExtensionNumber
}

// mutedByHost reports whether the host of cf muted party pid.
func mutedByHost(cf *telephony.Conference, pid string) bool {
	if cf == nil {
		return false
	}
	for _, p := range cf.Participants {
		if p.PartyID == pid {
			return p.MutedByHost
		}
	}
	return false
}

// conferenceParties are the parties of the session's conference that are
// in other calls, for rc-telephony-session-notify: a session in a
// conference lists everyone in it.
func conferenceParties(s telephony.Session, cf *telephony.Conference) []SessionParty {
	if cf == nil {
		return nil
	}
	var out []SessionParty
	for _, p := range cf.Participants {
		if _, ok := s.Party(p.PartyID); ok {
			continue
		}
		sp := SessionParty{
			ID: p.PartyID, Direction: string(p.Direction),
			Status: PartyStatus{Code: string(p.Status)}, Muted: p.Muted, ConferenceSessionID: p.SessionID,
		}
		// The party's own end is known; the other was the host's.
		if p.Direction == telephony.Outbound {
			sp.From = endpoint(p.Endpoint)
		} else {
			sp.To = endpoint(p.Endpoint)
		}
		if p.ExtensionID != 0 {
			sp.Owner = &PartyOwner{ExtensionID: strconv.FormatInt(p.ExtensionID, 10)}
		}
		out = append(out, sp)
	}
	return out
}
