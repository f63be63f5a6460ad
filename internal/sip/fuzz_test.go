package sip

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// fakeTx is a server transaction that records the responses.
type fakeTx struct {
	done chan struct{}
	res  []*sip.Response
}

func newFakeTx() *fakeTx { return &fakeTx{done: make(chan struct{})} }

func (f *fakeTx) Respond(res *sip.Response) error {
	f.res = append(f.res, res)
	// Writing the response exercises what the transport would do.
	var b bytes.Buffer
	res.StringWrite(&b)
	return nil
}
func (f *fakeTx) Acks() <-chan *sip.Request          { return nil }
func (f *fakeTx) OnCancel(sip.FnTxCancel) bool       { return true }
func (f *fakeTx) OnTerminate(sip.FnTxTerminate) bool { return true }
func (f *fakeTx) Done() <-chan struct{}              { return f.done }
func (f *fakeTx) Err() error                         { return nil }
func (f *fakeTx) Terminate()                         {}

// rejectingHandler refuses every call.
type rejectingHandler struct{}

func (rejectingHandler) Incoming(c *Call, o Offer) Events {
	_ = c.Reject(486, "Busy Here")
	return Events{}
}

// fuzzUA is a UA that is not listening, with a trunk from 127.0.0.1 and a
// connected inbound call (Call-ID "fuzz", our tag "lt", theirs "rt"), for
// the handlers to find. Its 2xx wait no ACK.
func fuzzUA(t testing.TB) (*UA, *Call) {
	u, err := New(Config{
		Listen:  []Listen{{Transport: TCP, Addr: "127.0.0.1:0"}},
		Trunks:  []TrunkConfig{{Name: "carrier", Host: "127.0.0.1:5060", Transport: TCP}},
		Handler: rejectingHandler{},
	})
	if err != nil {
		t.Fatal(err)
	}
	u.ackTimeout = 0
	tr := u.trunks[0]
	tr.host, tr.port = "127.0.0.1", 5070
	c := newCall(u, tr, Inbound, "fuzz")
	c.localTag, c.remoteTag = "lt", "rt"
	c.key = dialogKey("fuzz", "lt", "rt")
	c.state = stateConfirmed
	c.remoteSDP = "v=0\r\no=carrier 1 1 IN IP4 127.0.0.1\r\n"
	c.localSDP = "v=0\r\no=us 1 1 IN IP4 127.0.0.1\r\n"
	c.ev = Events{Offer: func(sdp string) (string, error) { return c.localSDP, nil }}
	u.calls[c.key] = c
	return u, c
}

const fuzzInvite = "INVITE sip:+15550001111@127.0.0.1:5070 SIP/2.0\r\n" +
	"Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-1\r\n" +
	"From: \"Caller\" <sip:+14155550123@127.0.0.1>;tag=abc\r\n" +
	"To: <sip:+15550001111@127.0.0.1>\r\n" +
	"Call-ID: c1\r\nCSeq: 1 INVITE\r\nContact: <sip:c@127.0.0.1:5060>\r\n" +
	"P-Asserted-Identity: <tel:+14155550123>\r\nSession-Expires: 1800;refresher=uac\r\nSupported: timer\r\n" +
	"Content-Type: application/sdp\r\nContent-Length: 34\r\n\r\nv=0\r\no=x 1 1 IN IP4 127.0.0.1\r\nc=IN IP4 1\r\n"

const fuzzInDialog = "BYE sip:us@127.0.0.1:5070 SIP/2.0\r\n" +
	"Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-2\r\n" +
	"From: <sip:c@127.0.0.1>;tag=rt\r\nTo: <sip:us@127.0.0.1>;tag=lt\r\n" +
	"Call-ID: fuzz\r\nCSeq: 9 BYE\r\nContent-Length: 0\r\n\r\n"

const fuzzInfo = "INFO sip:us@127.0.0.1:5070 SIP/2.0\r\n" +
	"Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-3\r\n" +
	"From: <sip:c@127.0.0.1>;tag=rt\r\nTo: <sip:us@127.0.0.1>;tag=lt\r\n" +
	"Call-ID: fuzz\r\nCSeq: 3 INFO\r\nContent-Type: application/dtmf-relay\r\nContent-Length: 24\r\n\r\nSignal=#\r\nDuration=250\r\n"

