package telephony

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// Conferences: calls of one user (the host) whose audio the gateway mixes,
// so that everyone hears everyone else and not themselves.
//
// The host merges a call of theirs into another one. The call merged into
// is the conference's anchor: the host's party there carries the host's
// audio. From the call merged in, the host's party leaves (its leg closes;
// its call-log record ends there, "Call connected") and the remote party
// stays, its leg moved from the host's into the conference's mix. Every
// call keeps its session, as a warm transfer's calls do (bridge.go): no
// device sees its call change identity, and each extension party keeps one
// call-log record. A conference of one call (StartConference) is a
// two-party call mixed rather than forwarded, ready for more.
//
// What a party does to its own call acts on its place in the conference: a
// hold takes it out (it neither speaks nor hears; the others go on), a mute
// keeps it from speaking. The host may also mute a participant, remove one
// (that participant's call ends; a participant of the anchor only leaves
// it), or end the conference for all. The host hanging up leaves it: two or
// more participants go on talking without the host; one is left alone, so
// the conference ends. A participant hanging up leaves; when no participant
// is left, the conference ends. Media failures of a leg count as its party
// hanging up.
//
// Every change reaches every extension in the conference as an event with
// the Conference after it (Event.Conference): the host's with the anchor's
// session, a participant's with their own call's.
//
// Calls in a conference cannot be transferred, bridged, moved, recorded or
// sent to voicemail; a RingOut, a call being transferred and a bridged call
// cannot join one.

// MaxConferenceParticipants caps the participants of one conference, the
// host not counted.
const MaxConferenceParticipants = 20

// ErrNoConferences: the media gateway cannot mix audio.
var ErrNoConferences = errors.New("conferences not available")

// Causes of conference events.
const (
	CauseConferenceCreated Cause = "conferenceCreated" // a call became a conference
	CauseConferenceJoined  Cause = "conferenceJoined"  // a call was merged in
	CauseConferenceLeft    Cause = "conferenceLeft"    // a participant, or the host, hung up
	CauseConferenceRemoved Cause = "conferenceRemoved" // the host removed a participant
	CauseConferenceHeld    Cause = "conferenceHeld"    // the host is out of it, on hold
	CauseConferenceResumed Cause = "conferenceResumed" // the host is back
	CauseConferenceUpdated Cause = "conferenceUpdated" // a participant held, muted or resumed
	CauseConferenceEnded   Cause = "conferenceEnded"
	CauseConferenceInvited Cause = "conferenceInvited" // the host called someone to join (Invite)
	// CauseConferenceRejected: the one invited did not answer, declined, or
	// could not join.
	CauseConferenceRejected Cause = "conferenceRejected"
	// CauseMerged is the session event of a call merged into a
	// conference: its host's party left it.
	CauseMerged Cause = "merged"
)

// ConferenceState is a conference as its host sees it.
type ConferenceState string

// Conference states.
const (
	ConferenceConnected ConferenceState = "connected"
	ConferenceHeld      ConferenceState = "held" // the host holds
	ConferenceEnded     ConferenceState = "ended"
)

// Conference is a conference as the switch reports it.
type Conference struct {
	ID           string
	SessionID    string // telephonySessionId of the anchor, the host's call
	Host         int64  // the host's extension
	HostPresent  bool   // the host has not left
	State        ConferenceState
	Created      time.Time
	Participants []Participant // the host first while present, then in the order they joined
	Invitations  []Invitation  // calls the host placed to add someone, still ringing
}

// Invitation is a call the host placed to add someone to a conference
// (Invite): it joins once answered.
type Invitation struct {
	SessionID string   // the call's telephonySessionId
	To        Endpoint // who it rings
}

// Participant is one party of a conference.
type Participant struct {
	PartyID   string
	SessionID string // the telephonySessionId of the party's call
	Endpoint         // who the party is
	Direction Direction
	Host      bool
	Status    PartyStatus
	Muted     bool // muted, by themselves or by the host
	// MutedByHost: the host muted the participant; only the host unmutes.
	MutedByHost bool
}

// MixMember is one leg of a conference's mix.
type MixMember struct {
	Leg    string
	Speak  bool // its audio goes into the others' mix
	Listen bool // it hears the others
}

// Mixer is what the media gateway does for conferences: SetMix makes mix id
// carry exactly members (none ends it); each hears the others who speak.
type Mixer interface {
	SetMix(id string, members []MixMember) error
}

