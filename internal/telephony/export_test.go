package telephony

import "time"

// SetTestLineDelays shortens the test lines' answer and busy delays in tests.
func SetTestLineDelays(s *Switch, answer, busy time.Duration) {
	s.answerDelay, s.busyDelay = answer, busy
}
