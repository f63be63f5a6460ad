package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/callbridge/widget-server/internal/telephony"
)

// What spans more than one call, or outlives it, across nodes:
//
//   - Conferences are named by their id or by the session of one of their
//     calls. The node whose calls are in a conference listens on the
//     conference's subject as long as it lasts, so that the host's requests
//     through any node reach it.
//   - A merge or a bridge joins two calls on the node that carries the
//     first: when another node carries the second, that node hands it over
//     (gather), and its parties' browsers connect their audio again to
//     this node's gateway. When the second cannot move (telephony.Handover)
//     the first goes to the second's node, if it can. So that it rarely has
//     to, a user's new call is placed on the node that carries the user's
//     calls in progress (Dial), wherever the request arrives; an invitation
//     to a conference is placed by the conference's node.
//   - A RingOut is asked about by its id after its call ended: its node
//     listens on "ringout.<id>" for as long as the switch keeps it.
//   - Each node also listens on "node.<node>", for what is asked of it
//     rather than of one of its calls.

// here reports whether id, a call's session or a conference's id, is this
// node's.
func (c *Calls) here(id string) bool {
	if _, ok := c.Switch.Session(id); ok {
		return true
	}
	return c.Switch.HasConference(id)
}

// elsewhereOp routes a request on id (a call or a conference) to its node
// when that is not this one.
func (c *Calls) elsewhereOp(ctx context.Context, q callRequest) (callReply, bool, error) {
	if !validKey(q.Session) || c.here(q.Session) {
		return callReply{}, false, nil
	}
	r, err := c.ask(ctx, q.Session, q)
	return r, true, err
}

// gather brings call other to this node, which carries sessionID, when
// another node carries it: that node releases it (telephony.Switch.Release)
// and this one adopts it, whose gateway carries its audio from then on;
// its parties' devices connect again here. When other cannot move (a
// carrier's call, a desk phone's) but sessionID can, sessionID goes to
// other's node instead, which gather returns: the request is to be made
// there. For a merge (intoMix), a call with a desk phone moves too when
// neither call of browsers alone can: the phone is asked to connect again
// (a re-INVITE from its node). When neither can, the request fails saying
// why.
func (c *Calls) gather(ctx context.Context, sessionID, other string, intoMix bool) (string, error) {
	if _, ok := c.Switch.Session(other); ok || !validKey(other) {
		return "", nil // here, or no call: the switch says which
	}
	passes := []telephony.ReleaseOptions{{}}
	if intoMix {
		passes = append(passes, telephony.ReleaseOptions{IntoMix: true})
	}
	var refused []error
	for _, opt := range passes {
		there, stuck, err := c.gatherWith(ctx, sessionID, other, opt)
		if !stuck {
			return there, err
		}
		refused = append(refused, err)
	}
	return "", fmt.Errorf("call %s is carried by another node and neither call can move: %w", other, errors.Join(refused...))
}

// gatherWith is one pass of gather, the calls released with opt; stuck
// reports that neither call could move, nothing having changed.
func (c *Calls) gatherWith(ctx context.Context, sessionID, other string, opt telephony.ReleaseOptions) (string, bool, error) {
	r, err := c.ask(ctx, other, callRequest{Op: "release", Session: other, IntoMix: opt.IntoMix})
	switch {
	case errors.Is(err, telephony.ErrNoSuchCall) && r.Kind == "":
		return "", false, nil // no node has it
	case errors.Is(err, telephony.ErrCannotMove) && r.Node != "" && r.Node != c.node:
		var rel callReply
		if serr := c.release(ctx, sessionID, opt, &rel); serr != nil {
			return "", errors.Is(serr, telephony.ErrCannotMove), errors.Join(err, serr)
		}
		if serr := c.sendOver(ctx, sessionID, r.Node, rel); serr != nil {
			return "", false, serr
		}
		return r.Node, false, nil
	case err != nil:
		return "", false, fmt.Errorf("call %s is carried by another node and cannot move to call %s's: %w", other, sessionID, err)
	case r.Handover == nil:
		return "", false, fmt.Errorf("call %s: its node released nothing: %w", other, telephony.ErrInvalidState)
	}
	if err := c.adopt(ctx, *r.Handover, r.Records); err != nil {
		return "", false, err
	}
	c.cfg.Log.Info("cluster: a call moved to this node", slog.String("telephonySessionId", other), slog.String("with", sessionID))
	return "", false, nil
}

