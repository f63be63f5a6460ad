package telephony

// Do-not-disturb is what an extension's user set of the calls it takes
// (seeds/000 dndStatus); the presence keeper owns it. A direct call — one
// to the extension itself — to an extension that takes none fails at once
// with 480 "Temporarily Unavailable" (the caller's result Failed, the
// extension's Missed); a department call leaves out the members that take
// no department calls. Calls already ringing go on ringing.

// takesDirectLocked reports whether direct calls ring the extension.
func (s *Switch) takesDirectLocked(ext int64) bool { return s.presence.TakesDirectCalls(ext) }

// takesDepartmentLocked reports whether department calls ring the extension.
func (s *Switch) takesDepartmentLocked(ext int64) bool { return s.presence.TakesDepartmentCalls(ext) }

// dndEnding is how a call to an extension in do-not-disturb ends.
var dndEnding = ending{code: 480, reason: reasonTemporarilyUnavailable, caller: ResultFailed, callee: ResultMissed}
