package telephony_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/telephony"
)

// gatedBus records events as bus does and holds the delivery of the next
// one that matches, set with holdNext, until the test releases it: a bus
// as slow as the test wants, without a clock.
type gatedBus struct {
	*bus
	mu      sync.Mutex
	hold    func(telephony.Event) bool
	held    chan telephony.Event
	release chan struct{}
	then    func(telephony.Event) // a subscriber after the hold, when set
	done    chan struct{}         // closed by open
}

func newGatedBus() *gatedBus {
	return &gatedBus{bus: newBus(), held: make(chan telephony.Event), release: make(chan struct{}), done: make(chan struct{})}
}

// open holds nothing more, and lets go what it holds: a failed test's
// switch can then close.
func (g *gatedBus) open() { close(g.done) }

// holdNext makes the next event that matches wait in Publish, once.
func (g *gatedBus) holdNext(match func(telephony.Event) bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.hold = match
}

func (g *gatedBus) Publish(e telephony.Event) {
	g.bus.Publish(e)
	g.mu.Lock()
	hold := g.hold != nil && g.hold(e)
	if hold {
		g.hold = nil
	}
	g.mu.Unlock()
	if hold {
		select {
		case g.held <- e:
			select {
			case <-g.release:
			case <-g.done:
			}
		case <-g.done:
		}
	}
	if g.then != nil {
		g.then(e)
	}
}

// waitHeld returns the event the bus holds, waiting for it.
func (g *gatedBus) waitHeld(t *testing.T) telephony.Event {
	t.Helper()
	select {
	case e := <-g.held:
		return e
	case <-time.After(patience):
		t.Fatal("timed out waiting for the bus to hold an event")
		return telephony.Event{}
	}
}

// returned waits for an operation's result; it fails the test when the
// operation does not return.
func returned(t *testing.T, name string, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	case <-time.After(patience):
		t.Fatalf("%s did not return", name)
	}
}

// until polls cond until it holds, for at most patience.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// mutes is which of a two-party call's parties an event shows muted, as
// "caller/callee".
func mutes(s telephony.Session) string {
	m := func(p telephony.Party) string {
		if p.Muted {
			return "muted"
		}
		return "open"
	}
	return m(s.Parties[0]) + "/" + m(s.Parties[1])
}

// TestPublisherReturnsWithItsOwnEvents: on a slow bus, an operation that
// publishes returns once its own events are out, handing on those others
// queued after it; an operation that queued its events while another
// published waits for them, and its own are out when it returns; all come
// out in the order they were queued.
func TestPublisherReturnsWithItsOwnEvents(t *testing.T) {
	b := newGatedBus()
	_, s, control, state := gatedCall(t, b)
	caller, callee := s.Parties[0], s.Parties[1]

	// A publishes its first event and the bus holds it.
	b.holdNext(func(telephony.Event) bool { return true })
	opA := control(alice, caller.ID, telephony.ActionMute)
	b.waitHeld(t)
	// B and then C change the call meanwhile: their events queue after A's.
	opB := control(bob, callee.ID, telephony.ActionMute)
	until(t, "B changed the call", func() bool { return state() == "muted/muted" })
	opC := control(alice, caller.ID, telephony.ActionUnmute)
	until(t, "C changed the call", func() bool { return state() == "open/muted" })
	select {
	case <-opB:
		t.Fatal("B returned before its events were published")
	default:
	}
	// C's first event will be held in its turn: neither A nor B waits for it.
	b.holdNext(func(e telephony.Event) bool { return mutes(e.Session) == "open/muted" })
	b.release <- struct{}{}
	returned(t, "A", opA)
	returned(t, "B", opB)
	got := published(b)
	// C's first event may be out already, and held.
	if want := []string{"muted/open", "muted/open", "muted/muted", "muted/muted"}; len(got) < len(want) || !slices.Equal(got[:len(want)], want) ||
		len(got) > len(want)+1 || len(got) == len(want)+1 && got[len(want)] != "open/muted" {
		t.Fatalf("events when B returned: %v, want %v and perhaps C's first", got, want)
	}
	b.waitHeld(t)
	select {
	case <-opC:
		t.Fatal("C returned before its events were published")
	default:
	}
	b.release <- struct{}{}
	returned(t, "C", opC)
	if got, want := published(b), []string{"muted/open", "muted/open", "muted/muted", "muted/muted", "open/muted", "open/muted"}; !slices.Equal(got, want) {
		t.Fatalf("events: %v, want %v", got, want)
	}
}