// conference is a conference in the switch.
type conference struct {
	id        string
	host      int64
	anchor    *call
	hostParty string // the host's party in anchor; "" once the host left
	members   []*member
	created   time.Time
	held      bool    // the host holds: the last state told
	ending    bool    // its calls are being ended together
	invites   []*call // calls placed to add someone, ringing (Invite)
}

// member is one participant: the remote party of a call in the conference.
type member struct {
	c           *call
	party       string
	mutedByHost bool
}

// host is the host's party, nil once the host left.
func (cf *conference) hostPartyLocked() *Party {
	if cf.hostParty == "" {
		return nil
	}
	p := cf.anchor.party(cf.hostParty)
	if p == nil || !p.active() {
		return nil
	}
	return p
}

// active lists the members whose party is still in the conference.
func (cf *conference) active() []*member {
	var out []*member
	for _, m := range cf.members {
		if p := m.c.party(m.party); p != nil && p.active() {
			out = append(out, m)
		}
	}
	return out
}

// memberOf returns the member of call c, or nil.
func (cf *conference) memberOf(c *call) *member {
	for _, m := range cf.members {
		if m.c == c {
			return m
		}
	}
	return nil
}

// drop takes m out of the conference.
func (cf *conference) drop(m *member) {
	cf.members = slices.DeleteFunc(cf.members, func(x *member) bool { return x == m })
	if m.c != cf.anchor {
		m.c.conf = nil
	}
}

// snapshot is the conference as reported.
func (cf *conference) snapshot(state ConferenceState) Conference {
	out := Conference{ID: cf.id, SessionID: cf.anchor.s.ID, Host: cf.host, State: state, Created: cf.created}
	if hp := cf.hostPartyLocked(); hp != nil {
		out.HostPresent = true
		out.Participants = append(out.Participants, Participant{
			PartyID: hp.ID, SessionID: cf.anchor.s.ID, Endpoint: ownEndpoint(hp), Direction: hp.Direction, Host: true,
			Status: hp.Status, Muted: hp.Muted,
		})
	}
	for _, c := range cf.invites {
		out.Invitations = append(out.Invitations, Invitation{SessionID: c.s.ID, To: c.caller().To})
	}
	for _, m := range cf.active() {
		p := m.c.party(m.party)
		out.Participants = append(out.Participants, Participant{
			PartyID: p.ID, SessionID: m.c.s.ID, Endpoint: ownEndpoint(p), Direction: p.Direction, Status: p.Status,
			Muted: p.Muted || m.mutedByHost, MutedByHost: m.mutedByHost,
		})
	}
	return out
}

// state is the conference's state now.
func (cf *conference) state() ConferenceState {
	if cf.ending {
		return ConferenceEnded
	}
	if hp := cf.hostPartyLocked(); hp != nil && hp.Status == StatusHold {
		return ConferenceHeld
	}
	return ConferenceConnected
}

// ownEndpoint is who party p is: the side of the call that is its own.
func ownEndpoint(p *Party) Endpoint {
	if p.Direction == Outbound {
		return p.From
	}
	return p.To
}

// ---------------------------------------------------------------------------
// Requests

// Merge brings the device's call otherSessionID into the conference of its
// call sessionID, making one when there is none; the device's user is the
// host. Both of the device's parties must be answered or held, each call
// with one other party that has a leg of its own. The host's party of
// sessionID is live after (resumed if it was held); that of otherSessionID
// leaves its call.
//
// Errors: ErrNoDevice, ErrNoSuchCall, ErrNotYourCall, ErrInvalidState,
// ErrNoConferences, ErrTooManyCalls (a full conference).
func (s *Switch) Merge(ctx context.Context, device, sessionID, otherSessionID string) (Conference, error) {
	var fx effects
	s.mu.Lock()
	cf, err := s.mergeDeviceLocked(device, sessionID, otherSessionID, &fx)
	s.mu.Unlock()
	s.finish(&fx)
	return cf, err
}

func (s *Switch) mergeDeviceLocked(device, sessionID, otherSessionID string, fx *effects) (Conference, error) {
	a, err := s.callLocked(device, sessionID)
	if err != nil {
		return Conference{}, fmt.Errorf("merge: %w", err)
	}
	b, err := s.callLocked(device, otherSessionID)
	if err != nil {
		return Conference{}, fmt.Errorf("merge: %w", err)
	}
	pa, pb := a.partyOfDevice(device), b.partyOfDevice(device)
	switch {
	case pa == nil:
		return Conference{}, fmt.Errorf("merge: %w", s.notPartyLocked(a, device))
	case pb == nil:
		return Conference{}, fmt.Errorf("merge: %w", s.notPartyLocked(b, device))
	}
	return s.mergeLocked(pa.Owner, a, pa, b, pb, fx)
}

