package bridge

import (
	"slices"

	"github.com/callbridge/widget-server/internal/telephony"
)

// move is what the owner's devices hear while a call of theirs moves
// between them (the switch's Move and Pickup): the devices it is offered to
// ring (rc-call-ring-notify, the call as it will start there) until they
// take it or the offer ends (rc-call-end-notify). Once it moved, the device
// that took it starts it (rc-call-start-notify), the device it left ends
// it with reason "moved" (rc-call-end-notify), and every device of the
// user hears rc-call-moved-notify with the device that took it (CONTRACT §3).
func (m *CallMapper) move(ev telephony.Event, p telephony.Party) []Envelope {
	s := ev.Session
	var out []Envelope
	send := func(device string, msg any) { out = append(out, Envelope{To: device, Message: msg}) }
	told := m.ringing[p.ID]
	if told == nil {
		told = map[string]bool{}
		m.ringing[p.ID] = told
	}
	call := m.callOf(s, p)
	offered := call
	offered.CallStatus = callStatus[telephony.StatusSetup]
	ended := call
	ended.CallStatus = callStatus[telephony.StatusDisconnected]
	for _, d := range p.Offered {
		if !told[d] {
			told[d] = true
			send(d, CallNotify{Type: EventCallRing, Call: offered})
		}
	}
	if ev.Cause == telephony.CauseMoved {
		send(p.Device, CallNotify{Type: EventCallStart, Call: call})
		left := ended
		left.EndTime, left.Reason = m.now().UnixMilli(), reasonMoved
		send(ev.Device, CallNotify{Type: EventCallEnd, Call: left})
	}
	for _, d := range sortedKeys(told) {
		if !slices.Contains(p.Offered, d) {
			delete(told, d)
			if d != p.Device {
				send(d, CallNotify{Type: EventCallEnd, Call: ended})
			}
		}
	}
	if len(told) == 0 {
		delete(m.ringing, p.ID)
	}
	if ev.Cause == telephony.CauseMoved {
		out = append(out, Envelope{Message: CallMovedNotify{Type: EventCallMoved, Call: call, ToDeviceID: p.Device}})
	}
	return out
}

// reasonMoved is the reason of rc-call-end-notify on the device a call left
// for another of its user's devices.
const reasonMoved = "moved"
