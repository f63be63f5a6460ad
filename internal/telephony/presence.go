package telephony

// PresenceChanged gives the extension's presence a new sequence for a
// change the switch does not make itself — the user status or
// do-not-disturb its user set — and returns its presence with it. The
// sequence is larger than every one before and smaller than every later
// event's, so consumers that keep the largest (seeds/001 "Call States")
// take the change.
func (s *Switch) PresenceChanged(extension int64) (Presence, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.presenceLocked(extension), s.nextSeqLocked(extension)
}
