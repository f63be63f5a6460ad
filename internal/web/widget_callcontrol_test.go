package web

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/oauth"
	"github.com/callbridge/widget-server/internal/presence"
	"github.com/callbridge/widget-server/internal/store"
	"github.com/callbridge/widget-server/internal/telephony"
)

// The stand-in switch of FuzzCallRequests refuses the business call
// handling as it refuses the rest.
func (stubSwitch) AnswerWith(context.Context, string, string, string, telephony.AnswerOptions) (telephony.Session, string, error) {
	return telephony.Session{}, "", telephony.ErrNoSuchCall
}
func (stubSwitch) SwitchCall(context.Context, string, string) error { return telephony.ErrNoSuchCall }
func (stubSwitch) Ignore(context.Context, string, string) error     { return telephony.ErrNoSuchCall }
func (stubSwitch) Transfer(context.Context, string, string, string) (telephony.Session, error) {
	return telephony.Session{}, telephony.ErrNoSuchCall
}
func (stubSwitch) Forward(context.Context, string, string, string) (telephony.Session, error) {
	return telephony.Session{}, telephony.ErrNoSuchCall
}
func (stubSwitch) Bridge(context.Context, int64, string, string, string, string) (telephony.Session, error) {
	return telephony.Session{}, telephony.ErrNoSuchCall
}
func (stubSwitch) Move(context.Context, int64, string, string, []string) error {
	return telephony.ErrNoSuchCall
}
func (stubSwitch) Pickup(context.Context, string, string, string) (telephony.Session, string, error) {
	return telephony.Session{}, "", telephony.ErrNoSuchCall
}
func (stubSwitch) Rejoin(context.Context, string, string, string) (telephony.Session, string, error) {
	return telephony.Session{}, "", telephony.ErrNoSuchCall
}
func (stubSwitch) ToVoicemail(context.Context, string, string) error { return telephony.ErrNoSuchCall }
func (stubSwitch) Record(context.Context, string, string, telephony.RecordAction) (telephony.Session, error) {
	return telephony.Session{}, telephony.ErrNoSuchCall
}

// storeDirectory is the switch's directory over the test store: extension
// numbers within the caller's account.
type storeDirectory struct{ db *store.DB }

func (d storeDirectory) Lookup(ctx context.Context, caller int64, n string) (telephony.Endpoint, bool, error) {
	from, err := d.db.Extension(ctx, caller)
	if err != nil {
		return telephony.Endpoint{}, false, err
	}
	x, err := d.db.ExtensionByNumber(ctx, from.AccountID, n)
	if err != nil {
		return telephony.Endpoint{}, false, nil
	}
	ep, err := d.Describe(ctx, x.ID)
	return ep, err == nil, err
}

func (d storeDirectory) Describe(ctx context.Context, id int64) (telephony.Endpoint, error) {
	x, err := d.db.Extension(ctx, id)
	if err != nil {
		return telephony.Endpoint{}, err
	}
	return telephony.Endpoint{PhoneNumber: "+16505550" + x.Number, Name: x.Name, ExtensionNumber: x.Number, ExtensionID: x.ID}, nil
}

func (storeDirectory) Region(context.Context, int64) (string, error) { return "US", nil }

// nullMedia answers every leg and carries no audio (the gateway is tested
// in internal/gateway and, with browsers, in e2e).
type nullMedia struct{}

func (nullMedia) OpenLeg(context.Context, string, string, telephony.LegKind) (string, error) {
	return "v=0", nil
}
func (nullMedia) Connect(string, string) error { return nil }
func (nullMedia) SetForward(string, bool)      {}
func (nullMedia) CloseLeg(string)              {}

// callEnv is the widget's call endpoints with the real switch over an
// account of alice (101, two tabs: a1 and a2), bob (102, b1), carol (103,
// c1), dave (104, disabled) and the department support (200), and bob of
// another account: each tab is a device issued to its user's signed-in
// session and registered with the switch.
type callEnv struct {
	*historyEnv
	sw   *telephony.Switch
	mb   *mailboxSwitch                // sw as the widget sees it, with voicemail and recording
	ext  map[string]identity.Extension // by user
	tabs map[string]tab                // by name
}

