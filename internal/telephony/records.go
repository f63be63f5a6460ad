package telephony

// ActiveRecords returns the extension's parties in its active calls as
// call-log records so far, oldest call first: result In Progress, the
// duration up to now, and the id, action and parties the record will have
// once the call ends (records makes both).
func (s *Switch) ActiveRecords(extension int64) []CallRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	var recs []CallRecord
	for _, c := range s.sortedCallsLocked() {
		for _, rec := range c.records() {
			p, ok := c.s.Party(rec.PartyID)
			if rec.Extension != extension || !ok || !p.active() {
				continue
			}
			rec.Duration = 0
			if !c.s.Connected.IsZero() {
				rec.Duration = now.Sub(c.s.Connected)
			}
			rec.Result = ResultInProgress
			recs = append(recs, rec)
		}
	}
	return recs
}
