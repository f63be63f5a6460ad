package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/telephony"
)

var _ telephony.Rules = (*DB)(nil)

// Answering rules: how long an extension's devices ring and what is done
// with a call nobody answers or that finds the extension busy. The store
// checks a rule's values; whether a forward target can be reached, and
// that forwards do not loop, the switch decides when a call comes.

// Bounds and default of a rule's ring time.
const (
	MinRingTimeout     = 5 * time.Second
	MaxRingTimeout     = 120 * time.Second
	DefaultRingTimeout = 20 * time.Second
)

// maxRuleTarget bounds a forward target, in characters: as the dialler
// takes a number.
const maxRuleTarget = 64

// DefaultRule is the rule of an extension that has not stored one: the
// switch's default, ringing DefaultRingTimeout.
func DefaultRule() telephony.AnsweringRule {
	r := telephony.DefaultRule()
	r.RingTimeout = DefaultRingTimeout
	return r
}

// SetDefaultRingTimeout sets the ring time of extensions without a rule of
// their own: the server's --ring-timeout. Call it before the store is used.
func (db *DB) SetDefaultRingTimeout(d time.Duration) { db.ringTimeout = d }

// RuleError is a rule value the store refuses. Field names the value in
// the rule's documented shape (docs/api-answering-rules.md): ringSeconds,
// noAnswer.action, noAnswer.target, busy.action, busy.target, ringMode.
// It wraps identity.ErrInvalid.
type RuleError struct {
	Field  string
	Reason string
}

func (e *RuleError) Error() string { return "answering rule: " + e.Field + ": " + e.Reason }

// Unwrap makes errors.Is(err, identity.ErrInvalid) hold.
func (e *RuleError) Unwrap() error { return identity.ErrInvalid }

// CheckRule checks r and returns it as it would be stored: the ring time
// in whole seconds within its bounds, each action one the rule allows, a
// forward's target non-empty (and dropped with another action), the ring
// mode Simultaneous (also when empty) or Sequential. Errors are
// *RuleError.
func CheckRule(r telephony.AnsweringRule) (telephony.AnsweringRule, error) {
	if r.RingTimeout < MinRingTimeout || r.RingTimeout > MaxRingTimeout || r.RingTimeout%time.Second != 0 {
		return r, &RuleError{Field: "ringSeconds", Reason: fmt.Sprintf("whole seconds from %d to %d",
			int(MinRingTimeout/time.Second), int(MaxRingTimeout/time.Second))}
	}
	var err error
	if r.NoAnswer, r.NoAnswerTarget, err = checkAction("noAnswer", r.NoAnswer, r.NoAnswerTarget); err != nil {
		return r, err
	}
	if r.Busy, r.BusyTarget, err = checkAction("busy", r.Busy, r.BusyTarget); err != nil {
		return r, err
	}
	switch r.RingMode {
	case "":
		r.RingMode = telephony.RingSimultaneous
	case telephony.RingSimultaneous, telephony.RingSequential:
	default:
		return r, &RuleError{Field: "ringMode", Reason: telephony.RingSimultaneous + " or " + telephony.RingSequential}
	}
	return r, nil
}

// checkAction checks one of a rule's actions and its target.
func checkAction(field string, a telephony.RuleAction, target string) (telephony.RuleAction, string, error) {
	switch a {
	case telephony.RuleVoicemail, telephony.RuleMissed:
		return a, "", nil
	case telephony.RuleForward:
	default:
		return a, target, &RuleError{Field: field + ".action", Reason: "Voicemail, Forward or Disconnect"}
	}
	target = strings.TrimSpace(target)
	switch {
	case target == "":
		return a, target, &RuleError{Field: field + ".target", Reason: "a forward needs a number or extension to forward to"}
	case !utf8.ValidString(target) || utf8.RuneCountInString(target) > maxRuleTarget || strings.ContainsFunc(target, unicode.IsControl):
		return a, target, &RuleError{Field: field + ".target", Reason: fmt.Sprintf("a number or extension of at most %d characters", maxRuleTarget)}
	}
	return a, target, nil
}

// AnsweringRule returns the extension's rule, or DefaultRule when it has
// not stored one (also for an extension that does not exist: the switch
// asks only of extensions it rings).
func (db *DB) AnsweringRule(ctx context.Context, extension int64) (telephony.AnsweringRule, error) {
	var (
		r                       telephony.AnsweringRule
		secs                    int64
		noAnswer, busy          string
		callWaiting, autoRecord bool
	)
	err := db.sql.QueryRowContext(ctx, `SELECT ring_seconds, no_answer, no_answer_target, call_waiting,
		busy, busy_target, ring_mode, auto_record FROM answering_rules WHERE extension_id = ?`, extension).
		Scan(&secs, &noAnswer, &r.NoAnswerTarget, &callWaiting, &busy, &r.BusyTarget, &r.RingMode, &autoRecord)
	if errors.Is(err, sql.ErrNoRows) {
		r := DefaultRule()
		if db.ringTimeout > 0 {
			r.RingTimeout = db.ringTimeout
		}
		return r, nil
	}
	if err != nil {
		return telephony.AnsweringRule{}, fmt.Errorf("answering rule of extension %d: %w", extension, err)
	}
	r.RingTimeout = time.Duration(secs) * time.Second
	r.NoAnswer, r.Busy = telephony.RuleAction(noAnswer), telephony.RuleAction(busy)
	r.CallWaiting, r.AutoRecord = callWaiting, autoRecord
	return r, nil
}

// SetAnsweringRule checks r (CheckRule) and keeps it as the extension's
// rule, returning it as kept. Errors wrap identity.ErrInvalid (a
// *RuleError) for a bad value and identity.ErrNotFound when there is no
// such extension.
func (db *DB) SetAnsweringRule(ctx context.Context, extension int64, r telephony.AnsweringRule) (telephony.AnsweringRule, error) {
	if db.ringTimeout > 0 && r.RingTimeout == db.ringTimeout {
		// The server's own ring time, which a change that leaves it out
		// keeps, is always one the rule may have.
		r.RingTimeout = min(max(r.RingTimeout, MinRingTimeout), MaxRingTimeout).Truncate(time.Second)
	}
	r, err := CheckRule(r)
	if err != nil {
		return r, fmt.Errorf("extension %d: %w", extension, err)
	}
	_, err = db.sql.ExecContext(ctx, `INSERT INTO answering_rules (extension_id, ring_seconds, no_answer,
		no_answer_target, call_waiting, busy, busy_target, ring_mode, auto_record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (extension_id) DO UPDATE SET ring_seconds = excluded.ring_seconds, no_answer = excluded.no_answer,
		no_answer_target = excluded.no_answer_target, call_waiting = excluded.call_waiting, busy = excluded.busy,
		busy_target = excluded.busy_target, ring_mode = excluded.ring_mode, auto_record = excluded.auto_record,
		updated_at = ?`,
		extension, int64(r.RingTimeout/time.Second), string(r.NoAnswer), r.NoAnswerTarget, r.CallWaiting,
		string(r.Busy), r.BusyTarget, r.RingMode, r.AutoRecord, timeText(time.Now()))
	if err != nil {
		return r, fmt.Errorf("set answering rule of extension %d: %w", extension, constraintError(err))
	}
	return r, nil
}
