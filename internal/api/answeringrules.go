package api

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/params"
	"github.com/callbridge/widget-server/internal/telephony"
)

// AnsweringRules keeps extensions' answering rules (internal/store
// implements it; the switch reads the same rules when a call rings).
type AnsweringRules interface {
	// AnsweringRule is the extension's rule, or the default one.
	AnsweringRule(ctx context.Context, extension int64) (telephony.AnsweringRule, error)
	// SetAnsweringRule checks and keeps the rule (a bad value wraps
	// identity.ErrInvalid and names its field), and returns it as kept.
	SetAnsweringRule(ctx context.Context, extension int64, r telephony.AnsweringRule) (telephony.AnsweringRule, error)
}

// answeringRuleAPIRoutes mounts an extension's answering rule
// (docs/api-answering-rules.md): the extension's own token, or an
// administrator of its account, reads and changes it.
func (s *Server) answeringRuleAPIRoutes(g *echo.Group, mw []echo.MiddlewareFunc) {
	const path = "/account/:accountId/extension/:extensionId/answering-rule"
	g.GET(path, s.apiAnsweringRule, mw...)
	g.PUT(path, s.apiSetAnsweringRule, mw...)
}

// apiAnsweringRule is the answering-rule resource.
type apiAnsweringRule struct {
	URI string `json:"uri"`
	bridge.AnsweringRule
}

// errRulesOff answers the answering-rule endpoints of a server without a
// rule store.
var errRulesOff = &httperror.Error{Status: http.StatusNotImplemented, Code: "NotImplemented",
	Message: "answering rules are not kept on this server"}

func (s *Server) answeringRuleBody(acctID, extID int64, r telephony.AnsweringRule) apiAnsweringRule {
	return apiAnsweringRule{URI: s.extensionURI(acctID, extID) + "/answering-rule", AnsweringRule: bridge.RuleOf(r)}
}

// apiAnsweringRule answers GET …/extension/{extensionId}/answering-rule.
func (s *Server) apiAnsweringRule(c echo.Context) error {
	acct, ext, err := s.apiTarget(c)
	if err != nil {
		return err
	}
	if s.Rules == nil {
		return errRulesOff
	}
	r, err := s.Rules.AnsweringRule(c.Request().Context(), ext.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.answeringRuleBody(acct.ID, ext.ID, r))
}

// apiSetAnsweringRule answers PUT …/extension/{extensionId}/answering-rule
// with the rule as kept; the next call to the extension follows it.
func (s *Server) apiSetAnsweringRule(c echo.Context) error {
	acct, ext, err := s.apiTarget(c)
	if err != nil {
		return err
	}
	var req bridge.RuleUpdate
	if err := params.JSON(c, &req); err != nil {
		return err
	}
	if s.Rules == nil {
		return errRulesOff
	}
	ctx := c.Request().Context()
	r, err := s.Rules.AnsweringRule(ctx, ext.ID)
	if err != nil {
		return err
	}
	r, bad := req.Apply(r)
	if bad != "" {
		return httperror.InvalidParam(bad, telephony.RingSimultaneous+" or "+telephony.RingSequential)
	}
	kept, err := s.Rules.SetAnsweringRule(ctx, ext.ID, r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.answeringRuleBody(acct.ID, ext.ID, kept))
}
