package telephony

import "github.com/callbridge/widget-server/internal/eventbus"

// LocalBus is the in-process Bus of the switch's events: a synchronous
// fan-out, in order, to every subscriber. The switch publishes outside its
// lock, so a subscriber may call back into the switch; it must not block
// for long, as every operation waits for the events queued before its own.
type LocalBus = eventbus.Local[Event]

// NewBus returns an empty LocalBus.
func NewBus() *LocalBus { return eventbus.New[Event]() }
