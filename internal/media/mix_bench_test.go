package media

import (
	"fmt"
	"log/slog"
	"math"
	"testing"

	"github.com/pion/webrtc/v3"
	"github.com/thesyncim/gopus"
)

// benchMix builds a mix of n members of class cl (Opus phone legs, or
// G.711 trunk phone legs) on legs without connections, each writing what it
// is sent into a captureWriter; feed queues one 20 ms packet of each
// member's own tone, as the forwarding path would. Every member speaks and
// listens.
func benchMix(tb testing.TB, n int, cl codecClass) (*mix, func()) {
	tb.Helper()
	m := &mix{id: "bench", log: slog.New(slog.DiscardHandler)}
	frames := make([][][]byte, n)
	var enc *gopus.Encoder
	for i := range n {
		l := &leg{id: fmt.Sprintf("m%d", i), kind: KindPhone, audio: cl}
		codecs := codecList(111, 101, 0)
		if cl != classOpus {
			l.kind = KindTrunkPhone
			codecs = []webrtc.RTPCodecParameters{
				{RTPCodecCapability: pcmuCapability, PayloadType: 0},
				{RTPCodecCapability: pcmaCapability, PayloadType: 8},
			}
		}
		l.out = newOutTrackFor(l.id, cl)
		l.out.bound.Store(&binding{w: &captureWriter{}, ssrc: uint32(i + 1), pts: newPayloadTypes(codecs)})
		mm, err := newMixMember(l)
		if err != nil {
			tb.Fatal(err)
		}
		mm.tap.speak.Store(true)
		mm.listen.Store(true)
		m.members = append(m.members, mm)

		if cl == classOpus {
			if enc, err = gopus.NewEncoder(gopus.EncoderConfig{SampleRate: mixRate, Channels: 1, Application: gopus.ApplicationVoIP}); err != nil {
				tb.Fatal(err)
			}
		}
		pcm, buf := make([]int16, mixSamples), make([]byte, 1500)
		for f := range 50 {
			frame := toneFrameOf(cl, 300+170*float64(i), f, pcm, buf, enc)
			frames[i] = append(frames[i], append([]byte(nil), frame...))
		}
	}
	m.changed.Store(true)
	k := 0
	return m, func() {
		for i, mm := range m.members {
			mm.tap.offer(cl, frames[i][k%len(frames[i])])
		}
		k++
	}
}

// BenchmarkMixTick measures one 20 ms tick of a conference mix whose
// members all speak and listen: decoding each member's packet, the sum, and
// encoding each member's mix (Opus at 16 kHz, or G.711 through the
// resamplers). %core/member is the share of one core a member costs.
func BenchmarkMixTick(b *testing.B) {
	for _, bc := range []struct {
		name string
		n    int
		cl   codecClass
	}{
		{"opus-5", 5, classOpus},
		{"opus-10", 10, classOpus},
		{"g711-10", 10, classPCMU},
	} {
		b.Run(bc.name, func(b *testing.B) {
			m, feed := benchMix(b, bc.n, bc.cl)
			feed()
			m.tick()
			b.ReportAllocs()
			for b.Loop() {
				feed()
				m.tick()
			}
			perTick := float64(b.Elapsed()) / float64(b.N)
			b.ReportMetric(perTick/1e3, "µs/tick")
			b.ReportMetric(perTick/float64(mixFrame)*100/float64(bc.n), "%core/member")
		})
	}
}

// BenchmarkMixOpusEncoder measures the Opus encoder of a listener (16 kHz
// mono, VoIP, mixOpusBitrate) at several complexities, on speech (the
// shipped greeting, decoded at 16 kHz), with the waveform SNR of what it
// encodes once decoded; mixOpusComplexity was chosen from it.
func BenchmarkMixOpusEncoder(b *testing.B) {
	dec, err := gopus.NewDecoder(gopus.DefaultDecoderConfig(mixRate, 1))
	if err != nil {
		b.Fatal(err)
	}
	var pcm []int16
	buf := make([]int16, mixMaxDecoded)
	for _, pkt := range DefaultGreeting().opus {
		n, err := dec.DecodeInt16(pkt, buf)
		if err != nil {
			b.Fatal(err)
		}
		pcm = append(pcm, buf[:n]...)
	}
	frames := len(pcm) / mixSamples
	for _, complexity := range []int{0, 1, 3, 5, 10} {
		b.Run(fmt.Sprintf("complexity-%d", complexity), func(b *testing.B) {
			enc, err := gopus.NewEncoder(gopus.EncoderConfig{SampleRate: mixRate, Channels: 1, Application: gopus.ApplicationVoIP})
			if err != nil {
				b.Fatal(err)
			}
			if err := enc.SetBitrate(mixOpusBitrate); err != nil {
				b.Fatal(err)
			}
			if err := enc.SetComplexity(complexity); err != nil {
				b.Fatal(err)
			}
			out := make([]byte, 1500)
			snr := opusSNR(b, enc, pcm)
			enc.Reset()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				f := i % frames
				if _, err := enc.EncodeInt16(pcm[f*mixSamples:(f+1)*mixSamples], out); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(snr, "dB-SNR")
		})
	}
}

// opusSNR encodes pcm with enc, decodes it, and returns the signal to noise
// ratio of the result, in dB, at the delay that fits it best.
func opusSNR(b *testing.B, enc *gopus.Encoder, pcm []int16) float64 {
	b.Helper()
	dec, err := gopus.NewDecoder(gopus.DefaultDecoderConfig(mixRate, 1))
	if err != nil {
		b.Fatal(err)
	}
	pkt, buf := make([]byte, 1500), make([]int16, mixMaxDecoded)
	var got []int16
	for f := 0; (f+1)*mixSamples <= len(pcm); f++ {
		n, err := enc.EncodeInt16(pcm[f*mixSamples:(f+1)*mixSamples], pkt)
		if err != nil {
			b.Fatal(err)
		}
		m, err := dec.DecodeInt16(pkt[:n], buf)
		if err != nil {
			b.Fatal(err)
		}
		got = append(got, buf[:m]...)
	}
	best := math.Inf(-1)
	for delay := range mixSamples {
		var signal, noise float64
		for i := 0; i+delay < len(got); i++ {
			s := float64(pcm[i])
			e := float64(got[i+delay]) - s
			signal += s * s
			noise += e * e
		}
		best = max(best, 10*math.Log10(signal/noise))
	}
	return best
}
