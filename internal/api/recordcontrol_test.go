package api

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"

	"github.com/callbridge/widget-server/internal/telephony"
)

// keptRecordings is a mailbox that starts every recording and remembers
// what it was asked: the audio is the audio service's, tested with it.
type keptRecordings struct {
	mu      sync.Mutex
	started []telephony.RecordingStart
	paused  []bool
	stopped []string
}

func (m *keptRecordings) TakeMessage(context.Context, telephony.VoicemailCall, func()) error {
	return nil
}

func (m *keptRecordings) RecordGreeting(context.Context, int64, string, func()) error { return nil }

func (m *keptRecordings) StartRecording(_ context.Context, r telephony.RecordingStart) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.started = append(m.started, r)
	return nil
}

func (m *keptRecordings) SetRecordingLegs(string, []string) error { return nil }

func (m *keptRecordings) PauseRecording(_ string, paused bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.paused = append(m.paused, paused)
	return nil
}

func (m *keptRecordings) StopRecording(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stopped = append(m.stopped, id)
}

// TestRecordingThroughAPI: Alice records her call with Bob through the
// telephony session API — start, pause, resume, stop — and every request
// the switch must not act on is answered with its error; a server without
// audio storage answers 501.
func TestRecordingThroughAPI(t *testing.T) {
	ctx := context.Background()
	api := newTelephonyAPI(t)
	api.devices(t, "alice@demo.test", "a1")
	api.devices(t, "bob@demo.test", "b1")
	s, alice := api.ringing(t)
	recordings := partyPath(s.ID, alice.ID) + "/recordings"

	wantError(t, api.do("POST", recordings, ``, "alice@demo.test"), 501, "FeatureNotAvailable", "")
	m := &keptRecordings{}
	api.sw.SetMailbox(m)
	wantError(t, api.do("POST", recordings, ``, "alice@demo.test"), 409, "InvalidState", "")
	if _, _, err := api.sw.Answer(ctx, "a1", s.ID, "offer-a1"); err != nil {
		t.Fatal(err)
	}
	wantError(t, api.do("POST", recordings, ``, "bob@demo.test"), 403, "InsufficientPermissions", "")
	wantError(t, api.do("POST", recordings, ``, "carol@demo.test"), 404, "NotFound", "")

	rec := api.do("POST", recordings, ``, "alice@demo.test")
	var r apiRecording
	if rec.Code != http.StatusCreated || json.Unmarshal(rec.Body.Bytes(), &r) != nil || r.ID == "" || !r.Active {
		t.Fatalf("start: %d %s", rec.Code, rec.Body)
	}
	if len(m.started) != 1 || m.started[0].ID != r.ID || m.started[0].Owner != api.callers["alice@demo.test"].Extension.ID {
		t.Fatalf("started %+v", m.started)
	}
	wantError(t, api.do("POST", recordings, ``, "alice@demo.test"), 409, "InvalidState", "")
	one := recordings + "/" + r.ID
	for _, tt := range []struct {
		name, method, path, body string
		status                   int
		code, param              string
	}{
		{"no active", "PATCH", one, `{}`, 400, "InvalidParameter", "active"},
		{"active as text", "PATCH", one, `{"active":"no"}`, 400, "InvalidParameter", "active"},
		{"unknown field", "PATCH", one, `{"active":false,"loud":true}`, 400, "InvalidParameter", "loud"},
		{"another recording", "PATCH", recordings + "/12345", `{"active":false}`, 404, "NotFound", ""},
		{"stop another recording", "DELETE", recordings + "/12345", ``, 404, "NotFound", ""},
		{"resume a recording that records", "PATCH", one, `{"active":true}`, 409, "InvalidState", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, api.do(tt.method, tt.path, tt.body, "alice@demo.test"), tt.status, tt.code, tt.param)
		})
	}
	for _, active := range []bool{false, true} {
		body, _ := json.Marshal(recordingUpdate{Active: &active})
		if rec := api.do("PATCH", one, string(body), "alice@demo.test"); rec.Code != http.StatusOK {
			t.Fatalf("active %v: %d %s", active, rec.Code, rec.Body)
		}
	}
	if rec := api.do("DELETE", one, ``, "alice@demo.test"); rec.Code != http.StatusNoContent {
		t.Fatalf("stop: %d %s", rec.Code, rec.Body)
	}
	wantError(t, api.do("DELETE", one, ``, "alice@demo.test"), 404, "NotFound", "")
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.paused) != 2 || !m.paused[0] || m.paused[1] || len(m.stopped) != 1 || m.stopped[0] != r.ID {
		t.Fatalf("paused %v, stopped %v", m.paused, m.stopped)
	}
}
