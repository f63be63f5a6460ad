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
	return CallRecord{
		ID: p.ID, Extension: p.Owner, SessionID: c.s.SessionID, TelephonySessionID: c.s.ID, PartyID: p.ID,
		StartTime: c.s.Created, Duration: d, Direction: p.Direction, From: p.From, To: p.To,
		Type: "Voice", Action: c.action(p), Result: p.Result,
	}
}

// action is the call-log action of party p: RingOut Web for the owner's leg
// of a RingOut, else VoIP Call between extensions and Phone Call when a
// party is not one.
func (c *call) action(p *Party) string {
	if c.ro != nil && p.ID == c.caller().ID {
		return ActionRingOutWeb
	}
	if slices.ContainsFunc(c.s.Parties, func(p Party) bool { return p.Owner == 0 }) {
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
