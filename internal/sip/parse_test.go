package sip

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

func TestParseDTMFInfo(t *testing.T) {
	for _, tt := range []struct {
		ct, body string
		digit    rune
		dur      time.Duration
		ok       bool
	}{
		{"application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", '5', 160 * time.Millisecond, true},
		{"Application/DTMF-Relay; charset=x", "signal= #\nduration=100", '#', 100 * time.Millisecond, true},
		{"application/dtmf-relay", "Signal=11\r\n", '#', 0, true},
		{"application/dtmf-relay", "Signal=!\r\n", 'F', 0, true},
		{"application/dtmf-relay", "Duration=160", 0, 0, false},
		{"application/dtmf-relay", "Signal=X", 0, 0, false},
		{"application/dtmf", "*", '*', 0, true},
		{"application/dtmf", "10", '*', 0, true},
		{"application/dtmf", "17", 0, 0, false},
		{"text/plain", "5", 0, 0, false},
	} {
		d, ok := parseDTMFInfo(tt.ct, []byte(tt.body))
		if ok != tt.ok || d.Digit != tt.digit || d.Duration != tt.dur {
			t.Errorf("parseDTMFInfo(%q, %q) = %+v %v", tt.ct, tt.body, d, ok)
		}
	}
}

func TestSDPConnectionAddr(t *testing.T) {
	for sdp, want := range map[string]string{
		"v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 1 RTP/AVP 0\r\n":   "192.0.2.1",
		"v=0\r\nm=audio 1 RTP/AVP 0\r\nc=IN IP6 2001:db8::1\r\n": "2001:db8::1",
		"c=IN IP4 224.2.1.1/127\n":                               "224.2.1.1",
		"c=IN IP4 host.example\n":                                "",
		"":                                                       "",
	} {
		if got := sdpConnectionAddr(sdp); got != want {
			t.Errorf("sdpConnectionAddr(%q) = %q, want %q", sdp, got, want)
		}
	}
}

func TestSessionExpires(t *testing.T) {
	m := sip.NewResponse(200, "OK")
	m.AppendHeader(sip.NewHeader("Session-Expires", "1800; refresher=UAS"))
	d, r, ok := parseSessionExpires(m)
	if !ok || d != 30*time.Minute || r != "uas" {
		t.Errorf("parse = %s %q %v", d, r, ok)
	}
	compact := sip.NewResponse(200, "OK")
	compact.AppendHeader(sip.NewHeader("x", "90"))
	if d, r, ok := parseSessionExpires(compact); !ok || d != 90*time.Second || r != "" {
		t.Errorf("compact = %s %q %v", d, r, ok)
	}
	bad := sip.NewResponse(200, "OK")
	bad.AppendHeader(sip.NewHeader("Session-Expires", "-1"))
	if _, _, ok := parseSessionExpires(bad); ok {
		t.Error("a negative interval parsed")
	}

	req := sip.NewRequest(sip.INVITE, sip.Uri{Host: "h"})
	req.AppendHeader(sip.NewHeader("Session-Expires", "60"))
	if _, _, _, small := negotiateUAS(req); !small {
		t.Error("60 s accepted, under Min-SE")
	}
	req = sip.NewRequest(sip.INVITE, sip.Uri{Host: "h"})
	req.AppendHeader(sip.NewHeader("Session-Expires", "600"))
	req.AppendHeader(sip.NewHeader("Supported", "100rel, timer"))
	if d, we, ok, _ := negotiateUAS(req); !ok || we || d != 10*time.Minute {
		t.Errorf("a caller that supports timers refreshes: %s %v %v", d, we, ok)
	}
}

func TestAddressLists(t *testing.T) {
	got := splitAddrList(`<sip:a;lr>, "x, y" <sip:b;lr>,<sip:c>`)
	if len(got) != 3 || got[1] != `"x, y" <sip:b;lr>` {
		t.Errorf("split = %q", got)
	}
	req := sip.NewRequest(sip.INVITE, sip.Uri{Host: "h"})
	req.AppendHeader(sip.NewHeader("P-Asserted-Identity", `"Bob" <sip:+14155550123@carrier>, <tel:+14155550123>`))
	if pai := assertedIdentity(req); pai != "+14155550123" {
		t.Errorf("P-Asserted-Identity user %q", pai)
	}
	req2 := sip.NewRequest(sip.INVITE, sip.Uri{Host: "h"})
	req2.AppendHeader(sip.NewHeader("P-Asserted-Identity", `<tel:+14155550199;cpc=ordinary>`))
	if pai := assertedIdentity(req2); pai != "+14155550199" {
		t.Errorf("tel P-Asserted-Identity %q", pai)
	}
}

func TestRefreshIn(t *testing.T) {
	for d, want := range map[time.Duration]time.Duration{
		time.Hour: 59 * time.Minute, 2 * time.Second: time.Second, 90 * time.Second: 45 * time.Second,
	} {
		if got := refreshIn(d); got != want {
			t.Errorf("refreshIn(%s) = %s, want %s", d, got, want)
		}
	}
}
