package api

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// openAPIDoc is the part of the OpenAPI document the tests read.
type openAPIDoc struct {
	OpenAPI    string                                `json:"openapi"`
	Tags       []struct{ Name string }               `json:"tags"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Parameters map[string]openAPIParam `json:"parameters"`
	} `json:"components"`
}

type openAPIParam struct {
	Ref  string `json:"$ref"`
	Name string `json:"name"`
	In   string `json:"in"`
}

type openAPIOperation struct {
	OperationID string         `json:"operationId"`
	Tags        []string       `json:"tags"`
	Parameters  []openAPIParam `json:"parameters"`
	Responses   map[string]any `json:"responses"`
}

var echoParam = regexp.MustCompile(`:([A-Za-z]+)`)

// TestOpenAPIMatchesRoutes fails when the OpenAPI document and the /restapi
// routes the server registers differ in any path or method, or when an
// operation does not declare its path parameters.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	env := newTestEnv(t)
	var routes []string
	for _, r := range env.echo.Routes() {
		if !strings.HasPrefix(r.Path, "/restapi") || r.Method == echo.RouteNotFound {
			continue
		}
		routes = append(routes, r.Method+" "+echoParam.ReplaceAllString(r.Path, "{$1}"))
	}
	slices.Sort(routes)
	routes = slices.Compact(routes)

	resp, body := get(t, nil, env.widget.URL+"/restapi/openapi.json")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /restapi/openapi.json without a token: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var doc openAPIDoc
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("the OpenAPI document is not JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi %q, want 3.x", doc.OpenAPI)
	}
	var documented []string
	for path, item := range doc.Paths {
		for method, raw := range item {
			m := strings.ToUpper(method)
			if !slices.Contains([]string{"GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS"}, m) {
				continue
			}
			documented = append(documented, m+" "+path)
			var op openAPIOperation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", m, path, err)
			}
			if op.OperationID == "" || op.Responses["200"] == nil && op.Responses["201"] == nil && op.Responses["204"] == nil {
				t.Errorf("%s %s: no operationId or no 200 (or 201, 204) response", m, path)
			}
			for _, tag := range op.Tags {
				if !slices.ContainsFunc(doc.Tags, func(d struct{ Name string }) bool { return d.Name == tag }) {
					t.Errorf("%s %s: tag %q is not among the document's tags", m, path, tag)
				}
			}
			declared := map[string]bool{}
			for _, p := range op.Parameters {
				if name, ok := strings.CutPrefix(p.Ref, "#/components/parameters/"); ok {
					p = doc.Components.Parameters[name]
				}
				if p.In == "path" {
					declared[p.Name] = true
				}
			}
			for _, m2 := range regexp.MustCompile(`\{([A-Za-z]+)\}`).FindAllStringSubmatch(path, -1) {
				if !declared[m2[1]] {
					t.Errorf("%s %s: path parameter %s not declared", m, path, m2[1])
				}
			}
		}
	}
	slices.Sort(documented)
	for _, r := range routes {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not in internal/api/openapi.json", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(routes, d) {
			t.Errorf("openapi.json documents %s, which the server does not have", d)
		}
	}
	if len(routes) < 9 {
		t.Errorf("only %d /restapi routes: %v", len(routes), routes)
	}
}
