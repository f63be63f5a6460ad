package presence

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/callbridge/widget-server/internal/eventbus"
	"github.com/callbridge/widget-server/internal/telephony"
)

// Store keeps what users set of their presence across restarts. The store
// implements it.
type Store interface {
	// UserPresence returns what the extension set; ok is false when it
	// never set anything.
	UserPresence(ctx context.Context, extensionID int64) (p UserPresence, ok bool, err error)
	SetUserPresence(ctx context.Context, extensionID int64, p UserPresence) error
	// UserPresences returns everything stored, by extension id.
	UserPresences(ctx context.Context) (map[int64]UserPresence, error)
}

// loadTimeout bounds the one read of an extension's stored presence.
const loadTimeout = 5 * time.Second

// Config tunes a Keeper.
type Config struct {
	Now func() time.Time // the clock of the sequences' time floor; default time.Now
}

// Keeper is the owner of extensions' presence. The switch reports calls to
// it and asks it for sequences and do-not-disturb (telephony.PresenceKeeper);
// the handlers read and set presence through it; a dispatcher subscribes to
// its events. It is safe for concurrent use.
type Keeper struct {
	now   func() time.Time
	store Store // nil: what users set lasts as long as the process
	subs  eventbus.Local[Event]

	mu       sync.Mutex
	seq      map[int64]uint64                      // last sequence per extension
	calls    map[int64][][]telephony.PartyStatus   // the states of each extension's parties in this node's calls, as of its last event
	others   func(int64) [][]telephony.PartyStatus // those in other nodes' calls (CountCallsElsewhere); nil on one node
	shared   func(int64, UserPresence)             // shares what a user set with the other nodes (ShareUserPresence)
	user     map[int64]UserPresence                // what users set: stored ones read so far, those set since and those learned
	queue    []Event                               // events to publish, in order
	flushing bool                                  // a goroutine is publishing the queue
}

// New returns a Keeper. store may be nil: nothing is kept across restarts.
func New(cfg Config, store Store) *Keeper {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Keeper{now: cfg.Now, store: store,
		seq: map[int64]uint64{}, calls: map[int64][][]telephony.PartyStatus{}, user: map[int64]UserPresence{}}
}

// Several nodes. Each node's switch reports only its own calls, and a user
// sets their presence through any node: the keepers of a cluster share
// both, so that every node takes the same calls and shows the same
// presence.

// CountCallsElsewhere makes the keeper count, with the calls of this
// node's switch, the parties that states lists for an extension in the
// calls of other nodes (cluster.Calls.PartyStates). states is called under
// the switch's lock and the keeper's: it must call neither.
func (k *Keeper) CountCallsElsewhere(states func(extension int64) [][]telephony.PartyStatus) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.others = states
}

// ShareUserPresence makes the keeper give share each presence a user sets
// through it, once stored; the other nodes Learn it.
func (k *Keeper) ShareUserPresence(share func(extension int64, up UserPresence)) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.shared = share
}

// Learn applies what a user set through another node: from now on it
// decides which calls ring here too. That node stored it and published
// its event.
func (k *Keeper) Learn(extension int64, up UserPresence) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.user[extension] = up.normalized()
}

// Restore reads, at start, the presence users set before, so that their
// do-not-disturb applies to the calls from now on.
func (k *Keeper) Restore(ctx context.Context) error {
	if k.store == nil {
		return nil
	}
	all, err := k.store.UserPresences(ctx)
	if err != nil {
		return fmt.Errorf("restore presence: %w", err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for ext, up := range all {
		k.user[ext] = up.normalized()
	}
	return nil
}

// CallsChanged records the states of an extension's parties after a change
// of its calls, one list per session it takes part in, and returns its
// telephony presence and the sequence of the event that reports the
// change. The switch calls it under its lock for every event.
func (k *Keeper) CallsChanged(extension int64, sessions [][]telephony.PartyStatus) (telephony.Presence, uint64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(sessions) == 0 {
		delete(k.calls, extension)
	} else {
		k.calls[extension] = sessions
	}
	return k.telephonyLocked(extension), k.nextLocked(extension)
}

// TakesDirectCalls reports whether calls to the extension itself ring its
// devices (do-not-disturb).
func (k *Keeper) TakesDirectCalls(extension int64) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.user[extension].TakesDirectCalls()
}

// TakesDepartmentCalls reports whether calls to a department of the
// extension ring its devices (do-not-disturb).
func (k *Keeper) TakesDepartmentCalls(extension int64) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.user[extension].TakesDepartmentCalls()
}

// Telephony returns the extension's telephony presence, as its last event
// reported it, and its current sequence: the last one given to its events,
// or a time-based floor that later events exceed.
func (k *Keeper) Telephony(extension int64) (telephony.Presence, uint64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.telephonyLocked(extension), k.currentLocked(extension)
}

func (k *Keeper) telephonyLocked(extension int64) telephony.Presence {
	sessions := k.calls[extension]
	if k.others != nil {
		sessions = slices.Concat(sessions, k.others(extension))
	}
	return Aggregate(sessions)
}

// User returns what the extension's user set, or the default. A presence
// not read yet is read from the store once.
func (k *Keeper) User(ctx context.Context, extension int64) (UserPresence, error) {
	k.mu.Lock()
	up, known := k.user[extension]
	k.mu.Unlock()
	if known {
		return up, nil
	}
	if k.store == nil {
		return DefaultUserPresence, nil
	}
	ctx, cancel := context.WithTimeout(ctx, loadTimeout)
	defer cancel()
	up, _, err := k.store.UserPresence(ctx, extension)
	if err != nil {
		return UserPresence{}, err
	}
	up = up.normalized() // the default when none is stored
	k.mu.Lock()
	defer k.mu.Unlock()
	if cur, set := k.user[extension]; set { // set meanwhile
		return cur, nil
	}
	k.user[extension] = up
	return up, nil
}

// Presence returns the extension's whole presence and its current sequence.
func (k *Keeper) Presence(ctx context.Context, extension int64) (Presence, uint64, error) {
	up, err := k.User(ctx, extension)
	if err != nil {
		return Presence{}, 0, err
	}
	tp, seq := k.Telephony(extension)
	return Of(tp.TelephonyStatus, up), seq, nil
}

// Set stores what the extension's user set and applies it: do-not-disturb
// decides from now on which calls ring (an unknown status takes all).
// Every Set is published as an Event; one that changes what the user had
// takes the extension's next sequence.
func (k *Keeper) Set(ctx context.Context, extension int64, up UserPresence) error {
	up = up.normalized()
	prev, err := k.User(ctx, extension)
	if err != nil {
		return err
	}
	if k.store != nil {
		if err := k.store.SetUserPresence(ctx, extension, up); err != nil {
			return err
		}
	}
	k.mu.Lock()
	k.user[extension] = up
	ev := Event{Extension: extension, Changed: up != prev}
	if ev.Changed {
		ev.Sequence = k.nextLocked(extension)
	} else {
		ev.Sequence = k.currentLocked(extension)
	}
	ev.Presence = Of(k.telephonyLocked(extension).TelephonyStatus, up)
	k.queue = append(k.queue, ev)
	share := k.shared
	k.mu.Unlock()
	if share != nil {
		share(extension, up)
	}
	k.flush()
	return nil
}
