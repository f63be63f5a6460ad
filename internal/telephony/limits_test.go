package telephony_test

import (
	"context"
	"errors"
	"testing"

	"github.com/callbridge/widget-server/internal/telephony"
)

// TestDeviceNotTakenOver: an id registered to one extension cannot be
// registered again by another; the first registration keeps working.
func TestDeviceNotTakenOver(t *testing.T) {
	r := newRig(t)
	if err := r.sw.RegisterDevice(telephony.Device{ID: "a1", ExtensionID: bob}); !errors.Is(err, telephony.ErrDeviceTaken) {
		t.Fatalf("bob registering alice's device: %v", err)
	}
	s := r.dial(t, "a1", "102")
	if s.Parties[0].Owner != alice {
		t.Fatalf("a1 dials as %d, want alice", s.Parties[0].Owner)
	}
	if err := r.sw.RegisterDevice(telephony.Device{ID: "a1", ExtensionID: alice}); err != nil {
		t.Fatalf("registering again for the same extension: %v", err)
	}
	if err := r.sw.RegisterDevice(telephony.Device{}); err == nil {
		t.Fatal("an empty device id was registered")
	}
}

// TestCallCaps: a device carries at most MaxCallsPerDevice calls and an
// extension's devices MaxCallsPerExtension; past either, dialling and
// answering are refused with ErrTooManyCalls and nothing changes.
func TestCallCaps(t *testing.T) {
	ctx := context.Background()
	t.Run("per device", func(t *testing.T) {
		r := newRig(t, func(c *telephony.Config) { c.MaxCallsPerDevice = 2 })
		r.dial(t, "a1", "102")
		r.dial(t, "a1", "103")
		before := len(r.sw.Sessions(alice))
		if _, _, err := r.sw.Dial(ctx, "a1", "+15550107", "offer"); !errors.Is(err, telephony.ErrTooManyCalls) {
			t.Fatalf("third call on a1: %v", err)
		}
		if got := len(r.sw.Sessions(alice)); got != before {
			t.Fatalf("a refused dial left %d sessions, want %d", got, before)
		}
	})
	t.Run("per extension", func(t *testing.T) {
		r := newRig(t, func(c *telephony.Config) { c.MaxCallsPerExtension = 1 })
		r.dial(t, "b1", "101")
		if _, _, err := r.sw.Dial(ctx, "b2", "103", "offer"); !errors.Is(err, telephony.ErrTooManyCalls) {
			t.Fatalf("second call of bob on another device: %v", err)
		}
		r.dial(t, "c1", "101") // carol is under her own cap
	})
	t.Run("answer", func(t *testing.T) {
		r := newRig(t, func(c *telephony.Config) { c.MaxCallsPerDevice = 1 })
		r.dial(t, "b1", "+15550107")
		s := r.dial(t, "a1", "102")
		if _, _, err := r.sw.Answer(ctx, "b1", s.ID, "offer-b1"); !errors.Is(err, telephony.ErrTooManyCalls) {
			t.Fatalf("answer on a full device: %v", err)
		}
		if _, _, err := r.sw.Answer(ctx, "b2", s.ID, "offer-b2"); err != nil {
			t.Fatalf("answer on bob's other device: %v", err)
		}
	})
}
