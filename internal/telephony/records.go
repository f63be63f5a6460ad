package telephony

import (
	"context"
	"log/slog"
	"slices"
	"time"
)

// Call-log actions (CallRecord.Action) besides ActionRingOutWeb.
const (
	actionVoIPCall  = "VoIP Call"  // every party an extension
	actionPhoneCall = "Phone Call" // a party is a test line or an outside number
)

// Legs of the call log (CallRecord.Legs, the platform's Detailed view).
//
// A call that is never handed on has one leg in each party's record, the
// master, which is the record itself: nothing is kept for it. The first
// hand-over of a call (a transfer or a forward, noted by transfer.go
// through noteLeg; a warm transfer, noted by bridge.go through noteBridge)
// starts its book: each party concerned gets its legs,
// the master first, as it stood since the call began.
//
//   - The party that hands the call on (the transferor, the forwarding
//     party) leaves with its record: its master ends with result
//     Transferred or Forwarded, and one more leg, Outbound from it to the
//     target, action Transfer or Forward, no time connected, the same
//     result, says where the call went.
//   - The party that stays (the session's caller: the transferee, or the
//     caller of a forwarded call): its current leg ends with Transferred or
//     Forwarded, and a new leg begins, Outbound from it to the target,
//     action Transfer or Forward, connected when the target answers; it
//     ends with the target's result (Missed, Busy, Rejected, …) when the
//     target fails, or Call connected. A recall is one more Transfer leg,
//     to the transferor.
//   - A party that joins (a target, the recall) has a record of the call
//     as it reached it: from when it began to ring, connected from its own
//     answer.
//
// A record's StartTime is that of its master and its Duration the time
// from its party's first connection to the end, as for every call.

// legNote is a change of a call that ends, begins or connects legs of its
// parties' records (noteLeg).
type legNote int

const (
	legsTransfer legNote = iota // party p transferred the call and leaves; the parties joined ring for the target
	legsForward                 // ringing party p forwarded the call and leaves; the parties joined ring for the target
	legsRecall                  // a transfer's target failed: the party joined rings the transferor's devices
	legsAnswered                // party p answered a transfer's target or recall
)

// legBook holds the legs of a call's parties by party id: nil until the
// call is first handed on, and then only for the parties concerned.
type legBook map[string]*partyLegs

// partyLegs are one party's legs so far.
type partyLegs struct {
	legs []CallLeg // the master first; the last one goes on while open is set
	open bool      // the last leg has no Duration and Result yet
	// connected is when the open leg was connected, once noted (legsAnswered);
	// a leg not noted is connected by the call's first answer, when that
	// comes within it and from one of answers (any, when answers is empty).
	connected time.Time
	answers   []string  // the parties whose answer connects the open leg
	first     time.Time // when the party was first connected, once a leg that was has ended
}

// noteLeg notes change n of call c at now (see legNote); joined are the
// parties that began to ring for it, all for one target.
func (c *call) noteLeg(n legNote, p *Party, now time.Time, joined ...Party) {
	if c.book == nil {
		c.book = legBook{}
	}
	stays := c.caller()
	if n == legsAnswered {
		for _, q := range []*Party{stays, p} {
			if pl := c.book[q.ID]; pl != nil && pl.open && pl.connected.IsZero() {
				pl.connected = now
			}
		}
		return
	}
	if len(joined) == 0 {
		return
	}
	to := joined[0].To
	action, result := ActionTransfer, ResultTransferred
	if n == legsForward {
		action, result = ActionForward, ResultForwarded
	}
	pl := c.legsOf(stays, joined)
	switch n {
	case legsTransfer, legsForward:
		c.endLeg(pl, result, now)
		if p != nil {
			ql := c.legsOf(p, joined)
			c.endLeg(ql, result, now)
			ql.legs = append(ql.legs, CallLeg{StartTime: now, Direction: Outbound, Action: action, Result: result,
				From: endpointOf(p), To: to})
		}
	case legsRecall:
		c.endLeg(pl, c.answerResult(stays, pl), now)
	}
	pl.legs = append(pl.legs, CallLeg{StartTime: now, Direction: Outbound, Action: action, From: endpointOf(stays), To: to})
	pl.open = true
	for _, j := range joined {
		pl.answers = append(pl.answers, j.ID)
		c.book[j.ID] = &partyLegs{legs: []CallLeg{{StartTime: now, Direction: j.Direction, Action: c.action(&j),
			From: j.From, To: j.To}}, open: true, answers: []string{j.ID}}
	}
}

