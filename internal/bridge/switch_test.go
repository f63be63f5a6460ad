package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/presence"
	"github.com/callbridge/widget-server/internal/telephony"
)

// These tests drive a real switch (with a real presence keeper) through a
// transfer, a recall, a forward, an ignore and a second call, and map what
// it publishes. Ids are renamed in order of first appearance and the clocks
// stand still, so the payloads can be pinned in golden files.

var carol = telephony.Endpoint{PhoneNumber: "+16505550103", Name: "Carol Clark", ExtensionNumber: "103", ExtensionID: 3}

// extensions is a directory of alice (1), bob (2) and carol (3).
type extensions struct{}

func (extensions) Lookup(_ context.Context, _ int64, number string) (telephony.Endpoint, bool, error) {
	for _, e := range []telephony.Endpoint{alice, bob, carol} {
		if number == e.ExtensionNumber || number == e.PhoneNumber {
			return e, true, nil
		}
	}
	return telephony.Endpoint{}, false, nil
}

func (extensions) Describe(_ context.Context, id int64) (telephony.Endpoint, error) {
	for _, e := range []telephony.Endpoint{alice, bob, carol} {
		if e.ExtensionID == id {
			return e, nil
		}
	}
	return telephony.Endpoint{}, fmt.Errorf("no extension %d", id)
}

func (extensions) Region(context.Context, int64) (string, error) { return "US", nil }

// silentMedia opens every leg and carries no audio.
type silentMedia struct{}

func (silentMedia) OpenLeg(context.Context, string, string, telephony.LegKind) (string, error) {
	return "answer", nil
}
func (silentMedia) Connect(string, string) error { return nil }
func (silentMedia) SetForward(string, bool)      {}
func (silentMedia) CloseLeg(string)              {}
func (silentMedia) SetMix(string, []telephony.MixMember) error {
	return nil
}

// recorder is the switch's bus: it keeps every event in order.
type recorder struct {
	mu     sync.Mutex
	evs    []telephony.Event
	signal chan struct{}
}

func (r *recorder) Publish(ev telephony.Event) {
	r.mu.Lock()
	r.evs = append(r.evs, ev)
	r.mu.Unlock()
	select {
	case r.signal <- struct{}{}:
	default:
	}
}

// waitFor waits until the switch published cause for ext, after the
// events already waited for.
func (r *recorder) waitFor(t *testing.T, ext int64, cause telephony.Cause, from *int) {
	t.Helper()
	guard := time.After(30 * time.Second) // only a hung switch gets here
	for {
		r.mu.Lock()
		for i := *from; i < len(r.evs); i++ {
			if r.evs[i].Extension == ext && r.evs[i].Cause == cause {
				*from = i + 1
				r.mu.Unlock()
				return
			}
		}
		r.mu.Unlock()
		select {
		case <-r.signal:
		case <-guard:
			t.Fatalf("no %s event for %d", cause, ext)
		}
	}
}

// switchRig is a switch whose devices are dev-alice, dev-bob-1, dev-bob-2
// and dev-carol.
// acceptingMailbox takes every message and recording and keeps nothing:
// the audio is the audio service's, tested with it.
type acceptingMailbox struct{}

func (acceptingMailbox) TakeMessage(context.Context, telephony.VoicemailCall, func()) error {
	return nil
}
func (acceptingMailbox) RecordGreeting(context.Context, int64, string, func()) error    { return nil }
func (acceptingMailbox) StartRecording(context.Context, telephony.RecordingStart) error { return nil }
func (acceptingMailbox) SetRecordingLegs(string, []string) error                        { return nil }
func (acceptingMailbox) PauseRecording(string, bool) error                              { return nil }
func (acceptingMailbox) StopRecording(string)                                           {}

// defaultRules gives every extension the default answering rule.
type defaultRules struct{}

func (defaultRules) AnsweringRule(context.Context, int64) (telephony.AnsweringRule, error) {
	return telephony.DefaultRule(), nil
}

type switchRig struct {
	t    *testing.T
	sw   *telephony.Switch
	bus  *recorder
	seen int
}

