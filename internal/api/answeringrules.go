package api

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

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

// apiRuleAction is what a rule does in one case, and the number it
// forwards to.
type apiRuleAction struct {
	Action string `json:"action"`
	Target string `json:"target,omitempty"`
}

// apiAnsweringRule is the answering-rule resource.
type apiAnsweringRule struct {
	URI         string        `json:"uri"`
	RingSeconds int           `json:"ringSeconds"`
	NoAnswer    apiRuleAction `json:"noAnswer"`
	Busy        apiRuleAction `json:"busy"`
	CallWaiting bool          `json:"callWaiting"`
	RingMode    string        `json:"ringMode"`
	AutoRecord  bool          `json:"autoRecord"`
}

// apiRuleUpdate is the body of PUT …/answering-rule: what is left out
// stays; noAnswer and busy replace both action and target.
type apiRuleUpdate struct {
	RingSeconds *int           `json:"ringSeconds"`
	NoAnswer    *apiRuleAction `json:"noAnswer"`
	Busy        *apiRuleAction `json:"busy"`
	CallWaiting *bool          `json:"callWaiting"`
	RingMode    *string        `json:"ringMode"`
	AutoRecord  *bool          `json:"autoRecord"`
}

// errRulesOff answers the answering-rule endpoints of a server without a
// rule store.
var errRulesOff = &httperror.Error{Status: http.StatusNotImplemented, Code: "NotImplemented",
	Message: "answering rules are not kept on this server"}

func (s *Server) answeringRuleBody(acctID, extID int64, r telephony.AnsweringRule) apiAnsweringRule {
	return apiAnsweringRule{
		URI:         s.extensionURI(acctID, extID) + "/answering-rule",
		RingSeconds: int(r.RingTimeout / time.Second),
		NoAnswer:    apiRuleAction{Action: string(r.NoAnswer), Target: r.NoAnswerTarget},
		Busy:        apiRuleAction{Action: string(r.Busy), Target: r.BusyTarget},
		CallWaiting: r.CallWaiting, RingMode: r.RingMode, AutoRecord: r.AutoRecord,
	}
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
	var req apiRuleUpdate
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
	if req.RingSeconds != nil {
		// Bounded so as not to overflow; the store refuses what is out of range.
		r.RingTimeout = time.Duration(min(max(*req.RingSeconds, -1), 1<<20)) * time.Second
	}
	if req.NoAnswer != nil {
		r.NoAnswer, r.NoAnswerTarget = telephony.RuleAction(req.NoAnswer.Action), req.NoAnswer.Target
	}
	if req.Busy != nil {
		r.Busy, r.BusyTarget = telephony.RuleAction(req.Busy.Action), req.Busy.Target
	}
	if req.CallWaiting != nil {
		r.CallWaiting = *req.CallWaiting
	}
	if req.RingMode != nil {
		if *req.RingMode == "" {
			return httperror.InvalidParam("ringMode", telephony.RingSimultaneous+" or "+telephony.RingSequential)
		}
		r.RingMode = *req.RingMode
	}
	if req.AutoRecord != nil {
		r.AutoRecord = *req.AutoRecord
	}
	kept, err := s.Rules.SetAnsweringRule(ctx, ext.ID, r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.answeringRuleBody(acct.ID, ext.ID, kept))
}