// MergeParty is Merge for the platform's API: the owner's party partyID of
// sessionID hosts, and its party otherPartyID of otherSessionID is brought
// in (…/parties/bring-in). Errors as Merge's, and ErrNoSuchParty.
func (s *Switch) MergeParty(ctx context.Context, owner int64, sessionID, partyID, otherSessionID, otherPartyID string) (Conference, error) {
	var fx effects
	s.mu.Lock()
	cf, err := func() (Conference, error) {
		a, pa, err := s.ownPartyLocked(owner, sessionID, partyID)
		if err != nil {
			return Conference{}, err
		}
		b, pb, err := s.ownPartyLocked(owner, otherSessionID, otherPartyID)
		if err != nil {
			return Conference{}, err
		}
		return s.mergeLocked(owner, a, pa, b, pb, &fx)
	}()
	s.mu.Unlock()
	s.finish(&fx)
	if err != nil {
		return Conference{}, fmt.Errorf("merge: %w", err)
	}
	return cf, nil
}

// StartConference makes the owner's call sessionID, where partyID is theirs,
// a conference of one participant, the owner hosting (POST
// …/telephony/conference); a conference already hosted there is returned
// as it is. Errors as MergeParty's.
func (s *Switch) StartConference(ctx context.Context, owner int64, sessionID, partyID string) (Conference, error) {
	var fx effects
	s.mu.Lock()
	cf, err := func() (Conference, error) {
		a, pa, err := s.ownPartyLocked(owner, sessionID, partyID)
		if err != nil {
			return Conference{}, err
		}
		if cf := a.conf; cf != nil {
			if cf.anchor == a && cf.hostParty == pa.ID {
				return cf.snapshot(cf.state()), nil
			}
			return Conference{}, fmt.Errorf("call %s is in conference %s already: %w", a.s.ID, cf.id, ErrInvalidState)
		}
		if err := s.confCallLocked(a, pa); err != nil {
			return Conference{}, err
		}
		cf := s.newConferenceLocked(a, pa)
		s.mixLocked(cf)
		s.emitConferenceLocked(cf, CauseConferenceCreated, pa.Device)
		return cf.snapshot(cf.state()), nil
	}()
	s.mu.Unlock()
	s.finish(&fx)
	if err != nil {
		return Conference{}, fmt.Errorf("start conference: %w", err)
	}
	return cf, nil
}

// ownPartyLocked finds the owner's party pid of session sid.
func (s *Switch) ownPartyLocked(owner int64, sid, pid string) (*call, *Party, error) {
	c, ok := s.calls[sid]
	if !ok {
		return nil, nil, fmt.Errorf("call %s: %w", sid, ErrNoSuchCall)
	}
	p := c.party(pid)
	switch {
	case p == nil:
		return nil, nil, fmt.Errorf("call %s: party %s: %w", sid, pid, ErrNoSuchParty)
	case p.Owner == 0 || p.Owner != owner:
		return nil, nil, fmt.Errorf("call %s: party %s is not extension %d's: %w", sid, pid, owner, ErrNotYourCall)
	}
	return c, p, nil
}

// confCallLocked checks that call c, where p is the host's party, can be
// in a conference: the host's party answered or held on a device, and one
// other party with a leg of its own.
func (s *Switch) confCallLocked(c *call, p *Party) error {
	if _, ok := s.media.(Mixer); !ok {
		return ErrNoConferences
	}
	switch {
	case c.ro != nil:
		return fmt.Errorf("call %s is a RingOut: %w", c.s.ID, ErrInvalidState)
	case c.xfer != nil:
		return fmt.Errorf("call %s is being transferred: %w", c.s.ID, ErrInvalidState)
	case c.link != nil:
		return fmt.Errorf("call %s is bridged: %w", c.s.ID, ErrInvalidState)
	case c.vm != nil:
		return fmt.Errorf("call %s is at voicemail: %w", c.s.ID, ErrInvalidState)
	case c.answering != "":
		return fmt.Errorf("call %s: being answered on device %s: %w", c.s.ID, c.answering, ErrInvalidState)
	case c.s.Recording != nil:
		return fmt.Errorf("call %s is being recorded: %w", c.s.ID, ErrInvalidState)
	case p.Status != StatusAnswered && p.Status != StatusHold || p.Device == "" || !c.hasLeg(p):
		return fmt.Errorf("call %s: party %s is %s: %w", c.s.ID, p.ID, p.Status, ErrInvalidState)
	}
	o := c.otherActive(p)
	if o == nil || !c.hasLeg(o) || o.Status != StatusAnswered && o.Status != StatusHold || c.earlyLocked(o) {
		return fmt.Errorf("call %s: no connected remote party with a leg of its own: %w", c.s.ID, ErrInvalidState)
	}
	return nil
}

