package server

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/sip"
	"github.com/callbridge/widget-server/internal/store"
	"github.com/callbridge/widget-server/internal/telephony"
)

// Desk phones: SIP phones registered to an extension are devices of it
// that speak RTP (telephony.Device.RTP). deskPhones keeps the switch's
// device list in step with the registrar, rings a phone when the switch
// rings its device (an INVITE without an offer: the phone offers in its
// 200 and the switch answers it in the ACK), and carries the calls phones
// place. What the switch does to a call a phone is on reaches the phone
// from the switch's events: the end of ringing (CANCEL), the answer of a
// call it placed (200), the end of the call (BYE, or the failure code).

// Log lines of phones joining and leaving their extensions' devices.
const (
	logPhoneDevice  = "phone rings with its extension"
	logPhoneGone    = "phone no longer rings with its extension"
	logPhoneRinging = "phone ringing" // a call rings the phone: it answered 180 (debug)
)

// phoneDevice is the switch's device id of the phone with SIP username u.
func phoneDevice(u string) string { return "sip:" + u }

// phoneDevices answers the registrar's lookups from the store: a phone of
// an extension that is enabled and no department.
type phoneDevices struct {
	db       *store.DB
	accounts identity.AccountStore
}

func (d phoneDevices) LookupDevice(ctx context.Context, username string) (sip.Device, bool, error) {
	dev, err := d.db.SIPDeviceByUsername(ctx, username)
	if errors.Is(err, identity.ErrNotFound) {
		return sip.Device{}, false, nil
	}
	if err != nil {
		return sip.Device{}, false, err
	}
	ext, err := d.accounts.Extension(ctx, dev.ExtensionID)
	if errors.Is(err, identity.ErrNotFound) {
		return sip.Device{}, false, nil
	}
	if err != nil {
		return sip.Device{}, false, err
	}
	if !ext.Enabled() || ext.Department() {
		return sip.Device{}, false, nil
	}
	return sip.Device{ID: dev.ID, ExtensionID: dev.ExtensionID, Username: dev.Username, HA1: dev.HA1, Realm: dev.Realm}, true, nil
}

// phoneSwitch is what desk phones ask of the calls: the switch, or with a
// cluster the calls of every node (cluster.Calls).
type phoneSwitch interface {
	RegisterDevice(d telephony.Device) error
	UnregisterDevice(id string)
	Dial(ctx context.Context, device, to, offerSDP string) (telephony.Session, string, error)
	Answer(ctx context.Context, device, sessionID, offerSDP string) (telephony.Session, string, error)
	Reject(ctx context.Context, device, sessionID string) error
	Hangup(ctx context.Context, device, sessionID string) error
	Hold(ctx context.Context, device, sessionID string) error
	Unhold(ctx context.Context, device, sessionID string) error
	DeviceOffer(ctx context.Context, device, sessionID, offerSDP string) (string, error)
	// Rejoin connects the phone's audio again to a call whose audio
	// moved to another node (telephony.CauseRejoin).
	Rejoin(ctx context.Context, device, sessionID, offerSDP string) (telephony.Session, string, error)
	Session(id string) (telephony.Session, bool)
}

// deskPhones carries the calls of registered phones.
type deskPhones struct {
	log *slog.Logger
	ua  func() *sip.UA // the user agent once started

	mu      sync.Mutex
	through phoneSwitch
	phones  map[string]telephony.Device // the phones registered here, by device id
	calls   map[phoneKey]*phoneCall
}

// phoneKey is a call as a phone has it: its session and the phone's device.
type phoneKey struct{ session, device string }

// phoneCall is the SIP side of a phone's part in a call.
type phoneCall struct {
	placed   bool      // the phone placed the call (else it was rung)
	call     *sip.Call // nil until the INVITE is sent
	answer   string    // of a call the phone placed: the SDP answer to give it
	answered bool      // the phone's dialog is connected
	done     bool      // ended, or being ended
}

func newDeskPhones(sw phoneSwitch, log *slog.Logger) *deskPhones {
	return &deskPhones{through: sw, log: log, phones: map[string]telephony.Device{}, calls: map[phoneKey]*phoneCall{},
		ua: func() *sip.UA { return nil }}
}

