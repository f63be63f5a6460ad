package sip

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/siptest"
)

// These tests play desk phones with SIPp (testdata/phone_*.xml) against a
// UA whose registrar knows one device, 101-desk.

const phonePassword = "desk-secret-1"

func phoneDevices() deviceMap {
	return deviceMap{"101-desk": {ID: 7, ExtensionID: 3, Username: "101-desk", HA1: HA1("101-desk", DefaultRealm, phonePassword), Realm: DefaultRealm}}
}

// newDeviceUA starts a UA on 127.0.0.1 (UDP and TCP, free ports) with the
// registrar on and no trunk, closed when the test ends.
func newDeviceUA(t *testing.T, h DeviceHandler) (*UA, *regLog) {
	t.Helper()
	log := newRegLog()
	u := startUA(t, Config{
		Listen:         []Listen{{Transport: UDP, Addr: "127.0.0.1:0"}, {Transport: TCP, Addr: "127.0.0.1:0"}},
		Devices:        phoneDevices(),
		DeviceHandler:  h,
		OnRegistration: log.add,
	})
	return u, log
}

// registerPhone registers 101-desk from SIPp on port and returns its
// binding; SIPp has exited, the port is free for the next scenario.
func registerPhone(t *testing.T, u *UA, log *regLog, port int) Binding {
	t.Helper()
	startSIPp(t, port, "phone_register_stay.xml", "-m", "1", udpAddr(t, u)).Finish()
	e := log.next(t)
	if !e.up || e.b.Source.Port() != uint16(port) || e.b.Transport != UDP {
		t.Fatalf("report %+v, want 101-desk registered from port %d over udp", e, port)
	}
	return e.b
}

func TestPhoneRegistersWithDigestAndUnregisters(t *testing.T) {
	u, log := newDeviceUA(t, nil)
	port := siptest.FreeUDPPort(t)
	phone := startSIPp(t, port, "phone_register.xml", "-m", "1", udpAddr(t, u))
	e := log.next(t)
	if !e.up || e.b.Device.Username != "101-desk" || e.b.Device.ID != 7 || e.b.Device.HA1 != "" ||
		!strings.HasPrefix(e.b.Contact, "sip:101-desk@127.0.0.1:") || e.b.Source.Port() != uint16(port) ||
		e.b.UserAgent != "SIPp desk phone" {
		t.Errorf("registered %+v", e)
	}
	if d := time.Until(e.b.Expires); d > 120*time.Second || d < 60*time.Second {
		t.Errorf("binding runs out in %s, want the 120 s asked for", d)
	}
	if e := log.next(t); e.up || e.b.Device.Username != "101-desk" {
		t.Errorf("report %+v, want 101-desk unregistered", e)
	}
	phone.Finish()
	if got := u.Registered("101-desk"); len(got) != 0 {
		t.Errorf("Registered after unregistering = %+v", got)
	}
}

func TestPhoneWithWrongPasswordRefused(t *testing.T) {
	u, log := newDeviceUA(t, nil)
	phone := startSIPp(t, siptest.FreeUDPPort(t), "phone_register_wrong_password.xml", "-m", "1", udpAddr(t, u))
	phone.Finish()
	log.none(t)
	if got := u.Registered("101-desk"); len(got) != 0 {
		t.Errorf("Registered = %+v", got)
	}
}

func TestInviteDeviceRingsRegisteredPhone(t *testing.T) {
	u, log := newDeviceUA(t, nil)
	port := siptest.FreeUDPPort(t)
	b := registerPhone(t, u, log, port)
	if got := u.Registered("101-desk"); len(got) != 1 || got[0] != b {
		t.Fatalf("Registered = %+v, want %+v", got, b)
	}
	phone := startSIPp(t, port, "phone_answer.xml", "-m", "1")
	rec := newRecorder()
	c, err := u.InviteDevice(context.Background(), b, OutboundCall{CallerID: "+16505550100", CallerName: "Alice", SDP: offerSDP}, rec.events())
	if err != nil {
		t.Fatal(err)
	}
	if dev, ok := c.Device(); !ok || dev.Username != "101-desk" || c.Trunk() != "" || c.Direction() != Outbound {
		t.Errorf("call's device %+v %v, trunk %q, direction %s", dev, ok, c.Trunk(), c.Direction())
	}
	e := rec.answered(t, func(e event) {
		if e.code != 180 {
			t.Errorf("progress %d, want 180", e.code)
		}
	})
	if !strings.Contains(e.sdp, "o=phone-answer") {
		t.Errorf("answer %q", e.sdp)
	}
	bye(t, c)
	phone.Finish()
	if n := u.CallCount(); n != 0 {
		t.Errorf("%d calls left", n)
	}
}

// deviceCallIn is one call a phone placed, as the handler got it.
type deviceCallIn struct {
	c   *Call
	dev Device
	o   Offer
}

// answeringDevices rings, then answers every call from a phone.
type answeringDevices struct {
	calls chan deviceCallIn
	rec   *recorder
	errs  chan error
}

func newAnsweringDevices() *answeringDevices {
	return &answeringDevices{calls: make(chan deviceCallIn, 1), rec: newRecorder(), errs: make(chan error, 1)}
}

