package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/sip"
	"github.com/callbridge/widget-server/internal/store"
	"github.com/pion/webrtc/v3"
)

// logWaiter is a log handler that tells when a line with a message comes.
type logWaiter struct {
	lines chan slog.Record
}

func (l logWaiter) Enabled(context.Context, slog.Level) bool { return true }
func (l logWaiter) WithGroup(string) slog.Handler            { return l }
func (l logWaiter) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l logWaiter) Handle(_ context.Context, r slog.Record) error {
	select {
	case l.lines <- r:
	default: // nobody waits for this many lines
	}
	return nil
}

// wait returns once a line with message msg was logged.
func (l logWaiter) wait(t *testing.T, msg string) {
	t.Helper()
	deadline := time.After(patience)
	for {
		select {
		case r := <-l.lines:
			if r.Message == msg {
				return
			}
		case <-deadline:
			t.Fatalf("no log line %q", msg)
		}
	}
}

// TestDeskPhoneCalls: a desk phone (SIPp) registers as bob's device with
// its digest credentials; alice's widget calls bob and the phone, rung with
// a delayed offer, answers: alice hears herself through it. Then the phone
// calls alice, whose widget answers like the phone's leg; her hangup is a
// BYE to the phone.
func TestDeskPhoneCalls(t *testing.T) {
	sipPort, phonePort, mediaPort := freeUDPPort(t), freeUDPPort(t), freeUDPPort(t)
	logs := logWaiter{lines: make(chan slog.Record, 4096)}
	srv := startServer(t, Config{RingTimeout: time.Hour, Logger: slog.New(logs),
		SIPListen: []sip.Listen{{Transport: sip.UDP, Addr: fmt.Sprintf("127.0.0.1:%d", sipPort)}}})

	ctx := context.Background()
	db, err := store.Open(ctx, srv.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := db.ExtensionByEmail(ctx, "bob@demo.test")
	if err != nil {
		t.Fatal(err)
	}
	err = db.AddSIPDevice(ctx, &store.SIPDevice{ExtensionID: bob.ID, Username: "101-desk",
		HA1: sip.HA1("101-desk", sip.DefaultRealm, "desk-secret-1"), Realm: sip.DefaultRealm})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	server := fmt.Sprintf("127.0.0.1:%d", sipPort)
	startCarrierWith(t, phonePort, "../sip/testdata/phone_register_stay.xml", server).finish()
	logs.wait(t, logPhoneDevice)

	tab := openTab(t, srv, "alice@demo.test")
	pcmu := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}
	media := []string{"-rtp_echo", "-mi", "127.0.0.1", "-mp", strconv.Itoa(mediaPort)}

	t.Run("rung", func(t *testing.T) {
		phone := startCarrierWith(t, phonePort, "testdata/phone_answer_echo.xml", media...)
		alice := newTalkerIn(t, "alice", 'a', pcmu)
		call := tab.dial(t, "102", alice.peer)
		alice.waitHears(t, "alice", 'a', 10) // through bob's desk phone and back
		tab.hangup(t, call["id"].(string))
		phone.finish()
	})
	t.Run("calls", func(t *testing.T) {
		phone := startCarrierWith(t, phonePort, "testdata/phone_call_echo.xml", append(media, "-s", "101", server)...)
		call := tab.waitFor(t, "the ring", func(m map[string]any) bool { return m["type"] == "rc-call-ring-notify" })["call"].(map[string]any)
		alice := newTalkerIn(t, "alice", 'b', pcmu)
		r := widgetPost(t, tab.c, srv.WidgetURL, "/widget/calls/"+call["id"].(string)+"/answer",
			map[string]string{"deviceId": tab.device, "sdp": alice.offer})
		if r.StatusCode != http.StatusOK {
			t.Fatalf("alice answers: %d %s", r.StatusCode, r.body)
		}
		alice.answer(t, r.json(t)["sdp"].(string))
		alice.waitHears(t, "alice", 'b', 10)
		tab.hangup(t, call["id"].(string))
		phone.finish()
	})
}
