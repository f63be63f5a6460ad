package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
)

// TestHeadWhereverGet: every GET route answers HEAD with the GET's status
// and headers and no body; before, HEAD /adapter.js was 405.
func TestHeadWhereverGet(t *testing.T) {
	// The routes others mount on the widget origin (the platform API's,
	// internal/server) answer HEAD too: /mounted stands for them.
	env := newTestEnvMounting(t, func(e *echo.Echo) {
		e.GET("/mounted", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"mounted": "yes"}) })
	})
	paths := []string{
		"/adapter.js", "/adapter.d.ts", "/app?clientId=demo", "/app?clientId=nope", "/healthz",
		"/widget/events", "/widget/state", "/oauth/redirect", "/mounted", "/no-such-page",
	}
	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			get, getBody := get(t, nil, env.widget.URL+path)
			req, _ := http.NewRequest(http.MethodHead, env.widget.URL+path, nil)
			head, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(head.Body)
			head.Body.Close()
			if head.StatusCode != get.StatusCode {
				t.Fatalf("HEAD %d, GET %d", head.StatusCode, get.StatusCode)
			}
			if len(body) != 0 {
				t.Fatalf("HEAD answered a body: %q", body)
			}
			if ct := head.Header.Get("Content-Type"); ct != get.Header.Get("Content-Type") {
				t.Fatalf("HEAD content type %q, GET %q", ct, get.Header.Get("Content-Type"))
			}
			if getBody == "" && get.StatusCode == http.StatusOK {
				t.Fatal("GET answered no body")
			}
		})
	}
	t.Run("static", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodHead, env.srv.Assets.Base()+"/app.css", nil)
		rec := httptest.NewRecorder()
		env.widget.Config.Handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") == "" {
			t.Fatalf("HEAD of a static file: %d, %d bytes, headers %v", rec.Code, rec.Body.Len(), rec.Header())
		}
	})
}