func (h *answeringDevices) DeviceCall(c *Call, dev Device, o Offer) Events {
	h.calls <- deviceCallIn{c, dev, o}
	go ringThenAnswer(c, h.errs)
	return h.rec.events()
}

func (h *answeringDevices) check(t *testing.T) {
	t.Helper()
	var in deviceCallIn
	select {
	case in = <-h.calls:
	case <-time.After(wait):
		t.Fatal("no call from the phone")
	}
	want := Device{ID: 7, ExtensionID: 3, Username: "101-desk", Realm: DefaultRealm}
	if in.dev != want {
		t.Errorf("device %+v, want %+v", in.dev, want)
	}
	if in.o.To != "102" || in.o.From != "101-desk" || in.o.FromName != "Desk 101" || in.o.Trunk != "" || !strings.Contains(in.o.SDP, "o=phone-offer") {
		t.Errorf("offer %+v", in.o)
	}
	if dev, ok := in.c.Device(); !ok || dev != want || in.c.Direction() != Inbound {
		t.Errorf("call's device %+v %v, direction %s", dev, ok, in.c.Direction())
	}
	if err := <-h.errs; err != nil {
		t.Fatalf("answer: %v", err)
	}
	if e := h.rec.next(t, "ended"); e.cause != EndRemoteBye {
		t.Errorf("ended by %s", e.cause)
	}
}

func TestRegisteredPhoneCalls(t *testing.T) {
	h := newAnsweringDevices()
	u, log := newDeviceUA(t, h)
	port := siptest.FreeUDPPort(t)
	registerPhone(t, u, log, port)
	// From the address it registered from, the phone's INVITE needs no
	// challenge.
	phone := startSIPp(t, port, "phone_call.xml", "-m", "1", udpAddr(t, u))
	h.check(t)
	phone.Finish()
}

func TestPhoneCallAuthenticatedByDigest(t *testing.T) {
	h := newAnsweringDevices()
	u, _ := newDeviceUA(t, h)
	phone := startSIPp(t, siptest.FreeUDPPort(t), "phone_call_auth.xml", "-m", "1", udpAddr(t, u))
	h.check(t)
	phone.Finish()
}

// TestInviteDeviceDelayedOffer: a phone rung without an offer offers in
// its 200; the answer goes in the ACK.
func TestInviteDeviceDelayedOffer(t *testing.T) {
	u, log := newDeviceUA(t, nil)
	port := siptest.FreeUDPPort(t)
	b := registerPhone(t, u, log, port)
	phone := startSIPp(t, port, "phone_answer_delayed.xml", "-m", "1")
	rec := newRecorder()
	ev := rec.events()
	offers := make(chan string, 1)
	ev.AnswerOffer = func(offer string) (string, error) {
		offers <- offer
		return strings.Replace(offerSDP, "callbridge-offer", "callbridge-answer", 1), nil
	}
	c, err := u.InviteDevice(context.Background(), b, OutboundCall{CallerID: "+16505550100", CallerName: "Alice"}, ev)
	if err != nil {
		t.Fatal(err)
	}
	if e := rec.next(t, "answered"); !strings.Contains(e.sdp, "o=phone-offer") {
		t.Errorf("answered with %q, want the phone's offer", e.sdp)
	}
	if offer := <-offers; !strings.Contains(offer, "o=phone-offer") {
		t.Errorf("AnswerOffer got %q", offer)
	}
	bye(t, c)
	phone.Finish() // the ACK carried the answer
}

// TestReofferAsksThePhone: a re-INVITE without an offer gets the phone's
// new offer in its 200, and the ACK carries the answer given for it. When
// no answer can be given, the ACK carries the offer back unchanged and
// the call ends (a BYE), since its media cannot go on.
func TestReofferAsksThePhone(t *testing.T) {
	u, log := newDeviceUA(t, nil)
	port := siptest.FreeUDPPort(t)
	b := registerPhone(t, u, log, port)
	phone := startSIPp(t, port, "phone_reoffer.xml", "-m", "1")
	rec := newRecorder()
	ev := rec.events()
	answer := strings.Replace(offerSDP, "callbridge-offer", "callbridge-answer", 1)
	ev.AnswerOffer = func(string) (string, error) { return answer, nil }
	c, err := u.InviteDevice(context.Background(), b, OutboundCall{CallerID: "+16505550100", CallerName: "Alice"}, ev)
	if err != nil {
		t.Fatal(err)
	}
	rec.next(t, "answered")

	var offered string
	err = c.Reoffer(context.Background(), func(offer string) (string, error) {
		offered = offer
		return answer, nil
	})
	if err != nil || !strings.Contains(offered, "o=phone-reoffer 1 2") || !strings.Contains(c.RemoteSDP(), "o=phone-reoffer 1 2") {
		t.Fatalf("Reoffer: %v; offered %q, remote %q", err, offered, c.RemoteSDP())
	}
	err = c.Reoffer(context.Background(), func(string) (string, error) { return "", errors.New("no leg for it") })
	if err == nil {
		t.Fatal("a re-offer left unanswered succeeded")
	}
	if e := rec.next(t, "ended"); e.cause != EndDialogGone {
		t.Fatalf("ended %+v, want EndDialogGone", e)
	}
	phone.Finish() // each ACK carried what was due, and the BYE came
}
