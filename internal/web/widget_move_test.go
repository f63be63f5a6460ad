package web

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/callbridge/widget-server/internal/telephony"
)

// TestWidgetMoveRefusals: what moving a call to another tab refuses before
// the switch acts, and what the switch refuses.
func TestWidgetMoveRefusals(t *testing.T) {
	env := newCallEnv(t)
	connected := env.dial(t, "b1", "101")
	env.answer(t, "a1", connected.ID)
	ringing := env.dial(t, "c1", "101")
	lonely := env.dial(t, "b1", "103") // carol's only tab
	env.answer(t, "c1", lonely.ID)
	move := callPath(connected.ID, "move")
	a2, c1 := env.tabs["a2"].device, env.tabs["c1"].device
	many := make([]string, maxMoveTargets+1)
	for i := range many {
		many[i] = a2
	}
	env.wantRefusals(t, []refusal{
		{"to not a list", "a1", move, map[string]any{"to": a2}, 400, "InvalidParameter", "to"},
		{"to this tab", "a1", move, map[string]any{"to": []string{env.tabs["a1"].device}}, 400, "InvalidParameter", "to"},
		{"to another user's tab", "a1", move, map[string]any{"to": []string{c1}}, 400, "InvalidParameter", "to"},
		{"to a made-up tab", "a1", move, map[string]any{"to": []string{"0123456789abcdef-0123456789abcdef0123456789abcdef"}}, 400, "InvalidParameter", "to"},
		{"to too many", "a1", move, map[string]any{"to": many}, 400, "InvalidParameter", "to"},
		{"unknown call", "a1", callPath("s-nope", "move"), nil, 404, "NotFound", ""},
		{"another user's call", "c1", move, nil, 404, "NotFound", ""},
		{"another tab's call", "a2", move, nil, 403, "InsufficientPermissions", ""},
		{"a ringing call", "a1", callPath(ringing.ID, "move"), nil, 409, "InvalidState", ""},
		{"no other tab", "c1", callPath(lonely.ID, "move"), nil, 409, "TargetUnreachable", ""},
		{"pickup: no sdp", "a2", callPath(connected.ID, "pickup"), nil, 400, "InvalidParameter", "sdp"},
		{"pickup: sdp too long", "a2", callPath(connected.ID, "pickup"), map[string]any{"sdp": strings.Repeat("v", maxSDP+1)}, 400, "InvalidParameter", "sdp"},
		{"pickup: unknown field", "a2", callPath(connected.ID, "pickup"), map[string]any{"sdp": "v=0", "to": "a1"}, 400, "InvalidParameter", "to"},
		{"pickup: unknown call", "a2", callPath("s-nope", "pickup"), map[string]any{"sdp": "v=0"}, 404, "NotFound", ""},
		{"pickup: another user's call", "a2", callPath(lonely.ID, "pickup"), map[string]any{"sdp": "v=0"}, 404, "NotFound", ""},
		{"pickup: a ringing call", "a2", callPath(ringing.ID, "pickup"), map[string]any{"sdp": "v=0"}, 409, "InvalidState", ""},
	}, func(t *testing.T) {
		if p := env.party(t, connected.ID, "alice"); p.Device != env.tabs["a1"].device || p.Status != telephony.StatusAnswered {
			t.Fatalf("a refused request moved alice's call: %+v", p)
		}
	})
}

// TestWidgetMoveToAnotherTab: alice's call on a1 is offered to a2, which
// rings it; answering there moves it, and bob's party stays as it was. It
// needs the switch's Move.
func TestWidgetMoveToAnotherTab(t *testing.T) {
	env := newCallEnv(t)
	connected := env.dial(t, "b1", "101")
	env.answer(t, "a1", connected.ID)
	bob := env.party(t, connected.ID, "bob")
	status, body := env.post(t, "a1", callPath(connected.ID, "move"), map[string]any{"to": []string{env.tabs["a2"].device}})
	if call, _ := body["call"].(map[string]any); status != http.StatusOK || call["telephonySessionId"] != connected.ID {
		t.Fatalf("move: %d %v", status, body)
	}
	ts, _ := env.sw.Session(connected.ID)
	if !slices.ContainsFunc(ts.Parties, func(p telephony.Party) bool { return slices.Contains(p.Offered, env.tabs["a2"].device) }) {
		t.Fatalf("a2 does not ring the call: %+v", ts.Parties)
	}
	status, body = env.post(t, "a2", callPath(connected.ID, "answer"), map[string]any{"sdp": "v=0"})
	if status != http.StatusOK {
		t.Fatalf("answer on a2: %d %v", status, body)
	}
	if p := env.party(t, connected.ID, "alice"); p.Device != env.tabs["a2"].device || p.Status != telephony.StatusAnswered {
		t.Fatalf("alice's party after the move: %+v", p)
	}
	if p := env.party(t, connected.ID, "bob"); p.ID != bob.ID || p.Status != telephony.StatusAnswered {
		t.Fatalf("bob's party after the move: %+v, was %+v", p, bob)
	}
}