// noteBridge notes, at now, that party p of call c leaves it for a warm
// transfer (bridge.go) that connects stays, the party that remains, to
// target at once: stays' leg ends Transferred and a Transfer leg to target
// begins, connected; p's master ends Transferred with a Transfer leg to
// target after it, as a blind transfer's transferor has.
func (c *call) noteBridge(p, stays *Party, target Endpoint, now time.Time) {
	if c.book == nil {
		c.book = legBook{}
	}
	pl := c.legsOf(stays, nil)
	c.endLeg(pl, ResultTransferred, now)
	pl.legs = append(pl.legs, CallLeg{StartTime: now, Direction: Outbound, Action: ActionTransfer, From: endpointOf(stays), To: target})
	pl.open, pl.connected = true, now
	ql := c.legsOf(p, nil)
	c.endLeg(ql, ResultTransferred, now)
	ql.legs = append(ql.legs, CallLeg{StartTime: now, Direction: Outbound, Action: ActionTransfer, Result: ResultTransferred,
		From: endpointOf(p), To: target})
}

// legsOf returns the legs of party p, which took part in call c before the
// parties joined: its master from the call's start, when it has none yet.
func (c *call) legsOf(p *Party, joined []Party) *partyLegs {
	if pl := c.book[p.ID]; pl != nil {
		return pl
	}
	pl := &partyLegs{legs: []CallLeg{{StartTime: c.s.Created, Direction: p.Direction, Action: c.actionWithout(p, joined),
		From: p.From, To: p.To}}, open: true}
	c.book[p.ID] = pl
	return pl
}

// endLeg ends the open leg of pl at end with result.
func (c *call) endLeg(pl *partyLegs, result string, end time.Time) {
	if !pl.open {
		return
	}
	leg := &pl.legs[len(pl.legs)-1]
	if at := c.connectedAt(pl, end); !at.IsZero() {
		leg.Duration = end.Sub(at)
		if pl.first.IsZero() {
			pl.first = at
		}
	}
	leg.Result = result
	pl.open, pl.connected, pl.answers = false, time.Time{}, nil
}

// connectedAt is when the open leg of pl was connected, up to end; zero
// when it was not.
func (c *call) connectedAt(pl *partyLegs, end time.Time) time.Time {
	if !pl.connected.IsZero() {
		return pl.connected
	}
	at := c.s.Connected
	if at.IsZero() || at.Before(pl.legs[len(pl.legs)-1].StartTime) || at.After(end) {
		return time.Time{}
	}
	if len(pl.answers) > 0 && !slices.ContainsFunc(pl.answers, func(id string) bool {
		q := c.party(id)
		return q != nil && q.Device != ""
	}) {
		return time.Time{}
	}
	return at
}

// legResult is the result of party p's open leg as it stands: In Progress
// while p takes part in the call, Call connected once connected, else
// answerResult.
func (c *call) legResult(p *Party, pl *partyLegs, connected bool) string {
	switch {
	case p.active():
		return ResultInProgress
	case connected:
		return ResultConnected
	}
	return c.answerResult(p, pl)
}

// answerResult is the result of the open leg of party p that was not
// connected: that of the party it rang, or p's own.
func (c *call) answerResult(p *Party, pl *partyLegs) string {
	for _, id := range pl.answers {
		if q := c.party(id); q != nil && q.ID != p.ID && q.Result != "" {
			return q.Result
		}
	}
	return p.Result
}

// records returns one call-log record per extension party of the ended call.
func (c *call) records() []CallRecord {
	var recs []CallRecord
	for i := range c.s.Parties {
		if p := &c.s.Parties[i]; p.Owner != 0 {
			recs = append(recs, c.record(p, c.s.Ended))
		}
	}
	return recs
}

