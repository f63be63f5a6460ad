package media

import (
	"encoding/base64"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// carrierOffer is an offer as carriers write it: PCMU and PCMA, an event
// type of their own, and a fax section the gateway refuses.
const carrierOffer = "v=0\r\no=carrier 42 1 IN IP4 192.0.2.7\r\ns=-\r\nc=IN IP4 192.0.2.7\r\nt=0 0\r\n" +
	"m=audio 30000 RTP/AVP 8 0 96\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n" +
	"a=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-16\r\na=ptime:20\r\na=sendrecv\r\n" +
	"m=image 30002 udptl t38\r\n"

const testKey = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz" // 30 bytes

// offlineRTPLeg is the negotiating part of an RTP leg, without sockets.
func offlineRTPLeg() *rtpLeg {
	return &rtpLeg{advertise: netip.MustParseAddr("192.0.2.1"), port: 20000, sessionID: 1, keys: map[sdesSuite]*srtpPair{}}
}

func TestParseCrypto(t *testing.T) {
	for _, tc := range []struct {
		value string
		ok    bool
		tag   int
	}{
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + testKey, true, 1},
		{"2 AES_CM_128_HMAC_SHA1_32 inline:" + testKey + "|2^31", true, 2},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + testKey + "|2^20|1:4", false, 0},          // MKI
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + testKey + "|1:4", false, 0},               // MKI
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + testKey + " KDR=1", false, 0},             // session parameter
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + testKey + ";inline:" + testKey, false, 0}, // two keys
		{"1 AES_256_CM_HMAC_SHA1_80 inline:" + testKey, false, 0},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:AAAA", false, 0},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:not base64!", false, 0},
		{"x AES_CM_128_HMAC_SHA1_80 inline:" + testKey, false, 0},
		{"1 AES_CM_128_HMAC_SHA1_80 " + testKey, false, 0},
		{"", false, 0},
	} {
		c, ok := parseCrypto(tc.value)
		if ok != tc.ok || (ok && (c.tag != tc.tag || len(c.key) != sdesKeyLen)) {
			t.Errorf("parseCrypto(%q) = %+v, %v", tc.value, c, ok)
		}
		if ok {
			back, ok := parseCrypto(c.attribute())
			if !ok || back.tag != c.tag || back.suite != c.suite || string(back.key) != string(c.key) {
				t.Errorf("attribute %q does not read back", c.attribute())
			}
		}
	}
}

func TestDirectionAnswer(t *testing.T) {
	for _, tc := range []struct{ want, offered, answer Direction }{
		{SendRecv, SendRecv, SendRecv},
		{SendRecv, SendOnly, RecvOnly},
		{SendRecv, RecvOnly, SendOnly},
		{SendRecv, Inactive, Inactive},
		{SendOnly, SendRecv, SendOnly},
		{SendOnly, SendOnly, Inactive},
		{Inactive, SendRecv, Inactive},
		{RecvOnly, SendOnly, RecvOnly},
	} {
		if got := tc.want.answerTo(tc.offered); got != tc.answer {
			t.Errorf("%s answering %s = %s, want %s", tc.want, tc.offered, got, tc.answer)
		}
	}
}

func TestParsePortRange(t *testing.T) {
	if r, err := ParsePortRange(" 20000-20999 "); err != nil || r != (PortRange{20000, 20999}) {
		t.Fatalf("ParsePortRange = %v, %v", r, err)
	}
	for _, s := range []string{"", "20000", "a-b", "20000-", "0-10", "10-5", "60000-70000", "20001-20002"} {
		if r, err := ParsePortRange(s); err == nil {
			t.Errorf("ParsePortRange(%q) = %v", s, r)
		}
	}
	if first, n := (PortRange{20001, 20006}).pairs(); first != 20002 || n != 2 {
		t.Errorf("pairs of 20001-20006 = %d, %d", first, n)
	}
}