// newConferenceLocked makes call a, where pa is the host's party, a
// conference of one participant.
func (s *Switch) newConferenceLocked(a *call, pa *Party) *conference {
	cf := &conference{id: newID("conf-"), host: pa.Owner, anchor: a, hostParty: pa.ID, created: s.cfg.Now()}
	cf.members = []*member{{c: a, party: a.otherActive(pa).ID}}
	a.conf = cf
	s.noteLocked(a, "conference started", partyAttrs(pa, slog.String("conference", cf.id))...)
	return cf
}

// mergeLocked brings call b, where pb is the owner's party, into the
// conference of call a, where pa is.
func (s *Switch) mergeLocked(owner int64, a *call, pa *Party, b *call, pb *Party, fx *effects) (Conference, error) {
	if a == b {
		return Conference{}, fmt.Errorf("call %s merged with itself: %w", a.s.ID, ErrInvalidState)
	}
	if pa.Owner != pb.Owner {
		return Conference{}, fmt.Errorf("parties %s and %s are not one user's: %w", pa.ID, pb.ID, ErrNotYourCall)
	}
	if a.conf == nil && b.conf != nil && b.conf.anchor == b && b.conf.hostParty == pb.ID {
		// A call merged with the conference its user hosts joins it.
		a, pa, b, pb = b, pb, a, pa
	}
	cf := a.conf
	switch {
	case cf != nil && (cf.anchor != a || cf.hostParty != pa.ID):
		return Conference{}, fmt.Errorf("call %s is in a conference extension %d hosts: %w", a.s.ID, cf.host, ErrInvalidState)
	case cf == nil:
		if err := s.confCallLocked(a, pa); err != nil {
			return Conference{}, err
		}
	case cf.hostPartyLocked() == nil:
		return Conference{}, fmt.Errorf("the host left conference %s: %w", cf.id, ErrInvalidState)
	}
	if b.conf != nil {
		return Conference{}, fmt.Errorf("call %s is in a conference already: %w", b.s.ID, ErrInvalidState)
	}
	if err := s.confCallLocked(b, pb); err != nil {
		return Conference{}, err
	}
	if cf != nil && len(cf.active()) >= MaxConferenceParticipants {
		return Conference{}, fmt.Errorf("conference %s has %d participants: %w", cf.id, MaxConferenceParticipants, ErrTooManyCalls)
	}
	device := pa.Device
	cause := CauseConferenceJoined
	if cf == nil {
		cf = s.newConferenceLocked(a, pa)
		cause = CauseConferenceCreated
	}
	ob := b.otherActive(pb)
	cf.members = append(cf.members, &member{c: b, party: ob.ID})
	b.conf = cf

	// The host's party of b leaves it; its remote party stays, mixed.
	s.leaveLocked(b, pb, ResultConnected, fx)
	s.forgetHeldLocked(pb.ID)
	delete(s.autoHeld, b.s.ID)
	s.noteLocked(b, "call merged into a conference", partyAttrs(pb, slog.String("conference", cf.id), slog.String("anchor", a.s.ID))...)
	s.emitLocked(b, CauseMerged, device)
	b.dropLeft()

	// The host talks in the conference.
	if pa.Status == StatusHold {
		s.holdLiveLocked(device, a.s.ID, "", fx)
		if err := s.moveLocked(a, fx, move{pa, StatusAnswered}); err == nil {
			s.forgetHeldLocked(pa.ID)
			s.emitLocked(a, CauseUnhold, device)
		}
	}
	s.mixLocked(cf)
	s.emitConferenceLocked(cf, cause, device)
	return cf.snapshot(cf.state()), nil
}

// ConferenceOf returns the conference that call sessionID is in, for
// extension ext: the host or a participant.
func (s *Switch) ConferenceOf(ext int64, sessionID string) (Conference, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cf := s.conferenceLocked(sessionID)
	if cf == nil || !cf.involves(ext) {
		return Conference{}, false
	}
	return cf.snapshot(cf.state()), true
}

// HasConference reports whether id, a conference's id or the session of
// one of its calls, is a conference of this switch.
func (s *Switch) HasConference(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conferenceLocked(id) != nil
}