// TestWidgetPickupHere: "Move here" on a2 takes alice's call from a1 at
// once, answering {call, sdp}. It needs the switch's Pickup.
func TestWidgetPickupHere(t *testing.T) {
	env := newCallEnv(t)
	connected := env.dial(t, "b1", "101")
	env.answer(t, "a1", connected.ID)
	status, body := env.post(t, "a2", callPath(connected.ID, "pickup"), map[string]any{"sdp": "v=0"})
	if call, _ := body["call"].(map[string]any); status != http.StatusOK || call["telephonySessionId"] != connected.ID || body["sdp"] != "v=0" {
		t.Fatalf("pickup: %d %v", status, body)
	}
	if p := env.party(t, connected.ID, "alice"); p.Device != env.tabs["a2"].device || p.Status != telephony.StatusAnswered {
		t.Fatalf("alice's party after the pickup: %+v", p)
	}
}

// TestWidgetExtensions: the transfer picker lists the other enabled
// extensions of the user's account by number, with their presence; q
// narrows by number or name.
func TestWidgetExtensions(t *testing.T) {
	env := newCallEnv(t)
	carol := env.ext["carol"].ID
	if err := env.presence.UpdateUserPresence(context.Background(), carol, nil, ptr("DoNotAcceptAnyCalls")); err != nil {
		t.Fatal(err)
	}
	numbers := func(body map[string]any) string {
		var out []string
		records, _ := body["records"].([]any)
		for _, r := range records {
			out = append(out, r.(map[string]any)["extensionNumber"].(string))
		}
		return strings.Join(out, ",")
	}
	tests := []struct{ user, query, want string }{
		{"alice", "", "102,103,200"},
		{"bob", "", "101,103,200"},
		{"alice", "?q=10", "102,103"},
		{"alice", "?q=CAR", "103"},
		{"alice", "?q=+port+", "200"},
		{"alice", "?q=alice", ""},
		{"alice", "?q=dave", ""},
		{"alice", "?q=other", ""},
	}
	for _, tt := range tests {
		status, body := env.widgetRequest(t, tt.user, http.MethodGet, "/widget/extensions"+tt.query, "")
		if status != http.StatusOK || numbers(body) != tt.want || body["hasMore"] != false {
			t.Errorf("%s%s: %d %v, want %s", tt.user, tt.query, status, body, tt.want)
		}
	}
	_, body := env.widgetRequest(t, "alice", http.MethodGet, "/widget/extensions?q=103", "")
	got, _ := json.Marshal(body["records"])
	want := `[{"id":"` + strconv.FormatInt(carol, 10) + `","extensionNumber":"103","name":"Carol Chen","type":"User",` +
		`"presence":{"telephonyStatus":"NoCall","userStatus":"Available","dndStatus":"DoNotAcceptAnyCalls","presenceStatus":"Busy"}}]`
	var wantV any
	if err := json.Unmarshal([]byte(want), &wantV); err != nil {
		t.Fatal(err)
	}
	if w, _ := json.Marshal(wantV); string(got) != string(w) {
		t.Errorf("carol's record:\n got %s\nwant %s", got, want)
	}

	for _, tt := range []struct {
		name, user, query string
		status            int
		code, param       string
	}{
		{"signed out", "anonymous", "", 401, "NotSignedIn", ""},
		{"no cookie", "", "", 401, "NotSignedIn", ""},
		{"q too long", "alice", "?q=" + strings.Repeat("x", maxPickerQuery+1), 400, "InvalidParameter", "q"},
	} {
		status, body := env.widgetRequest(t, tt.user, http.MethodGet, "/widget/extensions"+tt.query, "")
		errs, _ := body["errors"].([]any)
		if status != tt.status || body["errorCode"] != tt.code || len(errs) != 1 || errs[0].(map[string]any)["parameterName"] != nilIfEmpty(tt.param) {
			t.Errorf("%s: %d %v, want %d %s", tt.name, status, body, tt.status, tt.code)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// nilIfEmpty is how a decoded error names no parameter: the field is left out.
func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
