package telephony

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// Defaults of Config.
const (
	DefaultRingTimeout = 20 * time.Second
	testAnswerDelay    = time.Second            // tone and echo test lines answer after this
	testBusyDelay      = 500 * time.Millisecond // the busy test line rings this long
	callLogTimeout     = 10 * time.Second       // longest wait for one call-log write
)

// Config tunes the switch.
type Config struct {
	RingTimeout time.Duration    // an unanswered call ends after this, unless an answering rule says otherwise; default 20 s
	Now         func() time.Time // default time.Now
	Logger      *slog.Logger     // default slog.Default()
	// MaxCallsPerDevice and MaxCallsPerExtension cap the calls whose media
	// one device, and all devices of one extension, carry at once (dialled
	// or answered); more are refused with ErrTooManyCalls. Defaults 4 and 20.
	MaxCallsPerDevice    int
	MaxCallsPerExtension int
	// OnCallEnded, when set, is told of every session that ends, with the
	// caller's call-log result (ResultConnected, ResultMissed, …), for
	// metrics. It is called under the switch's lock: it must only count.
	OnCallEnded func(result string)
}

// Switch routes calls between extensions' devices and the test lines, keeps
// the state of every active call and publishes each change. It is safe for
// concurrent use.
type Switch struct {
	cfg      Config
	dir      Directory
	media    Media
	bus      Bus
	presence PresenceKeeper // sequences, telephony presence, do-not-disturb (presence.go)
	trunks   Trunks         // numbers outside the account; nil: none (trunk.go)
	log      CallLog
	mailbox  Mailbox // voicemail and recording; nil: none (voicemail.go, recording.go)
	rules    Rules   // answering rules; nil: the default, without voicemail (voicemail.go)

	answerDelay time.Duration // test lines that answer, after this
	busyDelay   time.Duration // the busy test line, after this

	mu          sync.Mutex
	closed      bool
	devices     map[string]Device
	calls       map[string]*call    // active sessions by Session.ID
	ringOuts    map[string]*ringOut // RingOuts by id, active and recently ended (ringout.go)
	nextSession uint64
	lines       []logLine // lines of calls' lifecycles to log, in order (lifecycle.go)

	// Events to publish and who publishes them (publish.go).
	queue      []Event      // queued, not yet taken by the publisher, in sequence order
	taken      uint64       // events taken from the queue since the start
	published  uint64       // events handed to the bus since the start
	publishing bool         // an operation holds the publisher's role
	publishTo  uint64       // the publisher publishes at least this many
	waiting    []*pubWaiter // operations waiting for their events, in no order

	autoHeld  map[string][]heldRef   // parties held for a call, by its id (second.go)
	invites   map[string]*invitation // calls placed to join a conference, by id, until answered or ended (conference.go)
	rejoining []string               // legs of adopted calls being opened (handover.go)

	forwards []legForward // forwarding changes for the media, in order (effects.go)
	mediaMu  sync.Mutex   // held while queued forwarding changes are applied
	linesMu  sync.Mutex   // held while queued lines are written (lifecycle.go)

	logs sync.WaitGroup // call-log writes under way
}

