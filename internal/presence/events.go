package presence

import "sync"

// Event is a presence change an extension's user made: the user status or
// the do-not-disturb status.
type Event struct {
	Extension int64
	// Sequence is the extension's next sequence when Changed, else its
	// current one.
	Sequence uint64
	Presence Presence // the whole presence after the change
	// Changed is false when the user set again what it had: its widgets are
	// told again, subscriptions to changes need not be.
	Changed bool
}

// Subscribe calls fn with every later Event, in order; the returned func
// unsubscribes. Events are published outside the Keeper's lock, so fn may
// call the Keeper; it must not block for long.
func (k *Keeper) Subscribe(fn func(Event)) (unsubscribe func()) { return k.subs.subscribe(fn) }

// flush publishes queued events in order. One goroutine flushes at a time;
// what is queued meanwhile (also by subscribers calling Set) is published
// by it, after what came before.
func (k *Keeper) flush() {
	k.mu.Lock()
	if k.flushing {
		k.mu.Unlock()
		return
	}
	k.flushing = true
	done := false
	defer func() { // should a subscriber panic, a later flush may still publish
		if !done {
			k.mu.Lock()
			k.flushing = false
			k.mu.Unlock()
		}
	}()
	for len(k.queue) > 0 {
		batch := k.queue
		k.queue = nil
		k.mu.Unlock()
		for _, ev := range batch {
			k.subs.publish(ev)
		}
		k.mu.Lock()
	}
	k.flushing = false
	done = true
	k.mu.Unlock()
}

// bus is a synchronous fan-out, in subscription order.
type bus struct {
	mu   sync.RWMutex
	next int
	subs map[int]func(Event)
	ids  []int
}

func (b *bus) subscribe(fn func(Event)) func() {
	b.mu.Lock()
	defer b.mu.Unlock()
	id := b.next
	b.next++
	b.subs[id] = fn
	b.ids = append(b.ids, id)
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			delete(b.subs, id)
			for i, v := range b.ids {
				if v == id {
					b.ids = append(b.ids[:i:i], b.ids[i+1:]...)
					break
				}
			}
		})
	}
}

func (b *bus) publish(ev Event) {
	b.mu.RLock()
	fns := make([]func(Event), 0, len(b.ids))
	for _, id := range b.ids {
		fns = append(fns, b.subs[id])
	}
	b.mu.RUnlock()
	for _, fn := range fns {
		fn(ev)
	}
}
