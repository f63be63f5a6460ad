package sip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// These tests drive the registrar's handler directly with parsed
// requests and a transaction that records the response (fakeTx); sipp_test.go and
// device_sipp_test.go run it against real phones.

// deviceMap is the server's Devices in tests.
type deviceMap map[string]Device

func (m deviceMap) LookupDevice(_ context.Context, username string) (Device, bool, error) {
	if username == "broken" {
		return Device{}, false, errors.New("database unavailable")
	}
	d, ok := m[username]
	return d, ok, nil
}

const deskPassword = "correct horse battery"

func testDevices() deviceMap {
	return deviceMap{
		"101-desk":  {ID: 7, ExtensionID: 3, Username: "101-desk", HA1: HA1("101-desk", DefaultRealm, deskPassword), Realm: DefaultRealm},
		"102-soft":  {ID: 8, ExtensionID: 4, Username: "102-soft", HA1: HA1("102-soft", DefaultRealm, "another secret"), Realm: DefaultRealm},
		"old-realm": {ID: 9, ExtensionID: 4, Username: "old-realm", HA1: HA1("old-realm", "elsewhere", deskPassword), Realm: "elsewhere"},
	}
}

// regLog collects OnRegistration's reports.
type regLog struct{ ch chan regEvent }

func newRegLog() *regLog { return &regLog{ch: make(chan regEvent, 64)} }

func (l *regLog) add(b Binding, up bool) { l.ch <- regEvent{b, up} }

// next returns the next report, waiting for it.
func (l *regLog) next(t *testing.T) regEvent {
	t.Helper()
	select {
	case e := <-l.ch:
		return e
	case <-time.After(wait):
		t.Fatal("no registration report")
		return regEvent{}
	}
}

// none checks that nothing was reported: the handler reports before it
// returns.
func (l *regLog) none(t *testing.T) {
	t.Helper()
	select {
	case e := <-l.ch:
		t.Fatalf("unexpected report %+v", e)
	default:
	}
}

