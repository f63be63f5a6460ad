package web

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/params"
	"github.com/callbridge/widget-server/internal/telephony"
)

// AnsweringRules keeps the users' answering rules, the same the platform
// API serves and the switch follows (internal/store implements it).
type AnsweringRules interface {
	// AnsweringRule is the extension's rule, or the default one.
	AnsweringRule(ctx context.Context, extension int64) (telephony.AnsweringRule, error)
	// SetAnsweringRule checks and keeps the rule (a bad value is a 400
	// naming its field), and returns it as kept.
	SetAnsweringRule(ctx context.Context, extension int64, r telephony.AnsweringRule) (telephony.AnsweringRule, error)
}

// widgetRuleRoutes mounts the Settings page's answering rule.
func (s *Server) widgetRuleRoutes(e *echo.Echo) {
	g := e.Group("/widget/answering-rule", s.sameOrigin)
	g.GET("", s.widgetAnsweringRule, s.signedIn)
	g.PUT("", s.widgetSetAnsweringRule, s.signedIn)
}

var errRulesOff = &httperror.Error{Status: http.StatusNotImplemented, Code: "NotImplemented",
	Message: "answering rules are not kept on this server"}

// widgetAnsweringRule answers GET /widget/answering-rule: the signed-in
// user's rule.
func (s *Server) widgetAnsweringRule(c echo.Context) error {
	if s.Rules == nil {
		return errRulesOff
	}
	r, err := s.Rules.AnsweringRule(c.Request().Context(), userOf(c).Extension.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, bridge.RuleOf(r))
}

// widgetSetAnsweringRule answers PUT /widget/answering-rule with the rule
// as kept: checked as the API's PUT …/answering-rule is, the next call to
// the user follows it.
func (s *Server) widgetSetAnsweringRule(c echo.Context) error {
	var req bridge.RuleUpdate
	if err := params.JSON(c, &req); err != nil {
		return err
	}
	if s.Rules == nil {
		return errRulesOff
	}
	ctx, ext := c.Request().Context(), userOf(c).Extension.ID
	r, err := s.Rules.AnsweringRule(ctx, ext)
	if err != nil {
		return err
	}
	r, bad := req.Apply(r)
	if bad != "" {
		return httperror.InvalidParam(bad, telephony.RingSimultaneous+" or "+telephony.RingSequential)
	}
	kept, err := s.Rules.SetAnsweringRule(ctx, ext, r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, bridge.RuleOf(kept))
}