type tab struct{ user, device string }

func newCallEnv(t testing.TB) *callEnv {
	t.Helper()
	ctx := context.Background()
	env := &callEnv{ext: map[string]identity.Extension{}, tabs: map[string]tab{}}
	h := &historyEnv{cookies: map[string]string{}, presence: &fakePresence{}}
	var sessions *oauth.Sessions
	h.testEnv = newTestEnvWith(t, func(d *Deps) {
		h.db = d.Apps.(*store.DB)
		var err error
		sessions, err = oauth.NewSessions(h.db, nil, []byte(strings.Repeat("s", 32)), slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		env.sw = telephony.New(telephony.Config{RingTimeout: time.Minute, Logger: slog.New(slog.DiscardHandler)},
			storeDirectory{h.db}, nullMedia{}, telephony.NewBus(), presence.New(presence.Config{}, nil), nil)
		env.mb = &mailboxSwitch{Switch: env.sw}
		d.Sessions, d.Presence, d.Switch, d.Rules = sessions, h.presence, env.mb, h.db
	})
	t.Cleanup(func() { env.sw.Close(ctx) })
	env.historyEnv = h
	accounts := []identity.Account{
		{Company: "Test Co.", MainNumber: "+16505550100", CountryCode: "US", AreaCode: "650"},
		{Company: "Other Co.", MainNumber: "+14155550100", CountryCode: "US", AreaCode: "415"},
	}
	for i := range accounts {
		if err := h.db.CreateAccount(ctx, &accounts[i]); err != nil {
			t.Fatal(err)
		}
	}
	for user, x := range map[string]identity.Extension{
		"alice":   {AccountID: accounts[0].ID, Number: "101", Name: "Alice Adams", Email: "alice@test.test"},
		"bob":     {AccountID: accounts[0].ID, Number: "102", Name: "Bob Brown", Email: "bob@test.test"},
		"carol":   {AccountID: accounts[0].ID, Number: "103", Name: "Carol Chen", Email: "carol@test.test"},
		"dave":    {AccountID: accounts[0].ID, Number: "104", Name: "Dave Disabled", Email: "dave@test.test", Status: identity.StatusDisabled},
		"support": {AccountID: accounts[0].ID, Number: "200", Name: "Support", Email: "support@test.test", Type: identity.TypeDepartment},
		"other":   {AccountID: accounts[1].ID, Number: "105", Name: "Bob Other", Email: "bob@other.test"},
	} {
		x.Role = identity.RoleUser
		if x.Status == "" {
			x.Status = identity.StatusEnabled
		}
		if x.Type == "" {
			x.Type = identity.TypeUser
		}
		if err := h.db.CreateExtension(ctx, &x, "hash"); err != nil {
			t.Fatal(err)
		}
		env.ext[user] = x
	}
	for _, user := range []string{"alice", "bob", "carol"} {
		sess, err := sessions.Create(ctx, "demo", env.ext[user].ID, &oauth2.Token{AccessToken: "token-" + user})
		if err != nil {
			t.Fatal(err)
		}
		h.cookies[user] = h.signedInCookie(t, sess.ID)
		for _, name := range map[string][]string{"alice": {"a1", "a2"}, "bob": {"b1"}, "carol": {"c1"}}[user] {
			id := h.srv.newDeviceID(sess.ID)
			if err := env.sw.RegisterDevice(telephony.Device{ID: id, ExtensionID: env.ext[user].ID}); err != nil {
				t.Fatal(err)
			}
			env.tabs[name] = tab{user, id}
		}
	}
	return env
}

// post sends the tab's request to a call endpoint: fields, with the tab's
// deviceId, as the JSON body.
func (env *callEnv) post(t *testing.T, name, path string, fields map[string]any) (int, map[string]any) {
	t.Helper()
	tb := env.tabs[name]
	body := map[string]any{"deviceId": tb.device}
	for k, v := range fields {
		body[k] = v
	}
	b, _ := json.Marshal(body)
	return env.widgetRequest(t, tb.user, http.MethodPost, path, string(b))
}

// dial has the tab call a number and returns the session.
func (env *callEnv) dial(t testing.TB, name, to string) telephony.Session {
	t.Helper()
	s, _, err := env.sw.Dial(context.Background(), env.tabs[name].device, to, "offer-"+name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// answer has the tab pick up the call.
func (env *callEnv) answer(t testing.TB, name, sessionID string) {
	t.Helper()
	if _, _, err := env.sw.Answer(context.Background(), env.tabs[name].device, sessionID, "offer-"+name); err != nil {
		t.Fatal(err)
	}
}

// devices are the tabs' device ids, in the switch's order.
func (env *callEnv) devices(names ...string) []string {
	var ids []string
	for _, n := range names {
		ids = append(ids, env.tabs[n].device)
	}
	slices.Sort(ids)
	return ids
}

// party is the user's active party in the session.
func (env *callEnv) party(t *testing.T, sessionID, user string) telephony.Party {
	t.Helper()
	s, ok := env.sw.Session(sessionID)
	if !ok {
		t.Fatalf("session %s ended", sessionID)
	}
	for _, p := range s.Parties {
		if p.Owner == env.ext[user].ID && p.Status != telephony.StatusDisconnected {
			return p
		}
	}
	t.Fatalf("no party of %s in %+v", user, s.Parties)
	return telephony.Party{}
}

// refusal is one request a call endpoint must refuse.
type refusal struct {
	name, tab, path string
	body            any // map[string]any (with the tab's deviceId added) or a raw string
	status          int
	code, param     string
}

// wantRefusals sends each request and checks status, errorCode and the
// parameter named; check, when set, runs after each (nothing changed).
func (env *callEnv) wantRefusals(t *testing.T, tests []refusal, check func(t *testing.T)) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var status int
			var body map[string]any
			switch b := tt.body.(type) {
			case string:
				status, body = env.widgetRequest(t, env.tabs[tt.tab].user, http.MethodPost, tt.path, b)
			case map[string]any:
				status, body = env.post(t, tt.tab, tt.path, b)
			default:
				status, body = env.post(t, tt.tab, tt.path, nil)
			}
			if status != tt.status || body["errorCode"] != tt.code {
				t.Fatalf("%d %v, want %d %s", status, body, tt.status, tt.code)
			}
			errs, _ := body["errors"].([]any)
			if len(errs) != 1 {
				t.Fatalf("errors %v", body["errors"])
			}
			if got, _ := errs[0].(map[string]any)["parameterName"].(string); got != tt.param {
				t.Errorf("parameterName %q, want %q", got, tt.param)
			}
			if check != nil {
				check(t)
			}
		})
	}
}

