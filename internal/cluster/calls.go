package cluster

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/callbridge/widget-server/internal/telephony"
)

// Calls is the switch of a node in a cluster. Each call is owned by the
// node whose switch made it, which hosts all of its media legs: the gateway
// of that node answers every SDP of the call, so browsers send their audio
// to the owner's media address. What a widget or a server asks of a call
// on another node goes to the owner (NATS request/reply on the call's own
// subject, which only the owner listens to), and the answer comes back as
// the local switch would give it.
//
// Devices (signed-in widget tabs, desk phones) are in a JetStream KV
// bucket, each with the node it is connected to: every node's switch knows
// every device, so a call rings an extension's tabs on whatever nodes they
// are. A node refreshes its devices' entries; those of a node that died
// expire, and every switch forgets them.
type Calls struct {
	*telephony.Switch
	nc   *nats.Conn
	kv   jetstream.KeyValue
	node string
	cfg  CallsConfig

	mu      sync.Mutex
	local   map[string]telephony.Device   // devices connected to this node
	others  map[string]bool               // devices of other nodes
	owned   map[string]*nats.Subscription // the subjects of the calls this node owns
	watcher jetstream.KeyWatcher
	stop    chan struct{}
	wg      sync.WaitGroup

	nodes   jetstream.KeyValue    // each node's liveness, and the claims of lost ones (nodes.go)
	calls   jetstream.KeyValue    // the calls of every node as they stand (nodes.go)
	dirty   map[string]bool       // calls of this node to write to calls
	claimed map[string]uint64     // calls of this node in calls (created there by this node): the revision last written
	heldFor map[string][]heldCall // calls of other nodes held for a call of this node, by its id (held.go)
	dirtied chan struct{}
	lostW   jetstream.KeyWatcher
	callsW  jetstream.KeyWatcher

	// emu guards elsewhere alone and is held only to read or change it:
	// the presence keeper reads it under the switch's lock (PartyStates).
	emu       sync.RWMutex
	elsewhere map[string]callEntry                         // the calls of the other nodes, as they stand
	states    map[int64]map[string][]telephony.PartyStatus // of elsewhere: each extension's live parties' states, by call

	nodeSub  *nats.Subscription            // this node's own subject (conferences.go)
	phoneSub *nats.Subscription            // the events of other nodes' calls for this node's RTP devices (phones.go)
	rtpNodes map[string]string             // the RTP devices (desk phones) of other nodes: their node
	told     map[string][]string           // the nodes told of a call's events for their RTP devices, by call
	confs    map[string]*nats.Subscription // the subjects of the conferences this node's calls are in
	ringOuts map[string]*nats.Subscription // the subjects of this node's RingOuts, by id
}

// CallsConfig shapes Calls.
type CallsConfig struct {
	// Bucket is the devices' KV bucket (default CALLBRIDGE_DEVICES);
	// Subject the prefix of the calls' subjects (default callbridge.call).
	Bucket, Subject string
	// DeviceTTL is how long a device's entry lives without a refresh
	// (default 30 s): how long the devices of a node that died still ring.
	DeviceTTL time.Duration
	// Timeout bounds a request to another node (default 10 s).
	Timeout time.Duration
	// NodeTTL is how long a node that stopped answering counts as alive
	// (default 6 s): its calls end this long, and a little more, after it
	// died.
	NodeTTL time.Duration
	// OnLost is given each call of a lost node, ended, once in the
	// cluster: the server tells the widgets still in it and writes its
	// call-log records.
	OnLost func(LostCall)
	// OnDeviceEvent is given the events of the calls other nodes carry
	// that ring or are carried on this node's RTP devices (desk phones),
	// in order, from each call's first such event to its end (phones.go).
	OnDeviceEvent func(telephony.Event)
	Log           *slog.Logger
}

