package telephony

import (
	"reflect"
	"runtime"
	"slices"
)

// The switch's events are published in the order they were queued, outside
// its lock, by one operation at a time: the publisher. An event's ticket is
// its place in that order. An operation returns once the events queued up to
// its end (its own and those before them) are published: when nobody
// publishes, it takes the publisher's role and publishes them; when someone
// does, it waits. A publisher wakes those whose events are out as it goes
// and, once through its own tickets, hands its role to the waiting operation
// with the highest ticket, which publishes the events of all those waiting
// with it: one hand-over for all of them. So an operation publishes only
// what it would have waited for anyway, never what others queued after it,
// and a slow bus (a cluster's round trips per event) holds an operation up
// for the events before its own, not for everything queued while it
// publishes.
//
// A subscriber may call the switch from inside Publish. That call runs on
// the publisher's goroutine, in the middle of an event's delivery: its events
// come after that event and cannot be published before it returns. So it does
// not wait: the publisher takes its tickets on and publishes them before its
// own operation returns. Such a call is known by a deliver frame on its
// goroutine's stack (insidePublication). A subscriber must not wait for a
// call into the switch made on another goroutine: that call waits for the
// subscriber's publisher.

// pubWaiter is an operation waiting for the events up to its ticket.
type pubWaiter struct {
	ticket  uint64
	wake    chan struct{} // signalled once: its events are out, or the role is handed to it
	publish bool          // set before wake when the publisher's role is handed to it
}

// flush returns once the events queued so far are published, by this
// operation or by others (see above).
func (s *Switch) flush() {
	s.mu.Lock()
	ticket := s.taken + uint64(len(s.queue))
	checked, nested := false, false
	for s.published < ticket {
		if !s.publishing {
			s.publishing = true
			s.publishLocked(ticket) // unlocks
			return
		}
		if !checked { // the stack is read outside the lock, then the state again
			s.mu.Unlock()
			nested, checked = insidePublication(), true
			s.mu.Lock()
			continue
		}
		if nested {
			s.publishTo = max(s.publishTo, ticket)
			break
		}
		w := &pubWaiter{ticket: ticket, wake: make(chan struct{}, 1)}
		s.waiting = append(s.waiting, w)
		s.mu.Unlock()
		<-w.wake
		s.mu.Lock()
		if w.publish {
			s.publishLocked(ticket) // unlocks
			return
		}
	}
	s.mu.Unlock()
}

// publishLocked publishes events, holding the publisher's role, until the
// first ticket events are published, and those queued meanwhile by its
// subscribers' calls into the switch, then passes the role on. It is
// called with s.mu held and returns with it released. Forwarding queued
// before an event is applied before the event is published. Should a
// subscriber panic, the events taken with the one it panicked on are given
// up and the role passes on all the same.
func (s *Switch) publishLocked(ticket uint64) {
	s.publishTo = max(s.publishTo, ticket)
	done := false
	defer func() {
		if !done {
			s.mu.Lock()
			s.published = s.taken
			s.releaseLocked()
			s.mu.Unlock()
		}
	}()
	for s.published < s.publishTo {
		n := int(s.publishTo - s.taken) // nothing is taken but not published here
		batch := s.queue[:n:n]
		if rest := s.queue[n:]; len(rest) > 0 {
			s.queue = slices.Clone(rest)
		} else {
			s.queue = nil
		}
		s.taken += uint64(n)
		s.mu.Unlock()
		s.applyForwards()
		for _, e := range batch {
			s.deliver(e)
			s.mu.Lock()
			s.published++
			s.wakeLocked()
			s.mu.Unlock()
		}
		s.mu.Lock()
	}
	s.releaseLocked()
	done = true
	s.mu.Unlock()
}

// wakeLocked wakes the waiting operations whose events are published.
func (s *Switch) wakeLocked() {
	s.waiting = slices.DeleteFunc(s.waiting, func(w *pubWaiter) bool {
		if w.ticket > s.published {
			return false
		}
		w.wake <- struct{}{}
		return true
	})
}

// releaseLocked ends a publisher's turn: it hands the role to the waiting
// operation with the highest ticket, if any, or else to a goroutine of the
// switch's that publishes what is queued and nobody waits for yet (an
// operation between two steps, or one about to wait).
func (s *Switch) releaseLocked() {
	s.wakeLocked()
	if len(s.waiting) == 0 {
		if end := s.taken + uint64(len(s.queue)); end > s.published {
			go func() {
				s.mu.Lock()
				s.publishLocked(end) // unlocks
			}()
			return
		}
		s.publishing = false
		return
	}
	i := 0
	for j, w := range s.waiting {
		if w.ticket > s.waiting[i].ticket {
			i = j
		}
	}
	w := s.waiting[i]
	s.waiting = slices.Delete(s.waiting, i, i+1)
	w.publish = true
	w.wake <- struct{}{}
}

// publishIdle publishes what is queued when nobody does; when someone
// does, it leaves it to them (releaseLocked).
func (s *Switch) publishIdle() {
	s.mu.Lock()
	end := s.taken + uint64(len(s.queue))
	if s.publishing || s.published >= end {
		s.mu.Unlock()
		return
	}
	s.publishing = true
	s.publishLocked(end) // unlocks
}

// deliver hands one event to the bus. Its frame on a goroutine's stack
// tells insidePublication that a subscriber is running there.
func (s *Switch) deliver(e Event) {
	s.bus.Publish(e)
}

// deliverFunc is deliver's name as stack frames give it.
var deliverFunc = runtime.FuncForPC(reflect.ValueOf((*Switch).deliver).Pointer()).Name()

// insidePublication reports whether the calling goroutine is delivering an
// event of a switch (this one or another): whether a subscriber called.
// It never waits for a publisher, whose own goroutine it may be.
func insidePublication() bool {
	var buf [64]uintptr
	pcs := buf[:]
	for {
		n := runtime.Callers(2, pcs)
		if n < len(pcs) {
			pcs = pcs[:n]
			break
		}
		pcs = make([]uintptr, 2*len(pcs))
	}
	frames := runtime.CallersFrames(pcs)
	for {
		f, more := frames.Next()
		if f.Function == deliverFunc {
			return true
		}
		if !more {
			return false
		}
	}
}