// conferenceLocked finds a conference by its id or the session of one of
// its calls.
func (s *Switch) conferenceLocked(id string) *conference {
	if c, ok := s.calls[id]; ok {
		return c.conf
	}
	for _, c := range s.calls {
		if c.conf != nil && c.conf.id == id {
			return c.conf
		}
	}
	return nil
}

// involves reports whether ext is the present host or a participant.
func (cf *conference) involves(ext int64) bool {
	if cf.hostPartyLocked() != nil && cf.host == ext {
		return true
	}
	for _, m := range cf.active() {
		if m.c.party(m.party).Owner == ext {
			return true
		}
	}
	return false
}

// hostedLocked finds the conference id (or the session of one of its calls)
// that owner hosts and is in.
func (s *Switch) hostedLocked(owner int64, id string) (*conference, error) {
	cf := s.conferenceLocked(id)
	switch {
	case cf == nil:
		return nil, fmt.Errorf("conference %s: %w", id, ErrNoSuchCall)
	case cf.host != owner:
		return nil, fmt.Errorf("conference %s is hosted by extension %d: %w", cf.id, cf.host, ErrNotYourCall)
	case cf.hostPartyLocked() == nil:
		return nil, fmt.Errorf("the host left conference %s: %w", cf.id, ErrInvalidState)
	}
	return cf, nil
}

// memberByParty finds the participant whose party is pid.
func (cf *conference) memberByParty(pid string) *member {
	for _, m := range cf.active() {
		if m.party == pid {
			return m
		}
	}
	return nil
}

// RemoveParticipant takes the participant whose party is partyID out of
// the conference that owner hosts (id: the conference's, or a session of
// one of its calls): their call ends, or, for the anchor's remote party,
// they leave it. The host's own party leaves as a hangup would.
// Errors: ErrNoSuchCall, ErrNotYourCall, ErrNoSuchParty, ErrInvalidState.
func (s *Switch) RemoveParticipant(ctx context.Context, owner int64, id, partyID string) error {
	var fx effects
	s.mu.Lock()
	err := func() error {
		cf, err := s.hostedLocked(owner, id)
		if err != nil {
			return err
		}
		if partyID == cf.hostParty {
			s.hangupLocked(cf.anchor, cf.anchor.party(partyID).Device, &fx)
			return nil
		}
		m := cf.memberByParty(partyID)
		if m == nil {
			return fmt.Errorf("conference %s: party %s: %w", cf.id, partyID, ErrNoSuchParty)
		}
		p := m.c.party(m.party)
		if len(cf.active()) == 1 {
			// The last participant: nothing is left to confer.
			s.endConferenceLocked(cf, CauseHangup, "", &fx)
			return nil
		}
		gone := *p // p points into its call's parties, which change
		if m.c == cf.anchor {
			s.leaveAnchorLocked(cf, m, CauseHangup, "", &fx)
		} else {
			cf.drop(m)
			s.endLocked(m.c, ending{caller: ResultConnected, callee: ResultConnected}, CauseHangup, "", &fx)
		}
		s.noteLocked(cf.anchor, "conference participant removed", partyAttrs(&gone, slog.String("conference", cf.id))...)
		s.mixLocked(cf)
		s.emitConferenceLocked(cf, CauseConferenceRemoved, "", gone.Owner)
		return nil
	}()
	s.mu.Unlock()
	s.finish(&fx)
	if err != nil {
		return fmt.Errorf("remove participant: %w", err)
	}
	return nil
}

// MuteParticipant mutes (or unmutes) a participant for the others, as the
// host of the conference asks; the participant's own mute is theirs.
func (s *Switch) MuteParticipant(ctx context.Context, owner int64, id, partyID string, muted bool) error {
	var fx effects
	s.mu.Lock()
	err := func() error {
		cf, err := s.hostedLocked(owner, id)
		if err != nil {
			return err
		}
		m := cf.memberByParty(partyID)
		if m == nil {
			return fmt.Errorf("conference %s: party %s: %w", cf.id, partyID, ErrNoSuchParty)
		}
		if m.mutedByHost == muted {
			return nil
		}
		m.mutedByHost = muted
		s.mixLocked(cf)
		s.emitConferenceLocked(cf, CauseConferenceUpdated, "")
		return nil
	}()
	s.mu.Unlock()
	s.finish(&fx)
	if err != nil {
		return fmt.Errorf("mute participant: %w", err)
	}
	return nil
}

