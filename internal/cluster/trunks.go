package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/callbridge/widget-server/internal/sip"
)

// TrunkLeases lets one node at a time register each SIP trunk
// (sip.TrunkLeases): a carrier keeps one registration per account, which
// nodes registering side by side would fight over. Each trunk has a key in
// a JetStream KV bucket whose entries live TTL unless written again. A node
// takes a trunk by creating its key (a compare-and-set on its absence),
// and keeps it by writing it again, by compare-and-set on its revision,
// every TTL/4 with the registration as it stands; the other nodes watch
// the key, report that registration as the trunk's, and try to take the
// key when it is removed (its holder stopped) or runs out (its holder
// died or was cut off).
//
// A holder that cannot write its key for TTL/2 gives it up, well before
// it runs out and another node may take it, so that two nodes never
// register at once; one whose compare-and-set fails was overtaken and
// stops at once.
type TrunkLeases struct {
	kv   jetstream.KeyValue
	node string
	cfg  TrunkLeasesConfig
}

var _ sip.TrunkLeases = (*TrunkLeases)(nil)

// TrunkLeasesConfig shapes TrunkLeases.
type TrunkLeasesConfig struct {
	// Bucket is the KV bucket (default CALLBRIDGE_TRUNKS).
	Bucket string
	// TTL is how long a trunk's key lives without a write (default 10 s):
	// how long after its holder died another node takes the trunk over.
	TTL time.Duration
	Log *slog.Logger
}

func (c TrunkLeasesConfig) withDefaults() TrunkLeasesConfig {
	if c.Bucket == "" {
		c.Bucket = "CALLBRIDGE_TRUNKS"
	}
	if c.TTL <= 0 {
		c.TTL = 10 * time.Second
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return c
}

// trunkEntry is a trunk's value in the bucket: its holder and the
// registration the holder reports.
type trunkEntry struct {
	Node            string    `json:"node"`
	Registered      bool      `json:"registered,omitempty"`
	RegisteredUntil time.Time `json:"registeredUntil,omitzero"`
	Error           string    `json:"error,omitempty"`
	Contact         string    `json:"contact,omitempty"`
}

// NewTrunkLeases makes (or finds) the trunks' bucket, for node.
func NewTrunkLeases(ctx context.Context, nc *nats.Conn, node string, cfg TrunkLeasesConfig) (*TrunkLeases, error) {
	cfg = cfg.withDefaults()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:         cfg.Bucket,
		Description:    "Callbridge: the node that registers each SIP trunk, and its registration",
		TTL:            cfg.TTL,
		LimitMarkerTTL: cfg.TTL,
		Storage:        jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("trunks bucket %s: %w", cfg.Bucket, err)
	}
	return &TrunkLeases{kv: kv, node: node, cfg: cfg}, nil
}

// Node names this node.
func (l *TrunkLeases) Node() string { return l.node }

// timeout bounds each request to the bucket: well under the interval of
// the holder's writes.
func (l *TrunkLeases) timeout() time.Duration { return l.cfg.TTL / 4 }