// adopt takes over a call another node released. One refused here ends
// for everyone, as a call of a lost node does: it is nowhere else now.
func (c *Calls) adopt(ctx context.Context, h telephony.Handover, recs []telephony.CallRecord) error {
	if err := c.Switch.Adopt(ctx, h); err != nil {
		c.cfg.Log.Error("cluster: a call handed over to this node not taken", slog.String("telephonySessionId", h.Session.ID), slog.Any("err", err))
		if c.cfg.OnLost != nil {
			c.cfg.OnLost(endLost(callEntry{Session: h.Session, Records: recs}, time.Now()))
		}
		return fmt.Errorf("call %s could not move to this node: %w", h.Session.ID, err)
	}
	return nil
}

// sendOver hands call id of this node, released (rel), over to node,
// which adopts it.
func (c *Calls) sendOver(ctx context.Context, id, node string, rel callReply) error {
	r, err := c.ask(ctx, "node."+nodeKey(node), callRequest{Op: "adopt", Session: id, Handover: rel.Handover, Records: rel.Records})
	if err != nil {
		// Released here, not taken there. A node that refused it ended
		// it (adopt); one that did not answer may not have it: then it
		// ends here, for everyone.
		c.cfg.Log.Error("cluster: a call handed over to another node not taken", slog.String("telephonySessionId", id), slog.String("node", node), slog.Any("err", err))
		if _, there := c.Session(id); r.Error == "" && !there && c.cfg.OnLost != nil {
			c.cfg.OnLost(endLost(callEntry{Session: rel.Handover.Session, Records: rel.Records}, time.Now()))
		}
		return err
	}
	c.cfg.Log.Info("cluster: a call moved to another node", slog.String("telephonySessionId", id), slog.String("node", node))
	return nil
}

// release hands a call of this node over to the node that asks (gather):
// the call leaves the switch and the calls bucket before the answer goes.
func (c *Calls) release(ctx context.Context, id string, opt telephony.ReleaseOptions, r *callReply) error {
	s, ok := c.Switch.Session(id)
	if !ok {
		return fmt.Errorf("call %s: %w", id, telephony.ErrNoSuchCall)
	}
	recs := c.recordsOf(s)
	h, err := c.Switch.Release(ctx, id, opt)
	if err != nil {
		return err
	}
	c.unclaim(ctx, id)
	r.Handover, r.Records = &h, recs
	return nil
}

func (c *Calls) Rejoin(ctx context.Context, device, sessionID, offerSDP string) (telephony.Session, string, error) {
	r, remote, err := c.remote(ctx, callRequest{Op: "rejoin", Device: device, Session: sessionID, SDP: offerSDP})
	if !remote {
		return c.Switch.Rejoin(ctx, device, sessionID, offerSDP)
	}
	return sessionOf(r), r.SDP, err
}

func conferenceOf(r callReply) telephony.Conference {
	if r.Conference == nil {
		return telephony.Conference{}
	}
	return *r.Conference
}

// joinOp runs a request on two calls where both are: on the first's node
// once it gathered the second there (local), or on the second's node when
// the first went there instead. It returns the answer of another node, when
// one answered.
func (c *Calls) joinOp(ctx context.Context, q callRequest, local func() error) (*callReply, error) {
	r, remote, err := c.remote(ctx, q)
	if remote {
		return &r, err
	}
	there, err := c.gather(ctx, q.Session, q.Other, q.Op != "bridge")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", q.Op, err)
	}
	if there != "" {
		r, err := c.ask(ctx, "node."+nodeKey(there), q)
		return &r, err
	}
	return nil, local()
}

func (c *Calls) Bridge(ctx context.Context, owner int64, sessionID, partyID, otherSessionID, otherPartyID string) (telephony.Session, error) {
	var s telephony.Session
	q := callRequest{Op: "bridge", Owner: owner, Session: sessionID, Party: partyID, Other: otherSessionID, OtherParty: otherPartyID}
	r, err := c.joinOp(ctx, q, func() (err error) {
		s, err = c.Switch.Bridge(ctx, owner, sessionID, partyID, otherSessionID, otherPartyID)
		return err
	})
	if r != nil {
		s = sessionOf(*r)
	}
	return s, err
}

func (c *Calls) Merge(ctx context.Context, device, sessionID, otherSessionID string) (telephony.Conference, error) {
	var cf telephony.Conference
	q := callRequest{Op: "merge", Device: device, Session: sessionID, Other: otherSessionID}
	r, err := c.joinOp(ctx, q, func() (err error) {
		cf, err = c.Switch.Merge(ctx, device, sessionID, otherSessionID)
		return err
	})
	if r != nil {
		cf = conferenceOf(*r)
	}
	return cf, err
}