func (c CallsConfig) withDefaults() CallsConfig {
	if c.Bucket == "" {
		c.Bucket = "CALLBRIDGE_DEVICES"
	}
	if c.Subject == "" {
		c.Subject = "callbridge.call"
	}
	if c.DeviceTTL <= 0 {
		c.DeviceTTL = 30 * time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.NodeTTL <= 0 {
		c.NodeTTL = 6 * time.Second
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return c
}

// deviceEntry is a device's value in the bucket.
type deviceEntry struct {
	Extension int64  `json:"extension"`
	RTP       bool   `json:"rtp,omitempty"`
	Node      string `json:"node"`
}

// CallEvents is the local switch's event bus (telephony.LocalBus).
type CallEvents interface {
	Subscribe(fn func(telephony.Event)) (unsubscribe func())
}

// NewCalls makes sw the switch of node in the cluster: it learns the
// devices of the other nodes and follows its own calls on bus to answer
// for them.
func NewCalls(ctx context.Context, nc *nats.Conn, node string, sw *telephony.Switch, bus CallEvents, cfg CallsConfig) (*Calls, error) {
	cfg = cfg.withDefaults()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:         cfg.Bucket,
		Description:    "Callbridge: the devices of every node",
		TTL:            cfg.DeviceTTL,
		LimitMarkerTTL: cfg.DeviceTTL,
		Storage:        jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("devices bucket %s: %w", cfg.Bucket, err)
	}
	nodes, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:         cfg.Bucket + "_NODES",
		Description:    "Callbridge: the nodes alive, and the claims of those lost",
		TTL:            cfg.NodeTTL,
		LimitMarkerTTL: cfg.NodeTTL,
		Storage:        jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("nodes bucket: %w", err)
	}
	calls, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      cfg.Bucket + "_CALLS",
		Description: "Callbridge: the calls of every node, as they stand",
		Storage:     jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("calls bucket: %w", err)
	}
	c := &Calls{Switch: sw, nc: nc, kv: kv, node: node, cfg: cfg,
		local: map[string]telephony.Device{}, others: map[string]bool{}, owned: map[string]*nats.Subscription{}, stop: make(chan struct{}),
		nodes: nodes, calls: calls, dirty: map[string]bool{}, claimed: map[string]uint64{}, heldFor: map[string][]heldCall{}, dirtied: make(chan struct{}, 1),
		elsewhere: map[string]callEntry{}, states: map[int64]map[string][]telephony.PartyStatus{}, confs: map[string]*nats.Subscription{}, ringOuts: map[string]*nats.Subscription{},
		rtpNodes: map[string]string{}, told: map[string][]string{}}
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("devices bucket %s: watch: %w", cfg.Bucket, err)
	}
	c.watcher = w
	lw, err := nodes.WatchAll(ctx, jetstream.UpdatesOnly())
	if err != nil {
		w.Stop()
		return nil, fmt.Errorf("nodes bucket: watch: %w", err)
	}
	c.lostW = lw
	cw, err := calls.WatchAll(ctx)
	if err != nil {
		w.Stop()
		lw.Stop()
		return nil, fmt.Errorf("calls bucket: watch: %w", err)
	}
	c.callsW = cw
	if c.nodeSub, err = nc.Subscribe(cfg.Subject+".node."+nodeKey(node), c.serve); err == nil {
		c.phoneSub, err = nc.Subscribe(cfg.Subject+".devices."+nodeKey(node), c.deviceEvent)
	}
	if err != nil {
		w.Stop()
		lw.Stop()
		cw.Stop()
		if c.nodeSub != nil {
			c.nodeSub.Unsubscribe()
		}
		return nil, fmt.Errorf("node subject: %w", err)
	}
	c.beat()
	c.wg.Add(6)
	go c.watchCalls()
	go c.watch()
	go c.refresh()
	go c.heartbeat()
	go c.watchNodes(lw)
	go c.keep()
	bus.Subscribe(c.follow)
	return c, nil
}