func callPath(id, action string) string { return "/widget/calls/" + id + "/" + action }

// TestWidgetAnswerWith: a second call answered with action hold holds the
// first; with end it ends it; any other action is refused before the
// switch hears of it.
func TestWidgetAnswerWith(t *testing.T) {
	env := newCallEnv(t)
	first := env.dial(t, "b1", "101")
	env.answer(t, "a1", first.ID)
	second := env.dial(t, "c1", "101")
	answer := callPath(second.ID, "answer")
	env.wantRefusals(t, []refusal{
		{"unknown action", "a1", answer, map[string]any{"sdp": "v=0", "action": "park"}, 400, "InvalidParameter", "action"},
		{"action not a string", "a1", answer, map[string]any{"sdp": "v=0", "action": true}, 400, "InvalidJSON", ""},
		{"no sdp", "a1", answer, map[string]any{"action": "hold"}, 400, "InvalidParameter", "sdp"},
		{"unknown call", "a1", callPath("s-nope", "answer"), map[string]any{"sdp": "v=0", "action": "hold"}, 404, "NotFound", ""},
		{"another user's call", "b1", answer, map[string]any{"sdp": "v=0", "action": "hold"}, 404, "NotFound", ""},
		{"answered already", "a2", callPath(first.ID, "answer"), map[string]any{"sdp": "v=0", "action": "hold"}, 409, "InvalidState", ""},
	}, func(t *testing.T) {
		if p := env.party(t, second.ID, "alice"); p.Status != telephony.StatusProceeding {
			t.Fatalf("the refused answer changed alice's party: %+v", p)
		}
	})

	status, body := env.post(t, "a1", answer, map[string]any{"sdp": "v=0", "action": "hold"})
	if call, _ := body["call"].(map[string]any); status != http.StatusOK || call["telephonySessionId"] != second.ID || body["sdp"] == "" {
		t.Fatalf("answer with hold: %d %v", status, body)
	}
	if p := env.party(t, first.ID, "alice"); p.Status != telephony.StatusHold {
		t.Errorf("the first call is %s, want held", p.Status)
	}

	third := env.dial(t, "b1", "101") // bob's first call is held: he may place another
	status, body = env.post(t, "a1", callPath(third.ID, "answer"), map[string]any{"sdp": "v=0", "action": "end"})
	if status != http.StatusOK {
		t.Fatalf("answer with end: %d %v", status, body)
	}
	if _, ok := env.sw.Session(second.ID); ok {
		t.Errorf("the live call went on after an answer with end")
	}
}

