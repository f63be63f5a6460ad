package telephony

import (
	"context"
	"log/slog"
	"slices"
)

// records returns one call-log record per extension party of the ended call.
func (c *call) records() []CallRecord {
	action := "VoIP Call"
	if slices.ContainsFunc(c.s.Parties, func(p Party) bool { return p.Owner == 0 }) {
		action = "Phone Call"
	}
	var d = c.s.Ended.Sub(c.s.Connected)
	if c.s.Connected.IsZero() {
		d = 0
	}
	var recs []CallRecord
	for i, p := range c.s.Parties {
		if p.Owner == 0 {
			continue
		}
		act := action
		if c.ro != nil && i == 0 {
			act = ActionRingOutWeb
		}
		recs = append(recs, CallRecord{
			ID: p.ID, Extension: p.Owner, SessionID: c.s.SessionID, TelephonySessionID: c.s.ID, PartyID: p.ID,
			StartTime: c.s.Created, Duration: d, Direction: p.Direction, From: p.From, To: p.To,
			Type: "Voice", Action: act, Result: p.Result,
		})
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