const fuzzResponse = "SIP/2.0 200 OK\r\n" +
	"Via: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK-4\r\n" +
	"From: <sip:us@127.0.0.1>;tag=lt\r\nTo: <sip:c@127.0.0.1>;tag=rt\r\n" +
	"Call-ID: x\r\nCSeq: 1 INVITE\r\nContact: <sip:c@127.0.0.1:5060;transport=tcp>;expires=60\r\n" +
	"Record-Route: <sip:p1;lr>, \"x,y\" <sip:p2;lr>\r\nSession-Expires: 90;refresher=uas\r\nMin-SE: 90\r\nExpires: 120\r\n" +
	"WWW-Authenticate: Digest realm=\"r\", nonce=\"n\", qop=\"auth\", algorithm=MD5\r\n" +
	"Proxy-Authenticate: Digest realm=\"r\", nonce=\"n\"\r\n" +
	"Content-Type: application/sdp\r\nContent-Length: 0\r\n\r\n"

// FuzzPeerMessage feeds what a carrier could send through the parser and
// every handler and reader of this package: requests to the handlers
// (new calls and requests within the fuzz call), responses to what reads
// them (failure table, session timer, route set, expiry, digest).
func FuzzPeerMessage(f *testing.F) {
	for _, s := range []string{fuzzInvite, fuzzInDialog, fuzzInfo, fuzzResponse,
		"UPDATE sip:us@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK-5\r\nFrom: <sip:c@h>;tag=rt\r\nTo: <sip:us@h>;tag=lt\r\nCall-ID: fuzz\r\nCSeq: 10 UPDATE\r\nSession-Expires: 100\r\nContent-Length: 0\r\n\r\n",
		"INVITE sip:us@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK-6\r\nFrom: <sip:c@h>;tag=rt\r\nTo: <sip:us@h>;tag=lt\r\nCall-ID: fuzz\r\nCSeq: 11 INVITE\r\nContact: <sip:c@h>\r\nContent-Type: application/sdp\r\nContent-Length: 20\r\n\r\nv=0\r\no=carrier 1 2\r\n",
		"SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK-7\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 8<<10 {
			return
		}
		msg, err := sip.ParseMessage(data)
		if err != nil {
			return
		}
		u, c := fuzzUA(t)
		defer func() {
			c.end() // no BYE: the fuzz call has no carrier
			u.Close()
		}()
		switch m := msg.(type) {
		case *sip.Request:
			// The transaction layer answers 400 itself without these.
			if m.Via() == nil || m.CSeq() == nil {
				return
			}
			m.SetSource("127.0.0.1:5060")
			m.SetTransport("TCP")
			tx := newFakeTx()
			switch m.Method {
			case sip.INVITE:
				close(tx.done) // a call not refused at once would wait for it
				u.onInvite(m, tx)
			case sip.ACK:
				u.onAck(m, tx)
			case sip.BYE:
				u.onBye(m, tx)
			case sip.CANCEL:
				u.onCancel(m, tx)
			case sip.INFO:
				u.onInfo(m, tx)
			case sip.UPDATE:
				u.onUpdate(m, tx)
			case sip.OPTIONS:
				u.onOptions(m, tx)
			default:
				u.onOther(m, tx)
			}
		case *sip.Response:
			_ = FailureFor(m.StatusCode, m.Reason)
			parseSessionExpires(m)
			recordRoutes(m)
			headerInt(m, "Min-SE")
			sdpConnectionAddr(sdpBody(m))
			c.trunk.grantedExpiry(m, time.Hour)
			req := sip.NewRequest(sip.INVITE, c.trunk.requestURI("1"))
			c.trunk.cfg.Password = "p"
			c.trunk.cfg.Username = "u"
			_ = c.trunk.authorize(req, m)
			c.startTimerUAC(m)
			c.sessionRefreshed(m)
		}
	})
}

// FuzzPeerBodies feeds bodies a carrier sends: INFO keys and SDP.
func FuzzPeerBodies(f *testing.F) {
	f.Add("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n")
	f.Add("application/dtmf", "11")
	f.Add("application/sdp", "v=0\r\nc=IN IP4 224.2.1.1/127\r\nm=audio 1 RTP/AVP 0\r\nc=IN IP6 ::1\r\n")
	f.Fuzz(func(t *testing.T, ct, body string) {
		d, ok := parseDTMFInfo(ct, []byte(body))
		if ok && d.Digit == 0 {
			t.Fatalf("key without a digit: %+v", d)
		}
		if a := sdpConnectionAddr(body); a != "" && len(a) > 45 {
			t.Fatalf("connection address %q", a)
		}
		sdpOrigin(body)
		isSDP(ct)
		if n := sanitizeName(body); strings.ContainsAny(n, "\"\r\n") {
			t.Fatalf("display name %q can break its header", n)
		}
		splitAddrList(body)
	})
}
