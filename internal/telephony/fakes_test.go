package telephony_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/presence"
	"github.com/callbridge/widget-server/internal/telephony"
)

// patience bounds a wait for an event that comes at once on an idle
// machine: a loaded one may take many times longer, and only a hung test
// reaches it.
const patience = 30 * time.Second

// Extensions of the test account (main number +16505550100 → Alice) and of
// another account.
const (
	alice int64 = 101
	bob   int64 = 102
	carol int64 = 103
	dave  int64 = 201 // another account
	// support is a department of the first account: Bob and Carol.
	support int64 = 200
)

// directory is an in-memory Directory: two accounts, as identity would hold them.
type directory struct {
	err error // returned by every method when set
}

var extensions = map[int64]struct {
	account int64
	number  string
	name    string
	direct  string
}{
	alice:   {1, "101", "Alice Adams", "+16505550101"},
	bob:     {1, "102", "Bob Brown", "+16505550102"},
	carol:   {1, "103", "Carol Chen", "+16505550103"},
	dave:    {2, "201", "Dave Diaz", "+14155550201"},
	support: {1, "200", "Support", "+16505550200"},
}

// departments holds the members of each department.
var departments = map[int64][]int64{support: {bob, carol}}

func (d directory) Members(ctx context.Context, id int64) ([]int64, bool, error) {
	if d.err != nil {
		return nil, false, d.err
	}
	members, ok := departments[id]
	return slices.Clone(members), ok, nil
}

var mainNumbers = map[int64]string{1: "+16505550100", 2: "+14155550200"}

func (d directory) Lookup(ctx context.Context, caller int64, n string) (telephony.Endpoint, bool, error) {
	if d.err != nil {
		return telephony.Endpoint{}, false, d.err
	}
	acct := extensions[caller].account
	if n == mainNumbers[acct] {
		ep, _ := d.Describe(ctx, alice)
		return ep, acct == 1, nil
	}
	for id, e := range extensions {
		if e.account == acct && (n == e.number || n == e.direct) {
			ep, err := d.Describe(ctx, id)
			return ep, true, err
		}
	}
	return telephony.Endpoint{}, false, nil
}

func (d directory) Describe(ctx context.Context, id int64) (telephony.Endpoint, error) {
	if d.err != nil {
		return telephony.Endpoint{}, d.err
	}
	e, ok := extensions[id]
	if !ok {
		return telephony.Endpoint{}, fmt.Errorf("extension %d: not found", id)
	}
	return telephony.Endpoint{PhoneNumber: e.direct, Name: e.name, ExtensionNumber: e.number, ExtensionID: id}, nil
}

func (d directory) Region(ctx context.Context, id int64) (string, error) {
	return "US", d.err
}

type forward struct {
	leg string
	on  bool
}

// media is a fake gateway that records what the switch asks of it.
type media struct {
	mu       sync.Mutex
	opened   map[string]telephony.LegKind
	connects [][2]string
	forwards []forward
	closed   []string
	openErr  error
	connErr  error             // returned by Connect when set
	on       map[string]bool   // each leg's forwarding now; a leg forwards when it opens
	peer     map[string]string // each leg's peer now, as the gateway links them
	gate     chan struct{}     // when set, OpenLeg signals entered and waits for release
	entered  chan struct{}
	ringback map[string]bool                  // trunk.go: the legs told to ring back, and whether they still are
	keys     []string                         // trunk.go: "<leg> <digit>" of every key played to a leg
	rtpLike  map[string]string                // the RTP legs answered (AnswerRTP), and the leg each was made like
	mixes    map[string][]telephony.MixMember // conference.go: each mix's members now

	// probe, when set, takes the switch's lock and lets it go: every call
	// runs it first, and a call that the switch makes under its lock waits
	// for it in vain and is noted in underLock.
	probe     func()
	underLock []string
}

// unlocked checks that the switch's lock is free for the caller: the probe
// gets the lock, unless the caller holds it (the wait ends with the test's
// patience, as a hang would).
func (m *media) unlocked(call string) {
	m.mu.Lock()
	probe := m.probe
	m.mu.Unlock()
	if probe == nil {
		return
	}
	done := make(chan struct{})
	go func() {
		probe()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(patience):
		m.mu.Lock()
		m.underLock = append(m.underLock, call)
		m.mu.Unlock()
	}
}

func newMedia() *media {
	return &media{opened: map[string]telephony.LegKind{}, on: map[string]bool{}, peer: map[string]string{}, ringback: map[string]bool{}, rtpLike: map[string]string{},
		mixes: map[string][]telephony.MixMember{}}
}

