package presence

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
func (k *Keeper) Subscribe(fn func(Event)) (unsubscribe func()) { return k.subs.Subscribe(fn) }

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
			k.subs.Publish(ev)
		}
		k.mu.Lock()
	}
	k.flushing = false
	done = true
	k.mu.Unlock()
}
