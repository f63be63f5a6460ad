package telephony

import (
	"context"
	"log/slog"
	"slices"
)

// The server log holds one info line per step of a call — dialled, ringing,
// answered, and ended or failed — each with its telephonySessionId, so that
// an operator can follow a call by its id. Lines are queued under the
// switch's lock in the order the steps happen and written after it, in
// that order (writeQueuedLines). Transfers and forwards log their own steps
// (transfer.go). Hold, mute, switching, ignoring and a device rejecting
// while others still ring are events only.
const (
	logDialled      = "call dialled"
	logRinging      = "call ringing"
	logAnswered     = "call answered"
	logAnswerFailed = "call answer failed" // a ringing device could not open its media leg
	logEnded        = "call ended"         // hung up, cancelled, rejected or not answered in time
	logFailed       = "call failed"        // could not be placed or connected, lost its media, or the server stopped
	logRefused      = "call state refused" // an error: the switch tried a move its state table does not allow
)

// logLine is one queued line of the server log.
type logLine struct {
	level slog.Level
	msg   string
	attrs []slog.Attr
}

// noteLocked queues an info line about call c.
func (s *Switch) noteLocked(c *call, msg string, attrs ...slog.Attr) {
	s.lines = append(s.lines, logLine{msg: msg, attrs: append([]slog.Attr{slog.String("telephonySessionId", c.s.ID)}, attrs...)})
}

// noteRefusedLocked queues an error line: the switch tried a move of call c
// that its state table refuses (state.go).
func (s *Switch) noteRefusedLocked(c *call, err error) {
	s.lines = append(s.lines, logLine{level: slog.LevelError, msg: logRefused,
		attrs: []slog.Attr{slog.String("telephonySessionId", c.s.ID), slog.Any("err", err)}})
}

// writeQueuedLines writes the queued lines to the log. Lines are taken and
// written under linesMu, so that two operations never write theirs out of
// order, and a caller returns only once what it queued has been written,
// by it or by the caller before it.
func (s *Switch) writeQueuedLines() {
	s.linesMu.Lock()
	defer s.linesMu.Unlock()
	s.mu.Lock()
	lines := s.lines
	s.lines = nil
	s.mu.Unlock()
	for _, l := range lines {
		s.cfg.Logger.LogAttrs(context.Background(), l.level, l.msg, l.attrs...)
	}
}

// partyAttrs name a party: its id, and its extension when it has one.
func partyAttrs(p *Party, more ...slog.Attr) []slog.Attr {
	attrs := []slog.Attr{slog.String("party", p.ID)}
	if p.Owner != 0 {
		attrs = append(attrs, slog.Int64("extension", p.Owner))
	}
	return append(attrs, more...)
}

// deviceAttr is the device attribute, none for no device.
func deviceAttr(device string) []slog.Attr {
	if device == "" {
		return nil
	}
	return []slog.Attr{slog.String("device", device)}
}

// noteDialledLocked: the session of c was made by its caller (parties[0]).
func (s *Switch) noteDialledLocked(c *call) {
	p := c.caller()
	s.noteLocked(c, logDialled, append([]slog.Attr{slog.String("origin", c.s.Origin)}, partyAttrs(p, deviceAttr(p.Device)...)...)...)
}

// noteRingingLocked: party p rings devices devices of extension ext (a
// department for a call to one, whose members' parties ring), or a test
// line (ext 0, no devices).
func (s *Switch) noteRingingLocked(c *call, p *Party, ext int64, devices int) {
	attrs := []slog.Attr{slog.String("party", p.ID)}
	if ext != 0 {
		attrs = append(attrs, slog.Int64("extension", ext))
	}
	s.noteLocked(c, logRinging, append(attrs, slog.Int("devices", devices))...)
}

// noteAnsweredLocked: party p answered, on device ("" for a test line).
func (s *Switch) noteAnsweredLocked(c *call, p *Party, device string) {
	s.noteLocked(c, logAnswered, partyAttrs(p, deviceAttr(device)...)...)
}

// noteEndedLocked: c ended with e because of cause, by device when one.
func (s *Switch) noteEndedLocked(c *call, e ending, cause Cause, device string) {
	msg := logEnded
	if slices.Contains([]Cause{CauseFailed, CauseMediaFailed}, cause) {
		msg = logFailed
	}
	reason := e.reason
	if reason == "" {
		reason = e.caller
	}
	attrs := []slog.Attr{slog.String("cause", string(cause)), slog.Int("code", e.code), slog.String("reason", reason)}
	s.noteLocked(c, msg, append(attrs, deviceAttr(device)...)...)
}