// flows returns, for each open leg whose audio reaches another open leg,
// that leg: what the gateway forwards now.
func (m *media) flows() map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]string{}
	for leg := range m.opened {
		peer, ok := m.peer[leg]
		if !ok || slices.Contains(m.closed, leg) || slices.Contains(m.closed, peer) {
			continue
		}
		if on, set := m.on[leg]; !set || on {
			out[leg] = peer
		}
	}
	return out
}

func (m *media) OpenLeg(ctx context.Context, id, offer string, kind telephony.LegKind) (string, error) {
	m.unlocked("OpenLeg " + id)
	m.mu.Lock()
	gate, entered, err := m.gate, m.entered, m.openErr
	m.mu.Unlock()
	if gate != nil {
		entered <- struct{}{}
		<-gate
	}
	if err != nil {
		return "", err
	}
	if offer == "" {
		return "", errors.New("empty offer")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.opened[id] = kind
	return "answer-" + id, nil
}

func (m *media) Connect(a, b string) error {
	m.unlocked("Connect " + a + " " + b)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.connErr != nil {
		return m.connErr
	}
	_, okA := m.opened[a]
	_, okB := m.opened[b]
	if !okA || !okB {
		return errors.New("no such leg")
	}
	m.connects = append(m.connects, [2]string{a, b})
	for _, l := range []string{a, b} { // unlinked from an old peer, as the gateway does
		if old, ok := m.peer[l]; ok && m.peer[old] == l {
			delete(m.peer, old)
		}
	}
	m.peer[a], m.peer[b] = b, a
	return nil
}

func (m *media) SetForward(id string, on bool) {
	m.unlocked("SetForward " + id)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.forwards = append(m.forwards, forward{id, on})
	m.on[id] = on
}

// SetMix sets a conference's mix: its legs leave their peers, as the
// gateway unlinks them.
func (m *media) SetMix(id string, members []telephony.MixMember) error {
	m.unlocked("SetMix " + id)
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, mm := range members {
		if _, ok := m.opened[mm.Leg]; !ok || slices.Contains(m.closed, mm.Leg) {
			return errors.New("no such leg " + mm.Leg)
		}
	}
	for _, mm := range members {
		if old, ok := m.peer[mm.Leg]; ok {
			delete(m.peer, old)
			delete(m.peer, mm.Leg)
		}
	}
	if len(members) == 0 {
		delete(m.mixes, id)
		return nil
	}
	m.mixes[id] = append([]telephony.MixMember(nil), members...)
	return nil
}

// mix returns the members of mix id now.
func (m *media) mix(id string) []telephony.MixMember {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]telephony.MixMember(nil), m.mixes[id]...)
}

func (m *media) CloseLeg(id string) {
	m.unlocked("CloseLeg " + id)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = append(m.closed, id)
}

func (m *media) kind(id string) (telephony.LegKind, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.opened[id]
	return k, ok
}

func (m *media) isClosed(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Contains(m.closed, id)
}

// takeForwards returns the SetForward calls since the last take.
func (m *media) takeForwards() []forward {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.forwards
	m.forwards = nil
	return f
}

// bus records published events and lets a test wait for one.
type bus struct {
	mu     sync.Mutex
	events []telephony.Event
	notify chan struct{}
}

func newBus() *bus { return &bus{notify: make(chan struct{}, 1)} }

func (b *bus) Publish(e telephony.Event) {
	b.mu.Lock()
	b.events = append(b.events, e)
	b.mu.Unlock()
	select {
	case b.notify <- struct{}{}:
	default:
	}
}

func (b *bus) all() []telephony.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.events)
}

// take returns the events published since the last take.
func (b *bus) take() []telephony.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.events
	b.events = nil
	return e
}

// waitFor returns the first recorded event that matches, waiting for it.
func (b *bus) waitFor(t *testing.T, match func(telephony.Event) bool) telephony.Event {
	t.Helper()
	deadline := time.After(patience)
	for {
		for _, e := range b.all() {
			if match(e) {
				return e
			}
		}
		select {
		case <-b.notify:
		case <-deadline:
			t.Fatal("timed out waiting for an event")
		}
	}
}

// callLog records call-log writes.
type callLog struct {
	mu     sync.Mutex
	recs   []telephony.CallRecord
	err    error
	notify chan struct{}
}

func newCallLog() *callLog { return &callLog{notify: make(chan struct{}, 1)} }

