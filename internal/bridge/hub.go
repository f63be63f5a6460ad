package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ResyncType is the widget-internal message a stream sends first when the
// client's Last-Event-ID can no longer be replayed (too old, or from before a
// restart): the widget then reloads its state instead of trusting the stream.
const ResyncType = "cb-resync"

// Event is one message as carried by the hub: an id unique within its group
// and the JSON object the widget receives.
type Event struct {
	ID   string
	Data []byte

	frame []byte // the event as a stream writes it, made once when published
}

// HubConfig sizes the hub. Zero values take the defaults.
type HubConfig struct {
	LogSize    int           // events kept per group for replay (default 512)
	BufferSize int           // per-subscriber channel buffer, in publications (default 32)
	IdleTTL    time.Duration // a group with no subscriber and no event for this long is dropped by Sweep (default 1h)
}

// Hub fans events out to subscribers grouped by a key (a widget session now,
// an extension or a device later) and keeps a bounded log per group so a
// reconnecting subscriber can replay what it missed.
//
// Event ids have the form "<boot>.<n>": n grows by one per event of the group,
// boot changes whenever the process restarts, so an id from an older process
// is recognised and answered with a resync instead of a wrong replay.
type Hub struct {
	cfg  HubConfig
	boot string

	// relay, when set (UseRelay), carries publications between the nodes
	// of a cluster and keeps them for replay: Publish appends to it, and
	// every node's hub, this one included, gets each publication back
	// through Deliver in the relay's order. Event ids are then
	// "<epoch>.<seq>.<i>": the relay's sequence of the publication and the
	// event's index in it, the same on every node.
	relay Relay

	mu      sync.Mutex
	groups  map[string]*group
	closed  bool
	stats   HubStats
	applied uint64 // with a relay: the sequence of the last publication delivered
}

// Relay is the log the nodes of a cluster share (internal/cluster keeps it
// in NATS JetStream).
type Relay interface {
	// Epoch names the log: ids of another log (one since deleted and
	// made again) are not replayed from this one.
	Epoch() string
	// Append stores one publication of a group, the events' JSON, and
	// returns its sequence once it is stored.
	Append(key string, events [][]byte) (seq uint64, err error)
	// Since calls each with the group's publications whose sequence is in
	// (after, upto], in order. complete is false when publications after
	// after are gone from the log (its retention): the replay has a gap.
	Since(ctx context.Context, key string, after, upto uint64, each func(seq uint64, events [][]byte)) (complete bool, err error)
}

// HubStats count the hub's subscriptions (the event streams) since it
// started.
type HubStats struct {
	Open    int    // subscriptions open now
	Opened  uint64 // subscriptions made
	Dropped uint64 // subscriptions closed because they fell behind
}

type group struct {
	next     uint64          // number of the next event
	log      []Event         // ring of the last LogSize events
	start    int             // index of the oldest event in log when full
	subs     []*Subscription // in no order; a subscription knows its index
	lastUsed time.Time
}

// Subscription is one consumer of a group. Each value received from C is one
// publication: the events a single Publish or PublishAll made, in order; a
// stream's heartbeat timer adds empty ones (see pump). C is
// closed exactly once: when the subscription is closed, when it fell behind
// and was dropped, or when the hub shuts down. Dropped reports which.
type Subscription struct {
	C       <-chan []Event
	ch      chan []Event
	hub     *Hub
	key     string
	dropped bool // guarded by hub.mu
	done    bool // guarded by hub.mu
	idx     int  // index in its group's subs while not done; guarded by hub.mu
}

// NewHub returns an empty hub.
func NewHub(cfg HubConfig) *Hub {
	if cfg.LogSize <= 0 {
		cfg.LogSize = 512
	}
	if cfg.BufferSize <= 0 {
		cfg.BufferSize = 32
	}
	if cfg.IdleTTL <= 0 {
		cfg.IdleTTL = time.Hour
	}
	return &Hub{
		cfg:    cfg,
		boot:   strconv.FormatInt(time.Now().UnixNano(), 36),
		groups: make(map[string]*group),
	}
}

// UseRelay makes the hub a node of a cluster that shares r: applied is the
// sequence of the last publication before the first that Deliver will be
// given. Call it before the hub is used.
func (h *Hub) UseRelay(r Relay, applied uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.relay, h.applied = r, applied
}

func (h *Hub) groupLocked(key string) *group {
	g := h.groups[key]
	if g == nil {
		g = &group{next: 1}
		h.groups[key] = g
	}
	g.lastUsed = time.Now()
	return g
}

// Publish encodes msg as JSON, appends it to the group's log and delivers it
// to every subscriber of the group. A subscriber whose buffer is full is
// dropped (its channel closed) rather than allowed to slow the others; it
// replays from the log when it reconnects.
func (h *Hub) Publish(key string, msg any) (Event, error) {
	evs, err := h.PublishAll(key, []any{msg})
	if err != nil {
		return Event{}, err
	}
	return evs[0], nil
}

