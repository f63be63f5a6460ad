package bridge

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/telephony"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

var (
	alice = telephony.Endpoint{PhoneNumber: "+16505550101", Name: "Alice Adams", ExtensionNumber: "101", ExtensionID: 1}
	bob   = telephony.Endpoint{PhoneNumber: "+16505550102", Name: "Bob Brown", ExtensionNumber: "102", ExtensionID: 2}
	busy  = telephony.Endpoint{PhoneNumber: "+15550102", Name: "Busy line"}
)

type step struct {
	Extension int64             `json:"extension"`
	Cause     string            `json:"cause"`
	Device    string            `json:"device,omitempty"`
	Messages  []json.RawMessage `json:"messages"`
}

// callScript is alice calling bob (two devices), bob answering on one,
// alice holding, muting, bob hanging up; then alice calling a busy line.
func callScript() []telephony.Event {
	seq := map[int64]uint64{1: 1000, 2: 2000}
	var evs []telephony.Event
	emit := func(ext int64, cause, device string, s telephony.Session, status telephony.TelephonyStatus) {
		seq[ext]++
		parties := append([]telephony.Party(nil), s.Parties...)
		s.Parties = parties
		evs = append(evs, telephony.Event{Extension: ext, Sequence: seq[ext], Session: s, Cause: telephony.Cause(cause), Device: device,
			Presence: telephony.Presence{TelephonyStatus: status}})
	}
	s := telephony.Session{ID: "s-1", SessionID: "4001", Origin: "Call", Created: t0, Parties: []telephony.Party{
		{ID: "p-a", Direction: telephony.Outbound, From: alice, To: bob, Status: telephony.StatusProceeding, Owner: 1, Device: "dev-alice"},
		{ID: "p-b", Direction: telephony.Inbound, From: alice, To: bob, Status: telephony.StatusProceeding, Owner: 2, Ringing: []string{"dev-bob-1", "dev-bob-2"}},
	}}
	emit(1, "dial", "dev-alice", s, telephony.Ringing)
	emit(2, "ring", "", s, telephony.Ringing)
	s.Connected = t0.Add(3 * time.Second)
	s.Parties[0].Status, s.Parties[1].Status = telephony.StatusAnswered, telephony.StatusAnswered
	s.Parties[1].Device, s.Parties[1].Ringing = "dev-bob-1", nil
	emit(1, "answer", "dev-bob-1", s, telephony.CallConnected)
	emit(2, "answer", "dev-bob-1", s, telephony.CallConnected)
	s.Parties[0].Status = telephony.StatusHold
	emit(1, "hold", "dev-alice", s, telephony.OnHold)
	emit(2, "hold", "dev-alice", s, telephony.CallConnected)
	s.Parties[0].Status = telephony.StatusAnswered
	emit(1, "unhold", "dev-alice", s, telephony.CallConnected)
	s.Parties[0].Muted = true
	emit(1, "mute", "dev-alice", s, telephony.CallConnected)
	s.Ended = t0.Add(45 * time.Second)
	for i := range s.Parties {
		s.Parties[i].Status, s.Parties[i].Reason, s.Parties[i].Result = telephony.StatusDisconnected, "Call connected", telephony.ResultConnected
	}
	emit(1, "hangup", "dev-bob-1", s, telephony.NoCall)
	emit(2, "hangup", "dev-bob-1", s, telephony.NoCall)

	f := telephony.Session{ID: "s-2", SessionID: "4002", Origin: "Call", Created: t0.Add(time.Minute), Parties: []telephony.Party{
		{ID: "p-c", Direction: telephony.Outbound, From: alice, To: busy, Status: telephony.StatusProceeding, Owner: 1, Device: "dev-alice"},
		{ID: "p-d", Direction: telephony.Inbound, From: alice, To: busy, Status: telephony.StatusProceeding},
	}}
	emit(1, "dial", "dev-alice", f, telephony.Ringing)
	f.Ended = f.Created.Add(500 * time.Millisecond)
	for i := range f.Parties {
		f.Parties[i].Status, f.Parties[i].Code, f.Parties[i].Reason, f.Parties[i].Result = telephony.StatusDisconnected, 486, "Busy Here", telephony.ResultBusy
	}
	emit(1, "failed", "", f, telephony.NoCall)
	return evs
}

func mapScript(t *testing.T) []step { return mapEvents(t, callScript()) }

