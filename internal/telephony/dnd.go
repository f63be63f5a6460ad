package telephony

// Do-not-disturb statuses: which calls an extension's user takes
// (seeds/000 dndStatus). A direct call is one to the extension itself; a
// department call one to a department it is a member of.
const (
	TakeAllCalls               = "TakeAllCalls"
	DoNotAcceptAnyCalls        = "DoNotAcceptAnyCalls"
	DoNotAcceptDepartmentCalls = "DoNotAcceptDepartmentCalls"
	TakeDepartmentCallsOnly    = "TakeDepartmentCallsOnly"
)

// SetDNDStatus sets which calls ring the extension's devices. A direct call
// to an extension that takes none (DoNotAcceptAnyCalls,
// TakeDepartmentCallsOnly) fails at once with 480 "Temporarily
// Unavailable" (the caller's result Failed, the extension's Missed); a
// department call leaves out the members that take none
// (DoNotAcceptAnyCalls, DoNotAcceptDepartmentCalls). Calls already ringing
// go on ringing. An unknown status is TakeAllCalls.
func (s *Switch) SetDNDStatus(extension int64, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch status {
	case DoNotAcceptAnyCalls, DoNotAcceptDepartmentCalls, TakeDepartmentCallsOnly:
		s.dnd[extension] = status
	default:
		delete(s.dnd, extension)
	}
}

// DNDStatus returns the extension's do-not-disturb status.
func (s *Switch) DNDStatus(extension int64) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.dnd[extension]; ok {
		return st
	}
	return TakeAllCalls
}

// SetDoNotDisturb turns an extension's do-not-disturb on
// (DoNotAcceptAnyCalls) or off (TakeAllCalls); see SetDNDStatus.
func (s *Switch) SetDoNotDisturb(extension int64, on bool) {
	status := TakeAllCalls
	if on {
		status = DoNotAcceptAnyCalls
	}
	s.SetDNDStatus(extension, status)
}

// DoNotDisturb reports whether direct calls to the extension are refused.
func (s *Switch) DoNotDisturb(extension int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.takesDirectLocked(extension)
}

// takesDirectLocked reports whether direct calls ring the extension.
func (s *Switch) takesDirectLocked(ext int64) bool {
	st := s.dnd[ext]
	return st != DoNotAcceptAnyCalls && st != TakeDepartmentCallsOnly
}

// takesDepartmentLocked reports whether department calls ring the extension.
func (s *Switch) takesDepartmentLocked(ext int64) bool {
	st := s.dnd[ext]
	return st != DoNotAcceptAnyCalls && st != DoNotAcceptDepartmentCalls
}

// dndEnding is how a call to an extension in do-not-disturb ends.
var dndEnding = ending{code: 480, reason: reasonTemporarilyUnavailable, caller: ResultFailed, callee: ResultMissed}