// TestWidgetSwitchAndIgnore: switch makes a held call live and holds the
// live one; ignore stops one tab ringing while the other rings on.
func TestWidgetSwitchAndIgnore(t *testing.T) {
	env := newCallEnv(t)
	first := env.dial(t, "b1", "101")
	env.answer(t, "a1", first.ID)
	second := env.dial(t, "c1", "101")
	env.wantRefusals(t, []refusal{
		{"ignore: unknown field", "a2", callPath(second.ID, "ignore"), map[string]any{"why": "busy"}, 400, "InvalidJSON", ""},
		{"ignore: malformed device", "a2", callPath(second.ID, "ignore"), `{"deviceId":"x"}`, 400, "InvalidParameter", ""},
		{"ignore: unknown call", "a2", callPath("s-nope", "ignore"), nil, 404, "NotFound", ""},
		{"ignore: another user's call", "b1", callPath(second.ID, "ignore"), nil, 404, "NotFound", ""},
		{"ignore: a connected call", "a1", callPath(first.ID, "ignore"), nil, 409, "InvalidState", ""},
		{"switch: unknown call", "a1", callPath("s-nope", "switch"), nil, 404, "NotFound", ""},
		{"switch: another user's call", "c1", callPath(first.ID, "switch"), nil, 404, "NotFound", ""},
		{"switch: the live call", "a1", callPath(first.ID, "switch"), nil, 409, "InvalidState", ""},
		{"switch: a ringing call", "a1", callPath(second.ID, "switch"), nil, 409, "InvalidState", ""},
		{"switch: another tab's call", "a2", callPath(first.ID, "switch"), nil, 403, "InsufficientPermissions", ""},
	}, func(t *testing.T) {
		if p := env.party(t, second.ID, "alice"); !slices.Equal(p.Ringing, env.devices("a1", "a2")) {
			t.Fatalf("a refused request changed what rings: %v", p.Ringing)
		}
	})

	status, body := env.post(t, "a2", callPath(second.ID, "ignore"), nil)
	if status != http.StatusOK {
		t.Fatalf("ignore: %d %v", status, body)
	}
	if p := env.party(t, second.ID, "alice"); !slices.Equal(p.Ringing, []string{env.tabs["a1"].device}) {
		t.Fatalf("after ignore the call rings %v, want a1 only", p.Ringing)
	}
	if status, body := env.post(t, "a1", callPath(second.ID, "answer"), map[string]any{"sdp": "v=0"}); status != http.StatusOK {
		t.Fatalf("answer: %d %v", status, body)
	}
	status, body = env.post(t, "a1", callPath(first.ID, "switch"), nil)
	if call, _ := body["call"].(map[string]any); status != http.StatusOK || call["telephonySessionId"] != first.ID || call["isOnHold"] != false {
		t.Fatalf("switch: %d %v", status, body)
	}
	if p := env.party(t, second.ID, "alice"); p.Status != telephony.StatusHold {
		t.Errorf("after switch the second call is %s, want held", p.Status)
	}
}