// Acquire waits until this node holds the trunk's key. It tries when it
// starts, whenever the key is removed or runs out, and every TTL/2 besides
// (a watch that NATS interrupted may have missed the removal).
func (l *TrunkLeases) Acquire(ctx context.Context, trunk string) (sip.TrunkLease, error) {
	log := l.cfg.Log.With(slog.String("trunk", trunk))
	retry := time.NewTicker(l.cfg.TTL / 2)
	defer retry.Stop()
	var (
		w       jetstream.KeyWatcher
		updates <-chan jetstream.KeyValueEntry
	)
	defer func() {
		if w != nil {
			w.Stop()
		}
	}()
	warned := false
	var prev sip.TrunkHolding // the holder's registration, as last seen
	seen := func(h sip.TrunkHolding) {
		if h.Node != "" && h.Node != l.node {
			prev = h
		}
	}
	for {
		if w == nil {
			// Watch before trying, so that no removal falls between.
			if nw, err := l.kv.Watch(ctx, trunk, jetstream.UpdatesOnly()); err == nil {
				w, updates = nw, nw.Updates()
			}
		}
		v, _ := json.Marshal(trunkEntry{Node: l.node})
		cctx, cancel := context.WithTimeout(ctx, l.timeout())
		rev, err := l.kv.Create(cctx, trunk, v)
		cancel()
		switch {
		case err == nil:
			return l.hold(trunk, rev, prev), nil
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case errors.Is(err, jetstream.ErrKeyExists):
			gctx, cancel := context.WithTimeout(ctx, l.timeout())
			if e, err := l.kv.Get(gctx, trunk); err == nil {
				seen(holdingOf(e, log))
			}
			cancel()
		case !warned:
			log.Warn("cluster: a trunk's lease not asked for; trying again", slog.Any("err", err))
			warned = true
		}
	again:
		for {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-retry.C:
				break again
			case e, ok := <-updates:
				if !ok {
					w.Stop()
					w, updates = nil, nil
					break again
				}
				if e != nil && e.Operation() != jetstream.KeyValuePut {
					break again // removed or ran out
				}
				if e != nil {
					seen(holdingOf(e, log))
				}
			}
		}
	}
}

