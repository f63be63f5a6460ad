package bridge

import (
	"github.com/callbridge/widget-server/internal/telephony"
)

// transferView is a transfer as its transferor's device was told of it.
type transferView struct {
	ext    int64
	device string
	call   WebphoneCall // the transferor's call when it left
	target string
}

// transfer is rc-call-transfer-notify for the transferor's device: its
// party left the call with result Transferred at "transferStarted"; at
// "transferCompleted" (the target answered) or "transferFailed" (the call
// rings the transferor's devices again, seeds/004 call:transferring and
// call:transferred, seeds/002 TransferComplete) the transfer is over. A
// warm transfer completes at once ("transferCompleted" with the target in
// the event). The other extensions of the call hear of it through their
// sessions.
func (m *CallMapper) transfer(ev telephony.Event) []Envelope {
	s := ev.Session
	var x transferView
	var state string
	switch ev.Cause {
	case telephony.CauseTransferStarted:
		p, ok := transferorOf(s, ev.Extension)
		if !ok {
			return nil
		}
		x = transferView{ext: ev.Extension, device: ev.Device, call: m.callOf(s, p), target: transferTarget(s)}
		m.transfers[s.ID] = x
		state = TransferStarted
	case telephony.CauseTransferCompleted, telephony.CauseTransferFailed:
		var ok bool
		if x, ok = m.transfers[s.ID]; !ok && ev.Target != (telephony.Endpoint{}) {
			// A warm transfer (the switch's Bridge) completes at once.
			p, left := transferorOf(s, ev.Extension)
			if !left {
				return nil
			}
			x, ok = transferView{ext: ev.Extension, device: ev.Device, call: m.callOf(s, p), target: dialable(ev.Target)}, true
		}
		if !ok || x.ext != ev.Extension {
			return nil
		}
		delete(m.transfers, s.ID)
		x.call.IsOnTransfer = false
		state = TransferCompleted
		if ev.Cause == telephony.CauseTransferFailed {
			state = TransferFailed
			if p, ok := partyOf(s, ev.Extension); ok && p.Status != telephony.StatusDisconnected {
				x.call = webphoneCall(s, p) // the recall, which rings
			}
		}
	default:
		return nil
	}
	if x.device == "" {
		return nil
	}
	return []Envelope{{To: x.device, Message: CallTransferNotify{Type: EventCallTransfer, Call: x.call, State: state, Target: x.target}}}
}

// callOf is party p's call; a party that left a call which goes on (a
// transfer, a forward) ended now, as far as its devices are concerned.
func (m *CallMapper) callOf(s telephony.Session, p telephony.Party) WebphoneCall {
	if p.Status == telephony.StatusDisconnected && s.Ended.IsZero() {
		s.Ended = m.now()
	}
	return webphoneCall(s, p)
}

// transferorOf returns the party of ext that transferred the call and left it.
func transferorOf(s telephony.Session, ext int64) (telephony.Party, bool) {
	for _, p := range s.Parties {
		if p.Owner == ext && p.Status == telephony.StatusDisconnected && p.Result == telephony.ResultTransferred {
			return p, true
		}
	}
	return telephony.Party{}, false
}

// transferTarget is the number a transfer rings: the callee of its first
// ringing party. The transferee is Parties[0] once a transfer started.
func transferTarget(s telephony.Session) string {
	for i, p := range s.Parties {
		if i > 0 && p.Status != telephony.StatusDisconnected {
			return dialable(p.To)
		}
	}
	return ""
}
