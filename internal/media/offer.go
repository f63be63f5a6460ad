package media

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v3"
)

// Limits on a browser's offer: a real one is a few KiB with a handful of
// candidates; anything far larger is refused before it is parsed.
const (
	maxOfferBytes      = 64 << 10
	maxOfferCandidates = 64
)

// offeredAudio is the offer's first active audio section.
type offeredAudio struct {
	mid    string
	codecs []webrtc.RTPCodecParameters // as offered: the browser's payload types
}

// checkOffer refuses, with ErrBadOffer, an offer that is too large, lists too
// many candidates, does not parse, or whose first active audio section does
// not offer the codec kind needs (Opus/48000 for phone and echo legs,
// PCMU/8000 for tone legs). It returns that section.
func checkOffer(offer string, kind Kind) (offeredAudio, error) {
	if len(offer) > maxOfferBytes {
		return offeredAudio{}, fmt.Errorf("%w: %d bytes, limit %d", ErrBadOffer, len(offer), maxOfferBytes)
	}
	candidates := 0
	for line := range strings.Lines(offer) {
		if strings.HasPrefix(strings.TrimSpace(line), "a=candidate") {
			candidates++
		}
	}
	if candidates > maxOfferCandidates {
		return offeredAudio{}, fmt.Errorf("%w: %d candidates, limit %d", ErrBadOffer, candidates, maxOfferCandidates)
	}
	var sd sdp.SessionDescription
	if err := sd.Unmarshal([]byte(offer)); err != nil {
		return offeredAudio{}, fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	for _, m := range sd.MediaDescriptions {
		if m == nil || !strings.EqualFold(m.MediaName.Media, "audio") || m.MediaName.Port.Value == 0 {
			continue
		}
		a := offeredAudio{codecs: sectionCodecs(m)}
		a.mid, _ = m.Attribute("mid")
		if len(answerCodecs(kind, a.codecs)) == 0 {
			break
		}
		return a, nil
	}
	want := "opus/48000"
	if kind == KindTone {
		want = "PCMU/8000"
	}
	return offeredAudio{}, fmt.Errorf("%w: no audio section offering %s", ErrBadOffer, want)
}

// sectionCodecs lists the codecs of an m= section with the offerer's
// payload types, from its rtpmap and fmtp lines (or the static table for
// PCMU and PCMA without rtpmap). Formats it cannot read are skipped.
func sectionCodecs(m *sdp.MediaDescription) []webrtc.RTPCodecParameters {
	type entry struct {
		name  string
		rate  uint64
		chans uint64
		fmtp  string
	}
	byPT := map[string]*entry{
		"0": {name: "PCMU", rate: 8000},
		"8": {name: "PCMA", rate: 8000},
	}
	for _, a := range m.Attributes {
		pt, rest, ok := strings.Cut(strings.TrimSpace(a.Value), " ")
		if !ok {
			continue
		}
		switch a.Key {
		case "rtpmap":
			parts := strings.Split(strings.TrimSpace(rest), "/")
			if len(parts) < 2 {
				continue
			}
			rate, err := strconv.ParseUint(parts[1], 10, 32)
			if err != nil {
				continue
			}
			e := &entry{name: parts[0], rate: rate}
			if len(parts) > 2 {
				e.chans, _ = strconv.ParseUint(parts[2], 10, 16)
			}
			if old := byPT[pt]; old != nil {
				e.fmtp = old.fmtp
			}
			byPT[pt] = e
		case "fmtp":
			if e := byPT[pt]; e != nil {
				e.fmtp = strings.TrimSpace(rest)
			} else {
				byPT[pt] = &entry{fmtp: strings.TrimSpace(rest)}
			}
		}
	}
	var out []webrtc.RTPCodecParameters
	for _, f := range m.MediaName.Formats {
		pt, err := strconv.ParseUint(f, 10, 7)
		e := byPT[f]
		if err != nil || e == nil || e.name == "" {
			continue
		}
		out = append(out, webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType:    m.MediaName.Media + "/" + e.name,
				ClockRate:   uint32(e.rate),
				Channels:    uint16(e.chans),
				SDPFmtpLine: e.fmtp,
			},
			PayloadType: webrtc.PayloadType(pt),
		})
	}
	return out
}
