package sip

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/siptest"
)

// These tests play the carrier with Debian's SIPp (testdata/*.xml) on
// loopback, against a UA with one UDP trunk.

func TestRegisterAnswersChallengeRefreshesAndRemoves(t *testing.T) {
	port := siptest.FreeUDPPort(t)
	carrier := startSIPp(t, port, "carrier_register.xml", "-m", "1")
	tc := peerTrunk(port)
	tc.Register = true
	tc.Realm = "carrier.test"
	u, sl := newTestUA(t, nil, tc)
	first := sl.waitFor(t, "registered", func(st TrunkStatus) bool { return st.Registered && st.Up })
	if d := time.Until(first.RegisteredUntil); d > 2*time.Second {
		t.Errorf("first registration until %s, want the 2 s granted", first.RegisteredUntil)
	}
	// The trunk refreshes the 2 s registration before it runs out; the
	// registrar grants an hour.
	sl.waitFor(t, "registered for an hour", func(st TrunkStatus) bool {
		return st.Registered && time.Until(st.RegisteredUntil) > 30*time.Minute
	})
	if st, _ := u.TrunkStatus("carrier"); !st.Up {
		t.Fatalf("status %+v, want up", st)
	}
	// Closing removes the registration, which the scenario waits for.
	u.Close()
	carrier.Finish()
}

func TestOutboundAnswered(t *testing.T) {
	t.Run("udp", func(t *testing.T) { testOutboundAnswered(t, UDP) })
	t.Run("tcp", func(t *testing.T) { testOutboundAnswered(t, TCP) })
}

func testOutboundAnswered(t *testing.T, tr Transport) {
	port := siptest.FreeUDPPort(t)
	args := []string{"-m", "1"}
	tc := peerTrunk(port)
	if tr == TCP {
		args = append(args, "-t", "t1")
		tc.Transport = TCP
	}
	carrier := startSIPp(t, port, "carrier_answer.xml", args...)
	u, _ := newTestUA(t, nil, tc)
	rec := newRecorder()
	c, err := u.Invite(context.Background(), "carrier", OutboundCall{To: "+15550002222", CallerID: "+16505550100", CallerName: "Alice", SDP: offerSDP}, rec.events())
	if err != nil {
		t.Fatal(err)
	}
	e := rec.answered(t, func(p event) {
		if p.code != 180 || p.sdp != "" {
			t.Errorf("progress %d %q, want 180 without SDP", p.code, p.sdp)
		}
	})
	if !strings.Contains(e.sdp, "o=carrier-answer") || !strings.Contains(e.sdp, "m=audio") {
		t.Errorf("answer SDP not passed through: %q", e.sdp)
	}
	if got := c.RemoteSDP(); got != e.sdp {
		t.Errorf("RemoteSDP %q, want the answer", got)
	}
	if err := c.Bye(context.Background()); err != nil {
		t.Fatal(err)
	}
	carrier.Finish()
	<-c.Done()
	if n := u.CallCount(); n != 0 {
		t.Errorf("%d calls left after BYE", n)
	}
}

func TestOutboundBusy(t *testing.T) {
	port := siptest.FreeUDPPort(t)
	carrier := startSIPp(t, port, "carrier_busy.xml", "-m", "1")
	u, _ := newTestUA(t, nil, peerTrunk(port))
	rec := newRecorder()
	if _, err := u.Invite(context.Background(), "carrier", OutboundCall{To: "+15550002222", CallerID: "+16505550100", SDP: offerSDP}, rec.events()); err != nil {
		t.Fatal(err)
	}
	f := rec.next(t, "failed").failure
	if f.Code != 486 || f.Result != "Busy" || f.SIPCode != 486 {
		t.Errorf("failure %+v, want 486 Busy", f)
	}
	carrier.Finish()
}