// mapEvents maps a script of switch events to the messages of each step.
func mapEvents(t *testing.T, script []telephony.Event) []step {
	t.Helper()
	m := NewCallMapper()
	m.now = func() time.Time { return t0 }
	var steps []step
	for _, ev := range script {
		st := step{Extension: ev.Extension, Cause: string(ev.Cause), Device: ev.Device}
		for _, env := range m.Messages(ev) {
			b, err := json.Marshal(env)
			if err != nil {
				t.Fatal(err)
			}
			st.Messages = append(st.Messages, b)
		}
		steps = append(steps, st)
	}
	return steps
}

// checkGolden compares steps with testdata/name; -update rewrites it.
func checkGolden(t *testing.T, name string, steps []step) {
	t.Helper()
	got, err := json.MarshalIndent(steps, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(want)) {
		t.Errorf("messages differ from %s (go test ./internal/bridge -run Golden -update after checking):\n%s", golden, got)
	}
}

// TestCallMessagesGolden pins every call payload the bridge sends.
func TestCallMessagesGolden(t *testing.T) { checkGolden(t, "calls.golden.json", mapScript(t)) }

// TestCallMessageRules checks the rules the golden file embodies.
func TestCallMessageRules(t *testing.T) {
	steps := mapScript(t)
	type msg struct {
		To   string `json:"_to"`
		Type string `json:"type"`
		Code int    `json:"code"`
	}
	seen := map[string][]msg{}
	for _, st := range steps {
		key := st.Cause + "/" + string(rune('0'+st.Extension))
		for _, raw := range st.Messages {
			var m msg
			json.Unmarshal(raw, &m)
			seen[key] = append(seen[key], m)
		}
	}
	has := func(key, typ, to string) bool {
		for _, m := range seen[key] {
			if m.Type == typ && m.To == to {
				return true
			}
		}
		return false
	}
	checks := []struct {
		key, typ, to string
	}{
		{"dial/1", EventCallInit, "dev-alice"},
		{"dial/1", EventCallStart, "dev-alice"}, // rings at another widget user
		{"ring/2", EventCallRing, "dev-bob-1"},
		{"ring/2", EventCallRing, "dev-bob-2"},
		{"answer/2", EventCallStart, "dev-bob-1"},
		{"answer/2", EventCallEnd, "dev-bob-2"}, // answered elsewhere
		{"hold/1", EventCallHold, "dev-alice"},
		{"unhold/1", EventCallResume, "dev-alice"},
		{"mute/1", EventCallMute, "dev-alice"},
		{"hangup/1", EventCallEnd, "dev-alice"},
		{"hangup/2", EventCallEnd, "dev-bob-1"},
		{"failed/1", EventCallFailed, "dev-alice"},
		{"failed/1", EventCallEnd, "dev-alice"},
		{"answer/1", EventTelephonySession, ""},
		{"answer/1", EventActiveCall, ""},
	}
	for _, c := range checks {
		if !has(c.key, c.typ, c.to) {
			t.Errorf("%s: no %s to %q; got %+v", c.key, c.typ, c.to, seen[c.key])
		}
	}
	if has("answer/1", EventCallStart, "dev-alice") {
		t.Error("the caller's call started twice (at ring and at answer)")
	}
	if has("hold/2", EventCallHold, "dev-bob-1") {
		t.Error("bob's phone was told it held the call alice held")
	}
}

func TestEnvelopeJSON(t *testing.T) {
	b, _ := json.Marshal(Envelope{To: "d1", Message: map[string]string{"type": "x"}})
	if string(b) != `{"_to":"d1","type":"x"}` {
		t.Fatal(string(b))
	}
	b, _ = json.Marshal(Envelope{Message: map[string]string{"type": "x"}})
	if string(b) != `{"type":"x"}` {
		t.Fatal(string(b))
	}
}

// serverEmitted lists the event types the bridge itself produces.
func serverEmitted(t *testing.T) map[string]bool {
	out := map[string]bool{}
	steps := append(mapScript(t), mapRingOutScript(t)...)
	for _, sc := range switchScripts {
		steps = append(steps, mapSwitchScript(t, sc.run)...)
	}
	for _, st := range steps {
		for _, raw := range st.Messages {
			var m struct{ Type string }
			json.Unmarshal(raw, &m)
			out[m.Type] = true
		}
	}
	return out
}
