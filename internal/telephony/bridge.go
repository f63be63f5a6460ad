package telephony

import (
	"context"
	"fmt"
	"log/slog"
)

// Warm (attended) transfer: a user talks to the target on a second call
// (the consultation; the first call is held for it, second.go), then joins
// the remote parties of the two calls and leaves both (Bridge). Cancelling
// is hanging up the consultation: the first call resumes.
//
// Each call keeps its session and its remaining party: the two sessions are
// linked (call.link), and their remaining parties' legs are connected at the
// gateway, so that no device sees its call change identity. The linked
// calls are one conversation from then on: a hold in either stops the audio
// both ways, and either party hanging up, or losing its leg, ends both.
// Neither can be transferred or bridged again, and neither is a RingOut.
// A call carried in G.711 (through a trunk, or with a desk phone) is joined
// only to another one: the gateway relays G.711 as it is, and does not
// transcode a browser's Opus.
//
// Events: for the first call "transferCompleted" (for the transferor's
// extension with Event.Target, the consultation's remote party), for the
// consultation "bridge"; the transferor's parties leave with result
// Transferred, each with its own call-log record.

// logBridged is the log line of a completed warm transfer (lifecycle.go).
const logBridged = "call transfer completed by bridge"

// Bridge connects the other party of the owner's party partyID in session
// sessionID to the other party of its party otherPartyID in otherSessionID,
// and the owner's two parties leave their calls (result Transferred): the
// server half of a warm transfer. Both parties must be answered or held on
// a device, each in a call with one other party that has a leg of its own.
// It returns sessionID after.
//
// Errors: ErrNoSuchCall, ErrNoSuchParty, ErrNotYourCall, ErrInvalidState.
func (s *Switch) Bridge(ctx context.Context, owner int64, sessionID, partyID, otherSessionID, otherPartyID string) (Session, error) {
	var fx effects
	s.mu.Lock()
	a, pa, oa, err := s.bridgeSideLocked(owner, sessionID, partyID)
	var b *call
	var pb, ob *Party
	if err == nil {
		b, pb, ob, err = s.bridgeSideLocked(owner, otherSessionID, otherPartyID)
	}
	if err == nil && a == b {
		err = fmt.Errorf("call %s bridged to itself: %w", sessionID, ErrInvalidState)
	}
	if err == nil && oa.g711 != ob.g711 {
		// A carrier's or desk phone's G.711 and a browser's Opus cannot meet without transcoding.
		err = fmt.Errorf("call %s carries G.711 and call %s does not: %w", sessionID, otherSessionID, ErrInvalidState)
		if ob.g711 {
			err = fmt.Errorf("call %s carries G.711 and call %s does not: %w", otherSessionID, sessionID, ErrInvalidState)
		}
	}
	if err != nil {
		s.mu.Unlock()
		return Session{}, fmt.Errorf("bridge: %w", err)
	}
	target, device, otherDevice := endpointOf(ob), pa.Device, pb.Device
	if !a.pending[legOf(oa)] && !b.pending[legOf(ob)] { // else once it connects again (handover.go)
		s.forwards = append(s.forwards, legForward{leg: legOf(oa), peer: legOf(ob)})
	}
	a.link, b.link = b, a
	now := s.cfg.Now()
	a.noteBridge(pa, oa, endpointOf(ob), now)
	b.noteBridge(pb, ob, endpointOf(oa), now)
	s.leaveLocked(a, pa, ResultTransferred, &fx)
	s.leaveLocked(b, pb, ResultTransferred, &fx)
	s.noteLocked(a, logBridged, partyAttrs(pa, slog.String("bridgedTo", b.s.ID), slog.String("device", device))...)
	s.applyForwardLocked(a)
	queued := len(s.queue)
	s.emitLocked(a, CauseTransferCompleted, device)
	for i := queued; i < len(s.queue); i++ {
		if s.queue[i].Extension == owner {
			s.queue[i].Target = target
		}
	}
	s.emitLocked(b, CauseBridge, otherDevice)
	a.dropLeft()
	b.dropLeft()
	s.forgetHeldLocked(pa.ID)
	s.forgetHeldLocked(pb.ID)
	snap := a.s.clone()
	s.mu.Unlock()
	s.finish(&fx)
	return snap, nil
}

// bridgeSideLocked checks one side of a bridge: the owner's party pid of
// session sid and the other party it talks to.
func (s *Switch) bridgeSideLocked(owner int64, sid, pid string) (*call, *Party, *Party, error) {
	c, ok := s.calls[sid]
	if !ok {
		return nil, nil, nil, fmt.Errorf("call %s: %w", sid, ErrNoSuchCall)
	}
	p := c.party(pid)
	switch {
	case p == nil:
		return nil, nil, nil, fmt.Errorf("call %s: party %s: %w", sid, pid, ErrNoSuchParty)
	case p.Owner == 0 || p.Owner != owner:
		return nil, nil, nil, fmt.Errorf("call %s: party %s is not extension %d's: %w", sid, pid, owner, ErrNotYourCall)
	case c.ro != nil:
		return nil, nil, nil, fmt.Errorf("call %s is a RingOut: %w", sid, ErrInvalidState)
	case c.xfer != nil:
		return nil, nil, nil, fmt.Errorf("call %s is being transferred: %w", sid, ErrInvalidState)
	case c.link != nil:
		return nil, nil, nil, fmt.Errorf("call %s is bridged already: %w", sid, ErrInvalidState)
	case c.conf != nil:
		return nil, nil, nil, inConferenceLocked(c, "bridge")
	case c.answering != "":
		return nil, nil, nil, fmt.Errorf("call %s: being answered on device %s: %w", sid, c.answering, ErrInvalidState)
	case p.Status != StatusAnswered && p.Status != StatusHold || p.Device == "":
		return nil, nil, nil, fmt.Errorf("call %s: party %s is %s: %w", sid, pid, p.Status, ErrInvalidState)
	}
	o := c.otherActive(p)
	if o == nil || !c.hasLeg(o) || o.Status != StatusAnswered && o.Status != StatusHold {
		return nil, nil, nil, fmt.Errorf("call %s: no connected remote party with a leg of its own: %w", sid, ErrInvalidState)
	}
	return c, p, o, nil
}
