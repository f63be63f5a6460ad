package telephony

// effects is what an operation leaves to do once the lock is released.
type effects struct {
	closeLegs []string
	records   [][]CallRecord // each batch counted in Switch.logs already
}

// finish does, outside the lock, what an operation left: log the queued
// lines and publish the queued events, close legs, write call-log records.
func (s *Switch) finish(fx *effects) {
	s.flush()
	for _, leg := range fx.closeLegs {
		s.media.CloseLeg(leg)
	}
	for _, recs := range fx.records {
		go s.writeLog(recs)
	}
}

// flush logs queued lines and publishes queued events in order. One
// goroutine flushes at a time; what is queued meanwhile (also by subscribers
// calling back into the switch) is flushed by it, after what came before.
func (s *Switch) flush() {
	s.mu.Lock()
	if s.flushing {
		s.mu.Unlock()
		return
	}
	s.flushing = true
	for len(s.queue) > 0 || len(s.lines) > 0 {
		batch, lines := s.queue, s.lines
		s.queue, s.lines = nil, nil
		s.mu.Unlock()
		s.writeLines(lines)
		s.publish(batch)
		s.mu.Lock()
	}
	s.flushing = false
	s.mu.Unlock()
}

// publish hands a batch to the bus; should a subscriber panic, the next
// flush may still publish.
func (s *Switch) publish(batch []Event) {
	done := false
	defer func() {
		if !done {
			s.mu.Lock()
			s.flushing = false
			s.mu.Unlock()
		}
	}()
	for _, e := range batch {
		s.bus.Publish(e)
	}
	done = true
}
