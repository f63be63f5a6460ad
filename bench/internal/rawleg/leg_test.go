package rawleg

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v3"

	"github.com/callbridge/widget-server/bench/internal/peer"
)

// answerer is a pion PeerConnection that answers a leg's offer as the
// media gateway does (full ICE, controlled; setup:active), with an Opus
// track of its own, and passes on the payloads it receives.
type answerer struct {
	pc       *webrtc.PeerConnection
	track    *webrtc.TrackLocalStaticRTP
	sender   *webrtc.RTPSender
	received chan []byte
	reports  chan *rtcp.SenderReport
}

func newAnswerer(t testing.TB, offer string) (*answerer, string) {
	t.Helper()
	api, err := peer.API(nil) // loopback only, Opus
	if err != nil {
		t.Fatal(err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	a := &answerer{pc: pc, received: make(chan []byte, 1024), reports: make(chan *rtcp.SenderReport, 16)}
	t.Cleanup(func() { _ = pc.Close() })
	pc.OnTrack(func(tr *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		go func() {
			for {
				pkts, _, err := r.ReadRTCP()
				if err != nil {
					return
				}
				for _, p := range pkts {
					if sr, ok := p.(*rtcp.SenderReport); ok {
						select {
						case a.reports <- sr:
						default:
						}
					}
				}
			}
		}()
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			select {
			case a.received <- p.Payload:
			default:
			}
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		t.Fatalf("the offer: %v\n%s", err, offer)
	}
	a.track, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "gw")
	if err != nil {
		t.Fatal(err)
	}
	if a.sender, err = pc.AddTrack(a.track); err != nil {
		t.Fatal(err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	return a, pc.LocalDescription().SDP
}

// TestLegWithPion: a leg's offer is one a WebRTC library accepts; with its
// answer the leg connects (ICE, DTLS as the server, SRTP), and packets go
// both ways with their payloads intact.
func TestLegWithPion(t *testing.T) {
	id, err := NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 1024)
	l, offerSDP, err := New(id, nil, func(p []byte, _ time.Time) {
		select {
		case got <- append([]byte(nil), p...):
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	a, answer := newAnswerer(t, offerSDP)
	if r, err := parseAnswer(answer); err != nil || r.setup != "active" {
		t.Fatalf("pion's answer: %+v, %v", r, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.Answer(ctx, answer); err != nil {
		t.Fatal(err)
	}
	if l.ProfileName() != "SRTP_AEAD_AES_256_GCM" {
		t.Errorf("profile %s, want the first both accept", l.ProfileName())
	}

	// Leg → pion: send until pion's receiver is up and a packet arrives.
	payload := bytes.Repeat([]byte("leg!"), 20)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	waitFor(ctx, t, "pion receives the leg's packets", tick, func() bool {
		if !l.Send(payload) {
			t.Fatal("Send failed")
		}
		select {
		case p := <-a.received:
			if !bytes.Equal(p, payload) {
				t.Fatalf("pion received %q", p)
			}
			return true
		default:
			return false
		}
	})

	// Pion → leg.
	back := bytes.Repeat([]byte("gw.."), 20)
	seq := uint16(0)
	waitFor(ctx, t, "the leg receives pion's packets", tick, func() bool {
		seq++
		if err := a.track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 960}, Payload: back}); err != nil {
			t.Fatal(err)
		}
		select {
		case p := <-got:
			if !bytes.Equal(p, back) {
				t.Fatalf("the leg received %q", p)
			}
			return true
		default:
			return false
		}
	})
	if !l.Got() {
		t.Error("Got is false after a packet arrived")
	}
	// The leg sends a sender report each rtcpEvery packets, about what it
	// sent and received.
	waitFor(ctx, t, "pion receives a sender report", tick, func() bool {
		l.Send(payload)
		select {
		case sr := <-a.reports:
			if sr.SSRC != l.desc.ssrc || sr.PacketCount == 0 || sr.PacketCount%rtcpEvery != 0 ||
				len(sr.Reports) != 1 || sr.Reports[0].SSRC != uint32(a.sender.GetParameters().Encodings[0].SSRC) {
				t.Fatalf("sender report %+v", sr)
			}
			return true
		default:
			return false
		}
	})
	l.Close()
	if l.Send(payload) {
		t.Error("Send on a closed leg reported success")
	}
}

// TestLegRefusesAnotherCertificate: a peer whose certificate is not the
// one its answer names does not get through the DTLS handshake.
func TestLegRefusesAnotherCertificate(t *testing.T) {
	id, err := NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	l, offerSDP, err := New(id, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, answer := newAnswerer(t, offerSDP)
	other, _ := NewIdentity()
	var d sdp.SessionDescription
	if err := d.Unmarshal([]byte(answer)); err != nil {
		t.Fatal(err)
	}
	forged := answer
	for _, a := range append(d.Attributes, d.MediaDescriptions[0].Attributes...) {
		if a.Key == "fingerprint" {
			forged = strings.ReplaceAll(forged, a.Value, other.fingerprint)
		}
	}
	if forged == answer {
		t.Fatal("no fingerprint in the answer")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.Answer(ctx, forged); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("Answer with another certificate's fingerprint: %v", err)
	}
}

func TestAnswerWantsActive(t *testing.T) {
	id, err := NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	l, offerSDP, err := New(id, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// An offer answered by itself says actpass: not a DTLS client.
	if err := l.Answer(context.Background(), offerSDP); err == nil || !strings.Contains(err.Error(), "setup") {
		t.Fatalf("answer with setup:actpass: %v", err)
	}
}

// waitFor calls try on each tick until it reports true, or fails the test
// when ctx ends.
func waitFor(ctx context.Context, t *testing.T, what string, tick *time.Ticker, try func() bool) {
	t.Helper()
	for !try() {
		select {
		case <-ctx.Done():
			t.Fatalf("%s: %v", what, ctx.Err())
		case <-tick.C:
		}
	}
}
