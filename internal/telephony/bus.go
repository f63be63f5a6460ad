package telephony

import "sync"

// LocalBus is the in-process Bus: a synchronous fan-out, in order, to every
// subscriber. The switch publishes outside its lock, so a subscriber may call
// back into the switch; it must not block for long.
type LocalBus struct {
	mu   sync.RWMutex
	next int
	subs map[int]func(Event)
	ids  []int // subscription order
}

// NewBus returns an empty LocalBus.
func NewBus() *LocalBus { return &LocalBus{subs: map[int]func(Event){}} }

// Subscribe calls fn with every later event; the returned func unsubscribes.
func (b *LocalBus) Subscribe(fn func(Event)) (unsubscribe func()) {
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

// Publish hands e to every subscriber, in subscription order.
func (b *LocalBus) Publish(e Event) {
	b.mu.RLock()
	fns := make([]func(Event), 0, len(b.ids))
	for _, id := range b.ids {
		fns = append(fns, b.subs[id])
	}
	b.mu.RUnlock()
	for _, fn := range fns {
		fn(e)
	}
}