// Follow reports the trunk's entry as it changes, until ctx ends; after an
// interrupted watch it watches again.
func (l *TrunkLeases) Follow(ctx context.Context, trunk string, seen func(sip.TrunkHolding)) {
	log := l.cfg.Log.With(slog.String("trunk", trunk))
	for ctx.Err() == nil {
		w, err := l.kv.Watch(ctx, trunk)
		if err != nil {
			if ctx.Err() == nil {
				log.Debug("cluster: a trunk's lease not watched; trying again", slog.Any("err", err))
			}
		} else {
			current := false
			for e := range w.Updates() {
				if e == nil {
					// The current entry, if any, came first.
					if !current {
						seen(sip.TrunkHolding{})
					}
					current = true
					continue
				}
				current = true
				seen(holdingOf(e, log))
			}
			w.Stop()
		}
		t := time.NewTimer(l.cfg.TTL / 4)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}

// holdingOf reads a trunk's entry: none when it was removed or ran out,
// or does not read.
func holdingOf(e jetstream.KeyValueEntry, log *slog.Logger) sip.TrunkHolding {
	if e.Operation() != jetstream.KeyValuePut {
		return sip.TrunkHolding{}
	}
	var te trunkEntry
	if err := json.Unmarshal(e.Value(), &te); err != nil || te.Node == "" {
		log.Warn("cluster: a trunk's lease does not read", slog.Any("err", err))
		return sip.TrunkHolding{}
	}
	return sip.TrunkHolding{Node: te.Node, Registered: te.Registered, RegisteredUntil: te.RegisteredUntil, Error: te.Error, Contact: te.Contact}
}

// trunkLease is this node's hold on a trunk's key: one goroutine writes
// it, every TTL/4 and on each report, by compare-and-set on the revision
// it last wrote.
type trunkLease struct {
	l    *TrunkLeases
	key  string
	log  *slog.Logger
	lost chan struct{}
	wake chan struct{}
	stop chan struct{}
	done chan struct{}

	prev     sip.TrunkHolding // the registration of the holder before, as last seen
	mu       sync.Mutex
	entry    trunkEntry
	rev      uint64 // the revision last written; 0 once lost
	released bool
}

func (l *TrunkLeases) hold(trunk string, rev uint64, prev sip.TrunkHolding) *trunkLease {
	tl := &trunkLease{l: l, key: trunk, log: l.cfg.Log.With(slog.String("trunk", trunk)),
		lost: make(chan struct{}), wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		entry: trunkEntry{Node: l.node}, rev: rev, prev: prev}
	go tl.keep()
	return tl
}

func (tl *trunkLease) Lost() <-chan struct{} { return tl.lost }

func (tl *trunkLease) Previous() sip.TrunkHolding { return tl.prev }

func (tl *trunkLease) Report(h sip.TrunkHolding) {
	tl.mu.Lock()
	tl.entry = trunkEntry{Node: tl.l.node, Registered: h.Registered, RegisteredUntil: h.RegisteredUntil, Error: h.Error, Contact: h.Contact}
	tl.mu.Unlock()
	select {
	case tl.wake <- struct{}{}:
	default:
	}
}

// Release stops the writes and removes the key, unless it was lost (or
// taken since: the removal is a compare-and-set on the revision too).
func (tl *trunkLease) Release(ctx context.Context) {
	tl.mu.Lock()
	if tl.released {
		tl.mu.Unlock()
		return
	}
	tl.released = true
	tl.mu.Unlock()
	close(tl.stop)
	<-tl.done
	tl.mu.Lock()
	rev := tl.rev
	tl.mu.Unlock()
	if rev == 0 {
		return
	}
	if err := tl.l.kv.Delete(ctx, tl.key, jetstream.LastRevision(rev)); err != nil {
		tl.log.Warn("cluster: a trunk's lease not given up; it runs out", slog.Any("err", err))
	}
}

// keep writes the key until the lease is released or lost. A write that
// fails is tried again soon; when none succeeded for TTL/2 the lease is
// given up.
func (tl *trunkLease) keep() {
	defer close(tl.done)
	l := tl.l
	tick := time.NewTicker(l.cfg.TTL / 4)
	defer tick.Stop()
	retry := time.NewTimer(0)
	retry.Stop()
	defer retry.Stop()
	deadline := time.Now().Add(l.cfg.TTL / 2) // the key was created just now
	for {
		select {
		case <-tl.stop:
			return
		case <-tick.C:
		case <-tl.wake:
		case <-retry.C:
		}
		tl.mu.Lock()
		v, _ := json.Marshal(tl.entry)
		rev := tl.rev
		tl.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), min(l.timeout(), time.Until(deadline)))
		next, err := l.kv.Update(ctx, tl.key, v, rev)
		cancel()
		switch {
		case err == nil:
			tl.mu.Lock()
			tl.rev = next
			tl.mu.Unlock()
			deadline = time.Now().Add(l.cfg.TTL / 2)
			continue
		case errors.Is(err, jetstream.ErrKeyExists) && tl.ownsLatest(rev):
			continue // a write whose answer was lost had succeeded
		case errors.Is(err, jetstream.ErrKeyExists):
			tl.log.Warn("cluster: a trunk's lease was taken by another node or ran out")
		case !time.Now().Before(deadline):
			tl.log.Warn("cluster: a trunk's lease not refreshed in time: given up", slog.Any("err", err))
		default:
			tl.log.Debug("cluster: a trunk's lease not refreshed; trying again", slog.Any("err", err))
			retry.Reset(l.cfg.TTL / 16)
			continue
		}
		tl.mu.Lock()
		tl.rev = 0
		tl.mu.Unlock()
		close(tl.lost)
		return
	}
}

// ownsLatest reports whether the key's latest entry, past rev, is this
// node's: a write whose answer did not come back. Only this lease writes
// entries naming this node, so the lease is still held; its revision is
// taken.
func (tl *trunkLease) ownsLatest(rev uint64) bool {
	ctx, cancel := context.WithTimeout(context.Background(), tl.l.timeout())
	defer cancel()
	e, err := tl.l.kv.Get(ctx, tl.key)
	if err != nil || e.Revision() <= rev {
		return false
	}
	var te trunkEntry
	if json.Unmarshal(e.Value(), &te) != nil || te.Node != tl.l.node {
		return false
	}
	tl.mu.Lock()
	tl.rev = e.Revision()
	tl.mu.Unlock()
	return true
}
