package web

import "github.com/labstack/echo/v4"

// Subscriptions delivers webhook notifications (internal/webhooks).
type Subscriptions interface{}

// Event filters of webhook subscriptions, as they are matched.
const (
	FilterPresence          = "presence"           // …/extension/{id}/presence?detailedTelephonyState=true
	FilterMessageStore      = "message-store"      // …/extension/{id}/message-store
	FilterTelephonySessions = "telephony/sessions" // …/extension/{id}/telephony/sessions
)

// subscriptionAPIRoutes mounts /restapi/v1.0/subscription.
func (s *Server) subscriptionAPIRoutes(g *echo.Group, mw []echo.MiddlewareFunc) {}

// notifySubscribers hands one event of an extension to the webhook
// subscriptions whose filters match; kind is one of the Filter constants and
// body the notification's body (without the envelope).
func (s *Server) notifySubscribers(accountID, extensionID int64, kind string, body any) {}