func TestRTPSetup(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // advertised address; "" = an error
	}{
		{"listen address", Config{ListenIP: "127.0.0.1"}, "127.0.0.1"},
		{"own listen address", Config{ListenIP: "127.0.0.1", RTPListenIP: "127.0.0.2"}, "127.0.0.2"},
		{"public address first", Config{ListenIP: "10.0.0.5", NAT1To1IPs: []string{"198.51.100.4"}}, "198.51.100.4"},
		{"advertised address first", Config{ListenIP: "10.0.0.5", NAT1To1IPs: []string{"198.51.100.4"}, RTPAdvertiseIP: "203.0.113.9"}, "203.0.113.9"},
		{"bad listen address", Config{RTPListenIP: "::1"}, ""},
		{"bad advertised address", Config{RTPAdvertiseIP: "host.example"}, ""},
		{"bad range", Config{RTPPorts: PortRange{Min: 30001, Max: 30002}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, adv, err := rtpSetup(tc.cfg)
			if tc.want == "" {
				if err == nil {
					t.Fatal("rtpSetup accepted it")
				}
				return
			}
			if err != nil || adv.String() != tc.want {
				t.Fatalf("rtpSetup = %v, %v; want %s", adv, err, tc.want)
			}
		})
	}
	if _, err := New(Config{ListenIP: "127.0.0.1", RTPPorts: PortRange{Min: 5, Max: 4}}); err == nil {
		t.Error("New accepted an empty RTP port range")
	}
}

func TestAnswerCarrierOffer(t *testing.T) {
	sections, err := parseSDP(carrierOffer)
	if err != nil {
		t.Fatal(err)
	}
	r := offlineRTPLeg()
	answer, err := r.answerOffer(sections, RTPOptions{}, []codecClass{classPCMU, classPCMA})
	if err != nil {
		t.Fatal(err)
	}
	// The carrier's preference (PCMA) and event type; the fax section
	// refused with port 0 in its place.
	want := "v=0\r\no=callbridge 1 1 IN IP4 192.0.2.1\r\ns=callbridge\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n" +
		"m=audio 20000 RTP/AVP 8 96\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-16\r\n" +
		"a=ptime:20\r\na=sendrecv\r\nm=image 0 udptl t38\r\n"
	if answer != want {
		t.Fatalf("answer:\n%s\nwant:\n%s", answer, want)
	}
	st := r.state.Load()
	if st.audio != classPCMA || st.pts[classPCMA] != 8 || st.pts[classEvent8k] != 96 || st.classes[96] != classEvent8k ||
		st.remote.String() != "192.0.2.7:30000" || st.remoteRTCP.String() != "192.0.2.7:30001" || !st.send || !st.recv || st.out != nil {
		t.Fatalf("state %+v", st)
	}

	// A re-offer to hold, old style (c=0.0.0.0): nothing is sent, what
	// comes is still taken from the carrier's address; the version moves.
	hold := strings.ReplaceAll(carrierOffer, "c=IN IP4 192.0.2.7", "c=IN IP4 0.0.0.0")
	sections, err = parseSDP(hold)
	if err != nil {
		t.Fatal(err)
	}
	answer, err = r.answerOffer(sections, RTPOptions{}, nil)
	if err != nil || !strings.Contains(answer, "o=callbridge 1 2 ") {
		t.Fatalf("hold answer %v:\n%s", err, answer)
	}
	if st := r.state.Load(); st.send || !st.recv || st.peer.String() != "192.0.2.7" {
		t.Fatalf("held state %+v", st)
	}
}