// TestWidgetTransferAndForward: a connected call is transferred and a
// ringing one forwarded, each to carol, who rings; the device's party
// leaves, so the answer has no call.
func TestWidgetTransferAndForward(t *testing.T) {
	env := newCallEnv(t)
	connected := env.dial(t, "b1", "101")
	env.answer(t, "a1", connected.ID)
	transfer := callPath(connected.ID, "transfer")
	env.wantRefusals(t, []refusal{
		{"no to", "a1", transfer, nil, 400, "InvalidParameter", "to"},
		{"to too long", "a1", transfer, map[string]any{"to": strings.Repeat("1", 65)}, 400, "InvalidParameter", "to"},
		{"to a number", "a1", transfer, map[string]any{"to": 103}, 400, "InvalidParameter", "to"},
		{"unknown field", "a1", transfer, map[string]any{"to": "103", "warm": true}, 400, "InvalidParameter", "warm"},
		{"unavailable test line", "a1", transfer, map[string]any{"to": "+15550103"}, 409, "TargetUnreachable", ""},
		{"echo test line", "a1", transfer, map[string]any{"to": "+15550101"}, 409, "InvalidState", ""},
		{"unknown call", "a1", callPath("s-nope", "transfer"), map[string]any{"to": "103"}, 404, "NotFound", ""},
		{"another user's call", "c1", transfer, map[string]any{"to": "103"}, 404, "NotFound", ""},
		{"another tab's call", "a2", transfer, map[string]any{"to": "103"}, 403, "InsufficientPermissions", ""},
		{"unreachable target", "a1", transfer, map[string]any{"to": "199"}, 409, "TargetUnreachable", ""},
		{"forward a connected call", "a1", callPath(connected.ID, "forward"), map[string]any{"to": "103"}, 409, "InvalidState", ""},
	}, func(t *testing.T) {
		if p := env.party(t, connected.ID, "alice"); p.Status != telephony.StatusAnswered {
			t.Fatalf("a refused request changed alice's party: %+v", p)
		}
	})
	status, body := env.post(t, "a1", transfer, map[string]any{"to": "103"})
	if _, has := body["call"]; status != http.StatusOK || has {
		t.Fatalf("transfer: %d %v", status, body)
	}
	if p := env.party(t, connected.ID, "carol"); !slices.Equal(p.Ringing, []string{env.tabs["c1"].device}) {
		t.Fatalf("carol's party rings %v", p.Ringing)
	}

	ringing := env.dial(t, "c1", "101")
	forward := callPath(ringing.ID, "forward")
	env.wantRefusals(t, []refusal{
		{"forward: no to", "a2", forward, map[string]any{"to": ""}, 400, "InvalidParameter", "to"},
		{"forward: another user's call", "b1", forward, map[string]any{"to": "102"}, 404, "NotFound", ""},
		{"transfer a ringing call", "a2", callPath(ringing.ID, "transfer"), map[string]any{"to": "102"}, 409, "InvalidState", ""},
	}, nil)
	status, body = env.post(t, "a2", forward, map[string]any{"to": "102"})
	if _, has := body["call"]; status != http.StatusOK || has {
		t.Fatalf("forward: %d %v", status, body)
	}
	if p := env.party(t, ringing.ID, "bob"); p.Status != telephony.StatusProceeding {
		t.Fatalf("bob's party after the forward: %+v", p)
	}
}

