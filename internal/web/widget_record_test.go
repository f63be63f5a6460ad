package web

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/callbridge/widget-server/internal/telephony"
)

// mailboxSwitch is the real switch with voicemail and recording stood in
// for (the switch's own are tested in internal/telephony): it notes what
// it is asked, after the checks the switch makes of any action (the call
// and its party on the device), and fails with err when set.
type mailboxSwitch struct {
	*telephony.Switch
	mu    sync.Mutex
	asked []string // "toVoicemail <device> <session>", "record <action> <device> <session>"
	err   error
}

func (m *mailboxSwitch) note(what string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	m.asked = append(m.asked, what)
	return nil
}

func (m *mailboxSwitch) ToVoicemail(_ context.Context, device, sessionID string) error {
	if _, ok := m.Session(sessionID); !ok {
		return telephony.ErrNoSuchCall
	}
	return m.note("toVoicemail " + device + " " + sessionID)
}

func (m *mailboxSwitch) Record(_ context.Context, device, sessionID string, action telephony.RecordAction) (telephony.Session, error) {
	ts, ok := m.Session(sessionID)
	if !ok {
		return ts, telephony.ErrNoSuchCall
	}
	return ts, m.note("record " + string(action) + " " + device + " " + sessionID)
}

func (m *mailboxSwitch) fail(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.err, m.asked = err, nil
}

func (m *mailboxSwitch) heard() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.asked)
}

// TestWidgetVoicemailAndRecording: toVoicemail and the four record
// actions reach the switch with the tab's device and the call, answer the
// device's call, and the switch's refusals map as the other actions'.
func TestWidgetVoicemailAndRecording(t *testing.T) {
	env := newCallEnv(t)
	ringing := env.dial(t, "b1", "101")
	a1 := env.tabs["a1"].device

	status, body := env.post(t, "a1", callPath(ringing.ID, "toVoicemail"), nil)
	if status != http.StatusOK {
		t.Fatalf("toVoicemail: %d %v", status, body)
	}
	if call, _ := body["call"].(map[string]any); call["telephonySessionId"] != ringing.ID {
		t.Errorf("toVoicemail answered %v, want the call", body)
	}
	env.answer(t, "a1", ringing.ID)
	for _, action := range []string{"startRecord", "pauseRecord", "resumeRecord", "stopRecord"} {
		status, body := env.post(t, "a1", callPath(ringing.ID, action), nil)
		if call, _ := body["call"].(map[string]any); status != http.StatusOK || call["telephonySessionId"] != ringing.ID {
			t.Fatalf("%s: %d %v", action, status, body)
		}
	}
	want := []string{"toVoicemail " + a1 + " " + ringing.ID, "record start " + a1 + " " + ringing.ID, "record pause " + a1 + " " + ringing.ID,
		"record resume " + a1 + " " + ringing.ID, "record stop " + a1 + " " + ringing.ID}
	if got := env.mb.heard(); !slices.Equal(got, want) {
		t.Fatalf("the switch heard %q\nwant %q", got, want)
	}

	// Another user's call, and an unknown one, are not found before the
	// switch hears of them.
	env.mb.fail(nil)
	env.wantRefusals(t, []refusal{
		{"another user's call", "c1", callPath(ringing.ID, "startRecord"), nil, 404, "NotFound", ""},
		{"another user's toVoicemail", "c1", callPath(ringing.ID, "toVoicemail"), nil, 404, "NotFound", ""},
		{"unknown call", "a1", callPath("s-nope", "stopRecord"), nil, 404, "NotFound", ""},
		{"unknown record action", "a1", callPath(ringing.ID, "rewindRecord"), nil, 404, "NotFound", ""},
	}, func(t *testing.T) {
		if got := env.mb.heard(); len(got) != 0 {
			t.Fatalf("the switch heard %q", got)
		}
	})

	// The switch's refusals.
	for _, tt := range []struct {
		err    error
		status int
		code   string
	}{
		{telephony.ErrNoMailbox, 501, "FeatureNotAvailable"},
		{telephony.ErrStorageFull, 503, "AudioStorageFull"},
		{telephony.ErrInvalidState, 409, "InvalidState"},
		{telephony.ErrNotYourCall, 403, "InsufficientPermissions"},
	} {
		env.mb.fail(tt.err)
		for _, action := range []string{"toVoicemail", "startRecord"} {
			status, body := env.post(t, "a1", callPath(ringing.ID, action), nil)
			if status != tt.status || body["errorCode"] != tt.code {
				t.Errorf("%s failing with %v: %d %v, want %d %s", action, tt.err, status, body, tt.status, tt.code)
			}
		}
	}
}