// newRegistrarUA is a UA with the registrar on that does not listen: its
// handlers are called directly.
func newRegistrarUA(t *testing.T, devices Devices) (*UA, *regLog) {
	t.Helper()
	log := newRegLog()
	u, err := New(Config{Listen: []Listen{{Transport: UDP, Addr: "127.0.0.1:0"}}, Devices: devices,
		OnRegistration: log.add, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	u.listeners[UDP] = &listener{transport: UDP, ip: net.ParseIP("127.0.0.1"), port: 5060}
	t.Cleanup(func() { u.Close() })
	return u, log
}

// testPhone sends REGISTERs as one phone would, from src.
type testPhone struct {
	t        *testing.T
	u        *UA
	user     string // the To user
	authUser string
	password string
	src      string
	callID   string
	seq      uint32
	chal     *digest.Challenge
}

func newTestPhone(t *testing.T, u *UA, user, password, src string) *testPhone {
	return &testPhone{t: t, u: u, user: user, authUser: user, password: password, src: src, callID: sip.GenerateTagN(12)}
}

// send sends one REGISTER with the header lines given ("Contact: ...",
// "Expires: ..."), answering the last challenge when there was one, and
// returns the response.
func (p *testPhone) send(lines ...string) *sip.Response {
	p.t.Helper()
	p.seq++
	msg := []string{
		"REGISTER sip:127.0.0.1:5060 SIP/2.0",
		"Via: SIP/2.0/UDP " + p.src + ";branch=" + sip.GenerateBranch() + ";rport",
		"From: <sip:" + p.user + "@127.0.0.1>;tag=" + p.callID,
		"To: <sip:" + p.user + "@127.0.0.1>",
		"Call-ID: " + p.callID,
		fmt.Sprintf("CSeq: %d REGISTER", p.seq),
		"User-Agent: testphone/1.0",
		"Max-Forwards: 70",
	}
	msg = append(msg, lines...)
	if p.chal != nil {
		c, err := digest.Digest(p.chal, digest.Options{Method: "REGISTER", URI: "sip:127.0.0.1:5060", Username: p.authUser, Password: p.password})
		if err != nil {
			p.t.Fatal(err)
		}
		msg = append(msg, "Authorization: "+c.String())
	}
	msg = append(msg, "Content-Length: 0", "", "")
	m, err := sip.ParseMessage([]byte(strings.Join(msg, "\r\n")))
	if err != nil {
		p.t.Fatalf("parse: %v", err)
	}
	req := m.(*sip.Request)
	req.SetSource(p.src)
	tx := newFakeTx()
	p.u.onRegister(req, tx)
	if len(tx.res) != 1 {
		p.t.Fatalf("%d responses", len(tx.res))
	}
	{
		res := tx.res[0]
		if res.StatusCode == 401 {
			h := res.GetHeader("WWW-Authenticate")
			if h == nil {
				p.t.Fatal("401 without WWW-Authenticate")
			}
			if p.chal, err = digest.ParseChallenge(h.Value()); err != nil {
				p.t.Fatal(err)
			}
		}
		return res
	}
}

// register sends a REGISTER, answering the challenge it gets.
func (p *testPhone) register(lines ...string) *sip.Response {
	p.t.Helper()
	res := p.send(lines...)
	if res.StatusCode == 401 {
		res = p.send(lines...)
	}
	return res
}

// contactExpires returns the expires parameter of each Contact of res,
// by contact URI.
func contactExpires(res *sip.Response) map[string]string {
	out := map[string]string{}
	for _, h := range res.GetHeaders("Contact") {
		c := h.(*sip.ContactHeader)
		out[c.Address.String()], _ = c.Params.Get("expires")
	}
	return out
}

func TestRegistrarBindsRefreshesAndRemoves(t *testing.T) {
	u, log := newRegistrarUA(t, testDevices())
	p := newTestPhone(t, u, "101-desk", deskPassword, "127.0.0.1:40000")
	desk := "sip:101-desk@192.168.1.20:5062"

	// A REGISTER without credentials is challenged.
	res := p.send("Contact: <"+desk+">", "Expires: 7200")
	if res.StatusCode != 401 || p.chal.Realm != DefaultRealm || !p.chal.SupportsQOP("auth") || p.chal.Algorithm != "MD5" {
		t.Fatalf("first REGISTER: %d, challenge %+v", res.StatusCode, p.chal)
	}
	log.none(t)
	// Answered, it binds the contact for at most an hour.
	if res = p.send("Contact: <"+desk+">", "Expires: 7200"); res.StatusCode != 200 {
		t.Fatalf("answered REGISTER: %d %s", res.StatusCode, res.Reason)
	}
	if got := contactExpires(res); len(got) != 1 || got[desk] != "3600" {
		t.Errorf("200 lists %v, want %s for 3600 s", got, desk)
	}
	e := log.next(t)
	want := Binding{Device: Device{ID: 7, ExtensionID: 3, Username: "101-desk", Realm: DefaultRealm}, Contact: desk,
		Source: netip.MustParseAddrPort("127.0.0.1:40000"), Transport: UDP, UserAgent: "testphone/1.0"}
	if d := time.Until(e.b.Expires); !e.up || d < 59*time.Minute || d > time.Hour {
		t.Errorf("report %+v, want a registration for an hour", e)
	}
	e.b.Expires = time.Time{}
	if e.b != want {
		t.Errorf("binding %+v\nwant %+v", e.b, want)
	}
	if got := u.Registered("101-desk"); len(got) != 1 || got[0].Contact != desk || got[0].Device.HA1 != "" {
		t.Errorf("Registered = %+v", got)
	}

	// A refresh that changes nothing but the time is not reported; the
	// nonce serves again within its lifetime.
	if res = p.send("Contact: <" + desk + ">;expires=600"); res.StatusCode != 200 || contactExpires(res)[desk] != "600" {
		t.Fatalf("refresh: %d, contacts %v", res.StatusCode, contactExpires(res))
	}
	log.none(t)
	// One from another port (the NAT's mapping changed) is: calls go to
	// the new address.
	p.src = "127.0.0.1:40002"
	if res = p.register("Contact: <" + desk + ">"); res.StatusCode != 200 {
		t.Fatalf("refresh from a new port: %d", res.StatusCode)
	}
	if e := log.next(t); !e.up || e.b.Source.Port() != 40002 {
		t.Errorf("report %+v, want the new source", e)
	}

	// A second contact; a query lists both.
	soft := "sip:101-desk@192.168.1.21:5080;transport=udp"
	if res = p.register("Contact: <"+soft+">", "Expires: 300"); res.StatusCode != 200 || len(contactExpires(res)) != 2 {
		t.Fatalf("second contact: %d, contacts %v", res.StatusCode, contactExpires(res))
	}
	log.next(t)
	if res = p.register(); res.StatusCode != 200 || len(contactExpires(res)) != 2 || contactExpires(res)[soft] != "300" {
		t.Fatalf("query: %d, contacts %v", res.StatusCode, contactExpires(res))
	}
	log.none(t)

	// Expires 0 removes one; '*' removes the rest.
	if res = p.register("Contact: <"+desk+">", "Expires: 0"); res.StatusCode != 200 || len(contactExpires(res)) != 1 {
		t.Fatalf("unregister one: %d, contacts %v", res.StatusCode, contactExpires(res))
	}
	if e := log.next(t); e.up || e.b.Contact != desk {
		t.Errorf("report %+v, want %s removed", e, desk)
	}
	if res = p.register("Contact: *", "Expires: 60"); res.StatusCode != 400 {
		t.Errorf("'*' with Expires 60: %d, want 400", res.StatusCode)
	}
	if res = p.register("Contact: *", "Expires: 0"); res.StatusCode != 200 || len(contactExpires(res)) != 0 {
		t.Fatalf("unregister all: %d, contacts %v", res.StatusCode, contactExpires(res))
	}
	if e := log.next(t); e.up || e.b.Contact != soft {
		t.Errorf("report %+v, want %s removed", e, soft)
	}
	if got := u.Registered("101-desk"); len(got) != 0 {
		t.Errorf("Registered after '*' = %+v", got)
	}
}

func TestRegistrarRefuses(t *testing.T) {
	contact := "Contact: <sip:101-desk@127.0.0.1:40000>"
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, u *UA) *sip.Response
		code int
	}{
		{"interval too brief", func(t *testing.T, u *UA) *sip.Response {
			res := newTestPhone(t, u, "101-desk", deskPassword, "127.0.0.1:40000").register(contact, "Expires: 30")
			if h := res.GetHeader("Min-Expires"); h == nil || h.Value() != "60" {
				t.Errorf("Min-Expires %v, want 60", h)
			}
			return res
		}, 423},
		{"wrong password", func(t *testing.T, u *UA) *sip.Response {
			return newTestPhone(t, u, "101-desk", "wrong", "127.0.0.1:40000").register(contact)
		}, 403},
		{"unknown device", func(t *testing.T, u *UA) *sip.Response {
			return newTestPhone(t, u, "999-nobody", deskPassword, "127.0.0.1:40000").register(contact)
		}, 403},
		{"another device's address of record", func(t *testing.T, u *UA) *sip.Response {
			p := newTestPhone(t, u, "102-soft", deskPassword, "127.0.0.1:40000")
			p.authUser = "101-desk"
			return p.register(contact)
		}, 403},
		{"device of another realm", func(t *testing.T, u *UA) *sip.Response {
			return newTestPhone(t, u, "old-realm", deskPassword, "127.0.0.1:40000").register(contact)
		}, 403},
		{"nonce given to another address", func(t *testing.T, u *UA) *sip.Response {
			p := newTestPhone(t, u, "101-desk", deskPassword, "127.0.0.1:40000")
			p.send(contact)
			p.src = "127.0.0.2:40000"
			res := p.send(contact)
			if p.chal.Stale {
				t.Error("challenge says stale")
			}
			return res
		}, 401},
		{"stale nonce", func(t *testing.T, u *UA) *sip.Response {
			p := newTestPhone(t, u, "101-desk", deskPassword, "127.0.0.1:40000")
			p.send(contact)
			p.chal.Nonce = u.reg.nonces.make(netip.MustParseAddr("127.0.0.1"), time.Now().Add(-nonceLifetime-time.Minute))
			res := p.send(contact)
			if !p.chal.Stale {
				t.Error("challenge does not say stale")
			}
			return res
		}, 401},
		{"older CSeq of the same Call-ID", func(t *testing.T, u *UA) *sip.Response {
			p := newTestPhone(t, u, "101-desk", deskPassword, "127.0.0.1:40000")
			if res := p.register(contact); res.StatusCode != 200 {
				t.Fatalf("register: %d", res.StatusCode)
			}
			p.seq -= 2
			return p.send(contact)
		}, 500},
		{"malformed Expires", func(t *testing.T, u *UA) *sip.Response {
			return newTestPhone(t, u, "101-desk", deskPassword, "127.0.0.1:40000").register(contact, "Expires: soon")
		}, 400},
		{"device look-up fails", func(t *testing.T, u *UA) *sip.Response {
			return newTestPhone(t, u, "broken", deskPassword, "127.0.0.1:40000").register(contact)
		}, 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, log := newRegistrarUA(t, testDevices())
			if res := tc.run(t, u); res.StatusCode != tc.code {
				t.Errorf("%d %s, want %d", res.StatusCode, res.Reason, tc.code)
			}
			if got := u.Registered("101-desk"); len(got) > 0 && tc.code != 500 {
				t.Errorf("registered: %+v", got)
			}
			if tc.code != 500 {
				log.none(t)
			}
		})
	}

	t.Run("registrar off", func(t *testing.T) {
		u, _ := newRegistrarUA(t, nil)
		if res := newTestPhone(t, u, "101-desk", deskPassword, "127.0.0.1:40000").send(contact); res.StatusCode != 405 {
			t.Errorf("%d, want 405", res.StatusCode)
		}
	})
}