// Close stops following the cluster: this node's devices leave the bucket
// and its calls' subjects are unsubscribed.
func (c *Calls) Close() {
	select {
	case <-c.stop:
		return
	default:
	}
	close(c.stop)
	c.watcher.Stop()
	c.lostW.Stop()
	c.callsW.Stop()
	c.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
	defer cancel()
	// A node that leaves is not lost: its claim is taken first, so no
	// other node ends calls it ended itself.
	c.nodes.Create(ctx, "lost."+nodeKey(c.node), []byte(c.node))
	c.nodes.Delete(ctx, nodeKey(c.node))
	c.mu.Lock()
	defer c.mu.Unlock()
	for id := range c.local {
		c.kv.Delete(ctx, deviceKey(id))
	}
	c.nodeSub.Unsubscribe()
	c.phoneSub.Unsubscribe()
	for _, subs := range []map[string]*nats.Subscription{c.owned, c.confs, c.ringOuts} {
		for id, sub := range subs {
			sub.Unsubscribe()
			delete(subs, id)
		}
	}
}

// watch keeps the local switch's view of the other nodes' devices.
func (c *Calls) watch() {
	defer c.wg.Done()
	for e := range c.watcher.Updates() {
		if e == nil {
			continue // the end of the initial values
		}
		id, ok := deviceOf(e.Key())
		if !ok {
			continue
		}
		if e.Operation() != jetstream.KeyValuePut {
			c.mu.Lock()
			d, mine := c.local[id]
			delete(c.others, id)
			delete(c.rtpNodes, id)
			c.mu.Unlock()
			if !mine {
				c.Switch.UnregisterDevice(id)
			} else if err := c.put(d); err != nil {
				// Removed by a node that counted this one as lost while it
				// stalled: it is back.
				c.cfg.Log.Warn("cluster: a device removed by another node not restored", slog.String("device", id), slog.Any("err", err))
			}
			continue
		}
		var d deviceEntry
		if err := json.Unmarshal(e.Value(), &d); err != nil || d.Node == c.node {
			continue
		}
		if err := c.Switch.RegisterDevice(telephony.Device{ID: id, ExtensionID: d.Extension, RTP: d.RTP}); err != nil {
			c.cfg.Log.Warn("cluster: a device of another node refused", slog.String("device", id), slog.Any("err", err))
			continue
		}
		c.mu.Lock()
		c.others[id] = true
		if d.RTP {
			c.rtpNodes[id] = d.Node
		} else {
			delete(c.rtpNodes, id)
		}
		c.mu.Unlock()
	}
}

// RemoteDevices counts the devices of other nodes this node knows.
func (c *Calls) RemoteDevices() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.others)
}

// refresh puts this node's devices again before their entries expire.
func (c *Calls) refresh() {
	defer c.wg.Done()
	t := time.NewTicker(c.cfg.DeviceTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		c.mu.Lock()
		devs := make([]telephony.Device, 0, len(c.local))
		for _, d := range c.local {
			devs = append(devs, d)
		}
		c.mu.Unlock()
		for _, d := range devs {
			if err := c.put(d); err != nil {
				c.cfg.Log.Warn("cluster: device not refreshed", slog.String("device", d.ID), slog.Any("err", err))
			}
		}
		c.sweep()
	}
}

func (c *Calls) put(d telephony.Device) error {
	v, _ := json.Marshal(deviceEntry{Extension: d.ExtensionID, RTP: d.RTP, Node: c.node})
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
	defer cancel()
	_, err := c.kv.Put(ctx, deviceKey(d.ID), v)
	return err
}

// deviceKey is a device's key in the bucket: its id, base64url-encoded, so
// that any id (a desk phone's "sip:…" too) is a valid key.
func deviceKey(id string) string { return base64.RawURLEncoding.EncodeToString([]byte(id)) }

