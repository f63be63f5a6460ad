package server

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/sip"
	"github.com/callbridge/widget-server/internal/siptest"
	"github.com/callbridge/widget-server/internal/store"
)

// logWaiter is a log handler that remembers the messages logged, so that
// a test can wait for one however many other lines come first.
type logWaiter struct {
	mu      *sync.Mutex
	seen    map[string]bool
	changed chan struct{} // signalled on every new message
}

func newLogWaiter() logWaiter {
	return logWaiter{mu: &sync.Mutex{}, seen: map[string]bool{}, changed: make(chan struct{}, 1)}
}

func (l logWaiter) Enabled(context.Context, slog.Level) bool { return true }
func (l logWaiter) WithGroup(string) slog.Handler            { return l }
func (l logWaiter) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l logWaiter) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	fresh := !l.seen[r.Message]
	l.seen[r.Message] = true
	l.mu.Unlock()
	if fresh {
		select {
		case l.changed <- struct{}{}:
		default:
		}
	}
	return nil
}

// wait returns once a line with message msg has been logged.
func (l logWaiter) wait(t *testing.T, msg string) {
	t.Helper()
	deadline := time.After(patience)
	for {
		l.mu.Lock()
		seen := l.seen[msg]
		l.mu.Unlock()
		if seen {
			return
		}
		select {
		case <-l.changed:
		case <-deadline:
			t.Fatalf("no log line %q", msg)
		}
	}
}

// startPhoneServer starts a server with a SIP listener on
// 127.0.0.1:sipPort (UDP); its log tells when a desk phone registered.
func startPhoneServer(t *testing.T, sipPort int) (*instance, logWaiter) {
	t.Helper()
	logs := newLogWaiter()
	return startServer(t, Config{RingTimeout: time.Hour, Logger: slog.New(logs), SIPListen: udpListen(sipPort)}), logs
}

// keepDeskPhone gives the extension of email a desk phone, username with
// password, in srv's store, as `widget-server phones add` does.
func keepDeskPhone(t *testing.T, srv *instance, email, username, password string) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, srv.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ext, err := db.ExtensionByEmail(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	err = db.AddSIPDevice(ctx, &store.SIPDevice{ExtensionID: ext.ID, Username: username,
		HA1: sip.HA1(username, sip.DefaultRealm, password), Realm: sip.DefaultRealm})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDeskPhoneCalls: a desk phone (SIPp) registers as bob's device with
// its digest credentials; alice's widget calls bob and the phone, rung with
// a delayed offer, answers: alice hears herself through it. Then the phone
// calls alice, whose widget answers like the phone's leg; her hangup is a
// BYE to the phone.
func TestDeskPhoneCalls(t *testing.T) {
	sipPort, phonePort, mediaPort := siptest.FreeUDPPort(t), siptest.FreeUDPPort(t), siptest.FreeUDPPort(t)
	srv, logs := startPhoneServer(t, sipPort)

	keepDeskPhone(t, srv, "bob@demo.test", "101-desk", "desk-secret-1")
	server := fmt.Sprintf("127.0.0.1:%d", sipPort)
	startCarrier(t, phonePort, "../sip/testdata/phone_register_stay.xml", server).Finish()
	logs.wait(t, logPhoneDevice)

	tab := openTab(t, srv, "alice@demo.test")
	media := echoMedia(mediaPort)

	t.Run("rung", func(t *testing.T) {
		phone := startCarrier(t, phonePort, "testdata/phone_answer_echo.xml", media...)
		alice := newTalkerIn(t, "alice", 'a', pcmu)
		call := tab.dial(t, "102", alice.peer)
		alice.waitHears(t, "alice", 'a', 10) // through bob's desk phone and back
		tab.hangup(t, call["id"].(string))
		phone.Finish()
	})
	t.Run("calls", func(t *testing.T) {
		phone := startCarrier(t, phonePort, "testdata/phone_call_echo.xml", append(media, "-s", "101", server)...)
		call := tab.waitFor(t, "the ring", func(m map[string]any) bool { return m["type"] == "rc-call-ring-notify" })["call"].(map[string]any)
		alice := answerTalking(t, srv, tab, call["id"].(string), "alice", 'b')
		alice.waitHears(t, "alice", 'b', 10)
		tab.hangup(t, call["id"].(string))
		phone.Finish()
	})
	t.Run("answered elsewhere", func(t *testing.T) {
		// The phone rings with bob's widget; the widget answers, and the
		// phone, no longer in the session, is cancelled.
		phone := startCarrier(t, phonePort, "testdata/phone_cancelled.xml")
		bobTab := openTab(t, srv, "bob@demo.test")
		call := tab.dial(t, "102", newTalkerIn(t, "alice", 'c', pcmu).peer)
		bobTab.waitFor(t, "the ring", func(m map[string]any) bool { return m["type"] == "rc-call-ring-notify" })
		logs.wait(t, logPhoneRinging)
		answerTalking(t, srv, bobTab, call["id"].(string), "bob", 'd')
		phone.Finish()
		tab.hangup(t, call["id"].(string))
	})
}
