package bridge

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/telephony"
)

var tone = telephony.Endpoint{PhoneNumber: "+15550100", Name: "Tone line"}

// ringOutScript is bob's RingOut from his own number (two devices ring, he
// answers on one) to the tone line, which answers; he hangs up. Then a
// RingOut to the busy line, which fails once he answered.
func ringOutScript() []telephony.Event {
	seq := uint64(3000)
	var evs []telephony.Event
	emit := func(cause, device string, s telephony.Session, status telephony.TelephonyStatus) {
		seq++
		s.Parties = append([]telephony.Party(nil), s.Parties...)
		evs = append(evs, telephony.Event{Extension: 2, Sequence: seq, Session: s, Cause: telephony.Cause(cause), Device: device,
			Presence: telephony.Presence{TelephonyStatus: status}})
	}
	s := telephony.Session{ID: "s-3", SessionID: "4003", Origin: telephony.OriginRingOut, Created: t0, Parties: []telephony.Party{
		{ID: "p-e", Direction: telephony.Outbound, From: bob, To: tone, Status: telephony.StatusProceeding, Owner: 2,
			Ringing: []string{"dev-bob-1", "dev-bob-2"}},
		{ID: "p-f", Direction: telephony.Inbound, From: bob, To: tone, Status: telephony.StatusSetup},
	}}
	emit("ring", "", s, telephony.Ringing)
	s.Parties[0].Status, s.Parties[0].Device, s.Parties[0].Ringing = telephony.StatusAnswered, "dev-bob-1", nil
	emit("answer", "dev-bob-1", s, telephony.CallConnected)
	s.Parties[1].Status = telephony.StatusProceeding
	emit("ring", "", s, telephony.CallConnected)
	s.Connected = t0.Add(4 * time.Second)
	s.Parties[1].Status = telephony.StatusAnswered
	emit("answer", "", s, telephony.CallConnected)
	s.Ended = t0.Add(30 * time.Second)
	for i := range s.Parties {
		s.Parties[i].Status, s.Parties[i].Reason, s.Parties[i].Result = telephony.StatusDisconnected, "Call connected", telephony.ResultConnected
	}
	emit("hangup", "dev-bob-1", s, telephony.NoCall)

	f := telephony.Session{ID: "s-4", SessionID: "4004", Origin: telephony.OriginRingOut, Created: t0.Add(time.Minute), Parties: []telephony.Party{
		{ID: "p-g", Direction: telephony.Outbound, From: bob, To: busy, Status: telephony.StatusProceeding, Owner: 2,
			Ringing: []string{"dev-bob-1"}},
		{ID: "p-h", Direction: telephony.Inbound, From: bob, To: busy, Status: telephony.StatusSetup},
	}}
	emit("ring", "", f, telephony.Ringing)
	f.Parties[0].Status, f.Parties[0].Device, f.Parties[0].Ringing = telephony.StatusAnswered, "dev-bob-1", nil
	emit("answer", "dev-bob-1", f, telephony.CallConnected)
	f.Parties[1].Status = telephony.StatusProceeding
	emit("ring", "", f, telephony.CallConnected)
	f.Ended = f.Created.Add(3 * time.Second)
	for i := range f.Parties {
		f.Parties[i].Status, f.Parties[i].Code, f.Parties[i].Reason, f.Parties[i].Result = telephony.StatusDisconnected, 486, "Busy Here", telephony.ResultBusy
	}
	emit("failed", "", f, telephony.NoCall)
	return evs
}

func mapRingOutScript(t *testing.T) []step { return mapEvents(t, ringOutScript()) }

// TestRingOutMessagesGolden pins every payload of a RingOut.
func TestRingOutMessagesGolden(t *testing.T) {
	checkGolden(t, "ringout.golden.json", mapRingOutScript(t))
}

