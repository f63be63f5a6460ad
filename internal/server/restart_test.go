package server

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v3"

	"github.com/callbridge/widget-server/internal/store"
)

// offer makes a loopback-only browser-like audio offer, gathered completely.
func offer(t *testing.T) (*webrtc.PeerConnection, string) {
	t.Helper()
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	var me webrtc.MediaEngine
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(&me))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	o, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(o); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gathered:
	case <-time.After(patience):
		t.Fatal("ICE gathering did not complete")
	}
	return pc, pc.LocalDescription().SDP
}

// TestStopDuringCall stops the server (as SIGTERM does) while a widget is in
// a call with the echo line: the call ends with a reason and leaves its
// call-log record, and the server stops within its timeout.
func TestStopDuringCall(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, done := runUntil(t, ctx, Config{})

	iframe := browser()
	openWidget(t, iframe, srv)
	callback := location(t, login(t, browser(), startLogin(t, iframe, srv, "popup"), "alice@demo.test", "demo"))
	if r := widgetPost(t, iframe, srv.WidgetURL, "/widget/login/complete", map[string]string{"callbackUri": callback.String()}); r.StatusCode != 200 {
		t.Fatalf("sign in: %d %s", r.StatusCode, r.body)
	}
	// The tab's event stream registers its device with the switch.
	device := newDevice(t, iframe, srv)
	req, _ := http.NewRequest("GET", srv.WidgetURL+"/widget/events?clientId=demo&deviceId="+device, nil)
	stream, err := iframe.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	lines := bufio.NewScanner(stream.Body)
	lines.Scan() // the stream is open
	answered := make(chan struct{})
	go func() {
		once := false
		for lines.Scan() {
			if !once && strings.Contains(lines.Text(), `"rc-call-start-notify"`) {
				close(answered)
				once = true
			}
		}
	}()

	pc, sdp := offer(t)
	r := widgetPost(t, iframe, srv.WidgetURL, "/widget/calls", map[string]string{"deviceId": device, "to": "+15550101", "sdp": sdp})
	if r.StatusCode != 200 {
		t.Fatalf("dial: %d %s", r.StatusCode, r.body)
	}
	answer, _ := r.json(t)["sdp"].(string)
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-answered: // the echo line answers after about a second
	case <-time.After(patience):
		t.Fatal("the echo line did not answer")
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the server did not stop")
	}
	db, err := store.Open(context.Background(), srv.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	recs, err := db.CallRecords(context.Background(), 1, 10)
	if err != nil || len(recs) != 1 {
		t.Fatalf("call log after stop: %v, %v", recs, err)
	}
	if recs[0].Result == "" || recs[0].To.PhoneNumber != "+15550101" {
		t.Fatalf("record %+v", recs[0])
	}
	t.Logf("the call ended with result %q", recs[0].Result)
}