// record is party p's call-log record with the call's duration up to end,
// and the party's result. It is the one place a record is made, for the
// call log at the end and for the live calls before it (ActiveRecords), so
// that both agree.
func (c *call) record(p *Party, end time.Time) CallRecord {
	var d time.Duration
	if !c.s.Connected.IsZero() {
		d = end.Sub(c.s.Connected)
	}
	rec := CallRecord{
		ID: p.ID, Extension: p.Owner, SessionID: c.s.SessionID, TelephonySessionID: c.s.ID, PartyID: p.ID,
		StartTime: c.s.Created, Duration: d, Direction: p.Direction, From: p.From, To: p.To,
		Type: "Voice", Action: c.action(p), Result: p.Result,
	}
	switch p.Result {
	case ResultMissed, ResultBusy, ResultRejected, ResultNoAnswer, ResultCanceled, ResultFailed:
		if p.Code >= 300 {
			rec.Code, rec.Reason = p.Code, p.Reason
		}
	}
	if pl := c.book[p.ID]; pl != nil {
		c.addLegs(&rec, p, pl, end)
	}
	if c.recorded != nil && p.Owner == c.recordedBy {
		r := *c.recorded
		rec.Recording = &r
	}
	return rec
}

// addLegs gives rec, party p's record up to end, the party's legs: its
// start is that of its master, its duration from the party's first
// connection, and Legs all of them when there is more than the master.
func (c *call) addLegs(rec *CallRecord, p *Party, pl *partyLegs, end time.Time) {
	legs, first := slices.Clone(pl.legs), pl.first
	if pl.open {
		leg := &legs[len(legs)-1]
		at := c.connectedAt(pl, end)
		if !at.IsZero() {
			leg.Duration = end.Sub(at)
			if first.IsZero() {
				first = at
			}
		}
		leg.Result = c.legResult(p, pl, !at.IsZero())
	}
	rec.StartTime, rec.Duration = legs[0].StartTime, 0
	if !first.IsZero() {
		rec.Duration = end.Sub(first)
	}
	if len(legs) > 1 {
		rec.Legs = legs
	}
}

// action is the call-log action of party p: RingOut Web for the owner's leg
// of a RingOut, else VoIP Call between extensions and Phone Call when a
// party is not one.
func (c *call) action(p *Party) string { return c.actionWithout(p, nil) }

// actionWithout is the action of party p as if the parties without were
// not in the call.
func (c *call) actionWithout(p *Party, without []Party) string {
	if c.ro != nil && p.ID == c.caller().ID {
		return ActionRingOutWeb
	}
	if slices.ContainsFunc(c.s.Parties, func(q Party) bool {
		return q.Owner == 0 && !slices.ContainsFunc(without, func(w Party) bool { return w.ID == q.ID })
	}) {
		return actionPhoneCall
	}
	return actionVoIPCall
}

// ActiveRecords returns the extension's parties in its active calls as
// call-log records so far, oldest call first: result In Progress, the
// duration up to now, and the id, action and parties the record will have
// once the call ends.
func (s *Switch) ActiveRecords(extension int64) []CallRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	var recs []CallRecord
	for _, c := range s.sortedCallsLocked() {
		for i := range c.s.Parties {
			p := &c.s.Parties[i]
			if p.Owner != extension || !p.active() {
				continue
			}
			rec := c.record(p, now)
			rec.Result = ResultInProgress
			recs = append(recs, rec)
		}
	}
	return recs
}

func (s *Switch) writeLog(recs []CallRecord) {
	defer s.logs.Done()
	ctx, cancel := context.WithTimeout(context.Background(), callLogTimeout)
	defer cancel()
	if err := s.log.AddCallRecords(ctx, recs); err != nil {
		s.cfg.Logger.Error("call log not written", slog.String("telephonySessionId", recs[0].TelephonySessionID),
			slog.Int("records", len(recs)), slog.Any("err", err))
	}
}