// New returns a switch. presence must not be nil; log may be nil (no call
// log is kept).
func New(cfg Config, dir Directory, media Media, bus Bus, presence PresenceKeeper, log CallLog) *Switch {
	if cfg.RingTimeout <= 0 {
		cfg.RingTimeout = DefaultRingTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxCallsPerDevice <= 0 {
		cfg.MaxCallsPerDevice = DefaultMaxCallsPerDevice
	}
	if cfg.MaxCallsPerExtension <= 0 {
		cfg.MaxCallsPerExtension = DefaultMaxCallsPerExtension
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Switch{
		cfg: cfg, dir: dir, media: media, bus: bus, presence: presence, log: log,
		answerDelay: testAnswerDelay,
		busyDelay:   testBusyDelay,
		devices:     map[string]Device{},
		calls:       map[string]*call{},
		ringOuts:    map[string]*ringOut{},
		autoHeld:    map[string][]heldRef{},
		invites:     map[string]*invitation{},
		nextSession: uint64(max(cfg.Now().UnixMicro(), 0)),
	}
}

// RegisterDevice makes a signed-in widget tab reachable: calls to its
// extension ring it from now on. Registering again for the same extension is
// harmless; an id registered to another extension is refused
// (ErrDeviceTaken), never taken over.
func (s *Switch) RegisterDevice(d Device) error {
	if d.ID == "" {
		return fmt.Errorf("register device: empty id: %w", ErrNoDevice)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.devices[d.ID]; ok && old.ExtensionID != d.ExtensionID {
		return fmt.Errorf("register device %s for extension %d: %w", d.ID, d.ExtensionID, ErrDeviceTaken)
	}
	s.devices[d.ID] = d
	return nil
}

// UnregisterDevice forgets a device: the calls whose media it carries are
// hung up (cancelled before answer) and it stops ringing; a call left with
// no ringing device ends (480).
func (s *Switch) UnregisterDevice(id string) {
	var fx effects
	s.mu.Lock()
	delete(s.devices, id)
	for _, c := range s.sortedCallsLocked() {
		switch {
		case s.calls[c.s.ID] != c: // ended with a call bridged to it
		case c.partyOfDevice(id) != nil:
			s.hangupLocked(c, id, &fx)
		case c.ringingParty(id) != nil:
			p := c.ringingParty(id)
			p.Ringing = slices.DeleteFunc(p.Ringing, func(d string) bool { return d == id })
			if len(p.Ringing) == 0 && (c.answering == "" || c.answering == id || c.ringsElsewhere(p)) {
				s.stoppedRingingLocked(c, p, ending{code: 480, reason: reasonTemporarilyUnavailable,
					caller: ResultFailed, callee: ResultMissed}, CauseFailed, id, &fx)
			}
		case c.offeredParty(id) != nil:
			s.declineOfferLocked(c, c.offeredParty(id), id) // move.go
		}
	}
	s.mu.Unlock()
	s.finish(&fx)
}

// Devices returns the ids of the extension's registered devices, sorted.
func (s *Switch) Devices(extension int64) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ringDevicesLocked(extension, "")
}

// Sessions returns the active sessions in which the extension has a party,
// oldest first.
func (s *Switch) Sessions(extension int64) []Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Session
	for _, c := range s.sortedCallsLocked() {
		if slices.ContainsFunc(c.s.Parties, func(p Party) bool { return p.Owner == extension }) {
			out = append(out, c.s.clone())
		}
	}
	return out
}

// ActiveCalls is how many sessions are in progress: ringing, connected,
// held or in a conference.
func (s *Switch) ActiveCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

// Session returns an active session by its id (telephonySessionId).
func (s *Switch) Session(id string) (Session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.calls[id]
	if !ok {
		return Session{}, false
	}
	return c.s.clone(), true
}

// Close ends every call (503 "Service unavailable", result Failed), then
// waits, at most until ctx is done, for the call log to be written. Later
// dials fail with ErrClosed.
func (s *Switch) Close(ctx context.Context) {
	var fx effects
	s.mu.Lock()
	s.closed = true
	for _, c := range s.sortedCallsLocked() {
		if s.calls[c.s.ID] != c { // ended with a call bridged to it
			continue
		}
		s.endLocked(c, ending{code: 503, reason: "Service unavailable", caller: ResultFailed, callee: ResultFailed},
			CauseFailed, "", &fx)
	}
	s.mu.Unlock()
	s.finish(&fx)
	done := make(chan struct{})
	go func() {
		s.logs.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.cfg.Logger.Warn("call log not fully written at shutdown", slog.Any("err", ctx.Err()))
	}
}

func (s *Switch) sortedCallsLocked() []*call {
	out := make([]*call, 0, len(s.calls))
	for _, c := range s.calls {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *call) int {
		if c := a.s.Created.Compare(b.s.Created); c != 0 {
			return c
		}
		return strings.Compare(a.s.SessionID, b.s.SessionID)
	})
	return out
}

// DeviceExtension returns the extension of a registered device.
func (s *Switch) DeviceExtension(id string) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.devices[id]
	return d.ExtensionID, ok
}

// ringDevicesLocked lists the registered devices of an extension, but the
// dialling device, in a stable order.
func (s *Switch) ringDevicesLocked(ext int64, except string) []string {
	var ids []string
	for id, d := range s.devices {
		if d.ExtensionID == ext && id != except {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// emitLocked queues one event per extension taking part in the call.
func (s *Switch) emitLocked(c *call, cause Cause, device string) {
	var seen []int64
	for _, p := range c.s.Parties {
		if p.Owner != 0 && !slices.Contains(seen, p.Owner) {
			seen = append(seen, p.Owner)
			s.emitToLocked(p.Owner, c, cause, device)
		}
	}
}

// emitToLocked queues one event for one extension.
func (s *Switch) emitToLocked(ext int64, c *call, cause Cause, device string) {
	presence, seq := s.presence.CallsChanged(ext, s.partyStatesLocked(ext))
	s.queue = append(s.queue, Event{
		Extension: ext,
		Sequence:  seq,
		Session:   c.s.clone(),
		Presence:  presence,
		Cause:     cause,
		Device:    device,
		Quiet:     c.quiet,
	})
	if cf := c.conf; cf != nil {
		snap := cf.snapshot(cf.state())
		s.queue[len(s.queue)-1].Conference = &snap
	}
}

// newID returns prefix and 16 random hex digits.
func newID(prefix string) string {
	var b [8]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}
