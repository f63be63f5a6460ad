package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/store"
	"github.com/callbridge/widget-server/internal/telephony"
)

// ruleEnv serves the answering-rule routes over a store to callers named
// by the X-As header, as the bearer middleware would after checking their
// tokens: alice, the account's administrator; bob, a user of it; eve, the
// administrator of another account.
type ruleEnv struct {
	h       http.Handler
	db      *store.DB
	callers map[string]apiCaller
}

func newRuleEnv(t testing.TB, withRules bool) *ruleEnv {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	env := &ruleEnv{db: db, callers: map[string]apiCaller{}}
	for i, who := range []struct {
		name, account string
		role          identity.Role
	}{{"alice", "+14155550100", identity.RoleAdmin}, {"bob", "+14155550100", identity.RoleUser}, {"eve", "+4930123456", identity.RoleAdmin}} {
		acct, err := db.AccountByMainNumber(ctx, who.account)
		if err != nil {
			acct = identity.Account{Company: who.account, MainNumber: who.account, CountryCode: "US"}
			if err := db.CreateAccount(ctx, &acct); err != nil {
				t.Fatal(err)
			}
		}
		x := identity.Extension{AccountID: acct.ID, Number: strconv.Itoa(101 + i), Name: who.name, Email: who.name + "@example.com",
			Role: who.role, Status: identity.StatusEnabled}
		if err := db.CreateExtension(ctx, &x, "no-password"); err != nil {
			t.Fatal(err)
		}
		env.callers[who.name] = apiCaller{acct, x}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	deps := Deps{Log: log, Directory: identity.NewDirectory(db)}
	if withRules {
		deps.Rules = db
	}
	srv := NewServer(Config{PublicURL: "http://localhost:8080"}, deps)
	e := echo.New()
	e.HTTPErrorHandler = httperror.Handler(log)
	as := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Set(string(extensionKey), env.callers[c.Request().Header.Get("X-As")])
			return next(c)
		}
	}
	srv.answeringRuleAPIRoutes(e.Group("/restapi/v1.0"), []echo.MiddlewareFunc{as})
	env.h = e
	return env
}

func (env *ruleEnv) do(as, method, ext, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/restapi/v1.0/account/~/extension/"+ext+"/answering-rule", strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-As", as)
	rec := httptest.NewRecorder()
	env.h.ServeHTTP(rec, req)
	return rec
}

func (env *ruleEnv) id(name string) string {
	return strconv.FormatInt(env.callers[name].Extension.ID, 10)
}

