package cluster

import (
	"encoding/json"
	"log/slog"
	"slices"

	"github.com/nats-io/nats.go"

	"github.com/callbridge/widget-server/internal/telephony"
)

// Desk phones across nodes. A desk phone (an RTP device) talks SIP with the
// node it registered with, which alone can ring it, cancel it or hang it
// up; it is in the devices bucket like a widget tab, so every node's calls
// ring it. The node that carries a call sends the call's events to the
// node of each RTP device the call rings or is carried on, from the first
// such event to the call's end, on that node's "devices.<node>" subject
// (core NATS: in order, from one publisher); that node's server rings and
// ends the phone's dialog from them (CallsConfig.OnDeviceEvent) and hands
// what the phone does (its answer, its hangup) to the call's node as a
// widget's requests are.

// tellDevices sends ev to the nodes of the RTP devices of its call.
func (c *Calls) tellDevices(ev telephony.Event) {
	s := ev.Session
	c.mu.Lock()
	nodes := c.told[s.ID]
	add := func(dev string) {
		if n, ok := c.rtpNodes[dev]; ok && n != c.node && !slices.Contains(nodes, n) {
			nodes = append(nodes, n)
		}
	}
	for _, p := range s.Parties {
		add(p.Device)
		for _, d := range p.Ringing {
			add(d)
		}
	}
	if len(nodes) > 0 && s.Ended.IsZero() {
		c.told[s.ID] = nodes
	} else {
		delete(c.told, s.ID)
	}
	c.mu.Unlock()
	if len(nodes) == 0 {
		return
	}
	data, err := json.Marshal(ev)
	if err != nil {
		return
	}
	for _, n := range nodes {
		if err := c.nc.Publish(c.cfg.Subject+".devices."+nodeKey(n), data); err != nil {
			c.cfg.Log.Warn("cluster: a call's event not sent to its desk phone's node", slog.String("telephonySessionId", s.ID), slog.Any("err", err))
		}
	}
}

// deviceEvent hands an event of another node's call to this node's desk
// phones.
func (c *Calls) deviceEvent(m *nats.Msg) {
	var ev telephony.Event
	if err := json.Unmarshal(m.Data, &ev); err != nil {
		c.cfg.Log.Warn("cluster: a call's event for a desk phone does not read", slog.Any("err", err))
		return
	}
	if c.cfg.OnDeviceEvent != nil {
		c.cfg.OnDeviceEvent(ev)
	}
}
