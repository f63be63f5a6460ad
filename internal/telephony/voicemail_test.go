package telephony_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/presence"
	"github.com/callbridge/widget-server/internal/telephony"
)

// mailbox is a fake Mailbox that records what the switch asks of it.
type mailbox struct {
	mu        sync.Mutex
	messages  []telephony.VoicemailCall
	done      map[string]func() // by leg: ends the message as # would
	greetings []int64           // RecordGreeting calls by extension
	took      chan struct{}     // signalled on every message and greeting taken
	takeErr   error
	startErr  error
	started   []telephony.RecordingStart
	legs      map[string][][]string // SetRecordingLegs calls by recording
	paused    map[string][]bool
	stopped   []string
}

func newMailbox() *mailbox {
	return &mailbox{done: map[string]func(){}, legs: map[string][][]string{}, paused: map[string][]bool{},
		took: make(chan struct{}, 1)}
}

func (m *mailbox) TakeMessage(ctx context.Context, v telephony.VoicemailCall, done func()) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.takeErr != nil {
		return m.takeErr
	}
	m.messages = append(m.messages, v)
	m.done[v.Leg] = done
	m.signal()
	return nil
}

func (m *mailbox) RecordGreeting(ctx context.Context, ext int64, leg string, done func()) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.greetings = append(m.greetings, ext)
	m.done[leg] = done
	m.signal()
	return nil
}

func (m *mailbox) StartRecording(ctx context.Context, r telephony.RecordingStart) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.startErr != nil {
		return m.startErr
	}
	m.started = append(m.started, r)
	return nil
}

func (m *mailbox) SetRecordingLegs(id string, legs []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.legs[id] = append(m.legs[id], legs)
	return nil
}

func (m *mailbox) PauseRecording(id string, paused bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.paused[id] = append(m.paused[id], paused)
	return nil
}

func (m *mailbox) StopRecording(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stopped = append(m.stopped, id)
}

func (m *mailbox) signal() {
	select {
	case m.took <- struct{}{}:
	default:
	}
}

// taken waits until the mailbox took a message or greeting on leg (the
// switch calls it after it published the event that led to it), and
// returns the function that ends it.
func (m *mailbox) taken(t *testing.T, leg string) func() {
	t.Helper()
	deadline := time.After(patience)
	for {
		m.mu.Lock()
		done := m.done[leg]
		m.mu.Unlock()
		if done != nil {
			return done
		}
		select {
		case <-m.took:
		case <-deadline:
			t.Fatalf("no message taken on leg %s", leg)
		}
	}
}

func (m *mailbox) takeMessages() []telephony.VoicemailCall {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.messages
	m.messages = nil
	return out
}

// rules is a fake Rules: the default rule, but for the extensions set.
type rules map[int64]telephony.AnsweringRule

func (r rules) AnsweringRule(ctx context.Context, ext int64) (telephony.AnsweringRule, error) {
	if rule, ok := r[ext]; ok {
		return rule, nil
	}
	return telephony.DefaultRule(), nil
}

// quick is a rule that rings briefly, then does noAnswer.
func quick(noAnswer telephony.RuleAction, target string) telephony.AnsweringRule {
	r := telephony.DefaultRule()
	r.RingTimeout, r.NoAnswer, r.NoAnswerTarget = 20*time.Millisecond, noAnswer, target
	return r
}

// withMailbox gives the rig's switch a fake mailbox and rules.
func (r *rig) withMailbox(rs rules) *mailbox {
	m := newMailbox()
	r.sw.SetMailbox(m)
	r.sw.SetRules(rs)
	return m
}

// isVoicemail reports whether e tells that the call reached voicemail.
func isVoicemail(e telephony.Event) bool { return e.Cause == telephony.CauseVoicemail }

