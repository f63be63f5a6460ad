package presence_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/presence"
	"github.com/callbridge/widget-server/internal/telephony"
)

const alice, bob int64 = 101, 102

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable clock.
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

// memStore is a Store in memory that counts its reads.
type memStore struct {
	mu    sync.Mutex
	m     map[int64]presence.UserPresence
	reads int
	err   error
}

func newMemStore() *memStore { return &memStore{m: map[int64]presence.UserPresence{}} }

func (s *memStore) UserPresence(_ context.Context, ext int64) (presence.UserPresence, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	p, ok := s.m[ext]
	return p, ok, s.err
}

func (s *memStore) SetUserPresence(_ context.Context, ext int64, p presence.UserPresence) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.m[ext] = p
	return nil
}

func (s *memStore) UserPresences(context.Context) (map[int64]presence.UserPresence, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[int64]presence.UserPresence{}
	for k, v := range s.m {
		out[k] = v
	}
	return out, s.err
}

// TestTelephonyStatusOf is the one table from party states to presence.
func TestTelephonyStatusOf(t *testing.T) {
	for _, tt := range []struct {
		party telephony.PartyStatus
		want  telephony.TelephonyStatus
	}{
		{telephony.StatusSetup, telephony.Ringing},
		{telephony.StatusProceeding, telephony.Ringing},
		{telephony.StatusAnswered, telephony.CallConnected},
		{telephony.StatusHold, telephony.OnHold},
		{telephony.StatusDisconnected, telephony.NoCall},
		{"Parked", telephony.NoCall},
	} {
		if got := presence.TelephonyStatusOf(tt.party); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.party, got, tt.want)
		}
	}
}

