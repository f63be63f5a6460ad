package telephony

import "slices"

// ring makes the callee ring the targets' devices: one inbound party per
// target, the callee first, each owned by its target (a department call
// rings each member as a party of its own, until one answers).
func (c *call) ring(targets []ringTarget) {
	if len(targets) == 0 {
		return
	}
	callee := *c.callee()
	for i, t := range targets {
		p := callee
		if i > 0 {
			p.ID = newID("p-")
		}
		p.Owner, p.Ringing = t.owner, t.devices
		if i == 0 {
			c.s.Parties[1] = p
		} else {
			c.s.Parties = append(c.s.Parties, p)
		}
	}
}

// ringsElsewhere reports whether a party of the call other than p (which
// may be nil) still rings a device.
func (c *call) ringsElsewhere(p *Party) bool {
	for _, q := range c.ringable() {
		if (p == nil || q.ID != p.ID) && len(q.Ringing) > 0 {
			return true
		}
	}
	return false
}

// takeBy makes the party with that id the callee (Parties[1]): of a
// department call's ringing parties, the one that answers.
func (c *call) takeBy(id string) {
	for i := 2; i < len(c.s.Parties); i++ {
		if c.s.Parties[i].ID == id {
			c.s.Parties[1], c.s.Parties[i] = c.s.Parties[i], c.s.Parties[1]
			return
		}
	}
}

// othersRinging lists the parties that ring for the call besides p: the
// other members of a department when one of them, p, answers.
func (c *call) othersRinging(p *Party) []*Party {
	var out []*Party
	for _, q := range c.ringable() {
		if q.ID != p.ID && q.Status == StatusProceeding {
			out = append(out, q)
		}
	}
	return out
}

// dropLeft removes from the session the parties that left it while it goes
// on (department members that stopped ringing), once their leaving has been
// published.
func (c *call) dropLeft() {
	c.s.Parties = slices.DeleteFunc(c.s.Parties, func(q Party) bool { return !q.active() })
}
