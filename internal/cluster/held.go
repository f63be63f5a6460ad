package cluster

import (
	"context"
	"log/slog"
	"slices"

	"github.com/callbridge/widget-server/internal/telephony"
)

// One live call per device, across nodes. A device carries at most one
// live call (telephony second.go): the switch that carries the call the
// device answers, takes, dials, switches to or resumes holds the device's
// live call of its own first. The node of that call holds the device's
// live calls of the other nodes too, through their nodes:
//   - for an answer, a pickup or a dial, held for the new call: they
//     resume when it ends, or at once when it fails, as the switch's own
//     do (unless the device carries another live call by then);
//   - for a switch or a resume, for good.
//
// A call handed over to another node drops what was held for it, as the
// switch drops its own.

// heldCall is a device's party in a call of another node, held for a call
// of this node.
type heldCall struct{ device, session string }

// liveElsewhere lists the calls of the other nodes, but except, that the
// device carries live, as the calls bucket last had them.
func (c *Calls) liveElsewhere(device, except string) []string {
	var ids []string
	c.emu.RLock()
	defer c.emu.RUnlock()
	for id, ce := range c.elsewhere {
		if id != except && onDevice(ce.Session, device, telephony.StatusAnswered) {
			ids = append(ids, id)
		}
	}
	return ids
}

// holdElsewhere holds (or, with end, hangs up) the device's live calls of
// the other nodes, but except, and returns those it held. One that fails
// (it ended meanwhile) leaves nothing to do.
func (c *Calls) holdElsewhere(ctx context.Context, device, except string, end bool) []heldCall {
	var held []heldCall
	for _, id := range c.liveElsewhere(device, except) {
		var err error
		if end {
			err = c.Hangup(ctx, device, id)
		} else {
			err = c.Hold(ctx, device, id)
		}
		if err != nil {
			c.cfg.Log.Debug("cluster: the device's call on another node not held", slog.String("telephonySessionId", id), slog.Any("err", err))
			continue
		}
		if !end {
			held = append(held, heldCall{device, id})
		}
	}
	return held
}

// answerHere answers (or, with pickup, takes) a call of this node on the
// device, its live calls of other nodes held for it first.
func (c *Calls) answerHere(ctx context.Context, device, id, offerSDP string, opt telephony.AnswerOptions, pickup bool) (telephony.Session, string, error) {
	held := c.holdElsewhere(ctx, device, id, opt.Action == telephony.AnswerEnd)
	var s telephony.Session
	var answer string
	var err error
	if pickup {
		s, answer, err = c.Switch.Pickup(ctx, device, id, offerSDP)
	} else {
		s, answer, err = c.Switch.AnswerWith(ctx, device, id, offerSDP, opt)
	}
	if err != nil {
		c.resume(held)
		return s, answer, err
	}
	c.holdFor(id, held)
	return s, answer, nil
}

// dialHere places the device's call on this node, its live calls of other
// nodes held for it first.
func (c *Calls) dialHere(ctx context.Context, device, to, offerSDP string) (telephony.Session, string, error) {
	held := c.holdElsewhere(ctx, device, "", false)
	s, answer, err := c.Switch.Dial(ctx, device, to, offerSDP)
	if err != nil {
		c.resume(held)
		return s, answer, err
	}
	c.holdFor(s.ID, held)
	return s, answer, nil
}

// unholdHere resumes the device's held party in a call of this node, its
// live calls of other nodes held for good first.
func (c *Calls) unholdHere(ctx context.Context, device, id string) error {
	if c.heldHere(device, id) {
		c.holdElsewhere(ctx, device, id, false)
	}
	return c.Switch.Unhold(ctx, device, id)
}

// switchHere makes the device's held party in a call of this node live,
// as unholdHere does.
func (c *Calls) switchHere(ctx context.Context, device, id string) error {
	if c.heldHere(device, id) {
		c.holdElsewhere(ctx, device, id, false)
	}
	return c.Switch.SwitchCall(ctx, device, id)
}

// heldHere reports whether the device has a held party in call id of this
// node: only then does making it live hold anything.
func (c *Calls) heldHere(device, id string) bool {
	s, ok := c.Switch.Session(id)
	return ok && onDevice(s, device, telephony.StatusHold)
}

// onDevice reports whether call s has a party in status on the device.
func onDevice(s telephony.Session, device string, status telephony.PartyStatus) bool {
	return slices.ContainsFunc(s.Parties, func(p telephony.Party) bool { return p.Device == device && p.Status == status })
}

// holdFor makes held resume when call id of this node ends: at once if it
// has ended already.
func (c *Calls) holdFor(id string, held []heldCall) {
	if len(held) == 0 {
		return
	}
	c.mu.Lock()
	c.heldFor[id] = append(c.heldFor[id], held...)
	c.mu.Unlock()
	if _, live := c.Switch.Session(id); !live {
		c.mu.Lock()
		held = c.heldFor[id]
		delete(c.heldFor, id)
		c.mu.Unlock()
		c.resume(held)
	}
}

// heldForEnded resumes what was held for a call of this node that is no
// longer here (follow): once, when it ended; a call handed over to another
// node, or ended by another node while this one stalled (a quiet event),
// leaves them held.
func (c *Calls) heldForEnded(ev telephony.Event) {
	c.mu.Lock()
	held := c.heldFor[ev.Session.ID]
	delete(c.heldFor, ev.Session.ID)
	c.mu.Unlock()
	if len(held) == 0 || ev.Quiet || ev.Session.Ended.IsZero() {
		return
	}
	go c.resume(held) // not on the bus: the resumes ask other nodes
}

// resume makes each held party live again, on a device still here that
// carries no other live call. One the user resumed, switched to or ended
// meanwhile is left as it is (the switch refuses to resume it).
func (c *Calls) resume(held []heldCall) {
	if len(held) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
	defer cancel()
	for _, h := range held {
		if c.carriesLive(h.device) {
			continue
		}
		if err := c.Unhold(ctx, h.device, h.session); err != nil {
			c.cfg.Log.Debug("cluster: a call held for another not resumed", slog.String("telephonySessionId", h.session), slog.Any("err", err))
		}
	}
}

// carriesLive reports whether the device carries a live call on any node,
// or is gone.
func (c *Calls) carriesLive(device string) bool {
	ext, ok := c.Switch.DeviceExtension(device)
	if !ok {
		return true // signed out: its calls end
	}
	live := func(s telephony.Session) bool { return onDevice(s, device, telephony.StatusAnswered) }
	return slices.ContainsFunc(c.Switch.Sessions(ext), live) || len(c.liveElsewhere(device, "")) > 0
}