// TestAnsweringRules: a call that nobody answers goes where the called
// extension's rule says — voicemail, a forward target under its own rule,
// or nowhere — also when the extension declines, takes no calls, has no
// device or is busy with call waiting off; a chain of forwards never rings
// an extension twice.
func TestAnsweringRules(t *testing.T) {
	ctx := context.Background()
	busyRule := telephony.DefaultRule()
	busyRule.CallWaiting = false
	busyMissed := busyRule
	busyMissed.Busy = telephony.RuleMissed
	busyForward := busyRule
	busyForward.Busy, busyForward.BusyTarget = telephony.RuleForward, "103"
	for _, tc := range []struct {
		name  string
		rules rules
		setup func(t *testing.T, r *rig)
		act   func(t *testing.T, r *rig, s telephony.Session)
		// mailbox is the extension whose voicemail the caller reaches; 0: none
		mailbox int64
		// rang lists the extensions that rang, in order
		rang []int64
		// code and callerResult, when the call ends instead
		code         int
		callerResult string
	}{
		{name: "no answer goes to voicemail", rules: rules{bob: quick(telephony.RuleVoicemail, "")}, mailbox: bob, rang: []int64{bob}},
		{name: "every device declines", rules: rules{bob: telephony.DefaultRule()}, mailbox: bob, rang: []int64{bob},
			act: func(t *testing.T, r *rig, s telephony.Session) {
				for _, d := range []string{"b1", "b2"} {
					if err := r.sw.Reject(ctx, d, s.ID); err != nil {
						t.Fatal(err)
					}
				}
			}},
		{name: "do not disturb", rules: rules{}, mailbox: bob,
			setup: func(t *testing.T, r *rig) { r.setDND(t, bob, presence.DoNotAcceptAnyCalls) }},
		{name: "no device", rules: rules{}, mailbox: bob,
			setup: func(t *testing.T, r *rig) { r.sw.UnregisterDevice("b1"); r.sw.UnregisterDevice("b2") }},
		{name: "device gone while ringing", rules: rules{}, mailbox: bob, rang: []int64{bob},
			act: func(t *testing.T, r *rig, s telephony.Session) {
				r.sw.UnregisterDevice("b1")
				r.sw.UnregisterDevice("b2")
			}},
		{name: "busy, call waiting off", rules: rules{bob: busyRule}, mailbox: bob,
			setup: func(t *testing.T, r *rig) { r.connectedFrom(t, "c1", "b1") }},
		{name: "busy, call waiting off, busy signal", rules: rules{bob: busyMissed}, code: 486, callerResult: telephony.ResultBusy,
			setup: func(t *testing.T, r *rig) { r.connectedFrom(t, "c1", "b1") }},
		{name: "busy, call waiting on", rules: rules{bob: quick(telephony.RuleVoicemail, "")}, mailbox: bob, rang: []int64{bob},
			setup: func(t *testing.T, r *rig) { r.connectedFrom(t, "c1", "b1") }},
		{name: "busy forwards", rules: rules{bob: busyForward, carol: quick(telephony.RuleVoicemail, "")}, mailbox: carol,
			rang:  []int64{carol},
			setup: func(t *testing.T, r *rig) { r.connectedFrom(t, "a1", "b1") }},
		{name: "forward, then the target's voicemail",
			rules:   rules{bob: quick(telephony.RuleForward, "103"), carol: quick(telephony.RuleVoicemail, "")},
			mailbox: carol, rang: []int64{bob, carol}},
		{name: "forward to a number outside reaches voicemail",
			rules:   rules{bob: quick(telephony.RuleForward, "+15550000000")},
			mailbox: bob, rang: []int64{bob}},
		{name: "a forward loop ends at the last extension's voicemail",
			rules:   rules{bob: quick(telephony.RuleForward, "103"), carol: quick(telephony.RuleForward, "102")},
			mailbox: carol, rang: []int64{bob, carol}},
		{name: "disconnect", rules: rules{bob: quick(telephony.RuleMissed, "")}, rang: []int64{bob},
			code: 408, callerResult: telephony.ResultNoAnswer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			m := r.withMailbox(tc.rules)
			caller := "a1"
			if tc.name == "busy forwards" { // Alice is on the call with Bob
				caller = "a2"
				if err := r.sw.RegisterDevice(telephony.Device{ID: caller, ExtensionID: alice}); err != nil {
					t.Fatal(err)
				}
			}
			if tc.setup != nil {
				tc.setup(t, r)
			}
			r.bus.take()
			s := r.dial(t, caller, "102")
			if tc.act != nil {
				tc.act(t, r, s)
			}
			var last telephony.Event
			if tc.mailbox != 0 {
				last = r.bus.waitFor(t, func(e telephony.Event) bool { return isVoicemail(e) && e.Session.ID == s.ID })
				p := last.Session.Parties
				if len(p) < 2 || p[0].Status != telephony.StatusAnswered || p[len(p)-1].Owner != 0 ||
					p[len(p)-1].Status != telephony.StatusAnswered {
					t.Fatalf("at voicemail: %+v", p)
				}
				m.taken(t, s.Parties[0].ID)
				msgs := m.takeMessages()
				if len(msgs) != 1 || msgs[0].Mailbox != tc.mailbox || msgs[0].Leg != s.Parties[0].ID ||
					msgs[0].TelephonySessionID != s.ID {
					t.Fatalf("messages taken: %+v", msgs)
				}
			} else {
				last = r.bus.waitFor(t, func(e telephony.Event) bool {
					return e.Session.ID == s.ID && e.Session.Parties[0].Status == telephony.StatusDisconnected
				})
				if p := last.Session.Parties[0]; p.Code != tc.code || p.Result != tc.callerResult {
					t.Fatalf("caller ended %d %s, want %d %s", p.Code, p.Result, tc.code, tc.callerResult)
				}
			}
			var rang []int64
			for _, e := range r.bus.all() {
				if e.Cause == telephony.CauseRing && e.Session.ID == s.ID && !slices.Contains(rang, e.Extension) {
					rang = append(rang, e.Extension)
				}
			}
			if !slices.Equal(rang, tc.rang) {
				t.Fatalf("rang %v, want %v", rang, tc.rang)
			}
		})
	}
}

