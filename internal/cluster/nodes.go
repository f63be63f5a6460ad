package cluster

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/callbridge/widget-server/internal/telephony"
)

// A node that dies (SIGKILL, a lost machine) cannot end its calls. Each
// node therefore keeps two things in JetStream KV: its liveness (a key it
// refreshes, which expires a few seconds after it stops) and, for each call
// it owns, the call as it stands with its call-log records so far. When a
// node's liveness expires, one of the others (the first to claim it) ends
// that node's calls for everyone still in them, with code 503 and
// LostNodeReason, writes their call-log records, and forgets its devices.

// LostNodeReason is the reason a call ends with when its node was lost.
const LostNodeReason = "Node lost"

// LostCall is a call of a lost node, ended: every party Disconnected with
// 503 LostNodeReason, and the parties' call-log records.
type LostCall struct {
	Session telephony.Session
	Records []telephony.CallRecord
}

// callEntry is a call's value in the calls bucket.
type callEntry struct {
	Node    string                 `json:"node"`
	Session telephony.Session      `json:"session"`
	Records []telephony.CallRecord `json:"records"`
}

func nodeKey(node string) string { return base64.RawURLEncoding.EncodeToString([]byte(node)) }

// heartbeat keeps this node's liveness key.
func (c *Calls) heartbeat() {
	defer c.wg.Done()
	t := time.NewTicker(c.cfg.NodeTTL / 3)
	defer t.Stop()
	for {
		c.beat()
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
	}
}

func (c *Calls) beat() {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
	defer cancel()
	if _, err := c.nodes.Put(ctx, nodeKey(c.node), []byte(c.node)); err != nil {
		c.cfg.Log.Warn("cluster: liveness not refreshed", slog.Any("err", err))
	}
}

// watchNodes takes over the calls of the nodes whose liveness ends.
func (c *Calls) watchNodes(w jetstream.KeyWatcher) {
	defer c.wg.Done()
	for e := range w.Updates() {
		if e == nil || e.Operation() == jetstream.KeyValuePut || e.Key() == nodeKey(c.node) {
			continue
		}
		b, err := base64.RawURLEncoding.DecodeString(e.Key())
		if err != nil {
			continue // a claim's key, not a node's
		}
		node := string(b)
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.takeOver(node)
		}()
	}
}

// takeOver ends the calls of a lost node, once in the cluster: the node
// that claims the loss first does it.
func (c *Calls) takeOver(node string) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*c.cfg.Timeout)
	defer cancel()
	if _, err := c.nodes.Create(ctx, "lost."+nodeKey(node), []byte(c.node)); err != nil {
		if !errors.Is(err, jetstream.ErrKeyExists) {
			c.cfg.Log.Warn("cluster: a lost node not claimed", slog.String("lost", node), slog.Any("err", err))
		}
		return
	}
	log := c.cfg.Log.With(slog.String("lost", node))
	log.Warn("cluster: a node was lost: ending its calls")
	keys, err := c.calls.ListKeys(ctx)
	if err != nil {
		log.Error("cluster: the lost node's calls not listed", slog.Any("err", err))
		return
	}
	now := time.Now()
	ended := 0
	for key := range keys.Keys() {
		e, err := c.calls.Get(ctx, key)
		if err != nil {
			continue
		}
		var ce callEntry
		if json.Unmarshal(e.Value(), &ce) != nil || ce.Node != node {
			continue
		}
		lost := endLost(ce, now)
		if c.cfg.OnLost != nil {
			c.cfg.OnLost(lost)
		}
		if err := c.calls.Delete(ctx, key); err != nil {
			log.Warn("cluster: a lost call not removed", slog.String("telephonySessionId", key), slog.Any("err", err))
		}
		ended++
	}
	// Its devices ring no more calls.
	dkeys, err := c.kv.ListKeys(ctx)
	if err == nil {
		for key := range dkeys.Keys() {
			e, err := c.kv.Get(ctx, key)
			if err != nil {
				continue
			}
			var d deviceEntry
			if json.Unmarshal(e.Value(), &d) == nil && d.Node == node {
				c.kv.Delete(ctx, key)
			}
		}
	}
	log.Info("cluster: the lost node's calls ended", slog.Int("calls", ended))
}

// endLost ends a call of a lost node as of now.
func endLost(ce callEntry, now time.Time) LostCall {
	s := ce.Session
	s.Parties = slices.Clone(s.Parties)
	for i := range s.Parties {
		p := &s.Parties[i]
		if p.Status == telephony.StatusDisconnected {
			continue
		}
		result := telephony.ResultFailed
		if p.Status != telephony.StatusProceeding && p.Status != telephony.StatusSetup {
			result = telephony.ResultConnected
		}
		p.Status, p.Code, p.Reason, p.Result = telephony.StatusDisconnected, 503, LostNodeReason, result
		p.Ringing = nil
	}
	s.Ended = now
	recs := slices.Clone(ce.Records)
	for i := range recs {
		r := &recs[i]
		if r.Duration > 0 {
			r.Result = telephony.ResultConnected
		} else {
			r.Result, r.Code, r.Reason = telephony.ResultFailed, 503, LostNodeReason
		}
	}
	return LostCall{Session: s, Records: recs}
}

// keep writes the calls this node owns to the calls bucket as they change:
// one writer, in order, the latest state of each call.
func (c *Calls) keep() {
	defer c.wg.Done()
	for {
		select {
		case <-c.dirtied:
		case <-c.stop:
			c.flush() // the calls the switch ended at shutdown leave the bucket
			return
		}
		c.flush()
	}
}

func (c *Calls) flush() {
	c.mu.Lock()
	ids := c.dirty
	c.dirty = map[string]bool{}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
	defer cancel()
	for id := range ids {
		s, live := c.Switch.Session(id)
		if !live {
			c.mu.Lock()
			delete(c.claimed, id)
			c.mu.Unlock()
			if err := c.calls.Delete(ctx, id); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
				c.cfg.Log.Warn("cluster: an ended call not removed", slog.String("telephonySessionId", id), slog.Any("err", err))
			}
			continue
		}
		ce := callEntry{Node: c.node, Session: s}
		var seen []int64
		for _, p := range s.Parties {
			if p.Owner == 0 || slices.Contains(seen, p.Owner) {
				continue
			}
			seen = append(seen, p.Owner)
			for _, r := range c.Switch.ActiveRecords(p.Owner) {
				if r.TelephonySessionID == id {
					ce.Records = append(ce.Records, r)
				}
			}
		}
		v, _ := json.Marshal(ce)
		c.mu.Lock()
		claimed := c.claimed[id]
		c.mu.Unlock()
		var err error
		if claimed {
			_, err = c.calls.Put(ctx, id, v)
		} else if _, err = c.calls.Create(ctx, id, v); err == nil {
			// The call is this node's: a compare-and-set on its absence,
			// so no two nodes ever take one id.
			c.mu.Lock()
			c.claimed[id] = true
			c.mu.Unlock()
		}
		if err != nil {
			c.cfg.Log.Warn("cluster: a call not kept", slog.String("telephonySessionId", id), slog.Any("err", err))
		}
	}
}

// markDirty queues a call of this node for keep.
func (c *Calls) markDirty(id string) {
	c.mu.Lock()
	c.dirty[id] = true
	c.mu.Unlock()
	select {
	case c.dirtied <- struct{}{}:
	default:
	}
}