func newSwitchRig(t *testing.T) *switchRig {
	t.Helper()
	now := func() time.Time { return t0 }
	bus := &recorder{signal: make(chan struct{}, 1)}
	sw := telephony.New(telephony.Config{RingTimeout: time.Hour, Now: now, Logger: slog.New(slog.DiscardHandler)},
		extensions{}, silentMedia{}, bus, presence.New(presence.Config{Now: now}, nil), nil)
	t.Cleanup(func() { sw.Close(context.Background()) })
	sw.SetMailbox(acceptingMailbox{})
	for _, d := range []telephony.Device{{ID: "dev-alice", ExtensionID: 1}, {ID: "dev-bob-1", ExtensionID: 2},
		{ID: "dev-bob-2", ExtensionID: 2}, {ID: "dev-carol", ExtensionID: 3}} {
		if err := sw.RegisterDevice(d); err != nil {
			t.Fatal(err)
		}
	}
	return &switchRig{t: t, sw: sw, bus: bus}
}

// do checks an action's error and waits for the event it leads to.
func (r *switchRig) do(err error, ext int64, cause telephony.Cause) {
	r.t.Helper()
	if err != nil {
		r.t.Fatal(err)
	}
	r.bus.waitFor(r.t, ext, cause, &r.seen)
}

func (r *switchRig) dial(device, to string) string {
	r.t.Helper()
	s, _, err := r.sw.Dial(context.Background(), device, to, "offer")
	r.do(err, s.Parties[0].Owner, telephony.CauseDial)
	return s.ID
}

func (r *switchRig) answer(device, id string, ext int64) {
	r.t.Helper()
	_, _, err := r.sw.Answer(context.Background(), device, id, "offer")
	r.do(err, ext, telephony.CauseAnswer)
}

func (r *switchRig) hangup(device, id string, ext int64) {
	r.t.Helper()
	r.do(r.sw.Hangup(context.Background(), device, id), ext, telephony.CauseHangup)
}

// events returns what the switch published, with ids renamed.
func (r *switchRig) events() []telephony.Event {
	r.bus.mu.Lock()
	defer r.bus.mu.Unlock()
	names := map[string]string{}
	name := func(id, prefix string) string {
		if id == "" {
			return ""
		}
		if n, ok := names[id]; ok {
			return n
		}
		count := 0
		for _, n := range names {
			if strings.HasPrefix(n, prefix) {
				count++
			}
		}
		n := prefix + strconv.Itoa(count+1)
		names[id] = n
		return n
	}
	var out []telephony.Event
	for _, ev := range r.bus.evs {
		s := ev.Session
		s.ID, s.SessionID = name(s.ID, "s-"), name(s.SessionID, "400")
		s.Parties = append([]telephony.Party(nil), s.Parties...)
		for i := range s.Parties {
			s.Parties[i].ID = name(s.Parties[i].ID, "p-")
		}
		if s.Recording != nil {
			rec := *s.Recording
			rec.ID = name(rec.ID, "900")
			s.Recording = &rec
		}
		ev.Recording.ID = name(ev.Recording.ID, "900")
		if ev.Conference != nil {
			cf := *ev.Conference
			cf.ID, cf.SessionID = name(cf.ID, "conf-"), name(cf.SessionID, "s-")
			cf.Participants = append([]telephony.Participant(nil), cf.Participants...)
			for i := range cf.Participants {
				cf.Participants[i].PartyID = name(cf.Participants[i].PartyID, "p-")
				cf.Participants[i].SessionID = name(cf.Participants[i].SessionID, "s-")
			}
			ev.Conference = &cf
		}
		ev.Session = s
		out = append(out, ev)
	}
	return out
}

