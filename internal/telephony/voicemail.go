package telephony

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// Calls nobody answers: answering rules and voicemail.
//
// A call to an extension rings its devices for the extension's ring time
// (AnsweringRule.RingTimeout). When nobody answers in time, every device
// declines, the extension takes no calls (do-not-disturb), has no device,
// or — with call waiting off — is on a call, the rule says what happens:
//   - voicemail: the ringing parties leave the call (the extension's
//     result Voicemail) and a voicemail party, of no extension, answers the
//     caller ("voicemail"); the mailbox plays the greeting and a beep and
//     records the caller until it hangs up, presses #, or reaches the
//     limit, when the call ends;
//   - forward: the call rings the rule's target instead ("forward"), under
//     the target's own rule; a chain of forwards never rings an extension
//     twice (a loop, or more than maxForwards, ends in voicemail);
//   - disconnect: the call ends as it did before rules (408, 480, 486, 603).
//
// Without a mailbox, voicemail is disconnect. A department has no
// mailbox of its own: its members' devices ring along its rule, and a call
// none of them takes ends. A transferred call whose target does not answer
// recalls the transferor instead (transfer.go), and RingOut legs ring for
// the ring time only.

// ResultVoicemail is the call-log result of an extension whose caller
// reached its voicemail.
const ResultVoicemail = "Voicemail"

// CauseVoicemail: the caller reached voicemail; the called extension's
// devices stopped ringing.
const CauseVoicemail Cause = "voicemail"

// maxForwards bounds the extensions a chain of rule forwards rings.
const maxForwards = 5

// Log lines of voicemail (lifecycle.go).
const (
	logVoicemail       = "call reached voicemail"
	logVoicemailFailed = "voicemail failed"
	logRuleForwarded   = "call forwarded by answering rule"
)

// why says what left a call unanswered: its rule's no-answer or busy action applies.
type why int

const (
	whyNoAnswer why = iota
	whyBusy
)

// called is the extension a call rings and the rule it rings under.
type called struct {
	ext        int64
	rule       AnsweringRule
	department bool
	visited    []int64 // the extensions the call rang, along forwards
	forwarding bool    // a rule forward is being resolved
	hunt       []int64 // a department ringing its members in turn: those still to ring
}

// sequentialLocked keeps, of the members a department call to k would
// ring, the first when its rule rings them in turn, and the others as
// those to ring after it.
func (k *called) sequentialLocked(targets []ringTarget) []ringTarget {
	if k == nil || !k.department || k.rule.RingMode != RingSequential || len(targets) < 2 {
		return targets
	}
	for _, t := range targets[1:] {
		k.hunt = append(k.hunt, t.owner)
	}
	return targets[:1]
}

// huntLocked rings the next member of a department that rings its
// members in turn, after the one ringing now did not answer (cause): it
// leaves the call (Missed) and the next with a device rings. It reports
// false when no member is left.
func (s *Switch) huntLocked(c *call, cause Cause, device string, fx *effects) bool {
	k := c.called
	caller := c.caller()
	for len(k.hunt) > 0 {
		next := k.hunt[0]
		k.hunt = k.hunt[1:]
		devices := s.ringDevicesLocked(next, caller.Device)
		if len(devices) == 0 || !s.takesDepartmentLocked(next) {
			continue
		}
		now := s.cfg.Now()
		for _, q := range c.ringable() {
			if q.active() {
				s.disconnectLocked(c, q)
				q.Code, q.Reason, q.Result, q.Ringing = 0, ResultMissed, ResultMissed, nil
				s.writeRecordsLocked([]CallRecord{c.record(q, now)}, fx)
			}
		}
		to := c.callee().To
		c.s.Parties = append(c.s.Parties, Party{ID: newID("p-"), Direction: Inbound, From: caller.From, To: to,
			Status: StatusSetup, Owner: next, Ringing: devices})
		p := &c.s.Parties[len(c.s.Parties)-1]
		if s.moveLocked(c, fx, move{p, StatusProceeding}) != nil {
			return true
		}
		s.stopTimersLocked(c)
		s.startTimerLocked(c, s.ringTimeout(c), s.ringTimeoutLocked)
		s.noteRingingLocked(c, p, next, len(devices))
		s.emitCauseLocked(c, cause, device, []int64{next})
		c.dropLeft()
		return true
	}
	return false
}

// SetMailbox gives the switch its voicemail and call recording.
func (s *Switch) SetMailbox(m Mailbox) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mailbox = m
}

