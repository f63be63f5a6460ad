package telephony

import "time"

// SetTestLineDelays shortens the test lines' answer and busy delays in tests.
func SetTestLineDelays(s *Switch, answer, busy time.Duration) {
	s.answerDelay, s.busyDelay = answer, busy
}

// FireTimers makes the pending timers of an active call — its ring timeout,
// a test line's answer or busy delay, a move offer's timeout — fire now, so that a test decides
// when they do instead of racing them. A move offer's timeout fires too.
func FireTimers(s *Switch, sessionID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.calls[sessionID]; c != nil {
		for _, t := range c.timers {
			t.Reset(0)
		}
		if c.offerTimer != nil {
			c.offerTimer.Reset(0)
		}
	}
}
