package rawleg

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/pion/sdp/v3"
)

func TestOffer(t *testing.T) {
	o, err := offer(localDesc{ufrag: "abcd", pwd: "0123456789abcdefghijklmn", fingerprint: "sha-256 AB:CD", ssrc: 42, cname: "c",
		addr: netip.MustParseAddrPort("127.0.0.1:40000")})
	if err != nil {
		t.Fatal(err)
	}
	var d sdp.SessionDescription
	if err := d.Unmarshal([]byte(o)); err != nil {
		t.Fatalf("%v\n%s", err, o)
	}
	if len(d.MediaDescriptions) != 1 {
		t.Fatalf("%d media sections", len(d.MediaDescriptions))
	}
	m := d.MediaDescriptions[0]
	if m.MediaName.Media != "audio" || m.MediaName.Port.Value != 40000 || strings.Join(m.MediaName.Formats, " ") != "111" ||
		strings.Join(m.MediaName.Protos, "/") != "UDP/TLS/RTP/SAVPF" {
		t.Errorf("m= %+v", m.MediaName)
	}
	for key, want := range map[string]string{
		"rtpmap": "111 opus/48000/2", "mid": "0", "sendrecv": "", "rtcp-mux": "", "ice-ufrag": "abcd",
		"ice-pwd": "0123456789abcdefghijklmn", "fingerprint": "sha-256 AB:CD", "setup": "actpass", "ssrc": "42 cname:c",
		"candidate": "1 1 udp 2130706431 127.0.0.1 40000 typ host",
	} {
		if v, ok := m.Attribute(key); !ok || v != want {
			t.Errorf("a=%s: %q (%v), want %q", key, v, ok, want)
		}
	}
	if r, err := parseAnswer(strings.Replace(o, "actpass", "active", 1)); err != nil ||
		r.ufrag != "abcd" || r.setup != "active" || len(r.candidates) != 1 || r.candidates[0].String() != "127.0.0.1:40000" {
		t.Errorf("the offer read back as an answer: %+v, %v", r, err)
	}
}

func TestParseAnswer(t *testing.T) {
	const answer = "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n" +
		"a=fingerprint:sha-256 AA:BB\r\na=ice-ufrag:sess\r\na=ice-pwd:session-level-password\r\n" +
		"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=setup:active\r\na=ice-ufrag:gw01\r\n" +
		"a=candidate:1 1 udp 100 192.0.2.7 5000 typ host\r\n" +
		"a=candidate:2 2 udp 100 127.0.0.1 5001 typ host\r\n" +
		"a=candidate:3 1 tcp 100 127.0.0.1 5002 typ host tcptype passive\r\n" +
		"a=candidate:4 1 udp 100 ::1 5003 typ host\r\n" +
		"a=candidate:5 1 udp 100 127.0.0.1 5004 typ srflx raddr 0.0.0.0 rport 0\r\n" +
		"a=candidate:6 1 udp 100 127.0.0.1 5005 typ host\r\n" +
		"a=candidate:7 1 udp 100 127.0.0.1 0 typ host\r\n"
	r, err := parseAnswer(answer)
	if err != nil {
		t.Fatal(err)
	}
	// Media-level attributes win; session-level ones fill in.
	if r.ufrag != "gw01" || r.pwd != "session-level-password" || r.fingerprint != "sha-256 AA:BB" || r.setup != "active" {
		t.Errorf("%+v", r)
	}
	// IPv4 UDP host candidates of component 1 only, loopback first.
	if len(r.candidates) != 2 || r.candidates[0].String() != "127.0.0.1:5005" || r.candidates[1].String() != "192.0.2.7:5000" {
		t.Errorf("candidates %v", r.candidates)
	}

	for name, bad := range map[string]string{
		"not SDP":         "hello",
		"no audio":        strings.Replace(answer, "m=audio", "m=video", 1),
		"no fingerprint":  strings.Replace(answer, "a=fingerprint:sha-256 AA:BB\r\n", "", 1),
		"no password":     strings.Replace(answer, "a=ice-pwd:session-level-password\r\n", "", 1),
		"no usable cands": strings.NewReplacer("127.0.0.1 5005", "::1 5005", "192.0.2.7", "::2").Replace(answer),
	} {
		if _, err := parseAnswer(bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