// TestAggregate: Ringing while a call rings, in either direction;
// CallConnected while one is answered; OnHold when all are held; sessions
// count while a party of the extension is in them.
func TestAggregate(t *testing.T) {
	const (
		setup = telephony.StatusSetup
		proc  = telephony.StatusProceeding
		ans   = telephony.StatusAnswered
		hold  = telephony.StatusHold
		gone  = telephony.StatusDisconnected
	)
	for _, tt := range []struct {
		name     string
		sessions [][]telephony.PartyStatus
		want     telephony.Presence
	}{
		{"no calls", nil, telephony.Presence{TelephonyStatus: telephony.NoCall}},
		{"dialling", [][]telephony.PartyStatus{{setup}}, telephony.Presence{TelephonyStatus: telephony.Ringing, ActiveSessions: 1}},
		{"ringing", [][]telephony.PartyStatus{{proc}}, telephony.Presence{TelephonyStatus: telephony.Ringing, ActiveSessions: 1}},
		{"connected", [][]telephony.PartyStatus{{ans}}, telephony.Presence{TelephonyStatus: telephony.CallConnected, ActiveSessions: 1}},
		{"held", [][]telephony.PartyStatus{{hold}}, telephony.Presence{TelephonyStatus: telephony.OnHold, ActiveSessions: 1}},
		{"one held, one connected", [][]telephony.PartyStatus{{hold}, {ans}}, telephony.Presence{TelephonyStatus: telephony.CallConnected, ActiveSessions: 2}},
		{"all held", [][]telephony.PartyStatus{{hold}, {hold}}, telephony.Presence{TelephonyStatus: telephony.OnHold, ActiveSessions: 2}},
		{"connected, another rings", [][]telephony.PartyStatus{{ans}, {proc}}, telephony.Presence{TelephonyStatus: telephony.Ringing, ActiveSessions: 2}},
		{"held, another rings", [][]telephony.PartyStatus{{hold}, {proc}}, telephony.Presence{TelephonyStatus: telephony.Ringing, ActiveSessions: 2}},
		{"self call: both parties", [][]telephony.PartyStatus{{ans, ans}}, telephony.Presence{TelephonyStatus: telephony.CallConnected, ActiveSessions: 1}},
		{"ended", [][]telephony.PartyStatus{{gone}}, telephony.Presence{TelephonyStatus: telephony.NoCall}},
		{"ended, another held", [][]telephony.PartyStatus{{gone}, {hold}}, telephony.Presence{TelephonyStatus: telephony.OnHold, ActiveSessions: 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := presence.Aggregate(tt.sessions); got != tt.want {
				t.Errorf("%+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestOf: the presence status is Offline when the user says so; Busy on a
// call, when the user is Busy or takes no direct calls; else Available.
// Empty fields are the defaults.
func TestOf(t *testing.T) {
	for _, tt := range []struct {
		status    telephony.TelephonyStatus
		user, dnd string
		want      presence.Presence
	}{
		{"", "", "", presence.Presence{TelephonyStatus: telephony.NoCall, UserStatus: "Available", DNDStatus: "TakeAllCalls", PresenceStatus: "Available"}},
		{telephony.Ringing, "", "", presence.Presence{TelephonyStatus: telephony.Ringing, UserStatus: "Available", DNDStatus: "TakeAllCalls", PresenceStatus: "Busy"}},
		{telephony.OnHold, "Available", "TakeAllCalls", presence.Presence{TelephonyStatus: telephony.OnHold, UserStatus: "Available", DNDStatus: "TakeAllCalls", PresenceStatus: "Busy"}},
		{telephony.NoCall, "Busy", "TakeAllCalls", presence.Presence{TelephonyStatus: telephony.NoCall, UserStatus: "Busy", DNDStatus: "TakeAllCalls", PresenceStatus: "Busy"}},
		{telephony.CallConnected, "Offline", "", presence.Presence{TelephonyStatus: telephony.CallConnected, UserStatus: "Offline", DNDStatus: "TakeAllCalls", PresenceStatus: "Offline"}},
		{telephony.NoCall, "Available", "DoNotAcceptAnyCalls", presence.Presence{TelephonyStatus: telephony.NoCall, UserStatus: "Available", DNDStatus: "DoNotAcceptAnyCalls", PresenceStatus: "Busy"}},
		{telephony.NoCall, "Available", "TakeDepartmentCallsOnly", presence.Presence{TelephonyStatus: telephony.NoCall, UserStatus: "Available", DNDStatus: "TakeDepartmentCallsOnly", PresenceStatus: "Busy"}},
		{telephony.NoCall, "Available", "DoNotAcceptDepartmentCalls", presence.Presence{TelephonyStatus: telephony.NoCall, UserStatus: "Available", DNDStatus: "DoNotAcceptDepartmentCalls", PresenceStatus: "Available"}},
	} {
		got := presence.Of(tt.status, presence.UserPresence{UserStatus: tt.user, DNDStatus: tt.dnd})
		if got != tt.want {
			t.Errorf("Of(%q, %q, %q) = %+v, want %+v", tt.status, tt.user, tt.dnd, got, tt.want)
		}
	}
}

// TestDNDStatus: each do-not-disturb status decides which calls ring;
// unknown statuses take all calls.
func TestDNDStatus(t *testing.T) {
	k := presence.New(presence.Config{}, nil)
	ctx := context.Background()
	if !k.TakesDirectCalls(bob) || !k.TakesDepartmentCalls(bob) {
		t.Fatal("do-not-disturb on by default")
	}
	for _, tt := range []struct {
		set, want          string
		direct, department bool
	}{
		{presence.TakeDepartmentCallsOnly, presence.TakeDepartmentCallsOnly, false, true},
		{presence.DoNotAcceptDepartmentCalls, presence.DoNotAcceptDepartmentCalls, true, false},
		{presence.DoNotAcceptAnyCalls, presence.DoNotAcceptAnyCalls, false, false},
		{"Whatever", presence.TakeAllCalls, true, true},
		{presence.TakeAllCalls, presence.TakeAllCalls, true, true},
	} {
		if err := k.Set(ctx, bob, presence.UserPresence{UserStatus: presence.Available, DNDStatus: tt.set}); err != nil {
			t.Fatal(err)
		}
		up, err := k.User(ctx, bob)
		if err != nil || up.DNDStatus != tt.want || k.TakesDirectCalls(bob) != tt.direct || k.TakesDepartmentCalls(bob) != tt.department {
			t.Errorf("set %s: status %s (%v), direct %t, department %t", tt.set, up.DNDStatus, err,
				k.TakesDirectCalls(bob), k.TakesDepartmentCalls(bob))
		}
		if !k.TakesDirectCalls(alice) || !k.TakesDepartmentCalls(alice) {
			t.Fatalf("set %s for bob: alice takes fewer calls", tt.set)
		}
	}
}

// TestSequences: every event of an extension, the switch's and its user's,
// takes a larger sequence than the one before, from a time-based floor,
// also after a restart.
func TestSequences(t *testing.T) {
	c := &clock{now: epoch}
	k := presence.New(presence.Config{Now: c.Now}, nil)
	ctx := context.Background()
	start := uint64(epoch.UnixMilli())
	if _, seq := k.Telephony(alice); seq != start {
		t.Fatalf("initial sequence %d, want the time floor %d", seq, start)
	}
	var got []uint64
	k.Subscribe(func(ev presence.Event) {
		if ev.Extension == alice {
			got = append(got, ev.Sequence)
		}
	})
	var last uint64
	for i := range 10 {
		var seq uint64
		if i%3 == 2 {
			status := presence.Busy // then Available, then Busy: each a change
			if i%2 == 1 {
				status = presence.Available
			}
			if err := k.Set(ctx, alice, presence.UserPresence{UserStatus: status}); err != nil {
				t.Fatal(err)
			}
			seq = got[len(got)-1]
		} else {
			_, seq = k.CallsChanged(alice, [][]telephony.PartyStatus{{telephony.StatusProceeding}})
		}
		if seq <= last {
			t.Fatalf("event %d: sequence %d after %d", i, seq, last)
		}
		if _, cur := k.Telephony(alice); cur != seq {
			t.Fatalf("current sequence %d, last event's %d", cur, seq)
		}
		last = seq
	}
	// Bob's sequence is his own.
	if _, seq := k.CallsChanged(bob, nil); seq != start {
		t.Fatalf("bob's first sequence %d, want %d", seq, start)
	}
	// Concurrent events never share a sequence.
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[uint64]bool{}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				_, seq := k.CallsChanged(alice, nil)
				mu.Lock()
				if seen[seq] || seq <= last {
					t.Errorf("sequence %d given twice or not above %d", seq, last)
				}
				seen[seq] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	_, cur := k.Telephony(alice)
	// A restart: a keeper an hour later starts above every earlier sequence.
	c.advance(time.Hour)
	if _, seq := presence.New(presence.Config{Now: c.Now}, nil).Telephony(alice); seq <= cur {
		t.Fatalf("after restart sequence %d <= %d", seq, cur)
	}
	// The time floor lifts a sequence that fell behind the clock.
	if _, seq := k.CallsChanged(alice, nil); seq != uint64(c.Now().UnixMilli()) {
		t.Fatalf("sequence %d after an hour, want the floor %d", seq, c.Now().UnixMilli())
	}
}

// TestCallsChanged: the keeper keeps the telephony presence of each
// extension's last event, and the whole presence joins it with what the
// user set.
func TestCallsChanged(t *testing.T) {
	k := presence.New(presence.Config{}, nil)
	ctx := context.Background()
	p, _ := k.CallsChanged(alice, [][]telephony.PartyStatus{{telephony.StatusAnswered}, {telephony.StatusHold}})
	if p != (telephony.Presence{TelephonyStatus: telephony.CallConnected, ActiveSessions: 2}) {
		t.Fatalf("presence %+v", p)
	}
	if got, _ := k.Telephony(alice); got != p {
		t.Fatalf("kept %+v, event said %+v", got, p)
	}
	if got, _ := k.Telephony(bob); got != (telephony.Presence{TelephonyStatus: telephony.NoCall}) {
		t.Fatalf("bob %+v", got)
	}
	if err := k.Set(ctx, alice, presence.UserPresence{UserStatus: presence.Offline}); err != nil {
		t.Fatal(err)
	}
	whole, seq, err := k.Presence(ctx, alice)
	if err != nil || whole != (presence.Presence{TelephonyStatus: telephony.CallConnected, UserStatus: "Offline",
		DNDStatus: "TakeAllCalls", PresenceStatus: "Offline"}) {
		t.Fatalf("presence %+v, %v", whole, err)
	}
	if _, cur := k.Telephony(alice); cur != seq {
		t.Fatalf("sequence %d, current %d", seq, cur)
	}
	k.CallsChanged(alice, nil)
	if whole, _, _ := k.Presence(ctx, alice); whole.TelephonyStatus != telephony.NoCall {
		t.Fatalf("after the calls ended: %+v", whole)
	}
}

// TestCallsElsewhere: with several nodes, an extension's telephony
// presence counts its calls on the other nodes too, in each of this
// node's events and when asked; what a user sets through this node is
// shared, and what was set through another is learned, without an event.
func TestCallsElsewhere(t *testing.T) {
	k := presence.New(presence.Config{}, nil)
	ctx := context.Background()
	elsewhere := map[int64][][]telephony.PartyStatus{alice: {{telephony.StatusHold}}}
	k.CountCallsElsewhere(func(ext int64) [][]telephony.PartyStatus { return elsewhere[ext] })
	if got, _ := k.Telephony(alice); got != (telephony.Presence{TelephonyStatus: telephony.OnHold, ActiveSessions: 1}) {
		t.Fatalf("a held call elsewhere: %+v", got)
	}
	p, _ := k.CallsChanged(alice, [][]telephony.PartyStatus{{telephony.StatusAnswered}})
	if p != (telephony.Presence{TelephonyStatus: telephony.CallConnected, ActiveSessions: 2}) {
		t.Fatalf("a call here and a held one elsewhere: %+v", p)
	}
	// This node's call ends: the held call elsewhere goes on.
	if p, _ := k.CallsChanged(alice, nil); p != (telephony.Presence{TelephonyStatus: telephony.OnHold, ActiveSessions: 1}) {
		t.Fatalf("after this node's call ended: %+v", p)
	}
	delete(elsewhere, alice)
	if got, _ := k.Telephony(alice); got.TelephonyStatus != telephony.NoCall {
		t.Fatalf("no call anywhere: %+v", got)
	}

	var shared []presence.UserPresence
	k.ShareUserPresence(func(ext int64, up presence.UserPresence) {
		if ext == alice {
			shared = append(shared, up)
		}
	})
	var events []presence.Event
	k.Subscribe(func(ev presence.Event) { events = append(events, ev) })
	if err := k.Set(ctx, alice, presence.UserPresence{DNDStatus: presence.DoNotAcceptAnyCalls}); err != nil {
		t.Fatal(err)
	}
	if len(shared) != 1 || shared[0] != (presence.UserPresence{UserStatus: presence.Available, DNDStatus: presence.DoNotAcceptAnyCalls}) {
		t.Fatalf("shared %+v", shared)
	}
	k.Learn(bob, presence.UserPresence{DNDStatus: presence.TakeDepartmentCallsOnly})
	if k.TakesDirectCalls(bob) || !k.TakesDepartmentCalls(bob) {
		t.Fatal("bob's learned do-not-disturb not applied")
	}
	if up, _ := k.User(ctx, bob); up != (presence.UserPresence{UserStatus: presence.Available, DNDStatus: presence.TakeDepartmentCallsOnly}) {
		t.Fatalf("bob's learned presence %+v", up)
	}
	if len(events) != 1 || len(shared) != 1 {
		t.Fatalf("a learned presence was published (%d events) or shared again (%d)", len(events), len(shared))
	}
}

// TestSetPublishes: every Set is an event with the whole presence; one
// that changes what the user had takes the next sequence, one that does
// not keeps the current.
func TestSetPublishes(t *testing.T) {
	k := presence.New(presence.Config{}, nil)
	ctx := context.Background()
	var events []presence.Event
	unsubscribe := k.Subscribe(func(ev presence.Event) { events = append(events, ev) })
	k.CallsChanged(alice, [][]telephony.PartyStatus{{telephony.StatusProceeding}})
	_, before := k.Telephony(alice)

	busy := presence.UserPresence{UserStatus: presence.Busy, DNDStatus: presence.DoNotAcceptAnyCalls}
	for range 2 {
		if err := k.Set(ctx, alice, busy); err != nil {
			t.Fatal(err)
		}
	}
	want := presence.Presence{TelephonyStatus: telephony.Ringing, UserStatus: "Busy", DNDStatus: "DoNotAcceptAnyCalls", PresenceStatus: "Busy"}
	if len(events) != 2 || events[0] != (presence.Event{Extension: alice, Sequence: before + 1, Presence: want, Changed: true}) ||
		events[1] != (presence.Event{Extension: alice, Sequence: before + 1, Presence: want}) {
		t.Fatalf("events %+v", events)
	}
	unsubscribe()
	unsubscribe()
	k.Set(ctx, alice, presence.DefaultUserPresence)
	if len(events) != 2 {
		t.Fatal("unsubscribed handler still called")
	}
}

// TestSubscriberSets: a subscriber setting presence from inside an event
// neither deadlocks nor reorders events.
func TestSubscriberSets(t *testing.T) {
	k := presence.New(presence.Config{}, nil)
	ctx := context.Background()
	var first, second []string
	k.Subscribe(func(ev presence.Event) {
		first = append(first, ev.Presence.UserStatus)
		if ev.Presence.UserStatus == presence.Busy {
			if err := k.Set(ctx, bob, presence.UserPresence{UserStatus: presence.Offline}); err != nil {
				t.Error(err)
			}
		}
	})
	k.Subscribe(func(ev presence.Event) { second = append(second, ev.Presence.UserStatus) })
	if err := k.Set(ctx, alice, presence.UserPresence{UserStatus: presence.Busy}); err != nil {
		t.Fatal(err)
	}
	want := []string{"Busy", "Offline"}
	if len(first) != 2 || first[0] != want[0] || first[1] != want[1] || len(second) != 2 || second[0] != want[0] || second[1] != want[1] {
		t.Fatalf("events %v / %v, want %v", first, second, want)
	}
}

// TestStore: what users set is stored; at start the stored presence is
// restored, so its do-not-disturb applies at once; a presence not restored
// is read from the store once.
func TestStore(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	k := presence.New(presence.Config{}, st)
	dnd := presence.UserPresence{UserStatus: presence.Busy, DNDStatus: presence.DoNotAcceptAnyCalls}
	if err := k.Set(ctx, bob, dnd); err != nil {
		t.Fatal(err)
	}
	if st.m[bob] != dnd {
		t.Fatalf("stored %+v", st.m[bob])
	}

	restarted := presence.New(presence.Config{}, st)
	if !restarted.TakesDirectCalls(bob) {
		t.Fatal("do-not-disturb before the presence is restored")
	}
	if err := restarted.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	if restarted.TakesDirectCalls(bob) {
		t.Fatal("do-not-disturb not restored")
	}
	reads := st.reads
	for range 3 {
		if up, err := restarted.User(ctx, alice); err != nil || up != presence.DefaultUserPresence {
			t.Fatalf("alice %+v, %v", up, err)
		}
		if up, err := restarted.User(ctx, bob); err != nil || up != dnd {
			t.Fatalf("bob %+v, %v", up, err)
		}
	}
	if st.reads != reads+1 {
		t.Fatalf("%d store reads for one presence never set", st.reads-reads)
	}

	// A store that fails: the error is the caller's, nothing is applied.
	boom := errors.New("disk full")
	failing := newMemStore()
	failing.err = boom
	k = presence.New(presence.Config{}, failing)
	if err := k.Restore(ctx); !errors.Is(err, boom) {
		t.Fatalf("restore: %v", err)
	}
	if _, err := k.User(ctx, alice); !errors.Is(err, boom) {
		t.Fatalf("user: %v", err)
	}
	if _, _, err := k.Presence(ctx, alice); !errors.Is(err, boom) {
		t.Fatalf("presence: %v", err)
	}
	failing.err = nil
	k.User(ctx, bob) // read once: the default
	failing.err = boom
	var events int
	k.Subscribe(func(presence.Event) { events++ })
	if err := k.Set(ctx, bob, dnd); !errors.Is(err, boom) || events != 0 || !k.TakesDirectCalls(bob) {
		t.Fatalf("set on a failing store: %v, %d events, direct calls %t", err, events, k.TakesDirectCalls(bob))
	}
}