func TestOutboundNoAnswerCancelled(t *testing.T) {
	port := siptest.FreeUDPPort(t)
	carrier := startSIPp(t, port, "carrier_noanswer.xml", "-m", "1")
	u, _ := newTestUA(t, nil, peerTrunk(port))
	rec := newRecorder()
	c, err := u.Invite(context.Background(), "carrier", OutboundCall{To: "+15550002222", CallerID: "+16505550100", SDP: offerSDP}, rec.events())
	if err != nil {
		t.Fatal(err)
	}
	rec.next(t, "progress")
	c.Cancel()
	f := rec.next(t, "failed").failure
	if f.Code != 487 || f.Result != "Canceled" {
		t.Errorf("failure %+v, want 487 Canceled", f)
	}
	carrier.Finish()
}

func TestOutboundEarlyMediaThenAnswer(t *testing.T) {
	port := siptest.FreeUDPPort(t)
	carrier := startSIPp(t, port, "carrier_early_media.xml", "-m", "1")
	u, _ := newTestUA(t, nil, peerTrunk(port))
	rec := newRecorder()
	c, err := u.Invite(context.Background(), "carrier", OutboundCall{To: "+15550002222", CallerID: "+16505550100", SDP: offerSDP}, rec.events())
	if err != nil {
		t.Fatal(err)
	}
	rec.answered(t, func(e event) {
		if e.code != 183 || !strings.Contains(e.sdp, "o=carrier-early") {
			t.Errorf("progress %d %q, want 183 with the carrier's SDP", e.code, e.sdp)
		}
	})
	if err := c.Bye(context.Background()); err != nil {
		t.Fatal(err)
	}
	carrier.Finish()
}

func TestOutboundProxyChallengeThenCarrierHangsUp(t *testing.T) {
	port := siptest.FreeUDPPort(t)
	carrier := startSIPp(t, port, "carrier_auth_invite.xml", "-m", "1")
	tc := peerTrunk(port)
	tc.CallerID = CallerIDPAI
	u, _ := newTestUA(t, nil, tc)
	rec := newRecorder()
	c, err := u.Invite(context.Background(), "carrier", OutboundCall{To: "+15550002222", CallerID: "+16505550100", SDP: offerSDP}, rec.events())
	if err != nil {
		t.Fatal(err)
	}
	rec.next(t, "answered")
	if e := rec.next(t, "ended"); e.cause != EndRemoteBye {
		t.Errorf("ended by %s, want %s", e.cause, EndRemoteBye)
	}
	<-c.Done()
	carrier.Finish()
}

// answeringHandler rings, then answers every inbound call.
type answeringHandler struct {
	rec    *recorder
	offers chan Offer
	errs   chan error
}

func (h *answeringHandler) Incoming(c *Call, o Offer) Events {
	h.offers <- o
	go ringThenAnswer(c, h.errs)
	return h.rec.events()
}

// ringThenAnswer rings c, then answers it, and sends what came of it to
// errs.
func ringThenAnswer(c *Call, errs chan<- error) {
	if err := c.Ring(""); err != nil {
		errs <- err
		return
	}
	errs <- c.Answer(context.Background(), strings.ReplaceAll(offerSDP, "callbridge-offer", "callbridge-answer"))
}

func TestInboundAnsweredWithDTMFHoldAndHangup(t *testing.T) {
	h := &answeringHandler{rec: newRecorder(), offers: make(chan Offer, 1), errs: make(chan error, 1)}
	h.rec.offerAnswer = func(sdp string) string {
		return strings.ReplaceAll(offerSDP, "callbridge-offer 1 1", "callbridge-answer 1 2") + "a=recvonly\r\n"
	}
	port := siptest.FreeUDPPort(t)
	u, _ := newTestUA(t, h, peerTrunk(port))
	carrier := startSIPp(t, port, "carrier_inbound.xml", "-m", "1", udpAddr(t, u))
	var o Offer
	select {
	case o = <-h.offers:
	case <-time.After(wait):
		t.Fatal("no inbound call")
	}
	if o.Trunk != "carrier" || o.To != "+15550001111" || o.From != "+14155550123" || o.FromName != "Carrier Caller" || !strings.Contains(o.SDP, "o=carrier-offer") {
		t.Errorf("offer %+v", o)
	}
	if err := <-h.errs; err != nil {
		t.Fatalf("answer: %v", err)
	}
	if d := h.rec.next(t, "dtmf").dtmf; d.Digit != '5' || d.Duration != 160*time.Millisecond {
		t.Errorf("DTMF %+v, want 5 for 160ms", d)
	}
	if e := h.rec.next(t, "offer"); !strings.Contains(e.sdp, "a=sendonly") {
		t.Errorf("hold offer %q", e.sdp)
	}
	if e := h.rec.next(t, "ended"); e.cause != EndRemoteBye {
		t.Errorf("ended by %s", e.cause)
	}
	carrier.Finish()
}

