package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// TestDirectoryResources: what integrations read first. The account, its
// company directory (paged, filtered by type and status, e-mail addresses
// for administrators only) and the numbers a user calls and texts from
// ("find my SMS number, then send"); the account's numbers are for
// administrators.
func TestDirectoryResources(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{})
	alice, bob := newPlatform(t, srv, "alice@demo.test"), newPlatform(t, srv, "bob@demo.test")

	acct := bob.call("GET", "/account/~", "")
	if acct.StatusCode != http.StatusOK || acct.json(t)["mainNumber"] != "+16505550100" || acct.json(t)["id"] == nil {
		t.Fatalf("GET /account/~: %d %s", acct.StatusCode, acct.body)
	}

	page := bob.call("GET", "/account/~/extension?perPage=2", "")
	m := page.json(t)
	paging, _ := m["paging"].(map[string]any)
	records, _ := m["records"].([]any)
	nav, _ := m["navigation"].(map[string]any)
	if page.StatusCode != http.StatusOK || len(records) != 2 || paging["totalElements"].(float64) < 4 || nav["nextPage"] == nil {
		t.Fatalf("GET /account/~/extension?perPage=2: %d %s", page.StatusCode, page.body)
	}
	first := records[0].(map[string]any)
	if first["extensionNumber"] != "101" || first["name"] != "Alice Adams" || first["type"] != "User" || first["status"] != "Enabled" {
		t.Errorf("first extension %v", first)
	}
	if email := first["contact"].(map[string]any)["email"]; email != nil {
		t.Errorf("a user reads another's e-mail address: %v", email)
	}
	all := alice.call("GET", "/account/~/extension?perPage=100", "").json(t)["records"].([]any)
	if email := all[0].(map[string]any)["contact"].(map[string]any)["email"]; email != "alice@demo.test" {
		t.Errorf("an administrator reads e-mail %v", email)
	}
	depts := bob.call("GET", "/account/~/extension?type=Department&status=Enabled", "").json(t)["records"].([]any)
	if len(depts) != 1 || depts[0].(map[string]any)["extensionNumber"] != "200" {
		t.Errorf("departments: %v", depts)
	}
	if r := bob.call("GET", "/account/~/extension?type=Robot", ""); r.StatusCode != http.StatusBadRequest || r.json(t)["errorCode"] != "InvalidParameter" {
		t.Errorf("type=Robot: %d %s", r.StatusCode, r.body)
	}
	if r := bob.call("GET", "/account/42/extension", ""); r.StatusCode != http.StatusNotFound {
		t.Errorf("another account's extensions: %d", r.StatusCode)
	}

	// Find my SMS number, then send from it.
	nums := bob.call("GET", "/account/~/extension/~/phone-number", "").json(t)["records"].([]any)
	var sms []string
	for _, n := range nums {
		n := n.(map[string]any)
		if slices.Contains(n["features"].([]any), any("SmsSender")) {
			sms = append(sms, fmt.Sprintf("%v %v", n["usageType"], n["phoneNumber"]))
		}
	}
	if !slices.Equal(sms, []string{"DirectNumber +16505550102", "MainCompanyNumber +16505550100"}) {
		t.Fatalf("bob's numbers that send SMS: %v", sms)
	}
	sent := bob.call("POST", "/account/~/extension/~/sms", `{"from": {"phoneNumber": "+16505550102"}, "to": [{"phoneNumber": "+15550101"}], "text": "from my number"}`)
	if sent.StatusCode != http.StatusOK {
		t.Errorf("sending from the number found: %d %s", sent.StatusCode, sent.body)
	}
	if r := bob.call("GET", "/account/~/extension/101/phone-number", ""); r.StatusCode != http.StatusForbidden {
		t.Errorf("a user reads another's numbers: %d", r.StatusCode)
	}

	if r := bob.call("GET", "/account/~/phone-number", ""); r.StatusCode != http.StatusForbidden {
		t.Errorf("a user reads the account's numbers: %d", r.StatusCode)
	}
	acctNums := alice.call("GET", "/account/~/phone-number", "").json(t)["records"].([]any)
	if len(acctNums) < 4 || acctNums[0].(map[string]any)["usageType"] != "MainCompanyNumber" ||
		acctNums[1].(map[string]any)["extension"].(map[string]any)["extensionNumber"] != "101" {
		t.Errorf("the account's numbers: %v", acctNums)
	}
}

// TestReadiness: the assembled server is ready once it listens (its
// database takes writes, its media gateway has its port); a part that fails
// makes it 503, naming the part and not why.
func TestReadiness(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{})
	r := do(t, browser(), "GET", srv.WidgetURL+"/readyz", nil)
	checks, _ := r.json(t)["checks"].(map[string]any)
	if r.StatusCode != http.StatusOK || checks["storage"] != "ok" || checks["media"] != "ok" {
		t.Fatalf("readyz: %d %s", r.StatusCode, r.body)
	}

	ready := &readiness{log: slog.New(slog.DiscardHandler), checks: []readyCheck{
		{"storage", func(context.Context) error { return nil }},
		{"media", func(context.Context) error { return errors.New("socket /secret/path closed") }},
	}}
	e := echo.New()
	ready.routes(e)
	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	var body readyBody
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != http.StatusServiceUnavailable ||
		body.Status != "failing" || body.Checks["media"] != "failing" || body.Checks["storage"] != "ok" {
		t.Fatalf("media failing: %d %s", w.Code, w.Body)
	}
	if strings.Contains(w.Body.String(), "secret") {
		t.Errorf("the answer says why: %s", w.Body)
	}
}
