package telephony

import "sync"

// stubPresence is a PresenceKeeper for tests inside the package, which
// cannot import internal/presence (it imports this package): every
// extension takes all calls, sequences count from 1, and the telephony
// presence is NoCall.
type stubPresence struct {
	mu  sync.Mutex
	seq map[int64]uint64
}

func (p *stubPresence) CallsChanged(ext int64, _ [][]PartyStatus) (Presence, uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.seq == nil {
		p.seq = map[int64]uint64{}
	}
	p.seq[ext]++
	return Presence{TelephonyStatus: NoCall}, p.seq[ext]
}

func (p *stubPresence) TakesDirectCalls(int64) bool     { return true }
func (p *stubPresence) TakesDepartmentCalls(int64) bool { return true }
