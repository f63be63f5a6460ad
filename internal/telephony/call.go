package telephony

import (
	"fmt"
	"slices"
	"time"
)

// call is an active session with what the switch needs to run it.
//
// A session holds any number of parties, each with its own state, owner,
// device and media leg; code that acts on a party finds it by id, device or
// ring (party, partyOfDevice, ringingParty), never by its place. Two places
// have a role: Parties[0] is the caller, the side that placed the call, and
// Parties[1] the callee, the party that answers for the called side. Other
// parties ring alongside the callee until one of them answers and takes its
// place (departments.go). A party may leave a session that goes on: it is
// published as Disconnected, then dropped (dropLeft).
type call struct {
	s          Session
	legs       []string // open media legs (party ids)
	timers     []*time.Timer
	timerGen   int           // counts stopTimersLocked: a timer of an earlier count is stale
	answering  string        // device whose answer is opening its leg
	ro         *ringOut      // set when the session is a RingOut
	xfer       *transfer     // set while a transfer's target, or its recall, rings (transfer.go)
	link       *call         // the call whose remaining party this one's is connected to (bridge.go)
	conf       *conference   // the conference the call is in (conference.go)
	trunks     []*trunkCall  // the sides reached through trunks: the callee, a carrier's caller, a target (trunk.go)
	book       legBook       // the call-log legs of its parties, once handed on (records.go)
	called     *called       // the extension the call rings and its answering rule; nil for other numbers (voicemail.go)
	vm         *voicemail    // set once the caller reached voicemail (voicemail.go)
	recorded   *RecordingRef // the call's last recording that stopped, its owner's (recording.go)
	recordedBy int64
	autoRecord int64 // the extension whose rule records the call from its answer; 0: none

	offerTimer *time.Timer // ends a move offer nobody takes (move.go)
	quiet      bool        // being forgotten: ended elsewhere already (Forget)
	// pending are the legs of a call adopted from another switch that
	// their devices have not connected again yet (handover.go).
	pending map[string]bool
}

// legOf is the id of party p's media leg.
func legOf(p *Party) string {
	if p.leg != "" {
		return p.leg
	}
	return p.ID
}

// hasLeg reports whether party p has an open media leg.
func (c *call) hasLeg(p *Party) bool { return slices.Contains(c.legs, legOf(p)) }

// partyOfLeg returns the party whose media leg is leg, or nil.
func (c *call) partyOfLeg(leg string) *Party {
	for i := range c.s.Parties {
		if legOf(&c.s.Parties[i]) == leg {
			return &c.s.Parties[i]
		}
	}
	return nil
}

// caller is the party that placed the call: for a RingOut, the owner's from leg.
func (c *call) caller() *Party { return &c.s.Parties[0] }

// callee is the party that answers, or rings first, for the called side.
func (c *call) callee() *Party { return &c.s.Parties[1] }

// callLocked finds an active call for a registered device.
func (s *Switch) callLocked(device, sessionID string) (*call, error) {
	if _, ok := s.devices[device]; !ok {
		return nil, fmt.Errorf("device %s: %w", device, ErrNoDevice)
	}
	c, ok := s.calls[sessionID]
	if !ok {
		return nil, fmt.Errorf("call %s: %w", sessionID, ErrNoSuchCall)
	}
	return c, nil
}

// party returns the party with that id, or nil.
func (c *call) party(id string) *Party {
	for i := range c.s.Parties {
		if c.s.Parties[i].ID == id {
			return &c.s.Parties[i]
		}
	}
	return nil
}

// partyOfDevice returns the party whose media device carries, or nil.
func (c *call) partyOfDevice(device string) *Party {
	if device == "" {
		return nil
	}
	for i := range c.s.Parties {
		if c.s.Parties[i].Device == device {
			return &c.s.Parties[i]
		}
	}
	return nil
}

// ringable lists the parties that ring devices and are answered by one:
// every party of a dialled call but its caller (the callee, or each ringing
// member of a department); both legs of a RingOut.
func (c *call) ringable() []*Party {
	out := make([]*Party, 0, len(c.s.Parties))
	for i := range c.s.Parties {
		if c.ro != nil || i > 0 {
			out = append(out, &c.s.Parties[i])
		}
	}
	return out
}

// ringingParty returns the party that rings on device, or nil.
func (c *call) ringingParty(device string) *Party {
	for _, p := range c.ringable() {
		if slices.Contains(p.Ringing, device) {
			return p
		}
	}
	return nil
}

// startTimerLocked runs fn on the call after d, under the lock, if the call
// is still active then and its timers were not stopped since: a timer that
// fired while they were being stopped, and waited for the lock, does
// nothing. Timers stop when the call ends.
func (s *Switch) startTimerLocked(c *call, d time.Duration, fn func(c *call, fx *effects)) {
	id, gen := c.s.ID, c.timerGen
	t := time.AfterFunc(d, func() {
		var fx effects
		s.mu.Lock()
		cur, ok := s.calls[id]
		if ok && cur.timerGen == gen {
			fn(cur, &fx)
		}
		s.mu.Unlock()
		s.finish(&fx)
	})
	c.timers = append(c.timers, t)
}

func (s *Switch) stopTimersLocked(c *call) {
	for _, t := range c.timers {
		t.Stop()
	}
	c.timers = nil
	c.timerGen++
}
