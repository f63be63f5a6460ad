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
	answer []webrtc.RTPCodecParameters // what the answer lists (answerCodecsFor)
}

// audioChoices are the audio codecs a browser leg of kind may be answered
// with, the one preferred first: Opus for phone and echo legs, PCMU for tone
// legs, PCMU then PCMA for trunk phone legs.
func audioChoices(kind Kind) []codecClass {
	switch kind {
	case KindTone:
		return []codecClass{classPCMU}
	case KindTrunkPhone:
		return []codecClass{classPCMU, classPCMA}
	}
	return []codecClass{classOpus}
}

// checkOffer refuses, with ErrBadOffer, an offer that is too large, lists too
// many candidates, does not parse, or whose first active audio section does
// not offer the codec kind needs (Opus/48000 for phone and echo legs,
// PCMU/8000 for tone legs, PCMU/8000 or PCMA/8000 for trunk phone legs). It
// returns that section.
func checkOffer(offer string, kind Kind) (offeredAudio, error) {
	return checkOfferFor(offer, audioChoices(kind))
}

// checkOfferFor is checkOffer for a leg whose codec is one of choices.
func checkOfferFor(offer string, choices []codecClass) (offeredAudio, error) {
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
		if a.answer = answerCodecsFor(choices, a.codecs); len(a.answer) == 0 {
			break
		}
		return a, nil
	}
	return offeredAudio{}, fmt.Errorf("%w: no audio section offering %s", ErrBadOffer, choiceNames(choices))
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