// switchScripts are the scenarios, each run on a fresh switch.
var switchScripts = []struct {
	name string
	run  func(r *switchRig)
}{
	// bob answers alice's call and transfers it to carol, who answers.
	{"transfer-completed", func(r *switchRig) {
		id := r.dial("dev-alice", "102")
		r.answer("dev-bob-1", id, 2)
		_, err := r.sw.Transfer(context.Background(), "dev-bob-1", id, "103")
		r.do(err, 2, telephony.CauseTransferStarted)
		r.answer("dev-carol", id, 3)
		r.bus.waitFor(r.t, 2, telephony.CauseTransferCompleted, &r.seen)
		r.hangup("dev-alice", id, 3)
	}},
	// carol rejects the transfer: the call rings bob's devices again and he
	// answers on his other device.
	{"transfer-failed", func(r *switchRig) {
		id := r.dial("dev-alice", "102")
		r.answer("dev-bob-1", id, 2)
		_, err := r.sw.Transfer(context.Background(), "dev-bob-1", id, "103")
		r.do(err, 2, telephony.CauseTransferStarted)
		r.do(r.sw.Reject(context.Background(), "dev-carol", id), 2, telephony.CauseTransferFailed)
		r.bus.waitFor(r.t, 2, telephony.CauseRing, &r.seen)
		r.answer("dev-bob-2", id, 2)
		r.hangup("dev-bob-2", id, 2)
	}},
	// bob forwards alice's ringing call to carol, who answers.
	{"forward", func(r *switchRig) {
		id := r.dial("dev-alice", "102")
		_, err := r.sw.Forward(context.Background(), "dev-bob-1", id, "103")
		r.do(err, 2, telephony.CauseForward)
		r.answer("dev-carol", id, 3)
		r.hangup("dev-carol", id, 3)
	}},
	// bob ignores alice's call on one device and answers it on the other.
	{"ignore", func(r *switchRig) {
		id := r.dial("dev-alice", "102")
		r.do(r.sw.Ignore(context.Background(), "dev-bob-2", id), 2, telephony.CauseIgnore)
		r.answer("dev-bob-1", id, 2)
		r.hangup("dev-alice", id, 2)
	}},
	// alice, on a call with bob, dials carol: her first call is held, and
	// resumes when the second ends.
	{"second-call", func(r *switchRig) {
		first := r.dial("dev-alice", "102")
		r.answer("dev-bob-1", first, 2)
		second := r.dial("dev-alice", "103")
		r.answer("dev-carol", second, 3)
		r.hangup("dev-carol", second, 1)
		r.bus.waitFor(r.t, 1, telephony.CauseUnhold, &r.seen)
		r.hangup("dev-alice", first, 2)
	}},
	// bob, on a call with alice, consults carol on a second call and joins
	// alice to carol; carol hangs up.
	{"warm-transfer", func(r *switchRig) {
		first := r.dial("dev-alice", "102")
		r.answer("dev-bob-1", first, 2)
		second := r.dial("dev-bob-1", "103")
		r.answer("dev-carol", second, 3)
		pa, pb := r.partyOf(first, 2), r.partyOf(second, 2)
		_, err := r.sw.Bridge(context.Background(), 2, first, pa, second, pb)
		r.do(err, 3, telephony.CauseBridge)
		r.hangup("dev-carol", second, 1)
	}},
	// alice calls bob, who answers on one device, offers the call to his
	// other device and takes it there; then picks it up back on the first.
	{"move", func(r *switchRig) {
		id := r.dial("dev-alice", "102")
		r.answer("dev-bob-1", id, 2)
		r.do(r.sw.Move(context.Background(), 2, id, r.partyOf(id, 2), nil), 2, telephony.CauseMoveOffer)
		_, _, err := r.sw.Answer(context.Background(), "dev-bob-2", id, "offer")
		r.do(err, 2, telephony.CauseMoved)
		_, _, err = r.sw.Pickup(context.Background(), "dev-bob-1", id, "offer")
		r.do(err, 2, telephony.CauseMoved)
		r.hangup("dev-alice", id, 2)
	}},
	// bob records alice's call, pauses, resumes and stops the recording.
	{"record", func(r *switchRig) {
		id := r.dial("dev-alice", "102")
		r.answer("dev-bob-1", id, 2)
		for _, a := range []telephony.RecordAction{telephony.RecordStart, telephony.RecordPause, telephony.RecordResume, telephony.RecordStop} {
			_, err := r.sw.Record(context.Background(), "dev-bob-1", id, a)
			r.do(err, 2, telephony.CauseRecord)
		}
		r.hangup("dev-alice", id, 2)
	}},
	// bob sends alice's ringing call to his voicemail; she leaves a
	// message and hangs up.
	{"voicemail", func(r *switchRig) {
		id := r.dial("dev-alice", "102")
		r.do(r.sw.ToVoicemail(context.Background(), "dev-bob-2", id), 2, telephony.CauseVoicemail)
		r.hangup("dev-alice", id, 1)
	}},
	// alice calls bob, then carol, and merges the calls; bob mutes, alice
	// holds and resumes, mutes carol, bob hangs up, alice ends it for all.
	{"conference", func(r *switchRig) {
		ctx := context.Background()
		withBob := r.dial("dev-alice", "102")
		r.answer("dev-bob-1", withBob, 2)
		withCarol := r.dial("dev-alice", "103")
		r.answer("dev-carol", withCarol, 3)
		_, err := r.sw.Merge(ctx, "dev-alice", withCarol, withBob)
		r.do(err, 1, telephony.CauseConferenceCreated)
		r.do(r.sw.Mute(ctx, "dev-bob-1", withBob, true), 2, telephony.CauseMute)
		r.do(r.sw.Hold(ctx, "dev-alice", withCarol), 1, telephony.CauseHold)
		r.do(r.sw.Unhold(ctx, "dev-alice", withCarol), 1, telephony.CauseUnhold)
		r.do(r.sw.MuteParticipant(ctx, 1, withCarol, r.partyOf(withCarol, 3), true), 3, telephony.CauseConferenceUpdated)
		r.do(r.sw.Hangup(ctx, "dev-bob-1", withBob), 1, telephony.CauseConferenceLeft)
		r.do(r.sw.EndConference(ctx, 1, withCarol), 3, telephony.CauseHangup)
	}},
	// bob has no phone signed in: alice's call goes to his voicemail at
	// once, and her phone is told the call started.
	{"voicemail-at-once", func(r *switchRig) {
		r.sw.SetRules(defaultRules{})
		r.sw.UnregisterDevice("dev-bob-1")
		r.sw.UnregisterDevice("dev-bob-2")
		s, _, err := r.sw.Dial(context.Background(), "dev-alice", "102", "offer")
		r.do(err, 1, telephony.CauseVoicemail)
		r.hangup("dev-alice", s.ID, 1)
	}},
}