// EndConference ends, for everyone, the conference that owner hosts: every
// call in it ends.
func (s *Switch) EndConference(ctx context.Context, owner int64, id string) error {
	var fx effects
	s.mu.Lock()
	cf, err := s.hostedLocked(owner, id)
	if err == nil {
		s.endConferenceLocked(cf, CauseHangup, cf.hostPartyLocked().Device, &fx)
	}
	s.mu.Unlock()
	s.finish(&fx)
	if err != nil {
		return fmt.Errorf("end conference: %w", err)
	}
	return nil
}

// HostedBy returns the device's conference it hosts, by the id of one of
// its calls or the conference's, for the widget's commands.
func (s *Switch) HostedBy(device, id string) (Conference, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.devices[device]
	if !ok {
		return Conference{}, fmt.Errorf("device %s: %w", device, ErrNoDevice)
	}
	cf, err := s.hostedLocked(d.ExtensionID, id)
	if err != nil {
		return Conference{}, err
	}
	return cf.snapshot(cf.state()), nil
}

// invitation is a call placed to add someone to the conference of anchor,
// hosted (or to be hosted) by its party (Invite).
type invitation struct {
	anchor *call
	party  string
}

// conf is the conference the invitation is for, when there is one yet.
func (inv *invitation) conf() *conference {
	if cf := inv.anchor.conf; cf != nil && cf.anchor == inv.anchor && cf.hostParty == inv.party && !cf.ending {
		return cf
	}
	return nil
}

// Invite has the device call to as Dial does, to add the one it calls to
// the conference of id: a conference the device hosts (its id or a session
// of one of its calls), or a connected call of the device, which becomes a
// conference once the call is answered. The conference is held for the
// host meanwhile (the others talk on); once answered, the call joins it.
// Everyone in the conference hears of the invitation ("conferenceInvited")
// and of its end without an answer, or of a call that cannot join
// ("conferenceRejected"): the host's side then resumes, as for any second
// call that fails. Errors as Dial's, and ErrNoSuchCall, ErrNotYourCall,
// ErrInvalidState, ErrTooManyCalls for id.
func (s *Switch) Invite(ctx context.Context, device, id, to, offerSDP string) (Session, string, error) {
	if strings.TrimSpace(to) == "" {
		return Session{}, "", fmt.Errorf("invite: empty number: %w", ErrBadNumber)
	}
	sid := newID("s-")
	s.mu.Lock()
	inv, err := s.invitationLocked(device, id)
	if err == nil {
		s.invites[sid] = inv
	}
	s.mu.Unlock()
	if err != nil {
		return Session{}, "", fmt.Errorf("invite: %w", err)
	}
	snap, answer, err := s.dial(ctx, sid, device, to, offerSDP)
	var fx effects
	s.mu.Lock()
	if err != nil {
		delete(s.invites, sid)
	} else if c := s.calls[sid]; c != nil && s.invites[sid] == inv {
		// Still ringing: everyone in the conference hears of it.
		s.noteLocked(c, "conference invitation", slog.String("anchor", inv.anchor.s.ID))
		if cf := inv.conf(); cf != nil {
			cf.invites = append(cf.invites, c)
			s.emitConferenceLocked(cf, CauseConferenceInvited, device)
		}
	}
	s.mu.Unlock()
	s.finish(&fx)
	if err != nil {
		s.resumeHeld(sid)
	}
	return snap, answer, err
}

// invitationLocked is what the device's Invite to id is for.
func (s *Switch) invitationLocked(device, id string) (*invitation, error) {
	d, ok := s.devices[device]
	if !ok {
		return nil, fmt.Errorf("device %s: %w", device, ErrNoDevice)
	}
	if cf := s.conferenceLocked(id); cf != nil {
		if _, err := s.hostedLocked(d.ExtensionID, id); err != nil {
			return nil, err
		}
		if n := len(cf.active()) + len(cf.invites); n >= MaxConferenceParticipants {
			return nil, fmt.Errorf("conference %s has %d participants: %w", cf.id, n, ErrTooManyCalls)
		}
		return &invitation{anchor: cf.anchor, party: cf.hostParty}, nil
	}
	c, err := s.callLocked(device, id)
	if err != nil {
		return nil, err
	}
	p := c.partyOfDevice(device)
	if p == nil {
		return nil, s.notPartyLocked(c, device)
	}
	if err := s.confCallLocked(c, p); err != nil {
		return nil, err
	}
	return &invitation{anchor: c, party: p.ID}, nil
}

