package web

import "github.com/labstack/echo/v4"

// Messages is the message service behind SMS, company pager and the
// message store (internal/messaging).
type Messages interface{}

// messageAPIRoutes mounts /sms, /company-pager and /message-store.
func (s *Server) messageAPIRoutes(g *echo.Group, mw []echo.MiddlewareFunc) {}

// widgetMessageRoutes mounts the widget's /widget/messages endpoints.
func (s *Server) widgetMessageRoutes(e *echo.Echo) {}