// sw is the switch the phones' calls go to.
func (d *deskPhones) sw() phoneSwitch {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.through
}

// useCalls makes sw, the calls of every node of a cluster, the phones'
// switch: the phones registered so far become devices of the cluster.
func (d *deskPhones) useCalls(sw phoneSwitch) {
	d.mu.Lock()
	d.through = sw
	phones := slices.Collect(maps.Values(d.phones))
	d.mu.Unlock()
	for _, dev := range phones {
		if err := sw.RegisterDevice(dev); err != nil {
			d.log.Warn("phone not registered with the cluster", slog.String("device", dev.ID), slog.Any("err", err))
		}
	}
}

// registration keeps the switch's devices in step with the registrar: a
// phone is a device while it has a binding.
func (d *deskPhones) registration(b sip.Binding, registered bool) {
	id := phoneDevice(b.Device.Username)
	if registered {
		dev := telephony.Device{ID: id, ExtensionID: b.Device.ExtensionID, RTP: true}
		if err := d.sw().RegisterDevice(dev); err != nil {
			d.log.Warn("phone not registered with the switch", slog.String("device", id), slog.Any("err", err))
			return
		}
		d.mu.Lock()
		d.phones[id] = dev
		d.mu.Unlock()
		d.log.Info(logPhoneDevice, slog.String("device", id), slog.Int64("extensionId", b.Device.ExtensionID))
		return
	}
	if ua := d.ua(); ua == nil || len(ua.Registered(b.Device.Username)) == 0 {
		d.mu.Lock()
		delete(d.phones, id)
		d.mu.Unlock()
		d.sw().UnregisterDevice(id)
		d.log.Info(logPhoneGone, slog.String("device", id), slog.Int64("extensionId", b.Device.ExtensionID))
	}
}

// event follows the switch's events for the phones they concern that
// registered here: with a cluster, another node's phones are that node's.
func (d *deskPhones) event(ev telephony.Event) {
	s := ev.Session
	d.mu.Lock()
	if _, here := d.phones[ev.Device]; here && ev.Cause == telephony.CauseRejoin && !ev.Quiet {
		if pc := d.calls[phoneKey{s.ID, ev.Device}]; pc != nil && pc.call != nil && !pc.done {
			go d.rejoin(s.ID, ev.Device, pc.call)
		}
	}
	devs := slices.DeleteFunc(phonesOf(s), func(dev string) bool { _, here := d.phones[dev]; return !here })
	for k := range d.calls { // also the phones it stopped ringing: answered elsewhere, gone to voicemail
		if k.session == s.ID && !slices.Contains(devs, k.device) {
			devs = append(devs, k.device)
		}
	}
	d.mu.Unlock()
	for _, dev := range devs {
		d.follow(s, dev)
	}
}

// phonesOf lists the phone devices a session rings or is carried on.
func phonesOf(s telephony.Session) []string {
	var out []string
	add := func(dev string) {
		if strings.HasPrefix(dev, "sip:") && !slices.Contains(out, dev) {
			out = append(out, dev)
		}
	}
	for _, p := range s.Parties {
		add(p.Device)
		for _, dev := range p.Ringing {
			add(dev)
		}
	}
	return out
}

// follow brings the phone dev's dialog in line with session s: ring it,
// answer the call it placed, end what ended for it.
func (d *deskPhones) follow(s telephony.Session, dev string) {
	key := phoneKey{s.ID, dev}
	var party *telephony.Party
	rings := false
	for i, p := range s.Parties {
		if p.Device == dev {
			party = &s.Parties[i]
		}
		rings = rings || slices.Contains(p.Ringing, dev)
	}
	over := !s.Ended.IsZero() || (party == nil && !rings) || (party != nil && party.Status == telephony.StatusDisconnected)

	d.mu.Lock()
	pc := d.calls[key]
	switch {
	case pc == nil && rings && !over:
		pc = &phoneCall{}
		d.calls[key] = pc
		d.mu.Unlock()
		go d.ring(s, dev, pc)
		return
	case pc == nil || pc.done:
	case over:
		pc.done = true
		delete(d.calls, key)
		c, placed, answered := pc.call, pc.placed, pc.answered
		d.mu.Unlock()
		if c != nil {
			go endPhoneCall(c, placed, answered, party)
		}
		return
	case pc.placed && !pc.answered && party != nil && party.Status == telephony.StatusAnswered:
		pc.answered = true
		c, answer := pc.call, pc.answer
		d.mu.Unlock()
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), sipAnswerWait)
			defer cancel()
			if err := c.Answer(ctx, answer); err != nil {
				d.log.Info("phone's call not answered", slog.String("device", dev), slog.Any("err", err))
			}
		}()
		return
	}
	d.mu.Unlock()
}