// TestRingOutMessageRules checks what the golden file embodies: the owner's
// devices ring for the from leg as for an inbound call from the number it
// connects to, only the answering one starts (once), every change is an
// rc-ringout-call-notify, and a failing to leg reaches the answering device.
func TestRingOutMessageRules(t *testing.T) {
	type msg struct {
		To   string `json:"_to"`
		Type string `json:"type"`
		Code int    `json:"code"`
		Call struct {
			Direction       string `json:"direction"`
			FromNumber      string `json:"fromNumber"`
			ToNumber        string `json:"toNumber"`
			TelephonyStatus string `json:"telephonyStatus"`
			Result          string `json:"result"`
		} `json:"call"`
	}
	var steps [][]msg
	for _, st := range mapRingOutScript(t) {
		var ms []msg
		for _, raw := range st.Messages {
			var m msg
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			ms = append(ms, m)
		}
		steps = append(steps, ms)
	}
	count := func(step int, typ, to string) int {
		n := 0
		for _, m := range steps[step] {
			if m.Type == typ && m.To == to {
				n++
			}
		}
		return n
	}
	checks := []struct {
		step     int
		typ, to  string
		want     int
		scenario string
	}{
		{0, EventCallRing, "dev-bob-1", 1, "from rings every device"},
		{0, EventCallRing, "dev-bob-2", 1, "from rings every device"},
		{1, EventCallStart, "dev-bob-1", 1, "the answering device starts"},
		{1, EventCallEnd, "dev-bob-2", 1, "answered elsewhere"},
		{3, EventCallStart, "dev-bob-1", 0, "no second start when to answers"},
		{4, EventCallEnd, "dev-bob-1", 1, "hang-up"},
		{8, EventCallFailed, "dev-bob-1", 1, "to busy"},
		{8, EventCallEnd, "dev-bob-1", 1, "to busy"},
	}
	for _, c := range checks {
		if got := count(c.step, c.typ, c.to); got != c.want {
			t.Errorf("step %d (%s): %d × %s to %q, want %d", c.step, c.scenario, got, c.typ, c.to, c.want)
		}
	}
	wantStatus := []string{"Ringing", "CallConnected", "CallConnected", "CallConnected", "NoCall", "Ringing", "CallConnected", "CallConnected", "NoCall"}
	for i, ms := range steps {
		n := 0
		for _, m := range ms {
			switch m.Type {
			case EventRingoutCall:
				n++
				if m.To != "" || m.Call.Direction != "Outbound" || m.Call.TelephonyStatus != wantStatus[i] {
					t.Errorf("step %d: %+v", i, m)
				}
			case EventCallRing, EventCallStart:
				if m.Call.Direction != "Inbound" || (m.Call.FromNumber != tone.PhoneNumber && m.Call.FromNumber != busy.PhoneNumber) || m.Call.ToNumber != bob.PhoneNumber {
					t.Errorf("step %d: the device's view of the from leg %+v", i, m)
				}
			}
		}
		if n != 1 {
			t.Errorf("step %d: %d rc-ringout-call-notify", i, n)
		}
	}
}

// TestRingOutCallee: the extension a RingOut rings sees an ordinary inbound
// call, and no rc-ringout-call-notify.
func TestRingOutCallee(t *testing.T) {
	m := NewCallMapper()
	s := telephony.Session{ID: "s-5", SessionID: "4005", Origin: telephony.OriginRingOut, Created: t0, Parties: []telephony.Party{
		{ID: "p-i", Direction: telephony.Outbound, From: alice, To: bob, Status: telephony.StatusAnswered, Owner: 1, Device: "dev-alice"},
		{ID: "p-j", Direction: telephony.Inbound, From: alice, To: bob, Status: telephony.StatusProceeding, Owner: 2, Ringing: []string{"dev-bob-1"}},
	}}
	var types []string
	for _, env := range m.Messages(telephony.Event{Extension: 2, Sequence: 1, Session: s, Cause: "ring",
		Presence: telephony.Presence{TelephonyStatus: telephony.Ringing}}) {
		b, _ := json.Marshal(env)
		var v struct {
			Type string `json:"type"`
			To   string `json:"_to"`
		}
		json.Unmarshal(b, &v)
		types = append(types, v.Type+">"+v.To)
	}
	want := []string{EventCallRing + ">dev-bob-1", EventActiveCall + ">", EventTelephonySession + ">", EventSyncPresence + ">"}
	if len(types) != len(want) {
		t.Fatalf("messages %v, want %v", types, want)
	}
	for i := range want {
		if types[i] != want[i] {
			t.Fatalf("messages %v, want %v", types, want)
		}
	}
}
