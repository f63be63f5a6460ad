package telephony

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"log/slog"
	"strconv"
)

// Call recording.
//
// A party of a connected call starts, pauses, resumes and stops the call's
// recording (Record; the platform's API names the party: RecordParty); an
// extension whose rule says AutoRecord has each of its calls recorded from
// the answer (type Automatic). The recording is the owner's — the
// extension of the party that started it — and takes both sides: the
// owner's leg and the leg of the party connected to it. It goes on across
// hold (silence), follows a transfer of the other party to its target,
// and stops when its owner leaves the call or the call ends. Each change
// is a "record" event for every extension of the call, with the recording;
// a stopped recording is kept by the mailbox and named on its owner's
// call-log record (the last one, when the call was recorded more than once).
// A call at voicemail is not recorded: the message is.

// CauseRecord: the call's recording started, paused, resumed or stopped (Event.Recording).
const CauseRecord Cause = "record"

// Log lines of recordings (lifecycle.go).
const (
	logRecording       = "call recording"
	logRecordingFailed = "call recording failed"
)

// Record does action to the recording of the call whose party device carries.
func (s *Switch) Record(ctx context.Context, device, sessionID string, action RecordAction) (Session, error) {
	s.mu.Lock()
	c, err := s.callLocked(device, sessionID)
	var p *Party
	if err == nil {
		if p = c.partyOfDevice(device); p == nil {
			err = s.notPartyLocked(c, device)
		}
	}
	var pid string
	if p != nil {
		pid = p.ID
	}
	s.mu.Unlock()
	if err != nil {
		return Session{}, fmt.Errorf("record: %w", err)
	}
	return s.record(ctx, sessionID, pid, action, RecordingOnDemand, device)
}

// RecordParty does action to the recording of call sessionID as party
// partyID, which must be of extension owner.
func (s *Switch) RecordParty(ctx context.Context, owner int64, sessionID, partyID string, action RecordAction) (Session, error) {
	s.mu.Lock()
	c, ok := s.calls[sessionID]
	var err error
	switch {
	case !ok:
		err = fmt.Errorf("call %s: %w", sessionID, ErrNoSuchCall)
	case c.party(partyID) == nil || c.party(partyID).Owner != owner:
		err = fmt.Errorf("call %s has no party %s of extension %d: %w", sessionID, partyID, owner, ErrNotYourCall)
	}
	s.mu.Unlock()
	if err != nil {
		return Session{}, fmt.Errorf("record: %w", err)
	}
	return s.record(ctx, sessionID, partyID, action, RecordingOnDemand, "")
}

// record does action as party pid of call id.
func (s *Switch) record(ctx context.Context, id, pid string, action RecordAction, typ, device string) (Session, error) {
	if action == RecordStart {
		return s.startRecording(ctx, id, pid, typ, device)
	}
	var fx effects
	s.mu.Lock()
	c, ok := s.calls[id]
	var err error
	switch {
	case !ok:
		err = fmt.Errorf("call %s: %w", id, ErrNoSuchCall)
	case c.s.Recording == nil:
		err = fmt.Errorf("call %s is not recorded: %w", id, ErrInvalidState)
	case action == RecordStop:
		s.stopRecordingLocked(c, device, &fx)
	case action == RecordPause || action == RecordResume:
		err = s.pauseRecordingLocked(c, action == RecordPause, device, &fx)
	default:
		err = fmt.Errorf("record action %q: %w", action, ErrInvalidState)
	}
	var snap Session
	if err == nil {
		snap = c.s.clone()
	}
	s.mu.Unlock()
	s.finish(&fx)
	if err != nil {
		return Session{}, fmt.Errorf("record: %w", err)
	}
	return snap, nil
}