// TestSubscriberCallsBackWhileOthersWait: a subscriber's call into the
// switch during a publication, with another operation waiting meanwhile,
// neither deadlocks nor reorders: the publisher publishes what the waiting
// operation queued and then what its subscriber's call queued, and returns
// once both are out.
func TestSubscriberCallsBackWhileOthersWait(t *testing.T) {
	b := newGatedBus()
	sw, s, control, state := gatedCall(t, b)
	caller, callee := s.Parties[0], s.Parties[1]
	var once sync.Once
	b.then = func(e telephony.Event) {
		if mutes(e.Session) != "muted/open" {
			return
		}
		once.Do(func() { // on A's first event, from inside Publish
			if _, err := sw.ControlParty(context.Background(), alice, s.ID, caller.ID, telephony.ActionUnmute); err != nil {
				t.Error(err)
			}
		})
	}
	b.holdNext(func(telephony.Event) bool { return true })
	opA := control(alice, caller.ID, telephony.ActionMute)
	b.waitHeld(t)
	opW := control(bob, callee.ID, telephony.ActionMute)
	until(t, "W changed the call", func() bool { return state() == "muted/muted" })
	b.release <- struct{}{}
	returned(t, "A", opA)
	if got, want := published(b), []string{"muted/open", "muted/open", "muted/muted", "muted/muted", "open/muted", "open/muted"}; !slices.Equal(got, want) {
		t.Fatalf("events when A returned: %v, want %v", got, want)
	}
	returned(t, "W", opW)
}

// TestSubscriberPanics: a subscriber that panics ends its publisher's
// turn, not publication: the operation waiting meanwhile publishes its
// events and returns.
func TestSubscriberPanics(t *testing.T) {
	b := newGatedBus()
	sw, s, _, state := gatedCall(t, b)
	caller, callee := s.Parties[0], s.Parties[1]
	var once sync.Once
	b.then = func(telephony.Event) { once.Do(func() { panic("subscriber failed") }) }
	b.holdNext(func(telephony.Event) bool { return true })
	opA := make(chan any, 1)
	go func() {
		defer func() { opA <- recover() }()
		sw.ControlParty(context.Background(), alice, s.ID, caller.ID, telephony.ActionMute)
	}()
	b.waitHeld(t)
	opW := make(chan error, 1)
	go func() {
		_, err := sw.ControlParty(context.Background(), bob, s.ID, callee.ID, telephony.ActionMute)
		opW <- err
	}()
	until(t, "W changed the call", func() bool { return state() == "muted/muted" })
	b.release <- struct{}{}
	select {
	case p := <-opA:
		if p != "subscriber failed" {
			t.Fatalf("A: %v, want the subscriber's panic", p)
		}
	case <-time.After(patience):
		t.Fatal("A did not return")
	}
	returned(t, "W", opW)
	// A's second event went with the first; W's are out.
	if got, want := published(b), []string{"muted/open", "muted/muted", "muted/muted"}; !slices.Equal(got, want) {
		t.Fatalf("events: %v, want %v", got, want)
	}
}

// published lists the events the bus recorded as mutes does.
func published(b *gatedBus) []string {
	var out []string
	for _, e := range b.all() {
		out = append(out, mutes(e.Session))
	}
	return out
}