// PublishAll publishes msgs as consecutive events of the group and hands
// them to each subscriber as one publication, so a stream wakes and writes
// once for all of them. Nothing is published if one of them does not encode.
func (h *Hub) PublishAll(key string, msgs []any) ([]Event, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	evs := make([]Event, len(msgs))
	for i, msg := range msgs {
		data, err := json.Marshal(msg)
		if err != nil {
			return nil, fmt.Errorf("publish to %s: %w", key, err)
		}
		evs[i].Data = data
	}
	if r := h.relayOf(); r != nil {
		datas := make([][]byte, len(evs))
		for i := range evs {
			datas[i] = evs[i].Data
		}
		seq, err := r.Append(key, datas)
		if err != nil {
			return nil, fmt.Errorf("publish to %s: %w", key, err)
		}
		for i := range evs {
			evs[i].ID = relayID(r.Epoch(), seq, i)
		}
		return evs, nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, fmt.Errorf("publish to %s: hub closed", key)
	}
	g := h.groupLocked(key)
	for i := range evs {
		evs[i].ID = h.boot + "." + strconv.FormatUint(g.next, 10)
		g.next++
	}
	h.appendLocked(g, evs)
	return evs, nil
}

func (h *Hub) relayOf() Relay {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.relay
}

// relayID is the id of the i-th event of the relay's publication seq.
func relayID(epoch string, seq uint64, i int) string {
	return epoch + "." + strconv.FormatUint(seq, 10) + "." + strconv.Itoa(i)
}

// parseRelayID is relayID's inverse, for ids of the relay's epoch.
func parseRelayID(epoch, id string) (seq uint64, i int, ok bool) {
	e, rest, ok1 := strings.Cut(id, ".")
	s, n, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || e != epoch {
		return 0, 0, false
	}
	seq, err1 := strconv.ParseUint(s, 10, 64)
	i, err2 := strconv.Atoi(n)
	return seq, i, err1 == nil && err2 == nil && i >= 0
}

// Deliver hands the group's subscribers on this node a publication of the
// relay (UseRelay), in the relay's order. A group nobody on this node
// listens to is not kept: a subscriber that comes later replays from the
// relay.
func (h *Hub) Deliver(key string, seq uint64, events [][]byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.relay == nil || seq <= h.applied {
		return
	}
	h.applied = seq
	g := h.groups[key]
	if h.closed || g == nil || len(events) == 0 {
		return
	}
	g.lastUsed = time.Now()
	evs := make([]Event, len(events))
	for i, data := range events {
		evs[i] = Event{ID: relayID(h.relay.Epoch(), seq, i), Data: data}
	}
	h.appendLocked(g, evs)
}

// appendLocked adds evs, their ids given, to the group's log and hands them
// to its subscribers as one publication.
func (h *Hub) appendLocked(g *group, evs []Event) {
	for i := range evs {
		evs[i].frame = formatEvent(nil, evs[i])
		if len(g.log) < h.cfg.LogSize {
			g.log = append(g.log, evs[i])
		} else {
			g.log[g.start] = evs[i]
			g.start = (g.start + 1) % len(g.log)
		}
	}
	for i := 0; i < len(g.subs); {
		s := g.subs[i]
		select {
		case s.ch <- evs:
			i++
		default:
			// The last subscription takes its place: i is looked at again.
			s.dropped = true
			h.stats.Dropped++
			h.removeLocked(s)
		}
	}
}

// Subscribe adds a subscriber to the group. lastEventID is the client's
// Last-Event-ID ("" for a first connection). It returns the events to replay
// first and whether the client must resync because its position is lost.
func (h *Hub) Subscribe(key, lastEventID string) (sub *Subscription, replay []Event, resync bool, err error) {
	h.mu.Lock()
	if h.relay != nil {
		return h.subscribeRelayed(key, lastEventID) // unlocks
	}
	defer h.mu.Unlock()
	if h.closed {
		return nil, nil, false, fmt.Errorf("subscribe to %s: hub closed", key)
	}
	g := h.groupLocked(key)
	if lastEventID != "" {
		n, ok := h.parseID(lastEventID)
		switch {
		case !ok || n >= g.next:
			resync = true
		default:
			oldest := g.next - uint64(len(g.log))
			if n+1 < oldest {
				resync = true
			}
			for i := range g.log {
				ev := g.log[(g.start+i)%len(g.log)]
				if en, _ := h.parseID(ev.ID); en > n {
					replay = append(replay, ev)
				}
			}
		}
	}
	ch := make(chan []Event, h.cfg.BufferSize)
	sub = &Subscription{C: ch, ch: ch, hub: h, key: key, idx: len(g.subs)}
	g.subs = append(g.subs, sub)
	h.stats.Open++
	h.stats.Opened++
	return sub, replay, resync, nil
}