// partyOf is the id of extension ext's party in session id.
func (r *switchRig) partyOf(id string, ext int64) string {
	r.t.Helper()
	s, _ := r.sw.Session(id)
	for _, p := range s.Parties {
		if p.Owner == ext {
			return p.ID
		}
	}
	r.t.Fatalf("no party of %d in %s", ext, id)
	return ""
}

// mapSwitchScript runs a scenario and maps its events.
func mapSwitchScript(t *testing.T, run func(*switchRig)) []step {
	t.Helper()
	r := newSwitchRig(t)
	run(r)
	return mapEvents(t, r.events())
}

// TestSwitchMessagesGolden pins the payloads of each scenario.
func TestSwitchMessagesGolden(t *testing.T) {
	for _, sc := range switchScripts {
		t.Run(sc.name, func(t *testing.T) {
			checkGolden(t, sc.name+".golden.json", mapSwitchScript(t, sc.run))
		})
	}
}

// sent is one message of a step, with the fields the rules look at.
type sent struct {
	step int
	ext  int64
	msg  struct {
		To     string `json:"_to"`
		Type   string `json:"type"`
		State  string `json:"state"`
		Target string `json:"target"`
		Call   struct {
			PartyID         string `json:"partyId"`
			CallStatus      string `json:"callStatus"`
			IsOnHold        bool   `json:"isOnHold"`
			IsOnTransfer    bool   `json:"isOnTransfer"`
			Result          string `json:"result"`
			Reason          string `json:"reason"`
			TelephonyStatus string `json:"telephonyStatus"`
		} `json:"call"`
		TelephonySession struct {
			Parties []struct {
				ID     string `json:"id"`
				Status struct {
					Code   string `json:"code"`
					Reason string `json:"reason"`
				} `json:"status"`
				Owner *struct {
					ExtensionID string `json:"extensionId"`
				} `json:"owner"`
			} `json:"parties"`
		} `json:"telephonySession"`
	}
	cause string
}

