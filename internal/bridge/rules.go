package bridge

import (
	"time"

	"github.com/callbridge/widget-server/internal/telephony"
)

// RuleAction is what an answering rule does in one case, and the number
// it forwards to (docs/api-answering-rules.md).
type RuleAction struct {
	Action string `json:"action"`
	Target string `json:"target,omitempty"`
}

// AnsweringRule is an extension's answering rule as the platform API and
// the widget's Settings page show it (the API adds its uri).
type AnsweringRule struct {
	RingSeconds int        `json:"ringSeconds"`
	NoAnswer    RuleAction `json:"noAnswer"`
	Busy        RuleAction `json:"busy"`
	CallWaiting bool       `json:"callWaiting"`
	RingMode    string     `json:"ringMode"`
	AutoRecord  bool       `json:"autoRecord"`
}

// RuleOf is the rule r as shown.
func RuleOf(r telephony.AnsweringRule) AnsweringRule {
	return AnsweringRule{
		RingSeconds: int(r.RingTimeout / time.Second),
		NoAnswer:    RuleAction{Action: string(r.NoAnswer), Target: r.NoAnswerTarget},
		Busy:        RuleAction{Action: string(r.Busy), Target: r.BusyTarget},
		CallWaiting: r.CallWaiting, RingMode: r.RingMode, AutoRecord: r.AutoRecord,
	}
}

// RuleUpdate is a change of an answering rule (the body of both PUTs):
// what is left out stays; noAnswer and busy replace both action and target.
type RuleUpdate struct {
	RingSeconds *int        `json:"ringSeconds"`
	NoAnswer    *RuleAction `json:"noAnswer"`
	Busy        *RuleAction `json:"busy"`
	CallWaiting *bool       `json:"callWaiting"`
	RingMode    *string     `json:"ringMode"`
	AutoRecord  *bool       `json:"autoRecord"`
}

// Apply returns r changed by u, for the store to check; bad names the
// field that cannot be taken as it is ("" when none).
func (u RuleUpdate) Apply(r telephony.AnsweringRule) (changed telephony.AnsweringRule, bad string) {
	if u.RingSeconds != nil {
		// Bounded so as not to overflow; the store refuses what is out of range.
		r.RingTimeout = time.Duration(min(max(*u.RingSeconds, -1), 1<<20)) * time.Second
	}
	if u.NoAnswer != nil {
		r.NoAnswer, r.NoAnswerTarget = telephony.RuleAction(u.NoAnswer.Action), u.NoAnswer.Target
	}
	if u.Busy != nil {
		r.Busy, r.BusyTarget = telephony.RuleAction(u.Busy.Action), u.Busy.Target
	}
	if u.CallWaiting != nil {
		r.CallWaiting = *u.CallWaiting
	}
	if u.RingMode != nil {
		if *u.RingMode == "" {
			return r, "ringMode"
		}
		r.RingMode = *u.RingMode
	}
	if u.AutoRecord != nil {
		r.AutoRecord = *u.AutoRecord
	}
	return r, ""
}