// subscribeRelayed is Subscribe with a relay, called with h.mu held, which
// it releases. The subscription starts after the last publication this
// node delivered; what the client missed up to it comes from the group's
// log on this node when it holds the client's last event (the node
// delivered everything since), else from the relay.
func (h *Hub) subscribeRelayed(key, lastEventID string) (sub *Subscription, replay []Event, resync bool, err error) {
	if h.closed {
		h.mu.Unlock()
		return nil, nil, false, fmt.Errorf("subscribe to %s: hub closed", key)
	}
	g := h.groupLocked(key)
	ch := make(chan []Event, h.cfg.BufferSize)
	sub = &Subscription{C: ch, ch: ch, hub: h, key: key, idx: len(g.subs)}
	g.subs = append(g.subs, sub)
	h.stats.Open++
	h.stats.Opened++
	upto, relay := h.applied, h.relay
	if lastEventID == "" {
		h.mu.Unlock()
		return sub, nil, false, nil
	}
	seq, idx, ok := parseRelayID(relay.Epoch(), lastEventID)
	if !ok || seq == 0 || seq > upto {
		h.mu.Unlock()
		return sub, nil, true, nil
	}
	for i := range g.log {
		if g.log[(g.start+i)%len(g.log)].ID != lastEventID {
			continue
		}
		for j := i + 1; j < len(g.log); j++ {
			replay = append(replay, g.log[(g.start+j)%len(g.log)])
		}
		h.mu.Unlock()
		return sub, replay, false, nil
	}
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), relayReplayTimeout)
	defer cancel()
	complete, err := relay.Since(ctx, key, seq-1, upto, func(s uint64, events [][]byte) {
		for i, data := range events {
			if s == seq && i <= idx {
				continue
			}
			replay = append(replay, Event{ID: relayID(relay.Epoch(), s, i), Data: data})
		}
	})
	if err != nil {
		// The client reloads its state rather than miss what it cannot
		// be given.
		return sub, nil, true, nil
	}
	for i := range replay {
		replay[i].frame = formatEvent(nil, replay[i])
	}
	return sub, replay, !complete, nil
}

// relayReplayTimeout bounds the reading of a replay from the relay.
const relayReplayTimeout = 10 * time.Second

// parseID returns the event number of an id issued by this process.
func (h *Hub) parseID(id string) (uint64, bool) {
	boot, num, ok := strings.Cut(id, ".")
	if !ok || boot != h.boot {
		return 0, false
	}
	n, err := strconv.ParseUint(num, 10, 64)
	return n, err == nil
}

// Close unsubscribes. It is safe to call more than once and after a drop.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	s.hub.removeLocked(s)
}

// heartbeat hands the subscriber an empty publication, which a stream
// answers with a heartbeat event. A subscriber whose buffer is full has
// publications to write and gets none; one that is closed neither.
func (s *Subscription) heartbeat() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	if s.done {
		return
	}
	select {
	case s.ch <- nil:
	default:
	}
}

// Dropped reports whether the subscription was closed because it fell behind.
func (s *Subscription) Dropped() bool {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return s.dropped
}

func (h *Hub) removeLocked(s *Subscription) {
	if s.done {
		return
	}
	s.done = true
	h.stats.Open--
	close(s.ch)
	if g := h.groups[s.key]; g != nil {
		last := len(g.subs) - 1
		g.subs[s.idx] = g.subs[last]
		g.subs[s.idx].idx = s.idx
		g.subs[last] = nil
		g.subs = g.subs[:last]
		if len(g.subs) == 0 {
			g.subs = nil // a burst of subscribers leaves no large array behind
		}
		g.lastUsed = time.Now()
	}
}

// Stats returns the hub's counts of subscriptions.
func (h *Hub) Stats() HubStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stats
}

// Subscribers returns the number of live subscriptions of a group.
func (h *Hub) Subscribers(key string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if g := h.groups[key]; g != nil {
		return len(g.subs)
	}
	return 0
}

// Sweep forgets groups that have had no subscriber and no event for the idle
// TTL, so memory follows live use. The server calls it periodically.
func (h *Hub) Sweep(now time.Time) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for key, g := range h.groups {
		if len(g.subs) == 0 && now.Sub(g.lastUsed) > h.cfg.IdleTTL {
			delete(h.groups, key)
			n++
		}
	}
	return n
}

// CloseGroup closes every subscription of a group, as Shutdown does for the
// whole hub: each stream writes what it was already handed, then ends. The
// group stays usable for new subscribers. It returns how many it closed.
func (h *Hub) CloseGroup(key string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	g := h.groups[key]
	if g == nil {
		return 0
	}
	n := len(g.subs)
	for len(g.subs) > 0 {
		h.removeLocked(g.subs[len(g.subs)-1])
	}
	return n
}

// Shutdown closes every subscription; later Publish and Subscribe calls fail.
func (h *Hub) Shutdown() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, g := range h.groups {
		for len(g.subs) > 0 {
			h.removeLocked(g.subs[len(g.subs)-1])
		}
	}
}