func (c *Calls) MergeParty(ctx context.Context, owner int64, sessionID, partyID, otherSessionID, otherPartyID string) (telephony.Conference, error) {
	var cf telephony.Conference
	q := callRequest{Op: "mergeParty", Owner: owner, Session: sessionID, Party: partyID, Other: otherSessionID, OtherParty: otherPartyID}
	r, err := c.joinOp(ctx, q, func() (err error) {
		cf, err = c.Switch.MergeParty(ctx, owner, sessionID, partyID, otherSessionID, otherPartyID)
		return err
	})
	if r != nil {
		cf = conferenceOf(*r)
	}
	return cf, err
}

func (c *Calls) StartConference(ctx context.Context, owner int64, sessionID, partyID string) (telephony.Conference, error) {
	r, remote, err := c.remote(ctx, callRequest{Op: "startConference", Owner: owner, Session: sessionID, Party: partyID})
	if remote {
		return conferenceOf(r), err
	}
	return c.Switch.StartConference(ctx, owner, sessionID, partyID)
}

func (c *Calls) ConferenceOf(ext int64, id string) (telephony.Conference, bool) {
	r, remote, err := c.elsewhereOp(context.Background(), callRequest{Op: "conferenceOf", Owner: ext, Session: id})
	if !remote {
		return c.Switch.ConferenceOf(ext, id)
	}
	if err != nil || !r.Found {
		return telephony.Conference{}, false
	}
	return conferenceOf(r), true
}

func (c *Calls) HostedBy(device, id string) (telephony.Conference, error) {
	r, remote, err := c.elsewhereOp(context.Background(), callRequest{Op: "hostedBy", Device: device, Session: id})
	if remote {
		return conferenceOf(r), err
	}
	return c.Switch.HostedBy(device, id)
}

// conferenceOp routes a host's request on a conference that returns only
// an error.
func (c *Calls) conferenceOp(ctx context.Context, q callRequest, local func() error) error {
	_, remote, err := c.elsewhereOp(ctx, q)
	if !remote {
		return local()
	}
	return err
}

func (c *Calls) RemoveParticipant(ctx context.Context, owner int64, id, partyID string) error {
	return c.conferenceOp(ctx, callRequest{Op: "removeParticipant", Owner: owner, Session: id, Party: partyID},
		func() error { return c.Switch.RemoveParticipant(ctx, owner, id, partyID) })
}

func (c *Calls) MuteParticipant(ctx context.Context, owner int64, id, partyID string, muted bool) error {
	return c.conferenceOp(ctx, callRequest{Op: "muteParticipant", Owner: owner, Session: id, Party: partyID, Muted: muted},
		func() error { return c.Switch.MuteParticipant(ctx, owner, id, partyID, muted) })
}

func (c *Calls) EndConference(ctx context.Context, owner int64, id string) error {
	return c.conferenceOp(ctx, callRequest{Op: "endConference", Owner: owner, Session: id},
		func() error { return c.Switch.EndConference(ctx, owner, id) })
}

// Invite is placed by the node of the conference (or of the call that is
// to become one), which then carries the new call.
func (c *Calls) Invite(ctx context.Context, device, id, to, offerSDP string) (telephony.Session, string, error) {
	r, remote, err := c.elsewhereOp(ctx, callRequest{Op: "invite", Device: device, Session: id, To: to, SDP: offerSDP})
	if remote {
		return sessionOf(r), r.SDP, err
	}
	return c.Switch.Invite(ctx, device, id, to, offerSDP)
}

// Dial places the device's call on the node that carries the calls its
// user has in progress, so that the user can merge, bridge or switch
// between them; with none elsewhere, here. A node that does not answer
// (it is going away) leaves the call to this one.
func (c *Calls) Dial(ctx context.Context, device, to, offerSDP string) (telephony.Session, string, error) {
	if node := c.userNode(device); node != "" {
		r, err := c.ask(ctx, "node."+nodeKey(node), callRequest{Op: "dial", Device: device, To: to, SDP: offerSDP})
		// Nobody on the node's subject (it is going away), or the device
		// not known there yet: the call is this node's.
		if !errors.Is(err, telephony.ErrNoSuchCall) && !errors.Is(err, telephony.ErrNoDevice) || r.Kind == "no-such-call" {
			return sessionOf(r), r.SDP, err
		}
	}
	return c.dialHere(ctx, device, to, offerSDP)
}

