package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/sip"
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
	port := freeUDPPort(t)
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
	carrier.finish() // the scenario ends with the un-REGISTER (Expires: 0)
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
	sipPort, silent := freeUDPPort(t), freeUDPPort(t)
	dir := keepTrunks(t,
		sip.TrunkConfig{Name: "peer", Host: carrier.LocalAddr().String(), Priority: 1},
		sip.TrunkConfig{Name: "silent", Host: fmt.Sprintf("127.0.0.1:%d", silent), Username: "u", Password: "p", Register: true, Priority: 2})
	srv := startServer(t, Config{DataDir: dir, SIPListen: []sip.Listen{{Transport: sip.UDP, Addr: fmt.Sprintf("127.0.0.1:%d", sipPort)}}})

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

// freeUDPPort returns a UDP port on 127.0.0.1 that is free now.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port
}

// sippCarrier is Debian's SIPp playing a carrier with a scenario of
// internal/sip/testdata.
type sippCarrier struct {
	t    *testing.T
	out  bytes.Buffer
	done chan error
}

// startCarrier runs SIPp on 127.0.0.1:port and returns once it holds the
// port. Without sipp the test is skipped, except in CI, where it fails.
func startCarrier(t *testing.T, port int, scenario string) *sippCarrier {
	t.Helper()
	if _, err := exec.LookPath("sipp"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("sipp is missing: install Debian's sip-tester (scripts/test.sh does)")
		}
		t.Skip("sipp is missing: install Debian's sip-tester to run the SIP trunk tests")
	}
	return startCarrierWith(t, port, scenario)
}

// startCarrierWith is startCarrier with more of SIPp's arguments; a
// scenario with a directory is the server's own (testdata), else one of
// internal/sip's.
func startCarrierWith(t *testing.T, port int, scenario string, args ...string) *sippCarrier {
	t.Helper()
	bin, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(scenario, "/") {
		scenario = filepath.Join("..", "sip", "testdata", scenario)
	}
	sf, err := filepath.Abs(scenario)
	if err != nil {
		t.Fatal(err)
	}
	c := &sippCarrier{t: t, done: make(chan error, 1)}
	cmd := exec.Command(bin, append([]string{"-sf", sf, "-i", "127.0.0.1", "-p", strconv.Itoa(port), "-m", "1", "-nostdin",
		"-timeout", "120s", "-timeout_error", "-recv_timeout", "60s"}, args...)...)
	cmd.Dir = t.TempDir()
	cmd.Stdout, cmd.Stderr = &c.out, &c.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sipp: %v", err)
	}
	go func() { c.done <- cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case err := <-c.done:
			c.done <- err
		default:
			cmd.Process.Kill()
			<-c.done
		}
	})
	// SIPp holds its port once the kernel's socket table lists it.
	want := fmt.Sprintf(":%04X ", port)
	for deadline := time.Now().Add(patience); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		b, _ := os.ReadFile("/proc/net/udp")
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) > 1 && strings.HasSuffix(f[1]+" ", want) {
				return c
			}
		}
		select {
		case err := <-c.done:
			t.Fatalf("sipp exited before binding its port: %v\n%s", err, c.out.String())
		default:
		}
	}
	t.Fatalf("sipp never bound port %d", port)
	return nil
}

// finish waits for SIPp's scenario to end and fails the test unless it
// succeeded.
func (c *sippCarrier) finish() {
	c.t.Helper()
	select {
	case err := <-c.done:
		c.done <- err
		if err != nil {
			c.t.Fatalf("sipp failed: %v\n%s", err, c.out.String())
		}
	case <-time.After(startStopLimit):
		c.t.Fatalf("sipp did not finish\n%s", c.out.String())
	}
}

// TestTrunkCallAudio: a widget calls a number outside the account; the
// call goes out on the trunk to a carrier (SIPp) that answers and sends
// back what it hears. The widget hears its own words through the carrier,
// so audio went both ways through the gateway's G.711 relay; holding the
// call holds the carrier (a re-INVITE) and nothing said on hold reaches
// it; after the resume the widget hears itself again; its hangup is a BYE.
func TestTrunkCallAudio(t *testing.T) {
	sipPort, carrierPort, mediaPort := freeUDPPort(t), freeUDPPort(t), freeUDPPort(t)
	dir := keepTrunks(t, sip.TrunkConfig{Name: "carrier", Host: fmt.Sprintf("127.0.0.1:%d", carrierPort), Priority: 1})
	carrier := startCarrierWith(t, carrierPort, "testdata/carrier_echo_hold.xml", "-rtp_echo", "-mi", "127.0.0.1", "-mp", strconv.Itoa(mediaPort))
	srv := startServer(t, Config{DataDir: dir, RingTimeout: time.Hour,
		SIPListen: []sip.Listen{{Transport: sip.UDP, Addr: fmt.Sprintf("127.0.0.1:%d", sipPort)}}})
	tab := openTab(t, srv, "alice@demo.test")

	alice := newTalkerIn(t, "alice", 'a', webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000})
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
	carrier.finish() // the scenario saw the hold, the resume and the BYE
}