func sentBy(t *testing.T, steps []step) []sent {
	t.Helper()
	var out []sent
	for i, st := range steps {
		for _, raw := range st.Messages {
			m := sent{step: i, ext: st.Extension, cause: st.Cause}
			if err := json.Unmarshal(raw, &m.msg); err != nil {
				t.Fatal(err)
			}
			out = append(out, m)
		}
	}
	return out
}

// TestSwitchMessageRules checks what the golden files embody.
func TestSwitchMessageRules(t *testing.T) {
	type want struct {
		cause   string
		ext     int64
		typ, to string
		n       int
		why     string
	}
	for _, tt := range []struct {
		name  string
		wants []want
		check func(t *testing.T, ms []sent)
	}{
		{"transfer-completed", []want{
			{"transferStarted", 2, EventCallTransfer, "dev-bob-1", 1, "the transferring device hears it started"},
			{"transferStarted", 2, EventCallEnd, "dev-bob-1", 1, "the transferor left"},
			{"transferStarted", 1, EventCallTransfer, "", 0, "only the transferor hears of the transfer"},
			{"transferStarted", 1, EventCallEnd, "dev-alice", 0, "the transferee stays"},
			{"ring", 3, EventCallRing, "dev-carol", 1, "the target rings"},
			{"answer", 3, EventCallStart, "dev-carol", 1, "the target answers"},
			{"answer", 1, EventCallStart, "dev-alice", 0, "the transferee's call started before"},
			{"transferCompleted", 2, EventCallTransfer, "dev-bob-1", 1, "the transfer completed"},
			{"hangup", 1, EventCallEnd, "dev-alice", 1, "hang-up"},
			{"hangup", 3, EventCallEnd, "dev-carol", 1, "hang-up"},
		}, func(t *testing.T, ms []sent) {
			checkTransferNotify(t, ms, []string{TransferStarted, TransferCompleted})
			// From the transfer on, the transferee is Parties[0] and the target's party follows.
			transferred := false
			for _, m := range ms {
				transferred = transferred || m.cause == "transferStarted"
				if m.msg.Type != EventTelephonySession || (m.cause != "answer" && m.cause != "transferStarted") || !transferred {
					continue
				}
				ps := m.msg.TelephonySession.Parties
				if len(ps) < 2 || ps[0].Owner == nil || ps[0].Owner.ExtensionID != "1" || ps[0].Status.Code != "Answered" {
					t.Errorf("step %d %s/%d: parties %+v", m.step, m.cause, m.ext, ps)
				}
				if m.cause == "transferStarted" && (len(ps) != 3 || ps[1].Status.Code != "Disconnected" || ps[1].Status.Reason != telephony.ResultTransferred ||
					ps[2].Owner == nil || ps[2].Owner.ExtensionID != "3" || ps[2].Status.Code != "Proceeding") {
					t.Errorf("step %d: at the transfer, parties %+v", m.step, ps)
				}
				if m.cause == "answer" && (len(ps) != 2 || ps[1].Owner.ExtensionID != "3" || ps[1].Status.Code != "Answered") {
					t.Errorf("step %d: after the target answered, parties %+v", m.step, ps)
				}
			}
		}},
		{"transfer-failed", []want{
			{"transferStarted", 2, EventCallTransfer, "dev-bob-1", 1, "the transferring device hears it started"},
			{"transferFailed", 3, EventCallEnd, "dev-carol", 1, "the target stopped ringing"},
			{"transferFailed", 2, EventCallTransfer, "dev-bob-1", 1, "the recall: the transfer failed"},
			{"transferFailed", 1, EventCallTransfer, "", 0, "only the transferor hears of the transfer"},
			{"ring", 2, EventCallRing, "dev-bob-1", 2, "the call, then the recall, rings every device"},
			{"ring", 2, EventCallRing, "dev-bob-2", 2, "the call, then the recall, rings every device"},
			{"answer", 2, EventCallStart, "dev-bob-2", 1, "the recall answered"},
			{"answer", 2, EventCallEnd, "dev-bob-1", 1, "the recall answered elsewhere"},
			{"hangup", 1, EventCallEnd, "dev-alice", 1, "hang-up"},
		}, func(t *testing.T, ms []sent) {
			checkTransferNotify(t, ms, []string{TransferStarted, TransferFailed})
			for _, m := range ms {
				if m.msg.Type == EventCallTransfer && m.msg.State == TransferFailed &&
					(m.msg.Call.CallStatus != "connecting" || m.msg.Call.Result != "") {
					t.Errorf("the failed transfer names the recall, which rings: %+v", m.msg.Call)
				}
			}
		}},
		{"forward", []want{
			{"forward", 2, EventCallEnd, "dev-bob-1", 1, "the forwarding device stops ringing"},
			{"forward", 2, EventCallEnd, "dev-bob-2", 1, "the other device stops ringing"},
			{"forward", 2, EventCallTransfer, "dev-bob-1", 0, "a forward is no transfer"},
			{"forward", 1, EventCallEnd, "dev-alice", 0, "the caller's call goes on"},
			{"ring", 3, EventCallRing, "dev-carol", 1, "the target rings"},
			{"answer", 1, EventCallStart, "dev-alice", 0, "the caller's call started when bob's phone rang"},
			{"answer", 3, EventCallStart, "dev-carol", 1, "the target answers"},
		}, func(t *testing.T, ms []sent) {
			for _, m := range ms {
				if m.cause == "forward" && m.msg.Type == EventCallEnd && m.msg.Call.Result != telephony.ResultForwarded {
					t.Errorf("forward: end %+v", m.msg.Call)
				}
			}
		}},
		{"ignore", []want{
			{"ignore", 2, EventCallEnd, "dev-bob-2", 1, "the ignoring device stops ringing"},
			{"ignore", 2, EventCallEnd, "dev-bob-1", 0, "the other device rings on"},
			{"ignore", 1, EventCallEnd, "dev-alice", 0, "the caller hears nothing"},
			{"answer", 2, EventCallStart, "dev-bob-1", 1, "answered"},
			{"answer", 2, EventCallEnd, "dev-bob-2", 0, "the ignoring device was told before"},
		}, nil},
		{"second-call", []want{
			{"hold", 1, EventCallHold, "dev-alice", 1, "the live call is held for the new one"},
			{"hold", 2, EventCallHold, "dev-bob-1", 0, "the other side did not hold"},
			{"dial", 1, EventCallInit, "dev-alice", 2, "two calls dialled"},
			{"unhold", 1, EventCallResume, "dev-alice", 1, "the held call resumes when the second ends"},
		}, func(t *testing.T, ms []sent) {
			for _, m := range ms {
				if m.cause == "hold" && m.ext == 1 && m.msg.Type == EventActiveCall && m.msg.Call.TelephonyStatus != "OnHold" {
					t.Errorf("hold: active call %+v", m.msg.Call)
				}
				if m.msg.Type == EventCallHold && !m.msg.Call.IsOnHold {
					t.Errorf("hold: call %+v", m.msg.Call)
				}
			}
		}},
		{"warm-transfer", []want{
			{"transferCompleted", 2, EventCallTransfer, "dev-bob-1", 1, "the transferring device hears it completed"},
			{"transferCompleted", 2, EventCallEnd, "dev-bob-1", 1, "the transferor left the first call"},
			{"bridge", 2, EventCallEnd, "dev-bob-1", 1, "and the consultation"},
			{"transferCompleted", 1, EventCallEnd, "dev-alice", 0, "the transferee stays"},
			{"bridge", 3, EventCallEnd, "dev-carol", 0, "the target stays"},
			{"transferCompleted", 1, EventCallTransfer, "", 0, "only the transferor hears of the transfer"},
			{"hangup", 3, EventCallEnd, "dev-carol", 1, "the target hangs up"},
			{"hangup", 1, EventCallEnd, "dev-alice", 1, "which ends the transferee's call too"},
		}, func(t *testing.T, ms []sent) {
			checkTransferNotify(t, ms, []string{TransferCompleted})
			for _, m := range ms {
				if m.msg.Type == EventCallTransfer && m.msg.Target != "103" {
					t.Errorf("warm transfer target %q", m.msg.Target)
				}
			}
		}},
		{"move", []want{
			{"moveOffer", 2, EventCallRing, "dev-bob-2", 1, "the other device rings"},
			{"moveOffer", 2, EventCallRing, "dev-bob-1", 0, "not the one that has the call"},
			{"moveOffer", 1, EventActiveCall, "", 0, "the remote party hears nothing"},
			{"moved", 2, EventCallStart, "dev-bob-2", 1, "the device that took it starts it"},
			{"moved", 2, EventCallEnd, "dev-bob-1", 1, "the device it left ends it"},
			{"moved", 2, EventCallStart, "dev-bob-1", 1, "picked up back"},
			{"moved", 2, EventCallEnd, "dev-bob-2", 1, "and left again"},
			{"moved", 2, EventCallMoved, "", 2, "every device hears of each move"},
			{"moved", 1, EventCallEnd, "dev-alice", 0, "the remote party hears nothing"},
			{"hangup", 2, EventCallEnd, "dev-bob-1", 1, "the call ends where it is"},
			{"hangup", 2, EventCallEnd, "dev-bob-2", 0, "not where it was"},
		}, func(t *testing.T, ms []sent) {
			for _, m := range ms {
				if m.cause == "moved" && m.msg.Type == EventCallEnd && m.msg.Call.Reason != "moved" {
					t.Errorf("the device a call left: end %+v", m.msg.Call)
				}
				if m.cause == "moveOffer" && m.msg.Type == EventCallRing && m.msg.Call.CallStatus != "webphone-session-setup" {
					t.Errorf("the offer: %+v", m.msg.Call)
				}
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var run func(*switchRig)
			for _, sc := range switchScripts {
				if sc.name == tt.name {
					run = sc.run
				}
			}
			ms := sentBy(t, mapSwitchScript(t, run))
			for _, w := range tt.wants {
				n := 0
				for _, m := range ms {
					if m.cause == w.cause && m.ext == w.ext && m.msg.Type == w.typ && (m.msg.To == w.to || w.to == "" && w.n == 0) {
						n++
					}
				}
				if n != w.n {
					t.Errorf("%s/%d (%s): %d × %s to %q, want %d", w.cause, w.ext, w.why, n, w.typ, w.to, w.n)
				}
			}
			if tt.check != nil {
				tt.check(t, ms)
			}
		})
	}
}

// checkTransferNotify: rc-call-transfer-notify goes to the transferring
// device in the order of states, names the target, and says the call is on
// transfer while it is under way.
func checkTransferNotify(t *testing.T, ms []sent, states []string) {
	t.Helper()
	var got []string
	for _, m := range ms {
		if m.msg.Type != EventCallTransfer {
			continue
		}
		got = append(got, m.msg.State)
		if m.msg.Target != "103" || m.ext != 2 {
			t.Errorf("%s: %+v", m.msg.State, m.msg)
		}
		if m.msg.Call.IsOnTransfer != (m.msg.State == TransferStarted) {
			t.Errorf("%s: isOnTransfer %v", m.msg.State, m.msg.Call.IsOnTransfer)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(states) {
		t.Errorf("states %v, want %v", got, states)
	}
}

// TestLeftPartyEndsNow: a party that left a call which goes on ended when
// its devices are told, not when the call began.
func TestLeftPartyEndsNow(t *testing.T) {
	m := NewCallMapper()
	m.now = func() time.Time { return t0.Add(time.Minute) }
	s := telephony.Session{ID: "s-1", SessionID: "4001", Created: t0, Connected: t0.Add(3 * time.Second), Parties: []telephony.Party{
		{ID: "p-1", Direction: telephony.Outbound, From: alice, To: bob, Status: telephony.StatusAnswered, Owner: 1, Device: "dev-alice"},
		{ID: "p-2", Direction: telephony.Inbound, From: alice, To: bob, Status: telephony.StatusDisconnected, Owner: 2, Device: "dev-bob-1",
			Result: telephony.ResultTransferred, Reason: telephony.ResultTransferred},
	}}
	c := m.callOf(s, s.Parties[1])
	if c.Duration == nil || *c.Duration != 57 || c.EndTime != t0.Add(time.Minute).UnixMilli() || !c.IsOnTransfer {
		t.Fatalf("call %+v", c)
	}
}