func TestRegistrarRefusesAddressAfterRepeatedFailures(t *testing.T) {
	u, log := newRegistrarUA(t, testDevices())
	u.reg.limiter = newAuthLimiter(2, time.Hour)
	contact := "Contact: <sip:101-desk@127.0.0.1:40000>"
	for i := range 2 {
		if res := newTestPhone(t, u, "101-desk", fmt.Sprint("guess", i), "127.0.0.1:40000").register(contact); res.StatusCode != 403 {
			t.Fatalf("guess %d: %d, want 403", i, res.StatusCode)
		}
	}
	// The right password from that address no longer even gets a
	// challenge; another address still registers.
	if res := newTestPhone(t, u, "101-desk", deskPassword, "127.0.0.1:40001").send(contact); res.StatusCode != 403 {
		t.Errorf("after the failures: %d, want 403 without a challenge", res.StatusCode)
	}
	if res := newTestPhone(t, u, "101-desk", deskPassword, "127.0.0.9:40000").register(contact); res.StatusCode != 200 {
		t.Errorf("from another address: %d, want 200", res.StatusCode)
	}
	log.next(t)
}

func TestRegistrationRunsOut(t *testing.T) {
	u, log := newRegistrarUA(t, testDevices())
	u.reg.minExpires = time.Second
	p := newTestPhone(t, u, "101-desk", deskPassword, "127.0.0.1:40000")
	if res := p.register("Contact: <sip:101-desk@127.0.0.1:40000>;expires=1"); res.StatusCode != 200 {
		t.Fatalf("register: %d", res.StatusCode)
	}
	if e := log.next(t); !e.up {
		t.Fatalf("report %+v", e)
	}
	if e := log.next(t); e.up || e.b.Contact != "sip:101-desk@127.0.0.1:40000" {
		t.Fatalf("report %+v, want the binding run out", e)
	}
	if got := u.Registered("101-desk"); len(got) != 0 {
		t.Errorf("Registered after expiry = %+v", got)
	}
	if _, err := u.InviteDevice(context.Background(), Binding{Device: Device{Username: "101-desk"}, Contact: "sip:101-desk@127.0.0.1:40000"},
		OutboundCall{SDP: offerSDP}, Events{}); !errors.Is(err, ErrNotRegistered) {
		t.Errorf("InviteDevice after expiry: %v, want ErrNotRegistered", err)
	}
}

