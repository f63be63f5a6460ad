// Package eventbus is the in-process fan-out of a domain's events (the
// switch's, presence's): synchronous, in order, to every subscriber in
// subscription order. A multi-node deployment puts a networked bus behind
// the same Subscribe and Publish. It imports nothing of this module.
package eventbus

import "sync"

// Local is the in-process bus of events of type E. The zero value is ready
// to use. Publishers publish outside their own locks, so a subscriber may
// call back into the publisher; it must not block for long.
type Local[E any] struct {
	mu   sync.RWMutex
	next int
	subs map[int]func(E)
	ids  []int // subscription order
}

// New returns an empty bus.
func New[E any]() *Local[E] { return &Local[E]{} }

// Subscribe calls fn with every later event; the returned func unsubscribes
// (calling it again does nothing).
func (b *Local[E]) Subscribe(fn func(E)) (unsubscribe func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.subs == nil {
		b.subs = map[int]func(E){}
	}
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
func (b *Local[E]) Publish(e E) {
	b.mu.RLock()
	fns := make([]func(E), 0, len(b.ids))
	for _, id := range b.ids {
		fns = append(fns, b.subs[id])
	}
	b.mu.RUnlock()
	for _, fn := range fns {
		fn(e)
	}
}
