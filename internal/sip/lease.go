package sip

import (
	"context"
	"log/slog"
	"time"
)

// Several nodes of one deployment run the same trunks. A carrier keeps one
// registration per account: nodes that each registered the trunk's user
// would overwrite one another's contact. With Config.TrunkLeases, one node
// at a time registers each registering trunk (the holder of its lease),
// and the others follow what the holder reports. Every node still places
// calls on the trunk itself, answering the carrier's digest challenges with
// the trunk's credentials: an INVITE needs no registration of its sender.

// TrunkLeases hands out the trunks' registration leases among the nodes.
// The UA calls it from one goroutine per trunk for each method.
type TrunkLeases interface {
	// Node names this node, as TrunkHolding.Node names the holder.
	Node() string
	// Acquire returns once this node holds the trunk's lease; with ctx's
	// error when ctx ends first.
	Acquire(ctx context.Context, trunk string) (TrunkLease, error)
	// Follow calls seen with the trunk's registration as its holder
	// reports it, at once and at each change, until ctx ends; a zero
	// TrunkHolding when no node holds the lease. Calls are made one at a
	// time, in order.
	Follow(ctx context.Context, trunk string, seen func(TrunkHolding))
}

// TrunkLease is this node's hold on a trunk's registration.
type TrunkLease interface {
	// Lost is closed when the lease is lost: another node took it, or it
	// could not be refreshed in time (the node is cut off). The node
	// stops registering at once; the registration it made is left to run
	// out, or to be replaced by the next holder's.
	Lost() <-chan struct{}
	// Report makes h the registration the other nodes see (its Node is
	// this node's, whatever h says).
	Report(h TrunkHolding)
	// Release gives up the lease, so that another node takes it at once.
	// ctx bounds it.
	Release(ctx context.Context)
	// Previous is the registration of the node that held the lease before
	// this one, as last seen; zero when none was seen. A holder that died
	// or was cut off left its binding at the carrier: the new holder
	// removes it once registered.
	Previous() TrunkHolding
}

// TrunkHolding is a trunk's registration as the holder of its lease
// reports it.
type TrunkHolding struct {
	// Node is the node that holds the lease; "" when none does.
	Node            string
	Registered      bool
	RegisteredUntil time.Time
	// Error is why the holder is not registered.
	Error string
	// Contact is the holder's Contact URI at the carrier while it is
	// registered.
	Contact string
}

// releaseTimeout bounds giving up a lease at close.
const releaseTimeout = 3 * time.Second

// leadLoop registers the trunk whenever this node holds its lease: it waits
// for the lease, registers until the lease is lost, then waits again; when
// the UA closes it removes the registration and gives the lease up.
func (t *trunk) leadLoop(ctx context.Context) {
	leases := t.ua.cfg.TrunkLeases
	for {
		lease, err := leases.Acquire(ctx, t.cfg.Name)
		if err != nil {
			return // the UA closes
		}
		t.log.Info("sip: trunk lease taken: this node registers the trunk")
		t.setHolding(true)
		lctx, cancel := context.WithCancel(ctx)
		watched := make(chan struct{})
		go func() {
			defer close(watched)
			select {
			case <-lease.Lost():
				cancel()
			case <-lctx.Done():
			}
		}()
		t.registerLoop(lctx, lease)
		cancel()
		<-watched
		t.setHolding(false)
		if ctx.Err() != nil {
			rctx, stop := context.WithTimeout(context.Background(), releaseTimeout)
			lease.Release(rctx)
			stop()
			return
		}
		t.log.Warn("sip: trunk lease lost: this node stops registering the trunk")
	}
}

// followLoop keeps the trunk's status, while another node holds its
// lease, to what that node reports.
func (t *trunk) followLoop(ctx context.Context) {
	t.ua.cfg.TrunkLeases.Follow(ctx, t.cfg.Name, t.follow)
}

// follow takes the holder's report.
func (t *trunk) follow(h TrunkHolding) {
	var changed bool
	t.update(func(st *TrunkStatus) {
		changed = h.Node != t.seen.Node
		t.seen = h
		if !t.holding {
			applyHolding(st, t.others(h))
		}
	})
	if changed && h.Node != t.ua.cfg.TrunkLeases.Node() {
		if h.Node == "" {
			t.log.Info("sip: no node registers the trunk")
		} else {
			t.log.Info("sip: another node registers the trunk", slog.String("node", h.Node))
		}
	}
}

// setHolding says whether this node holds the lease. While it does, the
// registration loop sets the status; after, the holder's reports do.
func (t *trunk) setHolding(holding bool) {
	t.update(func(st *TrunkStatus) {
		t.holding = holding
		if holding {
			st.Node, st.Registered, st.RegisteredUntil = t.ua.cfg.TrunkLeases.Node(), false, time.Time{}
		} else {
			applyHolding(st, t.others(t.seen))
		}
	})
}

// others is h unless it names this node, which does not hold the lease
// (it lost it, and the entry it wrote has not run out yet): then none.
func (t *trunk) others(h TrunkHolding) TrunkHolding {
	if h.Node == t.ua.cfg.TrunkLeases.Node() {
		return TrunkHolding{}
	}
	return h
}

// applyHolding makes the status the holder's registration, as another
// node sees it.
func applyHolding(st *TrunkStatus, h TrunkHolding) {
	st.Node, st.Registered, st.RegisteredUntil = h.Node, h.Registered, h.RegisteredUntil
	switch {
	case h.Registered:
	case h.Node == "":
		st.Error = "no node registers the trunk"
	case h.Error != "":
		st.Error = h.Error + " (node " + h.Node + ")"
	default:
		st.Error = "not yet registered by node " + h.Node
	}
}