// invitationAnsweredLocked merges call c, placed by Invite and answered,
// into its conference (making one of the anchor when there is none yet); a
// call that cannot join stays a call of its own.
func (s *Switch) invitationAnsweredLocked(c *call, fx *effects) {
	inv, ok := s.invites[c.s.ID]
	if !ok {
		return
	}
	delete(s.invites, c.s.ID)
	cf := inv.conf()
	if cf != nil {
		cf.invites = slices.DeleteFunc(cf.invites, func(x *call) bool { return x == c })
	}
	hp := inv.anchor.party(inv.party)
	if s.calls[inv.anchor.s.ID] != inv.anchor || hp == nil || !hp.active() || inv.anchor.conf != nil && cf == nil {
		return // the conference, or the call it was to be, is gone
	}
	if _, err := s.mergeLocked(hp.Owner, inv.anchor, hp, c, c.caller(), fx); err != nil {
		s.noteLocked(c, "conference invitation answered, cannot join", slog.String("anchor", inv.anchor.s.ID), slog.Any("err", err))
		if cf != nil {
			s.emitConferenceLocked(cf, CauseConferenceRejected, c.caller().Device)
		}
	}
}

// invitationEndedLocked tells the conference that call c, placed by Invite,
// ended before it was answered.
func (s *Switch) invitationEndedLocked(c *call, device string) {
	inv, ok := s.invites[c.s.ID]
	if !ok {
		return
	}
	delete(s.invites, c.s.ID)
	if cf := inv.conf(); cf != nil {
		cf.invites = slices.DeleteFunc(cf.invites, func(x *call) bool { return x == c })
		s.emitConferenceLocked(cf, CauseConferenceRejected, device)
	}
}

// ---------------------------------------------------------------------------
// Within the switch

// endConferenceLocked ends every call of the conference.
func (s *Switch) endConferenceLocked(cf *conference, cause Cause, device string, fx *effects) {
	if cf.ending {
		return
	}
	cf.ending = true
	involved := cf.extensions()
	s.noteLocked(cf.anchor, "conference ended", slog.String("conference", cf.id))
	s.forwards = append(s.forwards, legForward{mix: cf.id})
	s.emitConferenceLocked(cf, CauseConferenceEnded, device, involved...)
	calls := []*call{cf.anchor}
	for _, m := range cf.members {
		if !slices.Contains(calls, m.c) {
			calls = append(calls, m.c)
		}
	}
	for _, c := range calls {
		if s.calls[c.s.ID] == c {
			s.endLocked(c, ending{caller: ResultConnected, callee: ResultConnected}, cause, device, fx)
		}
		c.conf = nil
	}
}

