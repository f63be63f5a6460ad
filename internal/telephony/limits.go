package telephony

import (
	"errors"
	"fmt"
)

// Defaults of the per-device and per-extension call caps (Config).
const (
	DefaultMaxCallsPerDevice    = 4
	DefaultMaxCallsPerExtension = 20
)

// ErrTooManyCalls: the device or its extension already carries as many
// calls as it may; the call is refused before any media leg opens.
var ErrTooManyCalls = errors.New("too many calls")

// ErrDeviceTaken: the device id is registered to another extension.
var ErrDeviceTaken = errors.New("device registered to another extension")

// callsCarriedLocked counts the active calls whose media a device carries,
// and those carried by any device of ext. A call only ringing a device does
// not count: ringing opens no media leg.
func (s *Switch) callsCarriedLocked(device string, ext int64) (byDevice, byExtension int) {
	for _, c := range s.calls {
		onDevice, onExt := false, false
		for _, p := range c.s.Parties {
			if p.Device == "" {
				continue
			}
			onDevice = onDevice || p.Device == device
			onExt = onExt || p.Owner == ext
		}
		if c.answering == device {
			onDevice, onExt = true, true
		}
		if onDevice {
			byDevice++
		}
		if onExt {
			byExtension++
		}
	}
	return byDevice, byExtension
}

// checkCapLocked refuses one more call on device (of ext) past the caps.
func (s *Switch) checkCapLocked(device string, ext int64) error {
	byDevice, byExt := s.callsCarriedLocked(device, ext)
	switch {
	case byDevice >= s.cfg.MaxCallsPerDevice:
		return fmt.Errorf("device %s carries %d calls, the most it may: %w", device, byDevice, ErrTooManyCalls)
	case byExt >= s.cfg.MaxCallsPerExtension:
		return fmt.Errorf("extension %d carries %d calls, the most it may: %w", ext, byExt, ErrTooManyCalls)
	}
	return nil
}