// connectedFrom connects a call from device from to Bob, answered on
// device on, and forgets its events.
func (r *rig) connectedFrom(t *testing.T, from, on string) telephony.Session {
	t.Helper()
	s := r.dial(t, from, "102")
	s, _, err := r.sw.Answer(context.Background(), on, s.ID, "offer-"+on)
	if err != nil {
		t.Fatalf("answer: %v", err)
	}
	r.bus.take()
	return s
}

// TestVoicemailCall: the caller at voicemail is connected to a voicemail
// party; Bob's record says Voicemail; the message ending (# or the limit)
// ends the call; the caller hanging up ends it too, and closes its leg,
// which ends the message; a mailbox that cannot take the message ends the
// call; without a mailbox the call is missed.
func TestVoicemailCall(t *testing.T) {
	ctx := context.Background()
	t.Run("the message ends the call", func(t *testing.T) {
		r := newRig(t)
		m := r.withMailbox(rules{bob: quick(telephony.RuleVoicemail, "")})
		s := r.dial(t, "a1", "102")
		r.bus.waitFor(t, isVoicemail)
		done := m.taken(t, s.Parties[0].ID)
		done()
		e := r.bus.waitFor(t, func(e telephony.Event) bool { return e.Session.Parties[0].Status == telephony.StatusDisconnected })
		if p := e.Session.Parties[0]; p.Result != telephony.ResultConnected || p.Code != 0 {
			t.Fatalf("caller %+v", p)
		}
		recs := r.log.wait(t, 2)
		results := map[int64]string{}
		for _, rec := range recs {
			results[rec.Extension] = rec.Result
		}
		if results[alice] != telephony.ResultConnected || results[bob] != telephony.ResultVoicemail {
			t.Fatalf("results %v", results)
		}
		if !r.media.isClosed(s.Parties[0].ID) {
			t.Fatal("caller's leg left open")
		}
		done() // a late second end changes nothing
	})
	t.Run("the caller hangs up", func(t *testing.T) {
		r := newRig(t)
		r.withMailbox(rules{})
		s := r.dial(t, "a1", "102")
		if err := r.sw.ToVoicemail(ctx, "b2", s.ID); err != nil {
			t.Fatal(err)
		}
		e := r.bus.waitFor(t, isVoicemail)
		if e.Device != "b2" {
			t.Fatalf("voicemail event for device %q", e.Device)
		}
		if _, err := r.sw.Record(ctx, "a1", s.ID, telephony.RecordStart); !errors.Is(err, telephony.ErrInvalidState) {
			t.Fatalf("recording a call at voicemail: %v", err)
		}
		if err := r.sw.Hangup(ctx, "a1", s.ID); err != nil {
			t.Fatal(err)
		}
		if !r.media.isClosed(s.Parties[0].ID) {
			t.Fatal("caller's leg left open")
		}
		if _, ok := r.sw.Session(s.ID); ok {
			t.Fatal("call goes on")
		}
	})
	t.Run("the mailbox fails", func(t *testing.T) {
		r := newRig(t)
		m := r.withMailbox(rules{})
		m.takeErr = errors.New("disk gone")
		s := r.dial(t, "a1", "102")
		if err := r.sw.ToVoicemail(ctx, "b1", s.ID); err != nil {
			t.Fatal(err)
		}
		e := r.bus.waitFor(t, func(e telephony.Event) bool { return e.Session.Parties[0].Status == telephony.StatusDisconnected })
		if e.Session.Parties[0].Code != 503 {
			t.Fatalf("caller %+v", e.Session.Parties[0])
		}
	})
	t.Run("to voicemail needs a ringing call and a mailbox", func(t *testing.T) {
		r := newRig(t)
		s := r.dial(t, "a1", "102")
		if err := r.sw.ToVoicemail(ctx, "b1", s.ID); !errors.Is(err, telephony.ErrNoMailbox) {
			t.Fatalf("without a mailbox: %v", err)
		}
		r.withMailbox(rules{})
		if err := r.sw.ToVoicemail(ctx, "c1", s.ID); !errors.Is(err, telephony.ErrNotYourCall) {
			t.Fatalf("from a device it does not ring: %v", err)
		}
		if err := r.sw.ToVoicemail(ctx, "a1", s.ID); err == nil {
			t.Fatal("the caller sent its own call to voicemail")
		}
	})
	t.Run("a greeting is recorded on *86", func(t *testing.T) {
		r := newRig(t)
		s := r.dial(t, "a1", telephony.GreetingNumber)
		if p := s.Parties[0]; p.Code != 404 {
			t.Fatalf("greeting without a mailbox: %+v", p)
		}
		m := r.withMailbox(rules{})
		s = r.dial(t, "a1", telephony.GreetingNumber)
		if s.Parties[0].Status != telephony.StatusAnswered || s.Parties[1].Owner != 0 {
			t.Fatalf("greeting call %+v", s.Parties)
		}
		m.mu.Lock()
		greetings, done := m.greetings, m.done[s.Parties[0].ID]
		m.mu.Unlock()
		if !slices.Equal(greetings, []int64{alice}) || done == nil {
			t.Fatalf("greetings recorded %v", greetings)
		}
		done()
		if _, ok := r.sw.Session(s.ID); ok {
			t.Fatal("the greeting call goes on after the greeting was kept")
		}
	})
	t.Run("a department rings its members in turn", func(t *testing.T) {
		r := newRig(t)
		seq := quick(telephony.RuleMissed, "")
		seq.RingMode = telephony.RingSequential
		r.withMailbox(rules{support: seq})
		s := r.dial(t, "a1", "200")
		if len(s.Parties) != 2 || s.Parties[1].Owner != bob {
			t.Fatalf("first to ring %+v", s.Parties)
		}
		if err := r.sw.Reject(ctx, "b1", s.ID); err != nil { // Bob's other device rings on
			t.Fatal(err)
		}
		e := r.bus.waitFor(t, func(e telephony.Event) bool { return e.Cause == telephony.CauseRing && e.Extension == carol })
		if p := e.Session.Parties; len(p) != 3 || p[1].Owner != bob || p[1].Result != telephony.ResultMissed ||
			p[2].Owner != carol || !slices.Equal(p[2].Ringing, []string{"c1"}) {
			t.Fatalf("second to ring %+v", p)
		}
		e = r.bus.waitFor(t, func(e telephony.Event) bool { return e.Session.Parties[0].Status == telephony.StatusDisconnected })
		if e.Session.Parties[0].Code != 408 {
			t.Fatalf("after the last member %+v", e.Session.Parties[0])
		}
		byExt := map[int64]string{}
		for _, rec := range r.log.wait(t, 3) {
			byExt[rec.Extension] = rec.Result
		}
		if byExt[bob] != telephony.ResultMissed || byExt[carol] != telephony.ResultMissed || byExt[alice] != telephony.ResultNoAnswer {
			t.Fatalf("records %v", byExt)
		}
	})
	t.Run("a department has no mailbox", func(t *testing.T) {
		r := newRig(t)
		m := r.withMailbox(rules{support: quick(telephony.RuleVoicemail, "")})
		s := r.dial(t, "a1", "200")
		e := r.bus.waitFor(t, func(e telephony.Event) bool {
			return e.Session.ID == s.ID && e.Session.Parties[0].Status == telephony.StatusDisconnected
		})
		if e.Session.Parties[0].Code != 408 || len(m.takeMessages()) != 0 {
			t.Fatalf("department call %+v", e.Session.Parties[0])
		}
	})
}