// TestTrunkCallsOfTheDocs: the carrier of docs/sip.md's walkthrough
// (SIPp with docs/sipp's scenarios, sending back what it hears) takes a
// call from alice's widget, and calls bob's direct number; each widget
// hears itself through the carrier, and its hangup is a BYE.
func TestTrunkCallsOfTheDocs(t *testing.T) {
	sipPort, carrierPort, mediaPort := freeUDPPort(t), freeUDPPort(t), freeUDPPort(t)
	dir := keepTrunks(t, sip.TrunkConfig{Name: "carrier", Host: fmt.Sprintf("127.0.0.1:%d", carrierPort), Priority: 1})
	srv := startServer(t, Config{DataDir: dir, RingTimeout: time.Hour,
		SIPListen: []sip.Listen{{Transport: sip.UDP, Addr: fmt.Sprintf("127.0.0.1:%d", sipPort)}}})
	pcmu := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}
	media := []string{"-rtp_echo", "-mi", "127.0.0.1", "-mp", strconv.Itoa(mediaPort)}

	t.Run("out", func(t *testing.T) {
		carrier := startCarrierWith(t, carrierPort, "../../docs/sipp/echo-carrier.xml", media...)
		tab := openTab(t, srv, "alice@demo.test")
		alice := newTalkerIn(t, "alice", 'a', pcmu)
		call := tab.dial(t, "+1 415 555 0123", alice.peer)
		alice.waitHears(t, "alice", 'a', 10) // through the carrier and back
		tab.hangup(t, call["id"].(string))
		carrier.finish()
	})
	t.Run("in", func(t *testing.T) {
		tab := openTab(t, srv, "bob@demo.test")
		carrier := startCarrierWith(t, carrierPort, "../../docs/sipp/call-in.xml",
			append(media, "-s", "+16505550102", fmt.Sprintf("127.0.0.1:%d", sipPort))...)
		ring := tab.waitFor(t, "the ring", func(m map[string]any) bool { return m["type"] == "rc-call-ring-notify" })
		call := ring["call"].(map[string]any)
		if call["from"] != "+14155550123" {
			t.Errorf("the ringing call is from %v, want the carrier's caller +14155550123", call["from"])
		}
		bob := newTalkerIn(t, "bob", 'b', pcmu)
		r := widgetPost(t, tab.c, srv.WidgetURL, "/widget/calls/"+call["id"].(string)+"/answer",
			map[string]string{"deviceId": tab.device, "sdp": bob.offer})
		if r.StatusCode != http.StatusOK {
			t.Fatalf("bob answers: %d %s", r.StatusCode, r.body)
		}
		bob.answer(t, r.json(t)["sdp"].(string))
		bob.waitHears(t, "bob", 'b', 10)
		tab.hangup(t, call["id"].(string))
		carrier.finish()
	})
}

// TestTrunkKeysFromTheCarrier: a key the carrier sends in a SIP INFO
// reaches the widget that answered its call as an RFC 4733 event (its
// first payload byte is the event, 7). The carrier sends it once bob has
// held the call, so bob's leg is connected by then.
func TestTrunkKeysFromTheCarrier(t *testing.T) {
	sipPort, carrierPort, mediaPort := freeUDPPort(t), freeUDPPort(t), freeUDPPort(t)
	dir := keepTrunks(t, sip.TrunkConfig{Name: "carrier", Host: fmt.Sprintf("127.0.0.1:%d", carrierPort), Priority: 1})
	srv := startServer(t, Config{DataDir: dir, RingTimeout: time.Hour,
		SIPListen: []sip.Listen{{Transport: sip.UDP, Addr: fmt.Sprintf("127.0.0.1:%d", sipPort)}}})
	tab := openTab(t, srv, "bob@demo.test")
	carrier := startCarrierWith(t, carrierPort, "testdata/carrier_inbound_keys.xml", "-rtp_echo", "-mi", "127.0.0.1", "-mp", strconv.Itoa(mediaPort),
		fmt.Sprintf("127.0.0.1:%d", sipPort))
	call := tab.waitFor(t, "the ring", func(m map[string]any) bool { return m["type"] == "rc-call-ring-notify" })["call"].(map[string]any)
	id := call["id"].(string)
	bob := newTalkerIn(t, "bob", 'b', webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000})
	r := widgetPost(t, tab.c, srv.WidgetURL, "/widget/calls/"+id+"/answer", map[string]string{"deviceId": tab.device, "sdp": bob.offer})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("bob answers: %d %s", r.StatusCode, r.body)
	}
	bob.answer(t, r.json(t)["sdp"].(string))
	bob.waitHears(t, "bob", 'b', 10)
	if r := widgetPost(t, tab.c, srv.WidgetURL, "/widget/calls/"+id+"/hold", map[string]string{"deviceId": tab.device}); r.StatusCode != http.StatusOK {
		t.Fatalf("hold: %d %s", r.StatusCode, r.body)
	}
	bob.waitHears(t, "bob", 7, 1) // the event's packets: start, updates, ends
	tab.hangup(t, id)
	carrier.finish()
}
