// Package presence owns extensions' presence (seeds/001 "Call States"): the
// user status and do-not-disturb status a user sets, kept through a Store;
// the telephony status, aggregated from the states of the extension's
// parties by the one table of this package; the presence status derived
// from both; and the per-extension sequence that every event of an
// extension carries, the switch's and its own. A change a user makes is
// published as an Event with the extension's next sequence.
//
// The switch calls a Keeper while holding its own lock (it declares the
// small interface it needs, telephony.PresenceKeeper), so a Keeper never
// calls the switch. With several nodes, a Keeper also counts the calls of
// the other nodes and learns what users set through them (keeper.go). The package may import telephony for the vocabulary of
// calls; it must not import bridge, web, api, server, store, media, echo or
// pion.
package presence

import "github.com/callbridge/widget-server/internal/telephony"

// User statuses: what a user says of their availability (docs/api.md
// "Presence").
const (
	Available = "Available"
	Busy      = "Busy"
	Offline   = "Offline"
)

// Do-not-disturb statuses: which calls ring an extension's devices
// (seeds/000 dndStatus). A direct call is one to the extension itself; a
// department call one to a department it is a member of.
const (
	TakeAllCalls               = "TakeAllCalls"
	DoNotAcceptAnyCalls        = "DoNotAcceptAnyCalls"
	DoNotAcceptDepartmentCalls = "DoNotAcceptDepartmentCalls"
	TakeDepartmentCallsOnly    = "TakeDepartmentCallsOnly"
)

// The values a user may set, as the API spells them.
var (
	UserStatuses = []string{Available, Busy, Offline}
	DNDStatuses  = []string{TakeAllCalls, DoNotAcceptAnyCalls, DoNotAcceptDepartmentCalls, TakeDepartmentCallsOnly}
)

// UserPresence is what an extension's user sets of its presence: the user
// status and the do-not-disturb status, spelled as the API spells them.
type UserPresence struct {
	UserStatus string // Available | Busy | Offline
	DNDStatus  string // TakeAllCalls | DoNotAcceptAnyCalls | DoNotAcceptDepartmentCalls | TakeDepartmentCallsOnly
}

// DefaultUserPresence is the presence of a user who never set one.
var DefaultUserPresence = UserPresence{UserStatus: Available, DNDStatus: TakeAllCalls}

// normalized fills in the defaults of what is left empty; an unknown
// do-not-disturb status takes all calls.
func (u UserPresence) normalized() UserPresence {
	if u.UserStatus == "" {
		u.UserStatus = Available
	}
	switch u.DNDStatus {
	case DoNotAcceptAnyCalls, DoNotAcceptDepartmentCalls, TakeDepartmentCallsOnly:
	default:
		u.DNDStatus = TakeAllCalls
	}
	return u
}

// TakesDirectCalls reports whether calls to the extension itself ring it.
func (u UserPresence) TakesDirectCalls() bool {
	return u.DNDStatus != DoNotAcceptAnyCalls && u.DNDStatus != TakeDepartmentCallsOnly
}

// TakesDepartmentCalls reports whether calls to its departments ring it.
func (u UserPresence) TakesDepartmentCalls() bool {
	return u.DNDStatus != DoNotAcceptAnyCalls && u.DNDStatus != DoNotAcceptDepartmentCalls
}

// Presence is an extension's whole presence, as the presence resource and
// rc-adapter-syncPresence show it.
type Presence struct {
	TelephonyStatus telephony.TelephonyStatus
	UserStatus      string
	DNDStatus       string
	PresenceStatus  string // Available | Busy | Offline
}

// Of is the presence of an extension whose calls are in the telephony
// status and whose user set up ("" fields are the defaults, Available and
// TakeAllCalls). The aggregated presence status is Offline when the user
// says so; Busy on a call, when the user is Busy or takes no direct calls;
// else Available.
func Of(status telephony.TelephonyStatus, up UserPresence) Presence {
	if status == "" {
		status = telephony.NoCall
	}
	if up.UserStatus == "" {
		up.UserStatus = Available
	}
	if up.DNDStatus == "" {
		up.DNDStatus = TakeAllCalls
	}
	p := Presence{TelephonyStatus: status, UserStatus: up.UserStatus, DNDStatus: up.DNDStatus, PresenceStatus: Available}
	switch {
	case up.UserStatus == Offline:
		p.PresenceStatus = Offline
	case status != telephony.NoCall, up.UserStatus == Busy, !up.TakesDirectCalls():
		p.PresenceStatus = Busy
	}
	return p
}

// telephonyStatuses is the one table from a party's state to presence
// terms (seeds/001 "Call States"): a party rings until it is answered,
// then is connected or held; a party that left has no call.
var telephonyStatuses = map[telephony.PartyStatus]telephony.TelephonyStatus{
	telephony.StatusSetup:        telephony.Ringing,
	telephony.StatusProceeding:   telephony.Ringing,
	telephony.StatusAnswered:     telephony.CallConnected,
	telephony.StatusHold:         telephony.OnHold,
	telephony.StatusDisconnected: telephony.NoCall,
}

// TelephonyStatusOf is a party's state in presence terms.
func TelephonyStatusOf(s telephony.PartyStatus) telephony.TelephonyStatus {
	if st, ok := telephonyStatuses[s]; ok {
		return st
	}
	return telephony.NoCall
}

// rank orders telephony statuses for aggregation: the highest of an
// extension's parties is its status.
var rank = map[telephony.TelephonyStatus]int{
	telephony.NoCall:        0,
	telephony.OnHold:        1,
	telephony.CallConnected: 2,
	telephony.Ringing:       3,
}

// Aggregate is an extension's telephony presence from the states of its
// parties, one list per session it takes part in: Ringing while a call of
// it rings, in either direction; CallConnected while one is answered;
// OnHold when all are held; else NoCall. A session counts as active while
// one of the extension's parties in it has not left.
func Aggregate(sessions [][]telephony.PartyStatus) telephony.Presence {
	p := telephony.Presence{TelephonyStatus: telephony.NoCall}
	for _, parties := range sessions {
		active := false
		for _, ps := range parties {
			st := TelephonyStatusOf(ps)
			if st == telephony.NoCall {
				continue
			}
			active = true
			if rank[st] > rank[p.TelephonyStatus] {
				p.TelephonyStatus = st
			}
		}
		if active {
			p.ActiveSessions++
		}
	}
	return p
}