func decodeRule(t *testing.T, rec *httptest.ResponseRecorder) apiAnsweringRule {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var r apiAnsweringRule
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestAnsweringRuleAPI(t *testing.T) {
	env := newRuleEnv(t, true)
	bob := env.id("bob")

	// The default rule.
	got := decodeRule(t, env.do("bob", "GET", "~", ""))
	want := apiAnsweringRule{URI: "http://localhost:8080/restapi/v1.0/account/" + strconv.FormatInt(env.callers["bob"].Account.ID, 10) +
		"/extension/" + bob + "/answering-rule", AnsweringRule: bridge.AnsweringRule{RingSeconds: 20,
		NoAnswer: bridge.RuleAction{Action: "Voicemail"}, Busy: bridge.RuleAction{Action: "Voicemail"}, CallWaiting: true,
		RingMode: "Simultaneous"}}
	if got != want {
		t.Fatalf("default rule %+v\nwant %+v", got, want)
	}

	// What is left out stays.
	got = decodeRule(t, env.do("bob", "PUT", "~", `{"ringSeconds": 30, "noAnswer": {"action": "Forward", "target": "103"}, "autoRecord": true}`))
	want.RingSeconds, want.NoAnswer, want.AutoRecord = 30, bridge.RuleAction{Action: "Forward", Target: "103"}, true
	if got != want {
		t.Fatalf("after PUT %+v\nwant %+v", got, want)
	}
	got = decodeRule(t, env.do("bob", "PUT", bob, `{"callWaiting": false, "busy": {"action": "Disconnect", "target": "ignored"}}`))
	want.CallWaiting, want.Busy = false, bridge.RuleAction{Action: "Disconnect"}
	if got != want {
		t.Fatalf("after second PUT %+v\nwant %+v", got, want)
	}
	// The switch reads what was kept.
	r, err := env.db.AnsweringRule(context.Background(), env.callers["bob"].Extension.ID)
	if err != nil || r.RingTimeout != 30*time.Second || r.NoAnswer != telephony.RuleForward || r.NoAnswerTarget != "103" ||
		r.CallWaiting || r.Busy != telephony.RuleMissed || !r.AutoRecord {
		t.Fatalf("stored rule %+v, %v", r, err)
	}

	// An administrator of the account reads and sets others' rules.
	if got := decodeRule(t, env.do("alice", "GET", bob, "")); got != want {
		t.Errorf("bob's rule as alice %+v", got)
	}
	if got := decodeRule(t, env.do("alice", "PUT", bob, `{"ringMode": "Sequential"}`)); got.RingMode != "Sequential" {
		t.Errorf("ring mode set by alice: %+v", got)
	}
	// A user does not see another's, and nobody sees another account's.
	for _, tt := range []struct {
		as, method, ext string
		status          int
		code            string
	}{
		{"bob", "GET", env.id("alice"), 403, "InsufficientPermissions"},
		{"bob", "PUT", env.id("alice"), 403, "InsufficientPermissions"},
		{"eve", "GET", bob, 404, "NotFound"},
		{"eve", "PUT", bob, 404, "NotFound"},
		{"alice", "GET", "999999", 404, "NotFound"},
	} {
		body := ""
		if tt.method == "PUT" {
			body = `{"ringSeconds": 10}`
		}
		rec := env.do(tt.as, tt.method, tt.ext, body)
		var e httperror.Body
		json.Unmarshal(rec.Body.Bytes(), &e)
		if rec.Code != tt.status || e.ErrorCode != tt.code {
			t.Errorf("%s %s of %s: %d %s", tt.as, tt.method, tt.ext, rec.Code, rec.Body)
		}
	}
	if got := decodeRule(t, env.do("bob", "GET", "~", "")); got.RingSeconds != 30 {
		t.Errorf("a refused PUT changed the rule: %+v", got)
	}
}

func TestAnsweringRuleAPIRefuses(t *testing.T) {
	env := newRuleEnv(t, true)
	for _, tt := range []struct {
		body, param string
	}{
		{`{"ringSeconds": 4}`, "ringSeconds"},
		{`{"ringSeconds": 121}`, "ringSeconds"},
		{`{"ringSeconds": -5}`, "ringSeconds"},
		{`{"ringSeconds": 9223372036854775807}`, "ringSeconds"},
		{`{"ringSeconds": "20"}`, "ringSeconds"},
		{`{"noAnswer": {"action": "Forward"}}`, "noAnswer.target"},
		{`{"noAnswer": {"action": "Forward", "target": "   "}}`, "noAnswer.target"},
		{`{"noAnswer": {"action": "Hangup"}}`, "noAnswer.action"},
		{`{"noAnswer": {}}`, "noAnswer.action"},
		{`{"busy": {"action": "Forward", "target": "` + strings.Repeat("1", 65) + `"}}`, "busy.target"},
		{`{"busy": {"action": "voicemail"}}`, "busy.action"},
		{`{"ringMode": "Random"}`, "ringMode"},
		{`{"ringMode": ""}`, "ringMode"},
		{`{"callWaiting": "yes"}`, "callWaiting"},
		{`{"ringTime": 20}`, "ringTime"},
	} {
		rec := env.do("bob", "PUT", "~", tt.body)
		var e httperror.Body
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || rec.Code != 400 || e.ErrorCode != "InvalidParameter" ||
			len(e.Errors) != 1 || e.Errors[0].ParameterName != tt.param || !strings.Contains(e.Message, tt.param) {
			t.Errorf("PUT %s: %d %s, want 400 naming %s", tt.body, rec.Code, rec.Body, tt.param)
		}
	}
	if rec := env.do("bob", "PUT", "~", `not json`); rec.Code != 400 {
		t.Errorf("a body that is not JSON: %d", rec.Code)
	}
	if got := decodeRule(t, env.do("bob", "GET", "~", "")); got.RingSeconds != 20 || got.NoAnswer.Action != "Voicemail" {
		t.Errorf("refused PUTs changed the rule: %+v", got)
	}

	off := newRuleEnv(t, false)
	if rec := off.do("bob", "GET", "~", ""); rec.Code != http.StatusNotImplemented {
		t.Errorf("without a rule store: %d %s", rec.Code, rec.Body)
	}
}
