package sip

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callbridge/widget-server/internal/siptest"
)

// TestBaresipRegistersAndAnswers runs Debian's baresip as the desk phone
// of 101-desk: it registers with its password, answers a call the server
// sends it (auto answer, audio from a file), and unregisters as it quits.
func TestBaresipRegistersAndAnswers(t *testing.T) {
	siptest.NeedBaresip(t)
	u, log := newDeviceUA(t, nil)
	// Its voice: one second of a 440 Hz tone.
	tone := make([]int16, siptest.SampleRate)
	for i := range tone {
		tone[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(i)/siptest.SampleRate))
	}
	wav := filepath.Join(t.TempDir(), "tone.wav")
	siptest.WriteWAV(t, wav, tone)
	port := siptest.FreeUDPPort(t)
	phone := siptest.Baresip{Port: port, Voice: wav,
		Accounts: fmt.Sprintf("<sip:101-desk@%s;transport=udp>;auth_pass=%s;regint=60;answermode=auto\n", udpAddr(t, u), phonePassword),
	}.Start(t)

	e := log.next(t)
	if !e.up || e.b.Device.Username != "101-desk" || e.b.Source.Port() != uint16(port) || !strings.Contains(strings.ToLower(e.b.UserAgent), "baresip") {
		t.Fatalf("report %+v, want baresip registered as 101-desk from port %d", e, port)
	}

	rec := newRecorder()
	c, err := u.InviteDevice(context.Background(), e.b, OutboundCall{CallerID: "+16505550100", CallerName: "Alice", SDP: offerSDP}, rec.events())
	if err != nil {
		t.Fatal(err)
	}
	if a := rec.next(t, "answered"); !strings.Contains(a.sdp, "PCMU/8000") {
		t.Errorf("baresip's answer %q has no PCMU", a.sdp)
	}
	bye(t, c)

	// Quitting, baresip removes its registration.
	phone.Quit()
	if e := log.next(t); e.up || e.b.Device.Username != "101-desk" {
		t.Errorf("report %+v, want 101-desk unregistered", e)
	}
}
