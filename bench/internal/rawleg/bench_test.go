package rawleg

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v2"

	"github.com/callbridge/widget-server/bench/internal/peer"
)

// BenchmarkSRTPInPlace is the leg's crypto per packet: one 80-byte payload
// encrypted in place as Send does and decrypted in place as the reader
// does, per profile.
func BenchmarkSRTPInPlace(b *testing.B) {
	for _, profile := range DefaultProfiles {
		b.Run(srtp.ProtectionProfile(profile).String(), func(b *testing.B) {
			var exp counting
			enc, _, err := srtpContexts(&exp, profile, true)
			if err != nil {
				b.Fatal(err)
			}
			_, dec, err := srtpContexts(&exp, profile, false)
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 1500)
			payload := bytes.Repeat([]byte{7}, 80)
			var ehdr, dhdr rtp.Header
			ehdr.CSRC, dhdr.CSRC = make([]uint32, 0, 15), make([]uint32, 0, 15)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				pkt := buf[:12+len(payload)]
				pkt[0], pkt[1] = 0x80, opusPayloadType
				pkt[2], pkt[3] = byte(i>>8), byte(i)
				copy(pkt[12:], payload)
				out, err := enc.EncryptRTP(buf[:0], pkt, &ehdr)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := dec.DecryptRTP(out, out, &dhdr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSend is one 80-byte packet sent by a connected leg to a pion
// PeerConnection answering as the gateway does: a raw leg's Send against a
// pion client's (bench/internal/peer). Needs loopback.
func BenchmarkSend(b *testing.B) {
	payload := bytes.Repeat([]byte{7}, 80)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b.Run("raw", func(b *testing.B) {
		id, err := NewIdentity()
		if err != nil {
			b.Fatal(err)
		}
		l, offer, err := New(id, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		_, answer := newAnswerer(b, offer)
		if err := l.Answer(ctx, answer); err != nil {
			b.Fatal(err)
		}
		sendLoop(b, l.Send, payload)
	})
	b.Run("pion", func(b *testing.B) {
		l, offer, err := peer.New(nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		_, answer := newAnswerer(b, offer)
		if err := l.Answer(ctx, answer); err != nil {
			b.Fatal(err)
		}
		sendLoop(b, l.Send, payload)
	})
}

func sendLoop(b *testing.B, send func([]byte) bool, payload []byte) {
	b.ReportAllocs()
	for b.Loop() {
		if !send(payload) {
			b.Fatal("send failed")
		}
	}
}
