package telephony

// SetDoNotDisturb turns an extension's do-not-disturb on or off. While it is
// on, calls to the extension do not ring its devices: they fail at once with
// 480 "Temporarily Unavailable" (the caller's result Failed, the
// extension's Missed). Calls already ringing go on ringing.
func (s *Switch) SetDoNotDisturb(extension int64, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on {
		s.dnd[extension] = true
	} else {
		delete(s.dnd, extension)
	}
}

// DoNotDisturb reports whether the extension's do-not-disturb is on.
func (s *Switch) DoNotDisturb(extension int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dnd[extension]
}

// dndEnding is how a call to an extension in do-not-disturb ends.
var dndEnding = ending{code: 480, reason: reasonTemporarilyUnavailable, caller: ResultFailed, callee: ResultMissed}