// userNode is the other node carrying the latest call in progress of the
// device's user, or "" when this node carries one or none is in progress.
func (c *Calls) userNode(device string) string {
	ext, ok := c.Switch.DeviceExtension(device)
	if !ok {
		return ""
	}
	inProgress := func(s telephony.Session) bool {
		return slices.ContainsFunc(s.Parties, func(p telephony.Party) bool {
			return p.Owner == ext && p.Status != telephony.StatusDisconnected
		})
	}
	if slices.ContainsFunc(c.Switch.Sessions(ext), inProgress) {
		return ""
	}
	c.emu.RLock()
	defer c.emu.RUnlock()
	var latest *callEntry
	for _, ce := range c.elsewhere {
		if inProgress(ce.Session) && (latest == nil || ce.Session.Created.After(latest.Session.Created)) {
			latest = &ce
		}
	}
	if latest == nil {
		return ""
	}
	return latest.Node
}

// ActiveRecords returns the call-log records, so far, of the extension's
// calls on every node: the other nodes are asked for theirs, all at once,
// and one that does not answer gives them as it last wrote them.
func (c *Calls) ActiveRecords(ext int64) []telephony.CallRecord {
	out := c.Switch.ActiveRecords(ext)
	kept := map[string][]telephony.CallRecord{} // by node
	c.emu.RLock()
	for _, ce := range c.elsewhere {
		for _, r := range ce.Records {
			if r.Extension == ext {
				kept[ce.Node] = append(kept[ce.Node], r)
			}
		}
	}
	c.emu.RUnlock()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for node, recs := range kept { // all at once: a node away costs one timeout
		wg.Go(func() {
			r, err := c.ask(context.Background(), "node."+nodeKey(node), callRequest{Op: "records", Owner: ext})
			if err == nil {
				recs = r.Records
			}
			mu.Lock()
			out = append(out, recs...)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.SortStableFunc(out, func(a, b telephony.CallRecord) int {
		return cmp.Or(a.StartTime.Compare(b.StartTime), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// RingOut places the RingOut here and answers for it from any node.
func (c *Calls) RingOut(ctx context.Context, ext int64, from, to, callerID string, playPrompt bool) (telephony.RingOut, error) {
	ro, err := c.Switch.RingOut(ctx, ext, from, to, callerID, playPrompt)
	if err != nil || !validKey(ro.ID) {
		return ro, err
	}
	sub, serr := c.nc.Subscribe(c.cfg.Subject+".ringout."+ro.ID, c.serve)
	if serr != nil {
		c.cfg.Log.Warn("cluster: a RingOut not offered to the other nodes", slog.String("ringOut", ro.ID), slog.Any("err", serr))
		return ro, nil
	}
	c.mu.Lock()
	c.ringOuts[ro.ID] = sub
	c.mu.Unlock()
	return ro, nil
}

// ringOutHere reports whether the RingOut is this node's.
func (c *Calls) ringOutHere(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.ringOuts[id]
	return ok || !validKey(id)
}

func ringOutOf(r callReply) telephony.RingOut {
	if r.RingOut == nil {
		return telephony.RingOut{}
	}
	return *r.RingOut
}

func (c *Calls) FindRingOut(ext int64, id string) (telephony.RingOut, bool) {
	if c.ringOutHere(id) {
		return c.Switch.FindRingOut(ext, id)
	}
	if ro, ok := c.Switch.FindRingOut(ext, id); ok {
		return ro, true // placed before this node kept a subject for it
	}
	r, err := c.ask(context.Background(), "ringout."+id, callRequest{Op: "findRingOut", Owner: ext, Session: id})
	if err != nil || !r.Found {
		return telephony.RingOut{}, false
	}
	return ringOutOf(r), true
}

func (c *Calls) CancelRingOut(ctx context.Context, ext int64, id string) (telephony.RingOut, error) {
	if c.ringOutHere(id) {
		return c.Switch.CancelRingOut(ctx, ext, id)
	}
	if _, ok := c.Switch.FindRingOut(ext, id); ok {
		return c.Switch.CancelRingOut(ctx, ext, id)
	}
	r, err := c.ask(ctx, "ringout."+id, callRequest{Op: "cancelRingOut", Owner: ext, Session: id})
	return ringOutOf(r), err
}

// serveMore carries out the requests of this file for serve.
func (c *Calls) serveMore(ctx context.Context, q callRequest, r *callReply) (telephony.Session, error) {
	var s telephony.Session
	var cf telephony.Conference
	var ro telephony.RingOut
	var err error
	sw := c.Switch
	switch q.Op {
	case "bridge":
		s, err = c.Bridge(ctx, q.Owner, q.Session, q.Party, q.Other, q.OtherParty)
	case "merge":
		cf, err = c.Merge(ctx, q.Device, q.Session, q.Other)
	case "mergeParty":
		cf, err = c.MergeParty(ctx, q.Owner, q.Session, q.Party, q.Other, q.OtherParty)
	case "startConference":
		cf, err = sw.StartConference(ctx, q.Owner, q.Session, q.Party)
	case "conferenceOf":
		cf, r.Found = sw.ConferenceOf(q.Owner, q.Session)
	case "hostedBy":
		cf, err = sw.HostedBy(q.Device, q.Session)
	case "removeParticipant":
		err = sw.RemoveParticipant(ctx, q.Owner, q.Session, q.Party)
	case "muteParticipant":
		err = sw.MuteParticipant(ctx, q.Owner, q.Session, q.Party, q.Muted)
	case "endConference":
		err = sw.EndConference(ctx, q.Owner, q.Session)
	case "invite":
		s, r.SDP, err = sw.Invite(ctx, q.Device, q.Session, q.To, q.SDP)
	case "dial":
		s, r.SDP, err = c.dialHere(ctx, q.Device, q.To, q.SDP)
	case "release":
		err = c.release(ctx, q.Session, telephony.ReleaseOptions{IntoMix: q.IntoMix}, r)
	case "adopt":
		if q.Handover == nil {
			err = fmt.Errorf("cluster: no call to adopt: %w", telephony.ErrInvalidState)
		} else {
			err = c.adopt(ctx, *q.Handover, q.Records)
		}
	case "rejoin":
		s, r.SDP, err = sw.Rejoin(ctx, q.Device, q.Session, q.SDP)
	case "records":
		r.Records = sw.ActiveRecords(q.Owner)
	case "findRingOut":
		ro, r.Found = sw.FindRingOut(q.Owner, q.Session)
	case "cancelRingOut":
		ro, err = sw.CancelRingOut(ctx, q.Owner, q.Session)
	default:
		err = fmt.Errorf("cluster: unknown request %q", q.Op)
	}
	if cf.ID != "" {
		r.Conference = &cf
	}
	if ro.ID != "" {
		r.RingOut = &ro
	}
	return s, err
}

// followConference keeps this node on the subject of a conference its
// calls are in while the conference lasts.
func (c *Calls) followConference(cf *telephony.Conference) {
	if cf == nil || !validKey(cf.ID) {
		return
	}
	live := cf.State != telephony.ConferenceEnded && c.Switch.HasConference(cf.ID)
	c.mu.Lock()
	defer c.mu.Unlock()
	sub, owned := c.confs[cf.ID]
	switch {
	case live && !owned:
		s, err := c.nc.Subscribe(c.cfg.Subject+"."+cf.ID, c.serve)
		if err != nil {
			c.cfg.Log.Warn("cluster: a conference not offered to the other nodes", slog.String("conference", cf.ID), slog.Any("err", err))
			return
		}
		c.confs[cf.ID] = s
	case !live && owned:
		sub.Unsubscribe()
		delete(c.confs, cf.ID)
	}
}

// sweep leaves the subjects of conferences and RingOuts this node no
// longer has.
func (c *Calls) sweep() {
	c.mu.Lock()
	confs, ros := slices.Collect(maps.Keys(c.confs)), slices.Collect(maps.Keys(c.ringOuts))
	c.mu.Unlock()
	var goneConfs, goneROs []string
	for _, id := range confs {
		if !c.Switch.HasConference(id) {
			goneConfs = append(goneConfs, id)
		}
	}
	for _, id := range ros {
		if !c.Switch.KeepsRingOut(id) {
			goneROs = append(goneROs, id)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, gone := range []struct {
		subs map[string]*nats.Subscription
		ids  []string
	}{{c.confs, goneConfs}, {c.ringOuts, goneROs}} {
		for _, id := range gone.ids {
			if sub, ok := gone.subs[id]; ok {
				sub.Unsubscribe()
				delete(gone.subs, id)
			}
		}
	}
}