// SetRules gives the switch the extensions' answering rules.
func (s *Switch) SetRules(r Rules) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = r
}

// ruleOf returns the answering rule of ext, the default one when it has
// none or Rules fails. It runs outside the lock.
func (s *Switch) ruleOf(ctx context.Context, ext int64) AnsweringRule {
	s.mu.Lock()
	rules := s.rules
	s.mu.Unlock()
	if rules == nil || ext == 0 {
		r := DefaultRule()
		r.NoAnswer, r.Busy = RuleMissed, RuleMissed
		return r
	}
	r, err := rules.AnsweringRule(ctx, ext)
	if err != nil {
		s.cfg.Logger.Warn("answering rule not read: the default holds", slog.Int64("extension", ext), slog.Any("err", err))
		return DefaultRule()
	}
	return r
}

// calledFor is what a call along rt rings under.
func (s *Switch) calledFor(ctx context.Context, rt route) *called {
	if rt.owner == 0 {
		return nil
	}
	return &called{ext: rt.owner, rule: s.ruleOf(ctx, rt.owner), department: rt.department, visited: []int64{rt.owner}}
}

// ringTimeout is how long the call rings its callee.
func (s *Switch) ringTimeout(c *call) time.Duration {
	if c.called != nil && c.called.rule.RingTimeout > 0 {
		return c.called.rule.RingTimeout
	}
	return s.cfg.RingTimeout
}

// action is what the rule of the called extension does with the call left
// unanswered for w, and its target.
func (k *called) action(w why) (RuleAction, string) {
	if w == whyBusy {
		return k.rule.Busy, k.rule.BusyTarget
	}
	return k.rule.NoAnswer, k.rule.NoAnswerTarget
}

// divertsLocked reports whether a call to k left unanswered for w goes on
// (to voicemail or a forward target) rather than ending.
func (s *Switch) divertsLocked(k *called, w why) bool {
	if k == nil {
		return false
	}
	switch a, target := k.action(w); a {
	case RuleForward:
		return target != "" || s.hasMailboxLocked(k)
	case RuleVoicemail:
		return s.hasMailboxLocked(k)
	}
	return false
}

// hasMailboxLocked reports whether a caller of k can leave a message.
func (s *Switch) hasMailboxLocked(k *called) bool { return s.mailbox != nil && !k.department }

// busyLocked reports whether a call to k finds its extension on a call
// with call waiting off.
func (s *Switch) busyLocked(k *called) bool {
	if k == nil || k.department || k.rule.CallWaiting {
		return false
	}
	for _, c := range s.calls {
		for _, p := range c.s.Parties {
			if p.Owner == k.ext && (p.Status == StatusAnswered || p.Status == StatusHold) {
				return true
			}
		}
	}
	return false
}

// unreachedLocked reports whether a call to k that would ring targets is
// left unanswered at once — the extension is busy (call waiting off),
// takes no calls or has no device (fail says how) — and for what.
func (s *Switch) unreachedLocked(k *called, targets []ringTarget, fail ending) (why, ending, bool) {
	switch {
	case s.busyLocked(k):
		return whyBusy, busyEnding, true
	case len(targets) == 0:
		return whyNoAnswer, fail, true
	}
	return whyNoAnswer, ending{}, false
}

// divertAtOnceLocked starts call c, which rings nothing, and hands it to
// its rule: voicemail or a forward. It returns the session after.
func (s *Switch) divertAtOnceLocked(c *call, w why, e ending, fx *effects) (Session, error) {
	if err := s.moveLocked(c, fx, move{c.caller(), StatusProceeding}, move{c.callee(), StatusProceeding}); err != nil {
		return Session{}, err
	}
	s.calls[c.s.ID] = c
	s.noteDialledLocked(c)
	if o := c.caller().Owner; o != 0 {
		s.emitToLocked(o, c, CauseDial, c.caller().Device)
	}
	s.unansweredLocked(c, w, e, CauseFailed, "", fx)
	return c.s.clone(), nil
}

// busyEnding is how a call to an extension that is busy ends.
var busyEnding = ending{code: 486, reason: reasonBusy, caller: ResultBusy, callee: ResultMissed}

