package cluster

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
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
const LostNodeReason = telephony.ReasonNodeLost

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
		if e != nil && e.Key() == "lost."+nodeKey(c.node) && e.Operation() == jetstream.KeyValuePut && string(e.Value()) != c.node {
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				c.recoverLoss(e)
			}()
			continue
		}
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
	// Its calls count no more in anyone's presence here (PartyStates),
	// before the widgets are told of their end.
	c.emu.Lock()
	for id, ce := range c.elsewhere {
		if ce.Node == node {
			c.forgetElsewhereLocked(id)
		}
	}
	c.emu.Unlock()
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
			c.unclaim(ctx, id)
			continue
		}
		ce := callEntry{Node: c.node, Session: s, Records: c.recordsOf(s)}
		v, _ := json.Marshal(ce)
		c.mu.Lock()
		rev, claimed := c.claimed[id]
		c.mu.Unlock()
		var err error
		if claimed {
			// On the revision this node wrote last: only a node that took
			// the call over (this one was lost) writes it otherwise, by
			// deleting it.
			rev, err = c.calls.Update(ctx, id, v, rev)
			if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
				c.forget(id)
				continue
			}
		} else {
			// The call is this node's: a compare-and-set on its absence,
			// so no two nodes ever take one id.
			rev, err = c.calls.Create(ctx, id, v)
		}
		if err != nil {
			c.cfg.Log.Warn("cluster: a call not kept", slog.String("telephonySessionId", id), slog.Any("err", err))
			continue
		}
		c.mu.Lock()
		c.claimed[id] = rev
		c.mu.Unlock()
	}
}

// recordsOf returns the call-log records so far of a call of this node.
func (c *Calls) recordsOf(s telephony.Session) []telephony.CallRecord {
	var out []telephony.CallRecord
	var seen []int64
	for _, p := range s.Parties {
		if p.Owner == 0 || slices.Contains(seen, p.Owner) {
			continue
		}
		seen = append(seen, p.Owner)
		for _, r := range c.Switch.ActiveRecords(p.Owner) {
			if r.TelephonySessionID == s.ID {
				out = append(out, r)
			}
		}
	}
	return out
}

// unclaim removes a call this node no longer has (ended, or handed over)
// from the calls bucket: the entry it wrote last, not one another node
// wrote since.
func (c *Calls) unclaim(ctx context.Context, id string) {
	c.mu.Lock()
	rev, claimed := c.claimed[id]
	delete(c.claimed, id)
	c.mu.Unlock()
	if !claimed {
		return
	}
	err := c.calls.Delete(ctx, id, jetstream.LastRevision(rev))
	if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		c.cfg.Log.Warn("cluster: an ended call not removed", slog.String("telephonySessionId", id), slog.Any("err", err))
	}
}

// forget ends, here, calls of this node that another node ended for
// everyone when it counted this one as lost (telephony.Switch.Forget).
func (c *Calls) forget(ids ...string) {
	if n := c.Switch.Forget(ids); n > 0 {
		c.cfg.Log.Warn("cluster: calls ended by another node while this one stalled, ended here too", slog.Int("calls", n))
	}
}

// recoverLoss runs on a node that another node counted as lost (claim is
// that node's claim, "lost.<this node>") while it was alive but stalled:
// the other node ended this one's calls for everyone and removed them from
// the calls bucket. This node ends each of them here too, once removed,
// until the calls it had before the claim are all gone (or the claimer
// stops going on); then it removes the claim, so that its real loss later
// is claimed again. Its devices are back already (watch).
func (c *Calls) recoverLoss(claim jetstream.KeyValueEntry) {
	log := c.cfg.Log.With(slog.String("claimedBy", string(claim.Value())))
	log.Warn("cluster: this node was counted as lost while it stalled")
	ctx, cancel := context.WithTimeout(context.Background(), 4*c.cfg.Timeout)
	defer cancel()
	for {
		c.mu.Lock()
		ids := slices.Collect(maps.Keys(c.claimed))
		c.mu.Unlock()
		var gone []string
		pending := 0
		for _, id := range ids {
			_, err := c.calls.Get(ctx, id)
			switch s, live := c.Switch.Session(id); {
			case !live:
			case errors.Is(err, jetstream.ErrKeyNotFound):
				gone = append(gone, id)
			case err == nil && s.Created.Before(claim.Created()):
				pending++ // the claimer has yet to end it
			}
		}
		c.forget(gone...)
		if pending == 0 {
			break
		}
		select {
		case <-ctx.Done():
			log.Warn("cluster: the node that counted this one as lost did not end all of its calls", slog.Int("calls", pending))
			return
		case <-c.stop:
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
	// The claim also expires with the bucket's TTL.
	err := c.nodes.Delete(ctx, claim.Key(), jetstream.LastRevision(claim.Revision()))
	if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		log.Warn("cluster: the claim of this node's loss not removed", slog.Any("err", err))
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
