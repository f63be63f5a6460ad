package api

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/callbridge/widget-server/internal/httperror"
)

// TestDrainAnswers503: once the server drains, the platform API answers 503
// with Retry-After before it looks at the token.
func TestDrainAnswers503(t *testing.T) {
	env := newTestEnv(t)
	env.srv.Drain()
	resp, body := get(t, nil, env.widget.URL+"/restapi/v1.0/account/~/extension/~/call-log", "Authorization", "Bearer x")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	var e httperror.Body
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.ErrorCode != "ShuttingDown" || len(e.Errors) != 1 || e.Errors[0].ErrorCode != "ShuttingDown" {
		t.Fatalf("body %s (%v)", body, err)
	}
	if resp, _ := get(t, nil, env.widget.URL+"/restapi/openapi.json"); resp.StatusCode != http.StatusOK {
		t.Fatalf("the OpenAPI document while draining: %d", resp.StatusCode)
	}
}