// warmTransfer has alice (a1) on a call with bob, held, and on a consult
// with carol she placed: the two sessions.
func (env *callEnv) warmTransfer(t *testing.T) (withBob, withCarol telephony.Session) {
	t.Helper()
	withBob = env.dial(t, "b1", "101")
	env.answer(t, "a1", withBob.ID)
	withCarol = env.dial(t, "a1", "103") // holds the call with bob
	env.answer(t, "c1", withCarol.ID)
	return withBob, withCarol
}

// TestWidgetBridgeRefusals: the requests a warm transfer's completion
// refuses before the switch acts, and those the switch refuses.
func TestWidgetBridgeRefusals(t *testing.T) {
	env := newCallEnv(t)
	withBob, withCarol := env.warmTransfer(t)
	ringing := env.dial(t, "b1", "101")
	bridge := callPath(withBob.ID, "bridge")
	env.wantRefusals(t, []refusal{
		{"no with", "a1", bridge, nil, 400, "InvalidParameter", "with"},
		{"with not a string", "a1", bridge, map[string]any{"with": []string{withCarol.ID}}, 400, "InvalidParameter", "with"},
		{"with itself", "a1", bridge, map[string]any{"with": withBob.ID}, 400, "InvalidParameter", "with"},
		{"with too long", "a1", bridge, map[string]any{"with": strings.Repeat("s", 65)}, 400, "InvalidParameter", "with"},
		{"unknown call", "a1", callPath("s-nope", "bridge"), map[string]any{"with": withCarol.ID}, 404, "NotFound", ""},
		{"unknown other call", "a1", bridge, map[string]any{"with": "s-nope"}, 404, "NotFound", ""},
		{"another user's calls", "c1", callPath(ringing.ID, "bridge"), map[string]any{"with": withCarol.ID}, 404, "NotFound", ""},
		{"with another user's call", "b1", callPath(withBob.ID, "bridge"), map[string]any{"with": "s-nope"}, 404, "NotFound", ""},
		{"another tab's calls", "a2", bridge, map[string]any{"with": withCarol.ID}, 403, "InsufficientPermissions", ""},
		{"with a call still ringing", "a1", bridge, map[string]any{"with": ringing.ID}, 409, "InvalidState", ""},
	}, func(t *testing.T) {
		if p := env.party(t, withBob.ID, "alice"); p.Status != telephony.StatusHold {
			t.Fatalf("a refused bridge changed alice's held party: %+v", p)
		}
		if p := env.party(t, withCarol.ID, "alice"); p.Status != telephony.StatusAnswered {
			t.Fatalf("a refused bridge changed alice's consult: %+v", p)
		}
	})
}

// TestWidgetBridgeCompletesWarmTransfer: alice completes the warm transfer:
// bob's and carol's calls go on, each with its remote party answered, and
// alice has left both, so the answer has no call.
func TestWidgetBridgeCompletesWarmTransfer(t *testing.T) {
	env := newCallEnv(t)
	withBob, withCarol := env.warmTransfer(t)
	status, body := env.post(t, "a1", callPath(withBob.ID, "bridge"), map[string]any{"with": withCarol.ID})
	if _, has := body["call"]; status != http.StatusOK || has {
		t.Fatalf("bridge: %d %v", status, body)
	}
	for _, c := range []struct {
		id  string
		who string
	}{{withBob.ID, "bob"}, {withCarol.ID, "carol"}} {
		after, ok := env.sw.Session(c.id)
		if !ok {
			t.Fatalf("%s's call ended", c.who)
		}
		if len(after.Parties) != 1 || after.Parties[0].Owner != env.ext[c.who].ID || after.Parties[0].Status != telephony.StatusAnswered {
			t.Fatalf("%s's call after the bridge: %+v", c.who, after.Parties)
		}
	}
	if calls := env.sw.Sessions(env.ext["alice"].ID); len(calls) != 0 {
		t.Fatalf("alice still has calls: %+v", calls)
	}
}