// recordableLocked checks that party pid of call c may start recording it,
// and returns the legs to record: the party's, then the other side's.
func (s *Switch) recordableLocked(c *call, pid string) ([]string, error) {
	p := c.party(pid)
	switch {
	case s.mailbox == nil:
		return nil, fmt.Errorf("call %s: %w", c.s.ID, ErrNoMailbox)
	case p == nil || p.Owner == 0:
		return nil, fmt.Errorf("call %s has no party %s: %w", c.s.ID, pid, ErrNotYourCall)
	case p.Status != StatusAnswered && p.Status != StatusHold:
		return nil, fmt.Errorf("party %s is %s: %w", pid, p.Status, ErrInvalidState)
	case c.vm != nil:
		return nil, fmt.Errorf("call %s is at voicemail: %w", c.s.ID, ErrInvalidState)
	case c.conf != nil:
		return nil, inConferenceLocked(c, "record")
	case c.s.Recording != nil:
		return nil, fmt.Errorf("call %s is recorded already: %w", c.s.ID, ErrInvalidState)
	case !c.hasLeg(p):
		return nil, fmt.Errorf("party %s has no media here: %w", pid, ErrInvalidState)
	}
	return c.recordLegs(p), nil
}

// recordLegs are the legs a recording of owner party p takes: its own, and
// that of the party connected to it, when it has one here.
func (c *call) recordLegs(p *Party) []string {
	legs := []string{legOf(p)}
	if q := c.otherActive(p); q != nil && c.hasLeg(q) {
		legs = append(legs, legOf(q))
	}
	return legs
}

// startRecording starts recording call id as party pid: the mailbox starts
// it outside the lock, and the "record" event follows once it has.
func (s *Switch) startRecording(ctx context.Context, id, pid, typ, device string) (Session, error) {
	s.mu.Lock()
	c, ok := s.calls[id]
	var legs []string
	err := fmt.Errorf("call %s: %w", id, ErrNoSuchCall)
	if ok {
		legs, err = s.recordableLocked(c, pid)
	}
	var start RecordingStart
	if err == nil {
		p := c.party(pid)
		c.s.Recording = &Recording{ID: newRecordingID(), Status: RecordRecording, Type: typ, Owner: p.Owner, Started: s.cfg.Now()}
		start = RecordingStart{ID: c.s.Recording.ID, Owner: p.Owner, Type: typ, TelephonySessionID: c.s.ID, SessionID: c.s.SessionID, Legs: legs}
	}
	m := s.mailbox
	s.mu.Unlock()
	if err != nil {
		return Session{}, fmt.Errorf("record: %w", err)
	}
	err = m.StartRecording(ctx, start)

	var fx effects
	s.mu.Lock()
	defer func() {
		s.mu.Unlock()
		s.finish(&fx)
	}()
	c, ok = s.calls[id]
	switch {
	case !ok || c.s.Recording == nil || c.s.Recording.ID != start.ID: // ended or stopped meanwhile
		if err == nil {
			fx.mailbox = append(fx.mailbox, func() { m.StopRecording(start.ID) })
		}
		return Session{}, fmt.Errorf("record call %s: call ended: %w", id, ErrNoSuchCall)
	case err != nil:
		s.noteLocked(c, logRecordingFailed, slog.String("recording", start.ID), slog.Any("err", err))
		c.s.Recording = nil
		return Session{}, fmt.Errorf("record call %s: %w", id, err)
	}
	s.noteLocked(c, logRecording, slog.String("recording", start.ID), slog.String("status", string(RecordRecording)),
		slog.String("type", typ))
	s.emitRecordLocked(c, *c.s.Recording, device)
	return c.s.clone(), nil
}

// stopRecordingLocked stops the recording of call c.
func (s *Switch) stopRecordingLocked(c *call, device string, fx *effects) {
	r := *c.s.Recording
	c.s.Recording = nil
	c.recorded = &RecordingRef{ID: r.ID, Type: r.Type}
	c.recordedBy = r.Owner
	r.Status = RecordIdle
	s.noteLocked(c, logRecording, slog.String("recording", r.ID), slog.String("status", "Stopped"))
	if s.calls[c.s.ID] == c {
		s.emitRecordLocked(c, r, device)
	}
	m := s.mailbox
	fx.mailbox = append(fx.mailbox, func() { m.StopRecording(r.ID) })
}