func TestInboundFromStrangerRefused(t *testing.T) {
	h := &answeringHandler{rec: newRecorder(), offers: make(chan Offer, 1), errs: make(chan error, 1)}
	port := siptest.FreeUDPPort(t)
	tc := peerTrunk(port)
	tc.Host = "127.0.0.2:5060"
	tc.AllowedSources = []string{"127.0.0.2", "10.1.0.0/16"}
	u, _ := newTestUA(t, h, tc)
	carrier := startSIPp(t, port, "carrier_inbound_refused.xml", "-m", "1", udpAddr(t, u))
	carrier.Finish()
	select {
	case o := <-h.offers:
		t.Fatalf("a stranger's INVITE reached the handler: %+v", o)
	default:
	}
}

func TestKeepAliveMarksTrunkDownAndUp(t *testing.T) {
	port := siptest.FreeUDPPort(t)
	carrier := startSIPp(t, port, "carrier_options.xml")
	tc := peerTrunk(port)
	tc.KeepAlive = 2 * time.Second
	u, sl := newTestUA(t, nil, tc)
	sl.waitFor(t, "up", func(st TrunkStatus) bool { return st.Up })

	carrier.Stop()
	// Once the carrier is gone the trunk goes down and stays down (a
	// down reported before, on a slow answer, was followed by an up).
	var st TrunkStatus
	for {
		st = sl.waitFor(t, "down", func(st TrunkStatus) bool { return !st.Up })
		if cur, _ := u.TrunkStatus("carrier"); !cur.Up {
			break
		}
	}
	if st.Reachable || !strings.Contains(st.Error, "keep-alive") {
		t.Errorf("down status %+v", st)
	}
	if _, err := u.Invite(context.Background(), "carrier", OutboundCall{To: "+15550002222", SDP: offerSDP}, Events{}); err == nil || FailureOf(err).Code != 503 {
		t.Errorf("invite on a down trunk: %v (failure %+v), want 503 at once", err, FailureOf(err))
	}

	startSIPp(t, port, "carrier_options.xml")
	sl.waitFor(t, "up again", func(st TrunkStatus) bool { return st.Up })
}

func TestRegisterRecoversAfterFailure(t *testing.T) {
	port := siptest.FreeUDPPort(t)
	carrier := startSIPp(t, port, "carrier_register_recover.xml", "-m", "1")
	tc := peerTrunk(port)
	tc.Register = true
	u, sl := newTestUA(t, nil, tc)
	// The registrar first answers 503; the trunk retries after its
	// back-off and registers.
	sl.waitFor(t, "registered", func(st TrunkStatus) bool { return st.Registered && st.Up })
	sl.waitFor(t, "registered for an hour", func(st TrunkStatus) bool {
		return st.Registered && time.Until(st.RegisteredUntil) > 30*time.Minute
	})
	u.Close()
	carrier.Finish()
}

func TestSessionTimerWeRefreshWithUpdate(t *testing.T) {
	port := siptest.FreeUDPPort(t)
	carrier := startSIPp(t, port, "carrier_session_refresh.xml", "-m", "1")
	u, _ := newTestUA(t, nil, peerTrunk(port))
	u.minSE = time.Second
	rec := newRecorder()
	if _, err := u.Invite(context.Background(), "carrier", OutboundCall{To: "+15550002222", CallerID: "+16505550100", SDP: offerSDP}, rec.events()); err != nil {
		t.Fatal(err)
	}
	rec.next(t, "answered")
	// The carrier hangs up only after our UPDATE refreshed the session.
	if e := rec.next(t, "ended"); e.cause != EndRemoteBye {
		t.Errorf("ended by %s, want %s", e.cause, EndRemoteBye)
	}
	carrier.Finish()
}