func TestOfferAndAnswerSRTP(t *testing.T) {
	r := offlineRTPLeg()
	offer, err := r.makeOffer(RTPOptions{SRTP: true}, []codecClass{classPCMU, classPCMA})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(offer, "m=audio 20000 RTP/SAVP 0 8 101\r\n") || !strings.Contains(offer, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:") ||
		!strings.Contains(offer, "a=rtcp-mux\r\n") {
		t.Fatalf("offer:\n%s", offer)
	}
	answer := "v=0\r\no=c 1 1 IN IP4 192.0.2.7\r\ns=-\r\nt=0 0\r\nm=audio 30000 RTP/SAVP 0 101\r\nc=IN IP4 192.0.2.7\r\n" +
		"a=rtpmap:101 telephone-event/8000\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + testKey + "\r\na=rtcp-mux\r\n"
	if err := r.applyAnswer(answer); err != nil {
		t.Fatal(err)
	}
	st := r.state.Load()
	if st.audio != classPCMU || st.in == nil || st.out == nil || !st.mux || st.remoteRTCP != st.remote {
		t.Fatalf("state %+v", st)
	}
	// A 200 repeating the 183's answer keeps the contexts (and their
	// replay and rollover state).
	if err := r.applyAnswer(answer); err != nil || r.state.Load().in != st.in {
		t.Fatalf("second answer: %v", err)
	}
	// A re-offer keeps profile, key and codec, whatever the options say.
	again, err := r.makeOffer(RTPOptions{Direction: Inactive}, nil)
	if err != nil || !strings.Contains(again, "RTP/SAVP 0 101\r\n") || !strings.Contains(again, "a=inactive\r\n") ||
		!strings.Contains(again, "inline:"+b64(st.out.key)) {
		t.Fatalf("re-offer %v:\n%s", err, again)
	}
}

func b64(key []byte) string { return base64.StdEncoding.EncodeToString(key) }

func TestParseSDPForms(t *testing.T) {
	// Line feeds alone, as some SIP stacks write; a=rtcp with its own
	// address; session-level direction.
	text := "v=0\no=- 1 1 IN IP4 192.0.2.7\ns=-\nc=IN IP4 192.0.2.7\nt=0 0\na=sendonly\n" +
		"m=audio 30000 RTP/AVP 0\na=rtcp:40001 IN IP4 192.0.2.8\n"
	sections, err := parseSDP(text)
	if err != nil {
		t.Fatal(err)
	}
	s := sections[0]
	if s.dir != SendOnly || s.rtcp.String() != "192.0.2.8:40001" || len(s.codecs) != 1 || classify(s.codecs[0]) != classPCMU {
		t.Fatalf("section %+v", s)
	}
}

// FuzzAnswerRTP feeds a carrier's offer to the code that answers it, as an
// INVITE and as a re-INVITE: it is answered or refused with ErrBadOffer,
// and an answer given reads back.
func FuzzAnswerRTP(f *testing.F) {
	f.Add(carrierOffer)
	f.Add(strings.Replace(carrierOffer, "RTP/AVP 8 0 96", "RTP/SAVP 0 96\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"+testKey, 1))
	f.Add("v=0\r\nm=audio 1 RTP/AVP 0\r\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, offer string) {
		r := offlineRTPLeg()
		for range 2 {
			sections, err := parseSDP(offer)
			if err != nil {
				return
			}
			answer, err := r.answerOffer(sections, RTPOptions{}, []codecClass{classPCMU, classPCMA})
			if err != nil {
				if !errors.Is(err, ErrBadOffer) {
					t.Fatalf("answerOffer error %v is not ErrBadOffer", err)
				}
				return
			}
			back, err := parseSDP(answer)
			if err != nil || len(back) != len(sections) {
				t.Fatalf("answer does not read back (%v):\n%s", err, answer)
			}
		}
	})
}

// FuzzApplyRTPAnswer feeds a carrier's answer to the code that applies it
// to the gateway's offer: applied or refused with ErrBadAnswer.
func FuzzApplyRTPAnswer(f *testing.F) {
	answer := "v=0\r\no=c 1 1 IN IP4 192.0.2.7\r\ns=-\r\nc=IN IP4 192.0.2.7\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
	f.Add(answer, false)
	f.Add(strings.Replace(answer, "RTP/AVP", "RTP/SAVP", 1)+"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"+testKey+"\r\n", true)
	f.Add("", false)
	f.Fuzz(func(t *testing.T, answer string, secure bool) {
		r := offlineRTPLeg()
		if _, err := r.makeOffer(RTPOptions{SRTP: secure}, []codecClass{classPCMU, classPCMA}); err != nil {
			t.Fatal(err)
		}
		if err := r.applyAnswer(answer); err != nil && !errors.Is(err, ErrBadAnswer) {
			t.Fatalf("applyAnswer error %v is not ErrBadAnswer", err)
		}
	})
}
