package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/store"
)

// testEnv is the API's routes on an echo instance of their own, over a
// store in a temporary directory, served by an HTTP test server.
type testEnv struct {
	srv    *Server
	db     *store.DB
	echo   *echo.Echo
	widget *httptest.Server // the origin the routes are mounted on
}

func newTestEnv(t *testing.T) *testEnv { return newTestEnvWith(t, nil) }

// newTestEnvWith lets a test adjust the handlers' dependencies.
func newTestEnvWith(t testing.TB, adjust func(d *Deps, db *store.DB)) *testEnv {
	t.Helper()
	db, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// Tokens are tested with the whole server in internal/server; these
	// tests need no authorization server.
	deps := Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Directory: identity.NewDirectory(db)}
	if adjust != nil {
		adjust(&deps, db)
	}
	srv := NewServer(Config{PublicURL: "http://localhost:8080"}, deps)
	e := echo.New()
	e.HTTPErrorHandler = httperror.Handler(deps.Log)
	srv.Routes(e)
	ts := httptest.NewServer(e)
	t.Cleanup(ts.Close)
	return &testEnv{srv: srv, db: db, echo: e, widget: ts}
}

func get(t *testing.T, client *http.Client, u string, header ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}
