package media

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v3"
)

const offerFixture = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
	"a=group:BUNDLE 0\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111 0 126\r\nc=IN IP4 0.0.0.0\r\n" +
	"a=mid:0\r\na=sendrecv\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:126 telephone-event/8000\r\n"

func TestCheckOffer(t *testing.T) {
	for _, tc := range []struct {
		name  string
		offer string
		kind  Kind
		ok    bool
	}{
		{"opus for phone", offerFixture, KindPhone, true},
		{"opus for echo", offerFixture, KindEcho, true},
		{"static PCMU for tone", offerFixture, KindTone, true},
		{"opus at the wrong rate", strings.Replace(offerFixture, "opus/48000", "opus/8000", 1), KindPhone, false},
		{"PCMU remapped away", strings.Replace(offerFixture, "a=mid:0", "a=mid:0\r\na=rtpmap:0 G722/8000", 1), KindTone, false},
		{"rejected section", strings.Replace(offerFixture, "m=audio 9", "m=audio 0", 1), KindPhone, false},
		{"video only", strings.Replace(offerFixture, "m=audio", "m=video", 1), KindPhone, false},
		{"rtpmap for an unlisted type", strings.Replace(offerFixture, "111 0 126", "0 126", 1), KindPhone, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := checkOffer(tc.offer, tc.kind)
			if tc.ok && err != nil {
				t.Fatalf("checkOffer = %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrBadOffer) {
				t.Fatalf("checkOffer = %v, want ErrBadOffer", err)
			}
		})
	}
}

func TestCheckOfferReturnsOfferedCodecs(t *testing.T) {
	offer := strings.Replace(offerFixture, "a=rtpmap:126", "a=fmtp:111 minptime=10\r\na=rtpmap:126", 1)
	audio, err := checkOffer(offer, KindPhone)
	if err != nil {
		t.Fatal(err)
	}
	if audio.mid != "0" || len(audio.codecs) != 3 {
		t.Fatalf("checkOffer = %+v", audio)
	}
	want := []struct {
		pt   webrtc.PayloadType
		mime string
		rate uint32
		fmtp string
	}{{111, "audio/opus", 48000, "minptime=10"}, {0, "audio/PCMU", 8000, ""}, {126, "audio/telephone-event", 8000, ""}}
	for i, w := range want {
		c := audio.codecs[i]
		if c.PayloadType != w.pt || c.MimeType != w.mime || c.ClockRate != w.rate || c.SDPFmtpLine != w.fmtp {
			t.Errorf("codec %d = %+v, want %+v", i, c, w)
		}
	}
	if got := answerCodecs(KindPhone, audio.codecs); len(got) != 2 || got[0].PayloadType != 111 || got[1].PayloadType != 126 {
		t.Errorf("answerCodecs(phone) = %+v", got)
	}
	if got := answerCodecs(KindTone, audio.codecs); len(got) != 2 || got[0].PayloadType != 0 || got[1].PayloadType != 126 {
		t.Errorf("answerCodecs(tone) = %+v", got)
	}
}

func FuzzCheckOffer(f *testing.F) {
	f.Add(offerFixture)
	f.Add("")
	f.Add("v=0\r\nm=audio 1 RTP/AVP 0\r\n")
	f.Add(offerFixture + strings.Repeat("a=candidate:1 1 udp 1 127.0.0.1 1 typ host\r\n", 65))
	f.Fuzz(func(t *testing.T, offer string) {
		for _, kind := range []Kind{KindPhone, KindTone} {
			if _, err := checkOffer(offer, kind); err != nil && !errors.Is(err, ErrBadOffer) {
				t.Fatalf("checkOffer error %v is not ErrBadOffer", err)
			}
		}
	})
}

func TestNoteReports(t *testing.T) {
	l := &leg{sendSSRC: 7, sendClockRate: 48000}
	now := time.Unix(1_700_000_000, 0)
	lsr := ntpCompact(now.Add(-150 * time.Millisecond))
	l.noteReports([]rtcp.ReceptionReport{
		{SSRC: 8, TotalLost: 99},
		{SSRC: 7, TotalLost: 3, Jitter: 480, LastSenderReport: lsr, Delay: 65536 / 10}, // held 100 ms
	}, now)
	s := l.stats()
	if s.PacketsLost != 3 || s.JitterMs != 10 {
		t.Fatalf("lost %d jitter %v, want 3 and 10 ms", s.PacketsLost, s.JitterMs)
	}
	if s.RTTMs < 49 || s.RTTMs > 51 {
		t.Fatalf("RTT %v ms, want 50", s.RTTMs)
	}

	// No sender report seen yet: round trip unknown.
	if _, ok := roundTrip(rtcp.ReceptionReport{}, now); ok {
		t.Fatal("round trip from a report without LSR")
	}
}
