package web

import "github.com/labstack/echo/v4"

// telephonyAPIRoutes mounts /ring-out and /telephony/sessions.
func (s *Server) telephonyAPIRoutes(g *echo.Group, mw []echo.MiddlewareFunc) {}

// widgetRingOutRoutes mounts the widget's /widget/ringout endpoints.
func (s *Server) widgetRingOutRoutes(e *echo.Echo) {}