// pauseRecordingLocked pauses or resumes the recording of call c.
func (s *Switch) pauseRecordingLocked(c *call, pause bool, device string, fx *effects) error {
	to := RecordRecording
	if pause {
		to = RecordPaused
	}
	if c.s.Recording.Status == to {
		return fmt.Errorf("recording of call %s is %s already: %w", c.s.ID, to, ErrInvalidState)
	}
	c.s.Recording.Status = to
	r, m := *c.s.Recording, s.mailbox
	s.noteLocked(c, logRecording, slog.String("recording", r.ID), slog.String("status", string(to)))
	s.emitRecordLocked(c, r, device)
	fx.mailbox = append(fx.mailbox, func() {
		if err := m.PauseRecording(r.ID, pause); err != nil {
			s.cfg.Logger.Warn(logRecordingFailed, slog.String("recording", r.ID), slog.Any("err", err))
		}
	})
	return nil
}

// autoRecordLocked starts recording call c, just answered, when the rule
// of one of its extensions records every call.
func (s *Switch) autoRecordLocked(c *call, fx *effects) {
	if c.autoRecord == 0 || c.s.Recording != nil || s.mailbox == nil {
		return
	}
	var owner *Party
	for i := range c.s.Parties {
		if p := &c.s.Parties[i]; p.Owner == c.autoRecord && p.Status == StatusAnswered && c.hasLeg(p) {
			owner = p
			break
		}
	}
	if owner == nil {
		return
	}
	id, pid := c.s.ID, owner.ID
	fx.mailbox = append(fx.mailbox, func() {
		if _, err := s.startRecording(context.Background(), id, pid, RecordingAutomatic, ""); err != nil {
			s.cfg.Logger.Warn(logRecordingFailed, slog.String("telephonySessionId", id), slog.Any("err", err))
		}
	})
}

// autoRecorder is the extension whose rule records a call to k from
// caller (0 for a caller of no extension) from its answer: the called
// extension's, else the caller's; 0 when neither does. It runs outside the lock.
func (s *Switch) autoRecorder(ctx context.Context, k *called, caller int64) int64 {
	if k != nil && k.rule.AutoRecord {
		return k.ext
	}
	s.mu.Lock()
	rules := s.rules
	s.mu.Unlock()
	if rules != nil && caller != 0 && s.ruleOf(ctx, caller).AutoRecord {
		return caller
	}
	return 0
}

// recordingLegsLocked has the mailbox follow the legs of call c's
// recording after a party was replaced; a recording whose owner left stops.
func (s *Switch) recordingLegsLocked(c *call, fx *effects) {
	if c.s.Recording == nil {
		return
	}
	var owner *Party
	for i := range c.s.Parties {
		if p := &c.s.Parties[i]; p.Owner == c.s.Recording.Owner && p.active() && c.hasLeg(p) {
			owner = p
			break
		}
	}
	if owner == nil {
		s.stopRecordingLocked(c, "", fx)
		return
	}
	legs := c.recordLegs(owner)
	id, m := c.s.Recording.ID, s.mailbox
	fx.mailbox = append(fx.mailbox, func() {
		if err := m.SetRecordingLegs(id, legs); err != nil {
			s.cfg.Logger.Warn(logRecordingFailed, slog.String("recording", id), slog.Any("err", err))
		}
	})
}

// emitRecordLocked queues a "record" event with r for every extension of call c.
func (s *Switch) emitRecordLocked(c *call, r Recording, device string) {
	n := len(s.queue)
	s.emitLocked(c, CauseRecord, device)
	for i := n; i < len(s.queue); i++ {
		s.queue[i].Recording = r
	}
}

// newRecordingID returns a recording id: digits, as the platform's are.
func newRecordingID() string {
	var b [8]byte
	rand.Read(b[:])
	return strconv.FormatUint(binary.BigEndian.Uint64(b[:])>>2, 10)
}