func (l *callLog) AddCallRecords(ctx context.Context, recs []telephony.CallRecord) error {
	if _, ok := ctx.Deadline(); !ok {
		panic("call log written without a deadline")
	}
	l.mu.Lock()
	l.recs = append(l.recs, recs...)
	err := l.err
	l.mu.Unlock()
	select {
	case l.notify <- struct{}{}:
	default:
	}
	return err
}

// wait returns the records once there are n of them.
func (l *callLog) wait(t *testing.T, n int) []telephony.CallRecord {
	t.Helper()
	deadline := time.After(patience)
	for {
		l.mu.Lock()
		recs := slices.Clone(l.recs)
		l.mu.Unlock()
		if len(recs) >= n {
			if len(recs) > n {
				t.Fatalf("%d call-log records, want %d: %+v", len(recs), n, recs)
			}
			return recs
		}
		select {
		case <-l.notify:
		case <-deadline:
			t.Fatalf("timed out waiting for %d call-log records, have %d", n, len(recs))
		}
	}
}

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// refusalGuard is a slog handler that drops every line but fails the test
// on an error line of a refused transition: a move the switch tried that its
// state table does not allow.
type refusalGuard struct{ t *testing.T }

func (g refusalGuard) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelError }
func (g refusalGuard) WithAttrs([]slog.Attr) slog.Handler           { return g }
func (g refusalGuard) WithGroup(string) slog.Handler                { return g }

func (g refusalGuard) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "call state refused" {
		var attrs []string
		r.Attrs(func(a slog.Attr) bool {
			attrs = append(attrs, a.String())
			return true
		})
		g.t.Errorf("%s %v", r.Message, attrs)
	}
	return nil
}

// rig is a switch with its fakes and a few registered devices:
// a1 (Alice), b1 and b2 (Bob), c1 (Carol).
type rig struct {
	sw    *telephony.Switch
	pres  *presence.Keeper
	media *media
	bus   *bus
	log   *callLog
	clock *clock
}

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newRig(t *testing.T, opts ...func(*telephony.Config)) *rig {
	t.Helper()
	r := &rig{media: newMedia(), bus: newBus(), log: newCallLog(), clock: &clock{now: epoch}}
	cfg := telephony.Config{RingTimeout: time.Minute, Now: r.clock.Now, Logger: slog.New(refusalGuard{t})}
	for _, o := range opts {
		o(&cfg)
	}
	r.pres = presence.New(presence.Config{Now: cfg.Now}, nil)
	r.sw = telephony.New(cfg, directory{}, r.media, r.bus, r.pres, r.log)
	r.media.probe = func() { r.sw.Session("") }
	telephony.SetTestLineDelays(r.sw, 20*time.Millisecond, 10*time.Millisecond)
	for _, d := range []telephony.Device{{ID: "a1", ExtensionID: alice}, {ID: "b1", ExtensionID: bob},
		{ID: "b2", ExtensionID: bob}, {ID: "c1", ExtensionID: carol}} {
		r.sw.RegisterDevice(d)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r.sw.Close(ctx)
		r.media.mu.Lock()
		defer r.media.mu.Unlock()
		if len(r.media.underLock) > 0 {
			t.Errorf("media called under the switch's lock: %v", r.media.underLock)
		}
	})
	return r
}

// setDND sets an extension's do-not-disturb status.
func (r *rig) setDND(t *testing.T, ext int64, status string) {
	t.Helper()
	if err := r.pres.Set(context.Background(), ext, presence.UserPresence{DNDStatus: status}); err != nil {
		t.Fatal(err)
	}
}

// newPresence is a presence keeper on the real clock, kept in memory.
func newPresence() *presence.Keeper { return presence.New(presence.Config{}, nil) }

// dial places a call and fails the test on error.
func (r *rig) dial(t *testing.T, device, to string) telephony.Session {
	t.Helper()
	s, _, err := r.sw.Dial(context.Background(), device, to, "offer-"+device)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", to, device, err)
	}
	return s
}

// connected returns an answered call from a1 (Alice) to Bob, answered on b1.
func (r *rig) connected(t *testing.T) telephony.Session {
	t.Helper()
	s := r.dial(t, "a1", "102")
	s, _, err := r.sw.Answer(context.Background(), "b1", s.ID, "offer-b1")
	if err != nil {
		t.Fatalf("answer: %v", err)
	}
	return s
}

func causes(events []telephony.Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, fmt.Sprintf("%d:%s", e.Extension, e.Cause))
	}
	return out
}
