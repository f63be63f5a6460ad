package web

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

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

// widgetRuleAction is what a rule does in one case, and the number it
// forwards to (docs/api-answering-rules.md).
type widgetRuleAction struct {
	Action string `json:"action"`
	Target string `json:"target,omitempty"`
}

// widgetRule is the rule in the shape of the API's answering-rule
// resource, without its uri.
type widgetRule struct {
	RingSeconds int              `json:"ringSeconds"`
	NoAnswer    widgetRuleAction `json:"noAnswer"`
	Busy        widgetRuleAction `json:"busy"`
	CallWaiting bool             `json:"callWaiting"`
	RingMode    string           `json:"ringMode"`
	AutoRecord  bool             `json:"autoRecord"`
}

// widgetRuleUpdate is the body of PUT /widget/answering-rule: what is left
// out stays; noAnswer and busy replace both action and target.
type widgetRuleUpdate struct {
	RingSeconds *int              `json:"ringSeconds"`
	NoAnswer    *widgetRuleAction `json:"noAnswer"`
	Busy        *widgetRuleAction `json:"busy"`
	CallWaiting *bool             `json:"callWaiting"`
	RingMode    *string           `json:"ringMode"`
	AutoRecord  *bool             `json:"autoRecord"`
}

var errRulesOff = &httperror.Error{Status: http.StatusNotImplemented, Code: "NotImplemented",
	Message: "answering rules are not kept on this server"}

func widgetRuleOf(r telephony.AnsweringRule) widgetRule {
	return widgetRule{
		RingSeconds: int(r.RingTimeout / time.Second),
		NoAnswer:    widgetRuleAction{Action: string(r.NoAnswer), Target: r.NoAnswerTarget},
		Busy:        widgetRuleAction{Action: string(r.Busy), Target: r.BusyTarget},
		CallWaiting: r.CallWaiting, RingMode: r.RingMode, AutoRecord: r.AutoRecord,
	}
}

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
	return c.JSON(http.StatusOK, widgetRuleOf(r))
}

// widgetSetAnsweringRule answers PUT /widget/answering-rule with the rule
// as kept: checked as the API's PUT …/answering-rule is, the next call to
// the user follows it.
func (s *Server) widgetSetAnsweringRule(c echo.Context) error {
	var req widgetRuleUpdate
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
	kept, err := s.Rules.SetAnsweringRule(ctx, ext, r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, widgetRuleOf(kept))
}