func deviceOf(key string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(key)
	return string(b), err == nil && len(b) > 0
}

// RegisterDevice registers a device connected to this node, here and in
// the bucket.
func (c *Calls) RegisterDevice(d telephony.Device) error {
	if err := c.Switch.RegisterDevice(d); err != nil {
		return err
	}
	c.mu.Lock()
	c.local[d.ID] = d
	c.mu.Unlock()
	if err := c.put(d); err != nil {
		return fmt.Errorf("register device %s in the cluster: %w", d.ID, err)
	}
	return nil
}

// UnregisterDevice forgets a device of this node, here and in the bucket.
func (c *Calls) UnregisterDevice(id string) {
	c.mu.Lock()
	_, mine := c.local[id]
	delete(c.local, id)
	c.mu.Unlock()
	c.Switch.UnregisterDevice(id)
	if mine {
		ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
		defer cancel()
		if err := c.kv.Delete(ctx, deviceKey(id)); err != nil {
			c.cfg.Log.Warn("cluster: device not removed", slog.String("device", id), slog.Any("err", err))
		}
	}
}

// validKey reports whether s can be a subject token: the switch's call
// ids are.
func validKey(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range []byte(s) {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// follow answers for the calls this node owns: their subject is listened
// to from the call's first event to its end.
func (c *Calls) follow(ev telephony.Event) {
	c.followConference(ev.Conference)
	c.tellDevices(ev)
	id := ev.Session.ID
	if !validKey(id) {
		return
	}
	_, live := c.Switch.Session(id)
	c.markDirty(id)
	if !live {
		c.heldForEnded(ev)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	sub, owned := c.owned[id]
	switch {
	case live && !owned:
		s, err := c.nc.Subscribe(c.cfg.Subject+"."+id, c.serve)
		if err != nil {
			c.cfg.Log.Warn("cluster: a call not offered to the other nodes", slog.String("telephonySessionId", id), slog.Any("err", err))
			return
		}
		c.owned[id] = s
	case !live && owned:
		sub.Unsubscribe()
		delete(c.owned, id)
	}
}

// callRequest is what a node asks of a call's owner.
type callRequest struct {
	Op         string                  `json:"op"`
	Device     string                  `json:"device,omitempty"`
	Owner      int64                   `json:"owner,omitempty"`
	Session    string                  `json:"session"` // a call's id, or a conference's or a RingOut's
	Party      string                  `json:"party,omitempty"`
	Other      string                  `json:"other,omitempty"` // the second call of a merge or a bridge
	OtherParty string                  `json:"otherParty,omitempty"`
	To         string                  `json:"to,omitempty"`
	SDP        string                  `json:"sdp,omitempty"`
	Muted      bool                    `json:"muted,omitempty"`
	Record     telephony.RecordAction  `json:"record,omitempty"`
	Action     telephony.PartyAction   `json:"action,omitempty"`
	Devices    []string                `json:"devices,omitempty"`
	AnswerWith telephony.AnswerOptions `json:"answerWith"`
	Handover   *telephony.Handover     `json:"handover,omitempty"` // a call to adopt, and its records so far
	Records    []telephony.CallRecord  `json:"records,omitempty"`
	IntoMix    bool                    `json:"intoMix,omitempty"` // a release for a merge (telephony.ReleaseOptions)
}

// callReply is the owner's answer.
type callReply struct {
	Session    *telephony.Session     `json:"session,omitempty"`
	Conference *telephony.Conference  `json:"conference,omitempty"`
	RingOut    *telephony.RingOut     `json:"ringOut,omitempty"`
	Records    []telephony.CallRecord `json:"records,omitempty"`
	Handover   *telephony.Handover    `json:"handover,omitempty"`
	Node       string                 `json:"node,omitempty"` // the node that answered
	SDP        string                 `json:"sdp,omitempty"`
	Found      bool                   `json:"found,omitempty"`
	Error      string                 `json:"error,omitempty"`
	Kind       string                 `json:"kind,omitempty"` // the sentinel the error wraps, by name
}

// sentinels are the switch's errors that callers test with errors.Is:
// they cross the wire by name.
var sentinels = []struct {
	name string
	err  error
}{
	{"cannot-move", telephony.ErrCannotMove}, // before invalid-state, which it wraps
	{"no-such-call", telephony.ErrNoSuchCall}, {"invalid-state", telephony.ErrInvalidState},
	{"not-your-call", telephony.ErrNotYourCall}, {"no-device", telephony.ErrNoDevice},
	{"bad-number", telephony.ErrBadNumber}, {"closed", telephony.ErrClosed}, {"bad-offer", telephony.ErrBadOffer},
	{"no-such-party", telephony.ErrNoSuchParty}, {"too-many-calls", telephony.ErrTooManyCalls},
	{"device-taken", telephony.ErrDeviceTaken}, {"no-mailbox", telephony.ErrNoMailbox},
	{"storage-full", telephony.ErrStorageFull}, {"unreachable", telephony.ErrUnreachable},
	{"no-conferences", telephony.ErrNoConferences}, {"foreign-number", telephony.ErrForeignNumber},
	{"no-trunk-media", telephony.ErrNoTrunkMedia},
}

func replyError(err error) callReply {
	r := callReply{Error: err.Error()}
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			r.Kind = s.name
			break
		}
	}
	return r
}

func (r callReply) err() error {
	if r.Error == "" {
		return nil
	}
	for _, s := range sentinels {
		if s.name == r.Kind {
			return fmt.Errorf("%s: %w", r.Error, s.err)
		}
	}
	return errors.New(r.Error)
}

// serve carries out a request for a call this node owns.
func (c *Calls) serve(m *nats.Msg) {
	var q callRequest
	if err := json.Unmarshal(m.Data, &q); err != nil {
		c.respond(m, replyError(fmt.Errorf("cluster: bad request: %w", err)))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
	defer cancel()
	var r callReply
	var s telephony.Session
	var err error
	sw := c.Switch
	switch q.Op {
	case "session":
		s, r.Found = sw.Session(q.Session)
	case "answer":
		s, r.SDP, err = c.answerHere(ctx, q.Device, q.Session, q.SDP, q.AnswerWith, false)
	case "pickup":
		s, r.SDP, err = c.answerHere(ctx, q.Device, q.Session, q.SDP, telephony.AnswerOptions{}, true)
	case "offer":
		r.SDP, err = sw.DeviceOffer(ctx, q.Device, q.Session, q.SDP)
	case "reject":
		err = sw.Reject(ctx, q.Device, q.Session)
	case "hangup":
		err = sw.Hangup(ctx, q.Device, q.Session)
	case "hold":
		err = sw.Hold(ctx, q.Device, q.Session)
	case "unhold":
		err = c.unholdHere(ctx, q.Device, q.Session)
	case "mute":
		err = sw.Mute(ctx, q.Device, q.Session, q.Muted)
	case "switch":
		err = c.switchHere(ctx, q.Device, q.Session)
	case "ignore":
		err = sw.Ignore(ctx, q.Device, q.Session)
	case "voicemail":
		err = sw.ToVoicemail(ctx, q.Device, q.Session)
	case "transfer":
		s, err = sw.Transfer(ctx, q.Device, q.Session, q.To)
	case "forward":
		s, err = sw.Forward(ctx, q.Device, q.Session, q.To)
	case "record":
		s, err = sw.Record(ctx, q.Device, q.Session, q.Record)
	case "control":
		s, err = sw.ControlParty(ctx, q.Owner, q.Session, q.Party, q.Action)
	case "recordParty":
		s, err = sw.RecordParty(ctx, q.Owner, q.Session, q.Party, q.Record)
	case "move":
		err = sw.Move(ctx, q.Owner, q.Session, q.Party, q.Devices)
	default:
		s, err = c.serveMore(ctx, q, &r)
	}
	if err != nil {
		r = replyError(err)
	} else if s.ID != "" {
		r.Session = &s
	}
	c.respond(m, r)
}

func (c *Calls) respond(m *nats.Msg, r callReply) {
	r.Node = c.node
	data, _ := json.Marshal(r)
	if err := m.Respond(data); err != nil {
		c.cfg.Log.Warn("cluster: a reply not sent", slog.Any("err", err))
	}
}

// remote reports whether the call is not this node's, and then asks its
// owner. A call no node owns is telephony.ErrNoSuchCall.
func (c *Calls) remote(ctx context.Context, q callRequest) (callReply, bool, error) {
	if _, ok := c.Switch.Session(q.Session); ok || !validKey(q.Session) {
		return callReply{}, false, nil
	}
	r, err := c.ask(ctx, q.Session, q)
	return r, true, err
}

// ask sends q to whoever listens on the subject key (a call's id, a
// conference's, "ringout.<id>", "node.<node>") and returns the answer. A
// subject nobody listens to is telephony.ErrNoSuchCall.
func (c *Calls) ask(ctx context.Context, key string, q callRequest) (callReply, error) {
	data, _ := json.Marshal(q)
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	m, err := c.nc.RequestWithContext(ctx, c.cfg.Subject+"."+key, data)
	if errors.Is(err, nats.ErrNoResponders) {
		return callReply{}, fmt.Errorf("call %s: %w", q.Session, telephony.ErrNoSuchCall)
	}
	if err != nil {
		return callReply{}, fmt.Errorf("call %s on another node: %w", q.Session, err)
	}
	var r callReply
	if err := json.Unmarshal(m.Data, &r); err != nil {
		return callReply{}, fmt.Errorf("call %s on another node: %w", q.Session, err)
	}
	return r, r.err()
}

func sessionOf(r callReply) telephony.Session {
	if r.Session == nil {
		return telephony.Session{}
	}
	return *r.Session
}

// watchCalls keeps the calls of the other nodes, for Sessions.
func (c *Calls) watchCalls() {
	defer c.wg.Done()
	for e := range c.callsW.Updates() {
		if e == nil {
			continue
		}
		var ce callEntry
		put := e.Operation() == jetstream.KeyValuePut && json.Unmarshal(e.Value(), &ce) == nil
		c.emu.Lock()
		c.forgetElsewhereLocked(e.Key())
		if put && ce.Node != c.node {
			c.keepElsewhereLocked(e.Key(), ce)
		}
		c.emu.Unlock()
	}
}

// keepElsewhereLocked keeps call id of another node, and its live
// parties' states by extension (PartyStates).
func (c *Calls) keepElsewhereLocked(id string, ce callEntry) {
	c.elsewhere[id] = ce
	for _, p := range ce.Session.Parties {
		if p.Owner == 0 || p.Status == telephony.StatusDisconnected {
			continue
		}
		if c.states[p.Owner] == nil {
			c.states[p.Owner] = map[string][]telephony.PartyStatus{}
		}
		c.states[p.Owner][id] = append(c.states[p.Owner][id], p.Status)
	}
}

// forgetElsewhereLocked drops call id of another node, and its parties'
// states.
func (c *Calls) forgetElsewhereLocked(id string) {
	ce, ok := c.elsewhere[id]
	if !ok {
		return
	}
	delete(c.elsewhere, id)
	for _, p := range ce.Session.Parties {
		if byCall := c.states[p.Owner]; byCall != nil {
			delete(byCall, id)
			if len(byCall) == 0 {
				delete(c.states, p.Owner)
			}
		}
	}
}

// Sessions returns the calls of every node in which the extension has a
// party, oldest first: this node's as they are, the others' as they were
// at their last change.
func (c *Calls) Sessions(extension int64) []telephony.Session {
	out := c.Switch.Sessions(extension)
	c.emu.RLock()
	for _, ce := range c.elsewhere {
		s := ce.Session
		if slices.ContainsFunc(s.Parties, func(p telephony.Party) bool { return p.Owner == extension }) {
			out = append(out, s)
		}
	}
	c.emu.RUnlock()
	slices.SortStableFunc(out, func(a, b telephony.Session) int { return a.Created.Compare(b.Created) })
	return out
}

// PartyStates lists the states of the extension's live parties in the
// calls of the other nodes, one list per call, as they stand: the presence
// keeper counts them with those of this node's calls, so that an
// extension's telephony status is that of all its calls. It takes emu
// alone, so the keeper may call it under the switch's lock.
func (c *Calls) PartyStates(extension int64) [][]telephony.PartyStatus {
	c.emu.RLock()
	defer c.emu.RUnlock()
	return slices.Collect(maps.Values(c.states[extension]))
}

// Session returns a call of any node.
func (c *Calls) Session(id string) (telephony.Session, bool) {
	r, remote, err := c.remote(context.Background(), callRequest{Op: "session", Session: id})
	if !remote {
		return c.Switch.Session(id)
	}
	if err != nil || !r.Found {
		return telephony.Session{}, false
	}
	return sessionOf(r), true
}

func (c *Calls) Answer(ctx context.Context, device, sessionID, offerSDP string) (telephony.Session, string, error) {
	return c.AnswerWith(ctx, device, sessionID, offerSDP, telephony.AnswerOptions{})
}

func (c *Calls) AnswerWith(ctx context.Context, device, sessionID, offerSDP string, opt telephony.AnswerOptions) (telephony.Session, string, error) {
	r, remote, err := c.remote(ctx, callRequest{Op: "answer", Device: device, Session: sessionID, SDP: offerSDP, AnswerWith: opt})
	if !remote {
		return c.answerHere(ctx, device, sessionID, offerSDP, opt, false)
	}
	return sessionOf(r), r.SDP, err
}

func (c *Calls) Pickup(ctx context.Context, device, sessionID, offerSDP string) (telephony.Session, string, error) {
	r, remote, err := c.remote(ctx, callRequest{Op: "pickup", Device: device, Session: sessionID, SDP: offerSDP})
	if !remote {
		return c.answerHere(ctx, device, sessionID, offerSDP, telephony.AnswerOptions{}, true)
	}
	return sessionOf(r), r.SDP, err
}

func (c *Calls) DeviceOffer(ctx context.Context, device, sessionID, offerSDP string) (string, error) {
	r, remote, err := c.remote(ctx, callRequest{Op: "offer", Device: device, Session: sessionID, SDP: offerSDP})
	if !remote {
		return c.Switch.DeviceOffer(ctx, device, sessionID, offerSDP)
	}
	return r.SDP, err
}

// deviceOp routes an operation of a device on a call that returns only an
// error.
func (c *Calls) deviceOp(ctx context.Context, q callRequest, local func() error) error {
	_, remote, err := c.remote(ctx, q)
	if !remote {
		return local()
	}
	return err
}

func (c *Calls) Reject(ctx context.Context, device, sessionID string) error {
	return c.deviceOp(ctx, callRequest{Op: "reject", Device: device, Session: sessionID},
		func() error { return c.Switch.Reject(ctx, device, sessionID) })
}

func (c *Calls) Hangup(ctx context.Context, device, sessionID string) error {
	return c.deviceOp(ctx, callRequest{Op: "hangup", Device: device, Session: sessionID},
		func() error { return c.Switch.Hangup(ctx, device, sessionID) })
}

func (c *Calls) Hold(ctx context.Context, device, sessionID string) error {
	return c.deviceOp(ctx, callRequest{Op: "hold", Device: device, Session: sessionID},
		func() error { return c.Switch.Hold(ctx, device, sessionID) })
}

func (c *Calls) Unhold(ctx context.Context, device, sessionID string) error {
	return c.deviceOp(ctx, callRequest{Op: "unhold", Device: device, Session: sessionID},
		func() error { return c.unholdHere(ctx, device, sessionID) })
}

func (c *Calls) Mute(ctx context.Context, device, sessionID string, muted bool) error {
	return c.deviceOp(ctx, callRequest{Op: "mute", Device: device, Session: sessionID, Muted: muted},
		func() error { return c.Switch.Mute(ctx, device, sessionID, muted) })
}

func (c *Calls) SwitchCall(ctx context.Context, device, sessionID string) error {
	return c.deviceOp(ctx, callRequest{Op: "switch", Device: device, Session: sessionID},
		func() error { return c.switchHere(ctx, device, sessionID) })
}

func (c *Calls) Ignore(ctx context.Context, device, sessionID string) error {
	return c.deviceOp(ctx, callRequest{Op: "ignore", Device: device, Session: sessionID},
		func() error { return c.Switch.Ignore(ctx, device, sessionID) })
}

func (c *Calls) ToVoicemail(ctx context.Context, device, sessionID string) error {
	return c.deviceOp(ctx, callRequest{Op: "voicemail", Device: device, Session: sessionID},
		func() error { return c.Switch.ToVoicemail(ctx, device, sessionID) })
}

func (c *Calls) Move(ctx context.Context, owner int64, sessionID, partyID string, devices []string) error {
	return c.deviceOp(ctx, callRequest{Op: "move", Owner: owner, Session: sessionID, Party: partyID, Devices: devices},
		func() error { return c.Switch.Move(ctx, owner, sessionID, partyID, devices) })
}

// sessionOp routes an operation on a call that returns the call.
func (c *Calls) sessionOp(ctx context.Context, q callRequest, local func() (telephony.Session, error)) (telephony.Session, error) {
	r, remote, err := c.remote(ctx, q)
	if !remote {
		return local()
	}
	return sessionOf(r), err
}

func (c *Calls) Transfer(ctx context.Context, device, sessionID, to string) (telephony.Session, error) {
	return c.sessionOp(ctx, callRequest{Op: "transfer", Device: device, Session: sessionID, To: to},
		func() (telephony.Session, error) { return c.Switch.Transfer(ctx, device, sessionID, to) })
}

func (c *Calls) Forward(ctx context.Context, device, sessionID, to string) (telephony.Session, error) {
	return c.sessionOp(ctx, callRequest{Op: "forward", Device: device, Session: sessionID, To: to},
		func() (telephony.Session, error) { return c.Switch.Forward(ctx, device, sessionID, to) })
}

func (c *Calls) Record(ctx context.Context, device, sessionID string, action telephony.RecordAction) (telephony.Session, error) {
	return c.sessionOp(ctx, callRequest{Op: "record", Device: device, Session: sessionID, Record: action},
		func() (telephony.Session, error) { return c.Switch.Record(ctx, device, sessionID, action) })
}

func (c *Calls) ControlParty(ctx context.Context, owner int64, sessionID, partyID string, action telephony.PartyAction) (telephony.Session, error) {
	return c.sessionOp(ctx, callRequest{Op: "control", Owner: owner, Session: sessionID, Party: partyID, Action: action},
		func() (telephony.Session, error) {
			return c.Switch.ControlParty(ctx, owner, sessionID, partyID, action)
		})
}

func (c *Calls) RecordParty(ctx context.Context, owner int64, sessionID, partyID string, action telephony.RecordAction) (telephony.Session, error) {
	return c.sessionOp(ctx, callRequest{Op: "recordParty", Owner: owner, Session: sessionID, Party: partyID, Record: action},
		func() (telephony.Session, error) { return c.Switch.RecordParty(ctx, owner, sessionID, partyID, action) })
}
