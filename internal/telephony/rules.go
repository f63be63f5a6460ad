package telephony

import (
	"context"
	"time"
)

// Answering rules: what an extension does with the calls it is offered.
// The switch asks Rules for the rule of the called extension when a call
// starts to ring it; without Rules (or when it fails) the default rule
// holds: ring for the switch's ring timeout, then end the call as Missed.

// RuleAction is what a rule does with a call: one of the Rule constants.
type RuleAction string

// Rule actions.
const (
	// RuleMissed ends the call: the caller's result No Answer (or Busy),
	// the extension's Missed. It is what happens without voicemail.
	RuleMissed RuleAction = "Disconnect"
	// RuleVoicemail connects the caller to the extension's voicemail.
	RuleVoicemail RuleAction = "Voicemail"
	// RuleForward rings Target (an extension or a phone number) instead.
	RuleForward RuleAction = "Forward"
	// RuleRing rings the extension's devices as one more call (busy
	// only: call waiting).
	RuleRing RuleAction = "Ring"
)

// Department ring modes (AnsweringRule.RingMode).
const (
	RingSimultaneous = "Simultaneous" // every member at once
	RingSequential   = "Sequential"   // one member after the other, RingTimeout each
)

// AnsweringRule is an extension's answering rule.
type AnsweringRule struct {
	// RingTimeout is how long the extension's devices ring before NoAnswer
	// is done; 0 is the switch's ring timeout.
	RingTimeout time.Duration
	// NoAnswer is done when nobody answered in time, or every device
	// declined: RuleVoicemail, RuleForward or RuleMissed.
	NoAnswer RuleAction
	// NoAnswerTarget is the number NoAnswer forwards to.
	NoAnswerTarget string
	// CallWaiting: a call to the extension while it is on a call rings
	// as usual; when false, Busy is done instead.
	CallWaiting bool
	// Busy is done with a call that finds the extension on a call, when
	// call waiting is off: RuleVoicemail, RuleForward or RuleMissed
	// (the caller hears busy, 486).
	Busy RuleAction
	// BusyTarget is the number Busy forwards to.
	BusyTarget string
	// RingMode of a department: RingSimultaneous or RingSequential.
	RingMode string
	// AutoRecord records every connected call of the extension.
	AutoRecord bool
}

// DefaultRule is the rule of an extension without one of its own.
func DefaultRule() AnsweringRule {
	return AnsweringRule{NoAnswer: RuleVoicemail, CallWaiting: true, Busy: RuleVoicemail, RingMode: RingSimultaneous}
}

// Rules gives extensions' answering rules. The store implements it.
type Rules interface {
	AnsweringRule(ctx context.Context, extension int64) (AnsweringRule, error)
}