// gatedCall is a switch on bus b with a connected call from a1 (Alice) to
// b1 (Bob), control, which changes a party of it on a goroutine of its own,
// and state, the call's mutes.
func gatedCall(t *testing.T, b *gatedBus) (sw *telephony.Switch, s telephony.Session,
	control func(owner int64, party string, action telephony.PartyAction) <-chan error, state func() string) {
	t.Helper()
	sw = telephony.New(telephony.Config{RingTimeout: time.Minute}, directory{}, newMedia(), b, newPresence(), nil)
	t.Cleanup(func() { sw.Close(context.Background()) })
	t.Cleanup(b.open) // first
	sw.RegisterDevice(telephony.Device{ID: "a1", ExtensionID: alice})
	sw.RegisterDevice(telephony.Device{ID: "b1", ExtensionID: bob})
	s, _, err := sw.Dial(context.Background(), "a1", "102", "offer-a1")
	if err != nil {
		t.Fatal(err)
	}
	if s, _, err = sw.Answer(context.Background(), "b1", s.ID, "offer-b1"); err != nil {
		t.Fatal(err)
	}
	b.take()
	control = func(owner int64, party string, action telephony.PartyAction) <-chan error {
		done := make(chan error, 1)
		go func() {
			_, err := sw.ControlParty(context.Background(), owner, s.ID, party, action)
			done <- err
		}()
		return done
	}
	state = func() string {
		cur, _ := sw.Session(s.ID)
		return mutes(cur)
	}
	return sw, s, control, state
}

// TestDialGoesOnWhileOthersPublish: a dial from a device in a call first
// holds that call; while another operation publishes, it goes on to open
// its leg without waiting for the hold's events, and returns once all of
// its events are out.
func TestDialGoesOnWhileOthersPublish(t *testing.T) {
	b := newGatedBus()
	m := newMedia()
	sw := telephony.New(telephony.Config{RingTimeout: time.Minute}, directory{}, m, b, newPresence(), nil)
	t.Cleanup(func() { sw.Close(context.Background()) })
	t.Cleanup(b.open) // first
	for _, d := range []telephony.Device{{ID: "a1", ExtensionID: alice}, {ID: "b1", ExtensionID: bob}, {ID: "c1", ExtensionID: carol}} {
		sw.RegisterDevice(d)
	}
	s, _, err := sw.Dial(context.Background(), "a1", "102", "offer-a1")
	if err != nil {
		t.Fatal(err)
	}
	if s, _, err = sw.Answer(context.Background(), "b1", s.ID, "offer-b1"); err != nil {
		t.Fatal(err)
	}
	opened := func() int {
		m.mu.Lock()
		defer m.mu.Unlock()
		return len(m.opened)
	}
	legs := opened()

	b.holdNext(func(telephony.Event) bool { return true })
	opA := make(chan error, 1)
	go func() {
		_, err := sw.ControlParty(context.Background(), bob, s.ID, s.Parties[1].ID, telephony.ActionMute)
		opA <- err
	}()
	b.waitHeld(t)
	dial := make(chan error, 1)
	var second telephony.Session
	go func() {
		var err error
		second, _, err = sw.Dial(context.Background(), "a1", "103", "offer-a1-second")
		dial <- err
	}()
	until(t, "the dial opened its leg", func() bool { return opened() == legs+1 })
	select {
	case <-dial:
		t.Fatal("the dial returned before its events were published")
	default:
	}
	b.release <- struct{}{}
	returned(t, "A", opA)
	returned(t, "the dial", dial)
	var held, rang bool
	for _, e := range b.all() {
		switch {
		case e.Session.ID == s.ID && e.Cause == telephony.CauseHold:
			held = true
		case e.Session.ID == second.ID && e.Extension == carol:
			if !held {
				t.Fatal("the new call's event came before the hold of the first")
			}
			rang = true
		}
	}
	if !held || !rang {
		t.Fatalf("when the dial returned: the first call held %v, carol told of the second %v", held, rang)
	}
}
