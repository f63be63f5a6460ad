package web

import (
	"context"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/telephony"
)

// TestWidgetAnsweringRule: the Settings page reads and changes the
// signed-in user's rule, in the store the switch reads; a bad value is a
// 400 naming it and changes nothing; signed out is 401.
func TestWidgetAnsweringRule(t *testing.T) {
	env := newCallEnv(t)
	status, body := env.widgetRequest(t, "alice", http.MethodGet, "/widget/answering-rule", "")
	want := map[string]any{"ringSeconds": 20.0, "noAnswer": map[string]any{"action": "Voicemail"}, "busy": map[string]any{"action": "Voicemail"},
		"callWaiting": true, "ringMode": "Simultaneous", "autoRecord": false}
	if status != http.StatusOK || !reflect.DeepEqual(body, want) {
		t.Fatalf("GET: %d %v\nwant %v", status, body, want)
	}

	status, body = env.widgetRequest(t, "alice", http.MethodPut, "/widget/answering-rule",
		`{"ringSeconds": 45, "noAnswer": {"action": "Forward", "target": "103"}, "callWaiting": false, "busy": {"action": "Disconnect"}, "autoRecord": true}`)
	want = map[string]any{"ringSeconds": 45.0, "noAnswer": map[string]any{"action": "Forward", "target": "103"}, "busy": map[string]any{"action": "Disconnect"},
		"callWaiting": false, "ringMode": "Simultaneous", "autoRecord": true}
	if status != http.StatusOK || !reflect.DeepEqual(body, want) {
		t.Fatalf("PUT: %d %v\nwant %v", status, body, want)
	}
	r, err := env.db.AnsweringRule(context.Background(), env.ext["alice"].ID)
	if err != nil || r.RingTimeout != 45*time.Second || r.NoAnswer != telephony.RuleForward || r.NoAnswerTarget != "103" || r.CallWaiting || !r.AutoRecord {
		t.Fatalf("stored %+v, %v", r, err)
	}
	if _, body := env.widgetRequest(t, "bob", http.MethodGet, "/widget/answering-rule", ""); body["ringSeconds"] != 20.0 {
		t.Errorf("bob's rule changed with alice's: %v", body)
	}

	for _, tt := range []struct{ body, param string }{
		{`{"ringSeconds": 3}`, "ringSeconds"},
		{`{"noAnswer": {"action": "Forward", "target": ""}}`, "noAnswer.target"},
		{`{"busy": {"action": "Ring"}}`, "busy.action"},
		{`{"ringMode": "Parallel"}`, "ringMode"},
		{`{"autoRecord": 1}`, "autoRecord"},
	} {
		status, body := env.widgetRequest(t, "alice", http.MethodPut, "/widget/answering-rule", tt.body)
		errs, _ := body["errors"].([]any)
		if status != http.StatusBadRequest || len(errs) != 1 || errs[0].(map[string]any)["parameterName"] != tt.param {
			t.Errorf("PUT %s: %d %v, want 400 naming %s", tt.body, status, body, tt.param)
		}
	}
	if _, body := env.widgetRequest(t, "alice", http.MethodGet, "/widget/answering-rule", ""); body["ringSeconds"] != 45.0 {
		t.Errorf("refused PUTs changed the rule: %v", body)
	}
	if status, _ := env.widgetRequest(t, "", http.MethodGet, "/widget/answering-rule", ""); status != http.StatusUnauthorized {
		t.Errorf("signed out: %d", status)
	}
}
