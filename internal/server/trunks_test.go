package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/sip"
	"github.com/callbridge/widget-server/internal/siptest"
	"github.com/callbridge/widget-server/internal/store"
	"github.com/pion/webrtc/v3"
)

// keepTrunks writes trunks into a new data dir, as `widget-server trunks
// add` does, and returns the dir.
func keepTrunks(t *testing.T, trunks ...sip.TrunkConfig) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	db, err := store.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, c := range trunks {
		if err := db.AddTrunk(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// readyz is the body of /readyz.
type readyz struct {
	Status string `json:"status"`
	Trunks []struct {
		Name            string     `json:"name"`
		Up              bool       `json:"up"`
		Registered      bool       `json:"registered"`
		RegisteredUntil *time.Time `json:"registeredUntil"`
		Reachable       bool       `json:"reachable"`
		Since           time.Time  `json:"since"`
		RegisteredHere  *bool      `json:"registeredHere"`
	} `json:"trunks"`
	ErrorCode string `json:"errorCode"`
}

func getReadyz(t *testing.T, srv *instance) (int, readyz, string) {
	t.Helper()
	r := do(t, browser(), "GET", srv.WidgetURL+"/readyz", nil)
	var body readyz
	if err := json.Unmarshal([]byte(r.body), &body); err != nil {
		t.Fatalf("/readyz %d: %s", r.StatusCode, r.body)
	}
	return r.StatusCode, body, r.body
}

// waitReadyz returns the first /readyz body for which ok holds. It asks
// again until then: the trunk's status changes on the carrier's answers.
func waitReadyz(t *testing.T, srv *instance, what string, ok func(readyz) bool) readyz {
	t.Helper()
	deadline := time.Now().Add(patience)
	for {
		code, body, raw := getReadyz(t, srv)
		if code == http.StatusOK && ok(body) {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz never said %s: %d %s", what, code, raw)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestReadyzWithoutTrunks(t *testing.T) {
	srv := startServer(t, Config{})
	code, body, raw := getReadyz(t, srv)
	if code != http.StatusOK || body.Status != "ready" || body.Trunks == nil || len(body.Trunks) != 0 {
		t.Fatalf("/readyz %d %s, want ready with no trunks", code, raw)
	}
}

// TestReadyzStopping: a process that is shutting down is not ready.
func TestReadyzStopping(t *testing.T) {
	r := &readiness{}
	e := echo.New()
	r.routes(e)
	get := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		return rec
	}
	if rec := get(); rec.Code != http.StatusOK {
		t.Fatalf("/readyz %d %s", rec.Code, rec.Body)
	}
	r.stopping.Store(true)
	rec := get()
	var body readyz
	json.Unmarshal(rec.Body.Bytes(), &body)
	if rec.Code != http.StatusServiceUnavailable || body.Status != "stopping" || body.ErrorCode != "ShuttingDown" {
		t.Fatalf("/readyz while stopping: %d %s", rec.Code, rec.Body)
	}
}

func TestSIPListeners(t *testing.T) {
	trunk := []sip.TrunkConfig{{Name: "carrier", Host: "sip.carrier.example"}}
	given := []sip.Listen{{Transport: sip.UDP, Addr: "0.0.0.0:5060"}}
	for _, tt := range []struct {
		name       string
		configured []sip.Listen
		trunks     []sip.TrunkConfig
		phones     int
		dev        bool
		want       string // the listeners, or the error's words
	}{
		{"off without trunks", nil, nil, 0, true, "[]"},
		{"off without trunks in production", nil, nil, 0, false, "[]"},
		{"configured without trunks", given, nil, 0, false, "[{udp 0.0.0.0:5060  }]"},
		{"configured with trunks", given, trunk, 0, true, "[{udp 0.0.0.0:5060  }]"},
		{"loopback in development", nil, trunk, 0, true, "[{udp 127.0.0.1:5060  } {tcp 127.0.0.1:5060  }]"},
		{"loopback in development for phones", nil, nil, 2, true, "[{udp 127.0.0.1:5060  } {tcp 127.0.0.1:5060  }]"},
		{"asked for in production", nil, trunk, 0, false, "error: sip: trunks are kept (carrier) but --sip-listen is not set"},
		{"asked for in production for phones", nil, nil, 2, false, "error: sip: 2 desk phones are kept but --sip-listen is not set"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, err := sipListeners(tt.configured, tt.trunks, tt.phones, tt.dev)
			got := fmt.Sprint(l)
			if l == nil {
				got = "[]"
			}
			if err != nil {
				got = "error: " + err.Error()
			}
			if !strings.HasPrefix(got, tt.want) {
				t.Fatalf("sipListeners = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestProductionNeedsSIPListen: with trunks kept and no --sip-listen, a
// production server does not start, and says why.
func TestProductionNeedsSIPListen(t *testing.T) {
	dir := keepTrunks(t, sip.TrunkConfig{Name: "carrier", Host: "sip.carrier.example"})
	ctx, cancel := context.WithTimeout(context.Background(), startStopLimit)
	defer cancel()
	err := Run(ctx, Config{Listen: "127.0.0.1:0", DataDir: dir, MediaPort: 0})
	if err == nil || !strings.Contains(err.Error(), "--sip-listen") {
		t.Fatalf("Run = %v, want a refusal naming --sip-listen", err)
	}
}

// TestTrunkRegistersThenLeavesWithTheServer: a registering trunk kept in
// the data dir registers at a carrier (SIPp) when the server starts, which
// /readyz reports, and removes its registration when the server stops.
func TestTrunkRegistersThenLeavesWithTheServer(t *testing.T) {
	port := siptest.FreeUDPPort(t)
	carrier := startCarrier(t, port, "carrier_register.xml")
	dir := keepTrunks(t, sip.TrunkConfig{Name: "carrier", Host: fmt.Sprintf("127.0.0.1:%d", port),
		Username: "trunkuser", Password: "trunkpass", Realm: "carrier.test", Register: true})
	ctx, stop := context.WithCancel(context.Background())
	srv, done := runUntil(t, ctx, Config{DataDir: dir, SIPListen: []sip.Listen{{Transport: sip.UDP, Addr: "127.0.0.1:0"}}})
	// The registrar first grants 2 s, which the trunk refreshes at once;
	// the refresh is granted for an hour.
	body := waitReadyz(t, srv, "the trunk registered for an hour", func(r readyz) bool {
		return len(r.Trunks) == 1 && r.Trunks[0].RegisteredUntil != nil && time.Until(*r.Trunks[0].RegisteredUntil) > 30*time.Minute
	})
	if tr := body.Trunks[0]; body.Status != "ready" || tr.Name != "carrier" || !tr.Up || !tr.Registered || !tr.Reachable || tr.Since.IsZero() {
		t.Errorf("/readyz %+v", body)
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(startStopLimit):
		t.Fatal("server did not stop")
	}
	carrier.Finish() // the scenario ends with the un-REGISTER (Expires: 0)
}

// TestTrunkDownAndInboundRefused: a trunk whose registrar does not answer
// is down, which /readyz reports without failing; an INVITE from the
// address of a trunk to a number that is none of the accounts' is refused
// with 403.
func TestTrunkDownAndInboundRefused(t *testing.T) {
	carrier, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer carrier.Close()
	sipPort, silent := siptest.FreeUDPPort(t), siptest.FreeUDPPort(t)
	dir := keepTrunks(t,
		sip.TrunkConfig{Name: "peer", Host: carrier.LocalAddr().String(), Priority: 1},
		sip.TrunkConfig{Name: "silent", Host: fmt.Sprintf("127.0.0.1:%d", silent), Username: "u", Password: "p", Register: true, Priority: 2})
	srv := startServer(t, Config{DataDir: dir, SIPListen: udpListen(sipPort)})

	code, body, raw := getReadyz(t, srv)
	if code != http.StatusOK || body.Status != "degraded" || len(body.Trunks) != 2 {
		t.Fatalf("/readyz %d %s, want 200 degraded with two trunks", code, raw)
	}
	if p, s := body.Trunks[0], body.Trunks[1]; p.Name != "peer" || !p.Up || s.Name != "silent" || s.Up || s.Registered {
		t.Errorf("/readyz trunks %+v, want the peering up and the silent registrar's trunk down", body.Trunks)
	}
	if strings.Contains(raw, "127.0.0.1") || strings.Contains(raw, `"u"`) {
		t.Errorf("/readyz shows a trunk's address or user: %s", raw)
	}

	// The carrier calls one of the account's numbers.
	to := fmt.Sprintf("127.0.0.1:%d", sipPort)
	sdp := "v=0\r\no=carrier 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
	invite := "INVITE sip:+16505559999@" + to + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + carrier.LocalAddr().String() + ";branch=z9hG4bK-readyz-1;rport\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: <sip:+14155550123@127.0.0.1>;tag=carrier-1\r\n" +
		"To: <sip:+16505559999@127.0.0.1>\r\n" +
		"Call-ID: inbound-refused-1@127.0.0.1\r\n" +
		"CSeq: 1 INVITE\r\n" +
		"Contact: <sip:carrier@" + carrier.LocalAddr().String() + ">\r\n" +
		"Content-Type: application/sdp\r\n" +
		"Content-Length: " + strconv.Itoa(len(sdp)) + "\r\n\r\n" + sdp
	dst, _ := net.ResolveUDPAddr("udp", to)
	if _, err := carrier.WriteTo([]byte(invite), dst); err != nil {
		t.Fatal(err)
	}
	status := regexp.MustCompile(`^SIP/2\.0 (\d{3}) `)
	carrier.SetReadDeadline(time.Now().Add(patience)) // against a hang: the answer comes at once
	buf := make([]byte, 8192)
	for {
		n, _, err := carrier.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no final answer to the INVITE: %v", err)
		}
		m := status.FindSubmatch(buf[:n])
		if m == nil {
			t.Fatalf("not a SIP response: %q", buf[:n])
		}
		if code, _ := strconv.Atoi(string(m[1])); code < 200 {
			continue
		} else if code != 403 {
			t.Fatalf("INVITE to a number that is not ours answered %d, want 403:\n%s", code, buf[:n])
		}
		// Acknowledge the final answer, so it is not sent again (RFC 3261 17.1.1.3).
		toHdr := regexp.MustCompile(`(?mi)^To: .*\r$`).Find(buf[:n])
		ack := "ACK sip:+16505559999@" + to + " SIP/2.0\r\n" +
			"Via: SIP/2.0/UDP " + carrier.LocalAddr().String() + ";branch=z9hG4bK-readyz-1;rport\r\n" +
			"Max-Forwards: 70\r\nFrom: <sip:+14155550123@127.0.0.1>;tag=carrier-1\r\n" + string(bytes.TrimSuffix(toHdr, []byte("\r"))) + "\r\n" +
			"Call-ID: inbound-refused-1@127.0.0.1\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
		carrier.WriteTo([]byte(ack), dst)
		break
	}
}

// startCarrier runs Debian's SIPp for one call on 127.0.0.1:port, with
// more of SIPp's arguments, and returns once it holds the port. A scenario
// with a directory is the server's own (testdata) or the docs', else one
// of internal/sip's.
func startCarrier(t *testing.T, port int, scenario string, args ...string) *siptest.Process {
	t.Helper()
	if !strings.Contains(scenario, "/") {
		scenario = filepath.Join("..", "sip", "testdata", scenario)
	}
	return siptest.SIPp{Scenario: scenario, Port: port, Args: append([]string{"-m", "1"}, args...)}.Start(t)
}

// udpListen is the SIP listener of a server on 127.0.0.1:port, over UDP.
func udpListen(port int) []sip.Listen {
	return []sip.Listen{{Transport: sip.UDP, Addr: fmt.Sprintf("127.0.0.1:%d", port)}}
}

// echoMedia are SIPp's arguments to send back the RTP it receives, from
// 127.0.0.1:port.
func echoMedia(port int) []string {
	return []string{"-rtp_echo", "-mi", "127.0.0.1", "-mp", strconv.Itoa(port)}
}

// pcmu is the codec of a talker in a call through a trunk or to a desk
// phone, which the gateway carries in G.711.
var pcmu = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}

// answerTalking has tab answer the call id with a new talker, who, saying
// mark, and returns the talker once the gateway answered its offer.
func answerTalking(t *testing.T, srv *instance, tab *widgetTab, id, who string, mark byte) *talker {
	t.Helper()
	tk := newTalkerIn(t, who, mark, pcmu)
	r := widgetPost(t, tab.c, srv.WidgetURL, "/widget/calls/"+id+"/answer", map[string]string{"deviceId": tab.device, "sdp": tk.offer})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("%s answers: %d %s", who, r.StatusCode, r.body)
	}
	tk.answer(t, r.json(t)["sdp"].(string))
	return tk
}

// TestTrunkCallAudio: a widget calls a number outside the account; the
// call goes out on the trunk to a carrier (SIPp) that answers and sends
// back what it hears. The widget hears its own words through the carrier,
// so audio went both ways through the gateway's G.711 relay; holding the
// call holds the carrier (a re-INVITE) and nothing said on hold reaches
// it; after the resume the widget hears itself again; its hangup is a BYE.
func TestTrunkCallAudio(t *testing.T) {
	sipPort, carrierPort, mediaPort := siptest.FreeUDPPort(t), siptest.FreeUDPPort(t), siptest.FreeUDPPort(t)
	dir := keepTrunks(t, sip.TrunkConfig{Name: "carrier", Host: fmt.Sprintf("127.0.0.1:%d", carrierPort), Priority: 1})
	carrier := startCarrier(t, carrierPort, "testdata/carrier_echo_hold.xml", echoMedia(mediaPort)...)
	srv := startServer(t, Config{DataDir: dir, RingTimeout: time.Hour,
		SIPListen: udpListen(sipPort)})
	tab := openTab(t, srv, "alice@demo.test")

	alice := newTalkerIn(t, "alice", 'a', pcmu)
	call := tab.dial(t, "(415) 555-0123", alice.peer)
	id := call["id"].(string)
	alice.waitHears(t, "alice", 'a', 10) // through the carrier and back

	action := func(what string) {
		t.Helper()
		if r := widgetPost(t, tab.c, srv.WidgetURL, "/widget/calls/"+id+"/"+what, map[string]string{"deviceId": tab.device}); r.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", what, r.StatusCode, r.body)
		}
	}
	action("hold")
	held := alice.say('A') // said on hold: the carrier must not hear it
	alice.waitSent(t, held+10)
	next := alice.say('c')
	alice.waitRead(t, "alice", next)
	action("unhold")
	alice.waitHears(t, "alice", 'c', 10)
	if n := alice.count('A'); n != 0 {
		t.Errorf("the carrier heard %d packets said while the call was on hold", n)
	}
	tab.hangup(t, id)
	carrier.Finish() // the scenario saw the hold, the resume and the BYE
}

// TestTrunkCallsOfTheDocs: the carrier of docs/sip.md's walkthrough
// (SIPp with docs/sipp's scenarios, sending back what it hears) takes a
// call from alice's widget, and calls bob's direct number; each widget
// hears itself through the carrier, and its hangup is a BYE.
func TestTrunkCallsOfTheDocs(t *testing.T) {
	sipPort, carrierPort, mediaPort := siptest.FreeUDPPort(t), siptest.FreeUDPPort(t), siptest.FreeUDPPort(t)
	dir := keepTrunks(t, sip.TrunkConfig{Name: "carrier", Host: fmt.Sprintf("127.0.0.1:%d", carrierPort), Priority: 1})
	srv := startServer(t, Config{DataDir: dir, RingTimeout: time.Hour,
		SIPListen: udpListen(sipPort)})
	media := echoMedia(mediaPort)

	t.Run("out", func(t *testing.T) {
		carrier := startCarrier(t, carrierPort, "../../docs/sipp/echo-carrier.xml", media...)
		tab := openTab(t, srv, "alice@demo.test")
		alice := newTalkerIn(t, "alice", 'a', pcmu)
		call := tab.dial(t, "+1 415 555 0123", alice.peer)
		alice.waitHears(t, "alice", 'a', 10) // through the carrier and back
		tab.hangup(t, call["id"].(string))
		carrier.Finish()
	})
	t.Run("in", func(t *testing.T) {
		tab := openTab(t, srv, "bob@demo.test")
		carrier := startCarrier(t, carrierPort, "../../docs/sipp/call-in.xml",
			append(media, "-s", "+16505550102", fmt.Sprintf("127.0.0.1:%d", sipPort))...)
		ring := tab.waitFor(t, "the ring", func(m map[string]any) bool { return m["type"] == "rc-call-ring-notify" })
		call := ring["call"].(map[string]any)
		if call["from"] != "+14155550123" {
			t.Errorf("the ringing call is from %v, want the carrier's caller +14155550123", call["from"])
		}
		bob := answerTalking(t, srv, tab, call["id"].(string), "bob", 'b')
		bob.waitHears(t, "bob", 'b', 10)
		tab.hangup(t, call["id"].(string))
		carrier.Finish()
	})
}

// TestTrunkKeysFromTheCarrier: a key the carrier sends in a SIP INFO
// reaches the widget that answered its call as an RFC 4733 event (its
// first payload byte is the event, 7). The carrier sends it once bob has
// held the call, so bob's leg is connected by then.
func TestTrunkKeysFromTheCarrier(t *testing.T) {
	sipPort, carrierPort, mediaPort := siptest.FreeUDPPort(t), siptest.FreeUDPPort(t), siptest.FreeUDPPort(t)
	dir := keepTrunks(t, sip.TrunkConfig{Name: "carrier", Host: fmt.Sprintf("127.0.0.1:%d", carrierPort), Priority: 1})
	srv := startServer(t, Config{DataDir: dir, RingTimeout: time.Hour,
		SIPListen: udpListen(sipPort)})
	tab := openTab(t, srv, "bob@demo.test")
	carrier := startCarrier(t, carrierPort, "testdata/carrier_inbound_keys.xml", append(echoMedia(mediaPort), fmt.Sprintf("127.0.0.1:%d", sipPort))...)
	call := tab.waitFor(t, "the ring", func(m map[string]any) bool { return m["type"] == "rc-call-ring-notify" })["call"].(map[string]any)
	id := call["id"].(string)
	bob := answerTalking(t, srv, tab, id, "bob", 'b')
	bob.waitHears(t, "bob", 'b', 10)
	if r := widgetPost(t, tab.c, srv.WidgetURL, "/widget/calls/"+id+"/hold", map[string]string{"deviceId": tab.device}); r.StatusCode != http.StatusOK {
		t.Fatalf("hold: %d %s", r.StatusCode, r.body)
	}
	bob.waitHears(t, "bob", 7, 1) // the event's packets: start, updates, ends
	tab.hangup(t, id)
	carrier.Finish()
}