// rejoin asks the phone dev, whose call's audio moved to another node, for
// a new offer (a re-INVITE without one), which that node answers. A
// re-INVITE of the phone's own in progress, or crossing this one (491),
// is waited out as RFC 3261 14.1 says, twice at most; a phone that cannot
// connect again is hung up: it would hear nothing.
func (d *deskPhones) rejoin(id, dev string, c *sip.Call) {
	log := d.log.With(slog.String("device", dev), slog.String("telephonySessionId", id))
	var err error
	for try := 0; try < 3; try++ {
		if try > 0 {
			time.Sleep(2100*time.Millisecond + time.Duration(rand.N(1900))*time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(context.Background(), sipAnswerWait)
		err = c.Reoffer(ctx, func(offer string) (string, error) {
			_, answer, err := d.sw().Rejoin(ctx, dev, id, offer)
			return answer, err
		})
		cancel()
		var re *sip.ResponseError
		if err == nil || !errors.Is(err, sip.ErrCallState) && !(errors.As(err, &re) && re.Code == 491) {
			break
		}
	}
	if err == nil {
		log.Info("phone connected again to its call, moved to another node")
		return
	}
	log.Warn("phone not connected again to its call, moved to another node: hung up", slog.Any("err", err))
	_ = d.sw().Hangup(context.Background(), dev, id)
}

// sipAnswerWait bounds a wait for a phone's answer to a request (64*T1).
const sipAnswerWait = 32 * time.Second

// endPhoneCall ends a phone's dialog that the switch ended: a call it
// placed is refused with the failure its party got (480 without one)
// before the answer, a ringing phone cancelled, a connected one hung up.
func endPhoneCall(c *sip.Call, placed, answered bool, party *telephony.Party) {
	switch {
	case placed && !answered:
		code, reason := 480, "Temporarily Unavailable"
		if party != nil && party.Code >= 400 {
			code, reason = party.Code, party.Reason
		}
		_ = c.Reject(code, reason)
	case !answered:
		c.Cancel()
	default:
		ctx, cancel := context.WithTimeout(context.Background(), sipAnswerWait)
		defer cancel()
		_ = c.Bye(ctx)
	}
}

// ring sends phone dev the INVITE of session s, which rings it.
func (d *deskPhones) ring(s telephony.Session, dev string, pc *phoneCall) {
	ua := d.ua()
	var bindings []sip.Binding
	if ua != nil {
		bindings = ua.Registered(strings.TrimPrefix(dev, "sip:"))
	}
	decline := func(err error) {
		d.log.Info("phone not rung", slog.String("device", dev), slog.String("telephonySessionId", s.ID), slog.Any("err", err))
		d.forget(s.ID, dev, pc)
		_ = d.sw().Reject(context.Background(), dev, s.ID) // it stops ringing there
	}
	if len(bindings) == 0 {
		decline(sip.ErrNotRegistered)
		return
	}
	from := s.Parties[0].From
	ctx, cancel := context.WithTimeout(context.Background(), sipAnswerWait)
	defer cancel()
	c, err := ua.InviteDevice(ctx, bindings[len(bindings)-1], sip.OutboundCall{CallerID: from.PhoneNumber, CallerName: from.Name},
		d.phoneEvents(s.ID, dev, pc))
	if err != nil {
		decline(err)
		return
	}
	d.mu.Lock()
	pc.call = c
	done := pc.done
	d.mu.Unlock()
	if done { // it stopped ringing there meanwhile
		c.Cancel()
	}
}

// forget drops pc, the phone's part in session id.
func (d *deskPhones) forget(id, dev string, pc *phoneCall) {
	d.mu.Lock()
	defer d.mu.Unlock()
	pc.done = true
	if d.calls[phoneKey{id, dev}] == pc {
		delete(d.calls, phoneKey{id, dev})
	}
}

// phoneEvents are what the phone dev reports of its part in session id.
func (d *deskPhones) phoneEvents(id, dev string, pc *phoneCall) sip.Events {
	ctx := context.Background()
	gone := func() bool { // the phone ended its part: the switch is told once
		d.mu.Lock()
		defer d.mu.Unlock()
		if pc.done {
			return false
		}
		pc.done = true
		delete(d.calls, phoneKey{id, dev})
		return true
	}
	return sip.Events{
		Progress: func(code int, _ string) {
			if code == 180 {
				d.log.Debug(logPhoneRinging, slog.String("device", dev), slog.String("telephonySessionId", id))
			}
		},
		AnswerOffer: func(offer string) (string, error) {
			_, answer, err := d.sw().Answer(ctx, dev, id, offer)
			if err != nil {
				return "", err
			}
			d.mu.Lock()
			pc.answered = true
			d.mu.Unlock()
			return answer, nil
		},
		Failed: func(f sip.Failure) {
			if gone() && f.Code != 487 {
				_ = d.sw().Reject(ctx, dev, id) // busy, declined or unreachable: it stops ringing there
			}
		},
		Canceled: func() {
			if gone() {
				_ = d.sw().Hangup(ctx, dev, id)
			}
		},
		Ended: func(sip.EndCause) {
			if gone() {
				_ = d.sw().Hangup(ctx, dev, id)
			}
		},
		Offer: func(sdp string) (string, error) {
			answer, err := d.sw().DeviceOffer(ctx, dev, id, sdp)
			if err != nil {
				return "", err
			}
			if offerHolds(sdp) {
				_ = d.sw().Hold(ctx, dev, id)
			} else if s, ok := d.sw().Session(id); ok && heldOn(s, dev) {
				_ = d.sw().Unhold(ctx, dev, id)
			}
			return answer, nil
		},
	}
}

// heldOn reports whether the party on device dev is held.
func heldOn(s telephony.Session, dev string) bool {
	for _, p := range s.Parties {
		if p.Device == dev && p.Status == telephony.StatusHold {
			return true
		}
	}
	return false
}

// offerHolds reports whether an SDP offer puts the call on hold: its
// audio sendonly or inactive, or (RFC 2543's way) sent to 0.0.0.0.
func offerHolds(sdp string) bool {
	for _, line := range strings.Split(sdp, "\n") {
		switch strings.TrimSpace(line) {
		case "a=sendonly", "a=inactive", "c=IN IP4 0.0.0.0":
			return true
		}
	}
	return false
}

// DeviceCall takes a call a phone places: the switch dials for its device,
// and the phone hears 180 while it rings, 200 when it is answered, the
// failure otherwise (follow).
func (d *deskPhones) DeviceCall(c *sip.Call, dev sip.Device, o sip.Offer) sip.Events {
	id := phoneDevice(dev.Username)
	s, answer, err := d.sw().Dial(context.Background(), id, o.To, o.SDP)
	if err != nil {
		code, reason := phoneRefusal(err)
		d.log.Info("phone's call refused", slog.String("device", id), slog.String("to", o.To), slog.Any("err", err))
		_ = c.Reject(code, reason)
		return sip.Events{}
	}
	pc := &phoneCall{placed: true, call: c, answer: answer}
	d.mu.Lock()
	d.calls[phoneKey{s.ID, id}] = pc
	d.mu.Unlock()
	_ = c.Ring("")
	// What happened before the call was kept: a call the switch no longer
	// has ended (it failed at once), and follow refuses it.
	if now, ok := d.sw().Session(s.ID); ok {
		d.follow(now, id)
	} else {
		if s.Ended.IsZero() {
			s.Ended = s.Created
		}
		d.follow(s, id)
	}
	return d.phoneEvents(s.ID, id, pc)
}

// phoneRefusal is the SIP response to a call the switch would not place.
func phoneRefusal(err error) (int, string) {
	switch {
	case errors.Is(err, telephony.ErrBadNumber):
		return 484, "Address Incomplete"
	case errors.Is(err, telephony.ErrNoDevice):
		return 403, "Forbidden"
	case errors.Is(err, telephony.ErrTooManyCalls):
		return 486, "Busy Here"
	}
	return 500, "Server Internal Error"
}
