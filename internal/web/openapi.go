package web

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openAPIDocument describes the platform API (OpenAPI 3). A test checks
// that its paths are exactly the /restapi routes the server has.
//
//go:embed openapi.json
var openAPIDocument []byte

// openAPI serves the OpenAPI document; it needs no token.
func (s *Server) openAPI(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPIDocument)
}