func TestRemovedDeviceIsLetGo(t *testing.T) {
	devices := testDevices()
	u, log := newRegistrarUA(t, devices)
	contact := "sip:101-desk@127.0.0.1:40000"
	if res := newTestPhone(t, u, "101-desk", deskPassword, "127.0.0.1:40000").register("Contact: <" + contact + ">"); res.StatusCode != 200 {
		t.Fatalf("register: %d", res.StatusCode)
	}
	b := log.next(t).b
	delete(devices, "101-desk")
	if _, err := u.InviteDevice(context.Background(), b, OutboundCall{SDP: offerSDP}, Events{}); !errors.Is(err, ErrNotRegistered) {
		t.Errorf("InviteDevice to a removed device: %v, want ErrNotRegistered", err)
	}
	if e := log.next(t); e.up || e.b.Contact != contact {
		t.Errorf("report %+v, want the removed device's binding gone", e)
	}
	if got := u.Registered("101-desk"); len(got) != 0 {
		t.Errorf("Registered = %+v", got)
	}
}

func TestPhoneInviteChallengedThenRefused(t *testing.T) {
	u, _ := newRegistrarUA(t, testDevices())
	invite := func(auth string) *sip.Response {
		t.Helper()
		msg := []string{
			"INVITE sip:102@127.0.0.1:5060 SIP/2.0",
			"Via: SIP/2.0/UDP 127.0.0.1:40000;branch=" + sip.GenerateBranch() + ";rport",
			"From: <sip:101-desk@127.0.0.1>;tag=abc",
			"To: <sip:102@127.0.0.1>",
			"Call-ID: invite-1",
			"CSeq: 1 INVITE",
			"Contact: <sip:101-desk@127.0.0.1:40000>",
			"Max-Forwards: 70",
		}
		if auth != "" {
			msg = append(msg, "Proxy-Authorization: "+auth)
		}
		msg = append(msg, "Content-Length: 0", "", "")
		m, err := sip.ParseMessage([]byte(strings.Join(msg, "\r\n")))
		if err != nil {
			t.Fatal(err)
		}
		req := m.(*sip.Request)
		req.SetSource("127.0.0.1:40000")
		tx := newFakeTx()
		u.onInvite(req, tx)
		if len(tx.res) != 1 {
			t.Fatalf("%d responses", len(tx.res))
		}
		return tx.res[0]
	}
	res := invite("")
	h := res.GetHeader("Proxy-Authenticate")
	if res.StatusCode != 407 || h == nil {
		t.Fatalf("INVITE without credentials: %d, Proxy-Authenticate %v", res.StatusCode, h)
	}
	chal, err := digest.ParseChallenge(h.Value())
	if err != nil {
		t.Fatal(err)
	}
	c, err := digest.Digest(chal, digest.Options{Method: "INVITE", URI: "sip:102@127.0.0.1:5060", Username: "101-desk", Password: "a wrong guess"})
	if err != nil {
		t.Fatal(err)
	}
	if res := invite(c.String()); res.StatusCode != 403 {
		t.Errorf("INVITE with a wrong password: %d, want 403", res.StatusCode)
	}
	// An answer to a REGISTER's challenge does not serve for an INVITE.
	c, _ = digest.Digest(chal, digest.Options{Method: "REGISTER", URI: "sip:102@127.0.0.1:5060", Username: "101-desk", Password: deskPassword})
	if res := invite(c.String()); res.StatusCode != 403 {
		t.Errorf("INVITE with a REGISTER's answer: %d, want 403", res.StatusCode)
	}
}

