package telephony

import (
	"fmt"
	"slices"
	"time"
)

// call is an active session with what the switch needs to run it.
type call struct {
	s         Session
	legs      []string // open media legs (party ids)
	timers    []*time.Timer
	answering string   // device whose answer is opening its leg
	ro        *ringOut // set when the session is a RingOut
}

func (c *call) caller() *Party { return &c.s.Parties[0] }

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

func (c *call) partyOfDevice(device string) *Party {
	for i := range c.s.Parties {
		if c.s.Parties[i].Device == device {
			return &c.s.Parties[i]
		}
	}
	return nil
}

// ringable lists the parties that ring devices and are answered by one: the
// callee of a dialled call, or each ringing member of a department; both
// legs of a RingOut.
func (c *call) ringable() []*Party {
	if c.ro != nil {
		return []*Party{c.caller(), c.callee()}
	}
	out := make([]*Party, 0, len(c.s.Parties)-1)
	for i := 1; i < len(c.s.Parties); i++ {
		out = append(out, &c.s.Parties[i])
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
// is still active then. Timers stop when the call ends.
func (s *Switch) startTimerLocked(c *call, d time.Duration, fn func(c *call, fx *effects)) {
	id := c.s.ID
	t := time.AfterFunc(d, func() {
		var fx effects
		s.mu.Lock()
		cur, ok := s.calls[id]
		if ok {
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
}