// unansweredLocked goes on after the callee side of call c was left
// unanswered for w; e is how the call ends when the rule does not divert it.
func (s *Switch) unansweredLocked(c *call, w why, e ending, cause Cause, device string, fx *effects) {
	k := c.called
	if k != nil && c.xfer == nil && c.ro == nil && w == whyNoAnswer && s.huntLocked(c, cause, device, fx) {
		return
	}
	if c.xfer != nil || c.ro != nil || k == nil || k.forwarding || !s.divertsLocked(k, w) {
		s.targetFailedLocked(c, e, cause, device, fx)
		return
	}
	if a, target := k.action(w); a == RuleForward && target != "" && len(k.visited) < maxForwards {
		s.ruleForwardLocked(c, target, e, cause, device)
		return
	}
	if s.hasMailboxLocked(k) {
		s.toVoicemailLocked(c, k.ext, device, fx)
		return
	}
	s.targetFailedLocked(c, e, cause, device, fx)
}

// ruleForwardLocked forwards call c along its rule to target: the target
// is routed outside the lock, then rings instead of the parties ringing
// now, unless the call changed meanwhile. A target that cannot ring, or
// one the call already rang, gives voicemail, else e.
func (s *Switch) ruleForwardLocked(c *call, target string, e ending, cause Cause, device string) {
	k := c.called
	k.forwarding = true
	s.stopTimersLocked(c)
	id, from := c.s.ID, k.ext
	go func() {
		ctx := context.Background()
		rt, err := s.target(ctx, from, target)
		next := s.calledFor(ctx, rt)
		var fx effects
		var place func(context.Context)
		s.mu.Lock()
		if s.calls[id] != c || c.called != k || !k.forwarding || c.callee().Status != StatusProceeding {
			s.mu.Unlock()
			return
		}
		k.forwarding = false
		caller := c.caller()
		if err == nil && rt.owner != 0 && slices.Contains(k.visited, rt.owner) {
			err = fmt.Errorf("%s rang already: %w", target, ErrUnreachable)
		}
		if err == nil {
			err = outOnTrunk(rt, caller)
		}
		var ring []int64
		var noteRinging func()
		n := len(c.s.Parties)
		if err == nil {
			if next != nil {
				next.visited = append(slices.Clone(k.visited), rt.owner)
			}
			c.called = next
			if ring, noteRinging, err = s.addTargetsLocked(c, rt, from, caller.From, caller.Device, &fx); err != nil {
				c.s.Parties, c.called = c.s.Parties[:n], k
			}
		}
		if err != nil {
			s.noteLocked(c, logVoicemailFailed, slog.String("forward", target), slog.Any("err", err))
			if s.hasMailboxLocked(k) {
				s.toVoicemailLocked(c, k.ext, device, &fx)
			} else {
				s.targetFailedLocked(c, e, cause, device, &fx)
			}
			s.mu.Unlock()
			s.finish(&fx)
			return
		}
		now := s.cfg.Now()
		for _, q := range c.ringable()[:n-1] {
			if q.active() && q.Status == StatusProceeding {
				c.noteLeg(legsForward, q, now, c.s.Parties[n:]...)
				s.leaveLocked(c, q, ResultForwarded, &fx)
				s.noteLocked(c, logRuleForwarded, partyAttrs(q, slog.String("to", target))...)
			}
		}
		place = s.trunkTargetLocked(c, rt, endpointOf(c.callee()))
		noteRinging()
		s.emitCauseLocked(c, CauseForward, "", ring)
		c.dropLeft()
		s.mu.Unlock()
		s.finish(&fx)
		place(ctx)
	}()
}

// ToVoicemail sends a call that rings on device to the voicemail of the
// device's extension.
func (s *Switch) ToVoicemail(ctx context.Context, device, sessionID string) error {
	var fx effects
	s.mu.Lock()
	c, err := s.callLocked(device, sessionID)
	if err == nil {
		var p *Party
		switch p, err = s.forwardableLocked(c, device); {
		case err != nil:
		case s.mailbox == nil:
			err = fmt.Errorf("call %s: %w", sessionID, ErrNoMailbox)
		case c.xfer != nil:
			err = fmt.Errorf("call %s is being transferred: %w", sessionID, ErrInvalidState)
		default:
			s.toVoicemailLocked(c, p.Owner, device, &fx)
		}
	}
	s.mu.Unlock()
	s.finish(&fx)
	if err != nil {
		return fmt.Errorf("to voicemail: %w", err)
	}
	return nil
}

// voicemail is the state of a call whose caller reached voicemail.
type voicemail struct {
	mailbox int64
	party   string // the voicemail party, which answered the caller
}