// FuzzPhoneRequest feeds what a phone could send to the registrar and to
// the handling of its INVITEs: REGISTERs with any contacts, expiries and
// credentials, INVITEs with any Proxy-Authorization.
func FuzzPhoneRequest(f *testing.F) {
	n := nonces{key: []byte("fuzz"), realm: DefaultRealm}
	nonce := n.make(netip.MustParseAddr("127.0.0.1"), time.Now())
	for _, s := range []string{
		"REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK-1\r\nFrom: <sip:101-desk@h>;tag=a\r\n" +
			"To: <sip:101-desk@h>\r\nCall-ID: r1\r\nCSeq: 1 REGISTER\r\nContact: <sip:101-desk@127.0.0.1:40000>;expires=60, *\r\nExpires: 0\r\n" +
			"Authorization: Digest username=\"101-desk\", realm=\"callbridge\", nonce=\"" + nonce + "\", uri=\"sip:127.0.0.1\", response=\"00\", qop=auth, nc=00000001, cnonce=\"c\"\r\nContent-Length: 0\r\n\r\n",
		"INVITE sip:102@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK-2\r\nFrom: <sip:101-desk@h>;tag=a\r\n" +
			"To: <sip:102@h>\r\nCall-ID: i1\r\nCSeq: 1 INVITE\r\nContact: <sip:101-desk@127.0.0.1:40000>\r\n" +
			"Proxy-Authorization: Digest username=\"101-desk\", realm=\"callbridge\", nonce=\"x\", uri=\"sip:102@127.0.0.1\", response=\"00\"\r\nContent-Length: 0\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 8<<10 {
			return
		}
		msg, err := sip.ParseMessage(data)
		req, ok := msg.(*sip.Request)
		if err != nil || !ok || req.Via() == nil || req.CSeq() == nil {
			return
		}
		u, err := New(Config{Listen: []Listen{{Transport: UDP, Addr: "127.0.0.1:0"}}, Devices: testDevices()})
		if err != nil {
			t.Fatal(err)
		}
		defer u.Close()
		u.listeners[UDP] = &listener{transport: UDP, ip: net.ParseIP("127.0.0.1"), port: 5060}
		u.reg.nonces.key = n.key
		req.SetSource("127.0.0.1:40000")
		req.SetTransport("UDP")
		tx := newFakeTx()
		close(tx.done)
		if req.Method == sip.INVITE {
			u.onInvite(req, tx)
		} else {
			u.onRegister(req, tx)
		}
		for _, b := range u.Registered("101-desk") {
			if b.Device.HA1 != "" {
				t.Fatal("a binding holds the HA1")
			}
		}
	})
}
