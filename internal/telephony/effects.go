package telephony

import "log/slog"

// The switch changes its state under its lock and talks to the outside
// world after it: what an operation leaves to do is collected while the
// lock is held and done once it is released, so that no media call, log
// line, event or call-log write runs under the lock. What must happen in
// the order of the changes is queued on the Switch (events, log lines,
// forwarding); what only the operation concerns is kept in its effects.

// effects is what an operation leaves to do once the lock is released.
type effects struct {
	closeLegs []string
	trunkEnds []trunkEnd     // calls to end at the carrier (trunk.go)
	records   [][]CallRecord // each batch counted in Switch.logs already
	mailbox   []func()       // calls into the mailbox (voicemail.go, recording.go), after the legs' changes
}

// legForward is a forwarding change for the media: whether the audio
// received from leg is forwarded (Media.SetForward), or, when peer is set,
// that leg and peer are to be connected (Media.Connect).
type legForward struct {
	leg  string
	on   bool
	peer string
	// mix, when set, is a conference whose mix is to carry members
	// (Mixer.SetMix; none ends it), and the rest is unused.
	mix     string
	members []MixMember
}

// finish does, outside the lock, what an operation left: set the queued
// forwarding, log the queued lines and publish the queued events (publish.go),
// close legs, write call-log records. Forwarding is set before the events
// are published, as a leg is closed after them.
func (s *Switch) finish(fx *effects) {
	s.applyForwards()
	s.writeQueuedLines()
	s.flush()
	endTrunks(fx.trunkEnds)
	for _, leg := range fx.closeLegs {
		s.media.CloseLeg(leg)
	}
	for _, recs := range fx.records {
		go s.writeLog(recs)
	}
	for _, f := range fx.mailbox {
		f()
	}
}

// finishStep is finish for an operation that goes on after it (a dial that
// first holds the device's live call): its events are published in turn, and
// the operation waits for them at its last finish only. Effects that follow
// the events (legs closed, calls ended at the carrier) make it wait as
// finish does.
func (s *Switch) finishStep(fx *effects) {
	if len(fx.closeLegs) > 0 || len(fx.trunkEnds) > 0 || len(fx.records) > 0 || len(fx.mailbox) > 0 {
		s.finish(fx)
		return
	}
	s.applyForwards()
	s.writeQueuedLines()
	s.publishIdle()
}

// applyForwards hands the queued forwarding changes to the media in the
// order they were made. Changes are taken and applied under mediaMu, so
// that two operations never apply theirs out of order, and a caller
// returns only once what it queued before has been applied, by it or by
// the caller before it.
func (s *Switch) applyForwards() {
	s.mediaMu.Lock()
	defer s.mediaMu.Unlock()
	s.mu.Lock()
	fwd := s.forwards
	s.forwards = nil
	s.mu.Unlock()
	for _, f := range fwd {
		if f.mix != "" {
			if m, ok := s.media.(Mixer); ok {
				if err := m.SetMix(f.mix, f.members); err != nil {
					// A leg closed meanwhile: its call ends or has ended.
					s.cfg.Logger.Warn("conference mix not set", slog.String("conference", f.mix), slog.Any("err", err))
				}
			}
			continue
		}
		if f.peer == "" {
			s.media.SetForward(f.leg, f.on)
		} else if err := s.media.Connect(f.leg, f.peer); err != nil {
			// A leg closed meanwhile: its call ends or has ended.
			s.cfg.Logger.Warn("legs not connected", slog.String("leg", f.leg), slog.String("peer", f.peer), slog.Any("err", err))
		}
	}
}
