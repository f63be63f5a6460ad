package api

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"
)

// The OpenAPI document of the platform API is kept in parts: openapi.json
// holds the info, security and shared components, and each openapi_*.json
// adds the paths (and any components) of one area of the API. They are
// merged once, at start; a test checks that the merged paths are exactly the
// /restapi routes the server has.
//
//go:embed openapi*.json
var openAPIParts embed.FS

var openAPIDocument = mustMergeOpenAPI(openAPIParts)

// mustMergeOpenAPI merges the parts' "paths" and "components" into the base
// document. A path or component defined twice is a build mistake.
func mustMergeOpenAPI(parts fs.FS) []byte {
	doc, err := mergeOpenAPI(parts)
	if err != nil {
		panic(err)
	}
	return doc
}

func mergeOpenAPI(parts fs.FS) ([]byte, error) {
	var base map[string]any
	if err := readJSON(parts, "openapi.json", &base); err != nil {
		return nil, err
	}
	names, err := fs.Glob(parts, "openapi_*.json")
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	for _, name := range names {
		var part map[string]any
		if err := readJSON(parts, name, &part); err != nil {
			return nil, err
		}
		if err := mergeSection(base, part, "paths", name); err != nil {
			return nil, err
		}
		comps, _ := part["components"].(map[string]any)
		baseComps, _ := base["components"].(map[string]any)
		if baseComps == nil {
			baseComps = map[string]any{}
			base["components"] = baseComps
		}
		for _, kind := range slices.Sorted(maps.Keys(comps)) {
			if err := mergeSection(baseComps, comps, kind, name); err != nil {
				return nil, err
			}
		}
	}
	return json.MarshalIndent(base, "", "  ")
}

func readJSON(parts fs.FS, name string, v any) error {
	b, err := fs.ReadFile(parts, name)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// mergeSection copies the keys of from[section] into into[section].
func mergeSection(into, from map[string]any, section, name string) error {
	src, _ := from[section].(map[string]any)
	if len(src) == 0 {
		return nil
	}
	dst, _ := into[section].(map[string]any)
	if dst == nil {
		dst = map[string]any{}
		into[section] = dst
	}
	for k, v := range src {
		if _, dup := dst[k]; dup {
			return fmt.Errorf("%s: %s %q is defined twice", name, section, k)
		}
		dst[k] = v
	}
	return nil
}

// openAPI serves the OpenAPI document; it needs no token.
func (s *Server) openAPI(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPIDocument)
}