// toVoicemailLocked connects the caller of call c to the voicemail of
// extension mailbox: every party ringing for the called side leaves, a
// voicemail party answers the caller, and the mailbox takes the message
// once the lock is released.
func (s *Switch) toVoicemailLocked(c *call, mailbox int64, device string, fx *effects) {
	caller := c.caller()
	now := s.cfg.Now()
	box := caller.To
	for _, q := range c.ringable() {
		if !q.active() || q.ID == caller.ID {
			continue
		}
		if q.Owner == mailbox {
			box = q.To
		}
		c.dropTrunkLocked(q.ID, fx)
		s.disconnectLocked(c, q)
		q.Code, q.Ringing, q.Offered = 0, nil, nil
		q.Result = ResultMissed
		if q.Owner == mailbox {
			q.Result = ResultVoicemail
		}
		q.Reason = q.Result
		if q.Owner != 0 {
			s.writeRecordsLocked([]CallRecord{c.record(q, now)}, fx)
		}
	}
	c.s.Parties = append(c.s.Parties, Party{ID: newID("p-"), Direction: Inbound, From: endpointOf(caller), To: box,
		Status: StatusProceeding})
	vm := &c.s.Parties[len(c.s.Parties)-1]
	caller = c.caller()
	moves := []move{{vm, StatusAnswered}}
	if caller.Status == StatusProceeding {
		moves = append(moves, move{caller, StatusAnswered})
	}
	if s.moveLocked(c, fx, moves...) != nil {
		return
	}
	s.stopTimersLocked(c)
	if c.called != nil {
		c.called.forwarding = false
	}
	if c.s.Connected.IsZero() {
		c.s.Connected = now
	}
	c.vm = &voicemail{mailbox: mailbox, party: vm.ID}
	c.answerTrunkLocked(fx)
	s.noteLocked(c, logVoicemail, slog.Int64("mailbox", mailbox), slog.String("party", vm.ID))
	s.applyForwardLocked(c)
	s.emitLocked(c, CauseVoicemail, device)
	c.dropLeft()
	v := VoicemailCall{Mailbox: mailbox, From: endpointOf(caller), To: box, Leg: legOf(caller), TelephonySessionID: c.s.ID}
	m, id := s.mailbox, c.s.ID
	fx.mailbox = append(fx.mailbox, func() {
		if err := m.TakeMessage(context.Background(), v, func() { s.voicemailDone(id) }); err != nil {
			s.voicemailFailed(id, err)
		}
	})
}

// GreetingNumber is the number a user dials to record its voicemail greeting.
const GreetingNumber = "*86"

// greetingName is how the greeting line shows in calls.
const greetingName = "Voicemail greeting"

// hasMailbox reports whether the switch has voicemail.
func (s *Switch) hasMailbox() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mailbox != nil
}

// greetingAnsweredLocked answers a call to GreetingNumber at once: the
// mailbox records the caller's greeting, and the call ends when it is kept.
func (s *Switch) greetingAnsweredLocked(c *call, fx *effects) {
	caller, line := c.caller(), c.callee()
	if s.moveLocked(c, fx, move{caller, StatusAnswered}, move{line, StatusAnswered}) != nil {
		return
	}
	c.s.Connected = s.cfg.Now()
	c.vm = &voicemail{mailbox: caller.Owner, party: line.ID}
	s.noteAnsweredLocked(c, line, "")
	s.applyForwardLocked(c)
	s.emitLocked(c, CauseAnswer, "")
	m, id, ext, leg := s.mailbox, c.s.ID, caller.Owner, legOf(caller)
	fx.mailbox = append(fx.mailbox, func() {
		if err := m.RecordGreeting(context.Background(), ext, leg, func() { s.voicemailDone(id) }); err != nil {
			s.voicemailFailed(id, err)
		}
	})
}

// voicemailDone ends a call whose message the mailbox finished: the caller
// pressed # or reached the limit.
func (s *Switch) voicemailDone(id string) {
	var fx effects
	s.mu.Lock()
	if c, ok := s.calls[id]; ok && c.vm != nil {
		s.endLocked(c, ending{caller: ResultConnected, callee: ResultConnected}, CauseHangup, "", &fx)
	}
	s.mu.Unlock()
	s.finish(&fx)
}

// voicemailFailed ends a call whose message the mailbox could not take.
func (s *Switch) voicemailFailed(id string, err error) {
	var fx effects
	s.mu.Lock()
	if c, ok := s.calls[id]; ok && c.vm != nil {
		s.noteLocked(c, logVoicemailFailed, slog.Any("err", err))
		s.endLocked(c, ending{code: 503, reason: reasonMediaFailed, caller: ResultConnected, callee: ResultConnected},
			CauseMediaFailed, "", &fx)
	}
	s.mu.Unlock()
	s.finish(&fx)
}