func TestSessionTimerExpiresWithoutRefresh(t *testing.T) {
	port := siptest.FreeUDPPort(t)
	carrier := startSIPp(t, port, "carrier_session_expires.xml", "-m", "1")
	u, _ := newTestUA(t, nil, peerTrunk(port))
	u.minSE = time.Second
	rec := newRecorder()
	if _, err := u.Invite(context.Background(), "carrier", OutboundCall{To: "+15550002222", CallerID: "+16505550100", SDP: offerSDP}, rec.events()); err != nil {
		t.Fatal(err)
	}
	rec.next(t, "answered")
	if e := rec.next(t, "ended"); e.cause != EndSessionExpired {
		t.Errorf("ended by %s, want %s", e.cause, EndSessionExpired)
	}
	carrier.Finish()
}

// ringingHandler rings and never answers.
type ringingHandler struct{ rec *recorder }

func (h ringingHandler) Incoming(c *Call, o Offer) Events {
	go func() {
		if err := c.Ring(""); err != nil {
			h.rec.ch <- event{kind: "ringFailed"}
		}
	}()
	return h.rec.events()
}

func TestInboundCancelledByCaller(t *testing.T) {
	h := ringingHandler{rec: newRecorder()}
	port := siptest.FreeUDPPort(t)
	u, _ := newTestUA(t, h, peerTrunk(port))
	carrier := startSIPp(t, port, "carrier_inbound_cancel.xml", "-m", "1", udpAddr(t, u))
	h.rec.next(t, "canceled")
	carrier.Finish()
	if n := u.CallCount(); n != 0 {
		t.Errorf("%d calls left after CANCEL", n)
	}
}

func udpAddr(t *testing.T, u *UA) string {
	a, ok := u.Addr(UDP)
	if !ok {
		t.Fatal("no UDP listener")
	}
	return a.String()
}

func TestCloseHangsUpConnectedCalls(t *testing.T) {
	port := siptest.FreeUDPPort(t)
	carrier := startSIPp(t, port, "carrier_answer.xml", "-m", "1")
	u, _ := newTestUA(t, nil, peerTrunk(port))
	rec := newRecorder()
	if _, err := u.Invite(context.Background(), "carrier", OutboundCall{To: "+15550002222", CallerID: "+16505550100", SDP: offerSDP}, rec.events()); err != nil {
		t.Fatal(err)
	}
	rec.next(t, "answered")
	// A restart leaves no call at the carrier: Close sends the BYE the
	// scenario waits for.
	u.Close()
	if e := rec.next(t, "ended"); e.cause != EndShutdown {
		t.Errorf("ended by %s, want %s", e.cause, EndShutdown)
	}
	carrier.Finish()
	if _, err := u.Invite(context.Background(), "carrier", OutboundCall{To: "1", SDP: offerSDP}, Events{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Invite after Close: %v, want ErrClosed", err)
	}
}

func TestOutboundHoldWithReInvite(t *testing.T) {
	port := siptest.FreeUDPPort(t)
	carrier := startSIPp(t, port, "carrier_hold.xml", "-m", "1")
	u, _ := newTestUA(t, nil, peerTrunk(port))
	rec := newRecorder()
	c, err := u.Invite(context.Background(), "carrier", OutboundCall{To: "+15550002222", CallerID: "+16505550100", SDP: offerSDP}, rec.events())
	if err != nil {
		t.Fatal(err)
	}
	rec.next(t, "answered")
	hold := strings.ReplaceAll(offerSDP, "callbridge-offer 1 1", "callbridge-offer 1 2") + "a=sendonly\r\n"
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	answer, err := c.ReInvite(ctx, hold)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(answer, "a=recvonly") {
		t.Errorf("hold answer %q", answer)
	}
	if err := c.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	carrier.Finish()
}