// extensions lists the extensions in the conference: the host while
// present, then the participants'.
func (cf *conference) extensions() []int64 {
	var out []int64
	if cf.hostPartyLocked() != nil {
		out = append(out, cf.host)
	}
	for _, m := range cf.active() {
		if o := m.c.party(m.party).Owner; o != 0 && !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out
}

// leaveConferenceLocked is endLocked's for a call in a conference: it
// reports true when the call goes on without the party that ended it (the
// anchor keeps its host, or its participant), false when the call is to
// end as usual, the conference having let go of it.
func (s *Switch) leaveConferenceLocked(c *call, cause Cause, device string, fx *effects) bool {
	cf := c.conf
	if cf.ending {
		return false
	}
	if s.closed { // the switch shuts down: every call ends
		s.endConferenceLocked(cf, cause, device, fx)
		return true
	}
	hp := cf.hostPartyLocked()
	m := cf.memberOf(c)
	if c == cf.anchor && hp != nil {
		others := len(cf.active())
		if m != nil && slices.Contains(cf.active(), m) {
			others--
		}
		if device != "" && device == hp.Device {
			// The host hangs up: two participants or more go on without them.
			if len(cf.active()) < 2 {
				s.endConferenceLocked(cf, cause, device, fx)
				return true
			}
			s.leaveLocked(c, hp, ResultConnected, fx)
			s.noteLocked(c, "conference host left", partyAttrs(hp, slog.String("conference", cf.id))...)
			s.emitLocked(c, cause, device)
			c.dropLeft() // told: the conference's event is not another end
			s.mixLocked(cf)
			s.emitConferenceLocked(cf, CauseConferenceLeft, device, cf.host)
			cf.hostParty = ""
			return true
		}
		// The anchor's participant ended it.
		if others == 0 || m == nil {
			s.endConferenceLocked(cf, cause, device, fx)
			return true
		}
		gone := s.leaveAnchorLocked(cf, m, cause, device, fx)
		s.noteLocked(c, "conference participant left", partyAttrs(&gone, slog.String("conference", cf.id))...)
		s.mixLocked(cf)
		s.emitConferenceLocked(cf, CauseConferenceLeft, device, gone.Owner)
		return true
	}
	// A participant's call ends.
	var owner int64
	if m != nil {
		if p := c.party(m.party); p != nil {
			owner = p.Owner
		}
		cf.drop(m)
	}
	c.conf = nil
	if left := len(cf.active()); left == 0 || hp == nil && left < 2 {
		// Nobody to talk to: the host alone, or one participant without a host.
		s.endConferenceLocked(cf, cause, device, fx)
		return false
	}
	s.mixLocked(cf)
	s.emitConferenceLocked(cf, CauseConferenceLeft, device, owner)
	return false
}

// leaveAnchorLocked takes participant m, the anchor's remote party, out of
// the conference and the anchor, which goes on with its host; it returns
// the party as it left.
func (s *Switch) leaveAnchorLocked(cf *conference, m *member, cause Cause, device string, fx *effects) Party {
	c := cf.anchor
	p := c.party(m.party)
	cf.drop(m)
	s.leaveLocked(c, p, ResultConnected, fx)
	gone := *p // p points into the anchor's parties, which dropLeft changes
	s.emitLocked(c, cause, device)
	c.dropLeft() // told: the conference's event is not another end
	return gone
}

// mixLocked queues the conference's mix as its parties' states say. No
// carrier in it is on hold: a hold is the mix's to make.
func (s *Switch) mixLocked(cf *conference) {
	s.trunkHoldLocked(cf.anchor, false)
	for _, m := range cf.active() {
		s.trunkHoldLocked(m.c, false)
	}
	var mix []MixMember
	if hp := cf.hostPartyLocked(); hp != nil && cf.anchor.hasLeg(hp) && !cf.anchor.pending[legOf(hp)] {
		live := hp.Status == StatusAnswered
		mix = append(mix, MixMember{Leg: legOf(hp), Speak: live && !hp.Muted, Listen: live})
	}
	for _, m := range cf.active() {
		p := m.c.party(m.party)
		if !m.c.hasLeg(p) || m.c.pending[legOf(p)] { // a leg that connects again joins then (handover.go)
			continue
		}
		live := p.Status == StatusAnswered
		mix = append(mix, MixMember{Leg: legOf(p), Speak: live && !p.Muted && !m.mutedByHost, Listen: live})
	}
	// The gateway takes a leg that forwards nothing as silent: each
	// member's forwarding is its speaking.
	for _, m := range mix {
		s.forwards = append(s.forwards, legForward{leg: m.Leg, on: m.Speak})
	}
	s.forwards = append(s.forwards, legForward{mix: cf.id, members: mix})
}

// emitConferenceLocked queues cause with the conference after it for every
// extension in it, and for also (those who just left it).
func (s *Switch) emitConferenceLocked(cf *conference, cause Cause, device string, also ...int64) {
	state := cf.state()
	if cause == CauseConferenceEnded {
		state = ConferenceEnded
	}
	snap := cf.snapshot(state)
	exts := cf.extensions()
	for _, e := range also {
		if e != 0 && !slices.Contains(exts, e) {
			exts = append(exts, e)
		}
	}
	for _, ext := range exts {
		c := cf.anchor
		if ext != cf.host || cf.hostPartyLocked() == nil {
			for _, m := range cf.members {
				if p := m.c.party(m.party); p != nil && p.Owner == ext {
					c = m.c
					break
				}
			}
		}
		s.emitToLocked(ext, c, cause, device)
		cc := snap
		s.queue[len(s.queue)-1].Conference = &cc
	}
	cf.held = state == ConferenceHeld
}

// confChangedLocked tells the conference of call c that a party of c
// changed (a hold, a resume, a mute): the mix follows, and everyone hears
// of it.
func (s *Switch) confChangedLocked(c *call, device string) {
	cf := c.conf
	if cf == nil || cf.ending {
		return
	}
	s.mixLocked(cf)
	cause := CauseConferenceUpdated
	switch st := cf.state(); {
	case st == ConferenceHeld && !cf.held:
		cause = CauseConferenceHeld
	case st == ConferenceConnected && cf.held:
		cause = CauseConferenceResumed
	}
	s.emitConferenceLocked(cf, cause, device)
}

// inConferenceLocked refuses what a call in a conference cannot do.
func inConferenceLocked(c *call, what string) error {
	if c.conf != nil {
		return fmt.Errorf("%s call %s: in conference %s: %w", what, c.s.ID, c.conf.id, ErrInvalidState)
	}
	return nil
}
