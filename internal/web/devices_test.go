package web

import (
	"sync"
	"testing"

	"github.com/callbridge/widget-server/internal/telephony"
)

// unregisters records the devices a switch was told to forget.
type unregisters struct {
	stubSwitch
	mu   sync.Mutex
	gone []string
}

func (u *unregisters) UnregisterDevice(id string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.gone = append(u.gone, id)
}

// TestDevicesStop: stop ends the grace periods of devices whose stream
// closed, so nothing started by the widget's server outlives its shutdown;
// no grace period starts after it, and the devices stay as they were.
func TestDevicesStop(t *testing.T) {
	sw := &unregisters{}
	d := &devices{maxStreams: 4, maxDevices: 4}
	for _, id := range []string{"dev-1", "dev-2"} {
		if err := d.attach(sw, "sid", telephony.Device{ID: id, ExtensionID: 1}); err != nil {
			t.Fatal(err)
		}
	}
	d.detach(sw, "dev-1") // in its grace period
	d.mu.Lock()
	timers := len(d.timers)
	d.mu.Unlock()
	if timers != 1 {
		t.Fatalf("%d grace periods, want 1", timers)
	}
	d.stop() // returns once no timer is pending or running
	d.detach(sw, "dev-2")
	d.mu.Lock()
	timers = len(d.timers)
	d.mu.Unlock()
	if timers != 0 {
		t.Errorf("%d grace periods after stop", timers)
	}
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if len(sw.gone) != 0 {
		t.Errorf("devices unregistered by a grace period after stop: %v", sw.gone)
	}
}
