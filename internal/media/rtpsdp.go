package media

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v3"
)

// SDP toward carriers (RFC 4566, offer/answer RFC 3264): what the gateway
// reads of a carrier's offer or answer, and the offers and answers it writes.
// Parsing is pure, so that it can be fuzzed without sockets.

// maxSDPSections bounds the m= lines of a carrier's SDP: a real one has one
// or two (audio, perhaps an image section for fax).
const maxSDPSections = 16

// Direction is a media direction attribute (RFC 3264 §5.1), seen from the
// side whose SDP carries it.
type Direction uint8

// Directions; the zero value is sendrecv, the default of an SDP without one.
const (
	SendRecv Direction = iota
	SendOnly
	RecvOnly
	Inactive
)

func (d Direction) String() string {
	switch d {
	case SendRecv:
		return "sendrecv"
	case SendOnly:
		return "sendonly"
	case RecvOnly:
		return "recvonly"
	case Inactive:
		return "inactive"
	}
	return fmt.Sprintf("direction(%d)", int(d))
}

func (d Direction) sends() bool    { return d == SendRecv || d == SendOnly }
func (d Direction) receives() bool { return d == SendRecv || d == RecvOnly }

func directionOf(sends, receives bool) Direction {
	switch {
	case sends && receives:
		return SendRecv
	case sends:
		return SendOnly
	case receives:
		return RecvOnly
	}
	return Inactive
}

// answerTo is the direction an answer gives to an offered direction when
// its side wants want: it sends only to an offerer that receives, and
// receives only from one that sends (RFC 3264 §6.1).
func (want Direction) answerTo(offered Direction) Direction {
	return directionOf(want.sends() && offered.receives(), want.receives() && offered.sends())
}

// sdpSection is one m= section of a carrier's SDP.
type sdpSection struct {
	media   string
	port    int
	proto   string
	formats []string
	// addr is the connection address, the section's own or the
	// session's; unspecified (0.0.0.0) is an old-style hold (RFC 3264
	// §8.4). addrErr says why there is none.
	addr    netip.Addr
	addrErr error
	rtcp    netip.AddrPort // a=rtcp (RFC 3605): where RTCP goes, when not port+1
	rtcpMux bool           // a=rtcp-mux (RFC 5761)
	dir     Direction
	codecs  []webrtc.RTPCodecParameters
	cryptos []sdesCrypto // the usable a=crypto lines, in order
}

// secure reports whether the section's profile is SRTP.
func (s *sdpSection) secure() bool {
	p := strings.ToUpper(s.proto)
	return p == "RTP/SAVP" || p == "RTP/SAVPF"
}

// rtpProfile reports whether the section carries RTP the gateway can relay:
// plain or SDES-secured, with or without feedback (which it ignores).
// DTLS-SRTP (UDP/TLS/RTP/SAVP) is for browsers, not trunks.
func (s *sdpSection) rtpProfile() bool {
	switch strings.ToUpper(s.proto) {
	case "RTP/AVP", "RTP/AVPF", "RTP/SAVP", "RTP/SAVPF":
		return true
	}
	return false
}

// codec returns the section's first codec of class cl.
func (s *sdpSection) codec(cl codecClass) (webrtc.RTPCodecParameters, bool) {
	return firstOfClass(s.codecs, cl)
}

// parseSDP reads a carrier's SDP; errors say what is wrong with it, for the
// caller to wrap in ErrBadOffer or ErrBadAnswer.
func parseSDP(text string) ([]sdpSection, error) {
	if len(text) > maxOfferBytes {
		return nil, fmt.Errorf("%d bytes, limit %d", len(text), maxOfferBytes)
	}
	text, names := maskSections(text)
	var sd sdp.SessionDescription
	if err := sd.Unmarshal([]byte(text)); err != nil {
		return nil, err
	}
	if len(sd.MediaDescriptions) == 0 {
		return nil, errors.New("no media section")
	}
	if len(sd.MediaDescriptions) > maxSDPSections {
		return nil, fmt.Errorf("%d media sections, limit %d", len(sd.MediaDescriptions), maxSDPSections)
	}
	sessionAddr, sessionAddrErr := connectionAddress(sd.ConnectionInformation)
	sessionDir := directionAttr(sd.Attributes, SendRecv)
	out := make([]sdpSection, 0, len(sd.MediaDescriptions))
	for i, m := range sd.MediaDescriptions {
		if m == nil {
			return nil, errors.New("empty media section")
		}
		s := sdpSection{
			media:   strings.ToLower(m.MediaName.Media),
			port:    m.MediaName.Port.Value,
			proto:   strings.Join(m.MediaName.Protos, "/"),
			formats: m.MediaName.Formats,
			dir:     directionAttr(m.Attributes, sessionDir),
		}
		if i < len(names) && names[i].media != "" {
			s.media, s.proto = strings.ToLower(names[i].media), names[i].proto
		}
		if s.port < 0 || s.port > 65535 {
			return nil, fmt.Errorf("port %d out of range", s.port)
		}
		if len(s.formats) == 0 {
			return nil, fmt.Errorf("m=%s line without formats", s.media)
		}
		if m.ConnectionInformation != nil {
			s.addr, s.addrErr = connectionAddress(m.ConnectionInformation)
		} else {
			s.addr, s.addrErr = sessionAddr, sessionAddrErr
		}
		if s.media == "audio" {
			s.codecs = sectionCodecs(m)
		}
		for _, a := range m.Attributes {
			switch a.Key {
			case "rtcp-mux":
				s.rtcpMux = true
			case "rtcp":
				s.rtcp = rtcpAttr(a.Value, s.addr)
			case "crypto":
				if c, ok := parseCrypto(a.Value); ok {
					s.cryptos = append(s.cryptos, c)
				}
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// sectionName is the media type and transport of an m= line.
type sectionName struct{ media, proto string }

// pion/sdp knows only the media types and transport names of WebRTC and
// refuses the whole SDP for one it does not (T.38 fax: "m=image 0 udptl
// t38", which some carriers offer next to their audio).
var (
	knownMedia  = []string{"audio", "video", "text", "application", "message"}
	knownProtos = []string{"UDP", "RTP", "AVP", "SAVP", "SAVPF", "TLS", "DTLS", "SCTP", "AVPF", "TCP", "MSRP", "BFCP", "UDT", "IX"}
)

// maskSections gives the library each m= line it would refuse as an
// application section over UDP, and returns, by section, the names of
// those it changed (zero for the others), so that the answer can refuse
// them under their own.
func maskSections(text string) (string, []sectionName) {
	if !strings.Contains(text, "m=") {
		return text, nil
	}
	var b strings.Builder
	var names []sectionName
	for line := range strings.Lines(text) {
		if !strings.HasPrefix(line, "m=") {
			b.WriteString(line)
			continue
		}
		f := strings.Fields(line[2:])
		if len(f) < 3 || known(f[0], f[2]) {
			names = append(names, sectionName{})
			b.WriteString(line)
			continue
		}
		names = append(names, sectionName{media: f[0], proto: f[2]})
		end := line[len(strings.TrimRight(line, "\r\n")):]
		b.WriteString("m=application " + f[1] + " UDP " + strings.Join(f[3:], " ") + end)
	}
	return b.String(), names
}

func known(media, proto string) bool {
	if !slices.Contains(knownMedia, media) {
		return false
	}
	for p := range strings.SplitSeq(proto, "/") {
		if !slices.Contains(knownProtos, p) {
			return false
		}
	}
	return true
}

// connectionAddress reads a c= line: an IPv4 address. A missing line gives
// no address and an error, as do IPv6 and host names, which RTP legs do not
// reach.
func connectionAddress(c *sdp.ConnectionInformation) (netip.Addr, error) {
	if c == nil || c.Address == nil {
		return netip.Addr{}, errors.New("no connection address")
	}
	if !strings.EqualFold(c.NetworkType, "IN") || !strings.EqualFold(c.AddressType, "IP4") {
		return netip.Addr{}, fmt.Errorf("connection address %s %s: only IN IP4 is supported", c.NetworkType, c.AddressType)
	}
	a, err := netip.ParseAddr(c.Address.Address)
	if err != nil || !a.Is4() {
		return netip.Addr{}, fmt.Errorf("connection address %q is not an IPv4 address", c.Address.Address)
	}
	if a.IsMulticast() {
		return netip.Addr{}, fmt.Errorf("connection address %s is multicast", a)
	}
	return a, nil
}

// directionAttr returns the direction among attrs, else def.
func directionAttr(attrs []sdp.Attribute, def Direction) Direction {
	for _, a := range attrs {
		switch a.Key {
		case "sendrecv":
			return SendRecv
		case "sendonly":
			return SendOnly
		case "recvonly":
			return RecvOnly
		case "inactive":
			return Inactive
		}
	}
	return def
}

// rtcpAttr reads "port [IN IP4 address]" (RFC 3605); the address defaults
// to the section's. Anything unreadable gives no address.
func rtcpAttr(value string, addr netip.Addr) netip.AddrPort {
	f := strings.Fields(value)
	if len(f) == 0 {
		return netip.AddrPort{}
	}
	port, err := strconv.ParseUint(f[0], 10, 16)
	if err != nil || port == 0 {
		return netip.AddrPort{}
	}
	if len(f) == 4 && strings.EqualFold(f[1], "IN") && strings.EqualFold(f[2], "IP4") {
		a, err := netip.ParseAddr(f[3])
		if err != nil || !a.Is4() {
			return netip.AddrPort{}
		}
		addr = a
	}
	if !addr.IsValid() {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(addr, uint16(port))
}

// pickAudio chooses the section of a carrier's offer the gateway answers:
// the first audio section with a usable RTP profile, one of the codecs of
// choices (the first the carrier lists: its preference, RFC 3264 §6.1) and,
// for SRTP, a crypto line it speaks. It returns the section's index and the codec; the error says
// why nothing fitted.
func pickAudio(sections []sdpSection, choices []codecClass) (int, webrtc.RTPCodecParameters, error) {
	reason := "no audio section"
	for i := range sections {
		s := &sections[i]
		if s.media != "audio" || s.port == 0 {
			continue
		}
		switch {
		case !s.rtpProfile():
			reason = fmt.Sprintf("audio profile %s is not RTP/AVP or RTP/SAVP", s.proto)
			continue
		case s.secure() && len(s.cryptos) == 0:
			reason = "no a=crypto line with " + sdesSuites[0].name + " or " + sdesSuites[1].name
			continue
		case s.addrErr != nil:
			reason = s.addrErr.Error()
			continue
		}
		for _, c := range s.codecs {
			if hasClass(choices, classify(c)) {
				return i, c, nil
			}
		}
		reason = "no audio section offering " + choiceNames(choices)
	}
	return -1, webrtc.RTPCodecParameters{}, errors.New(reason)
}

// choiceNames lists codec classes for a message: "PCMU/8000 or PCMA/8000".
func choiceNames(choices []codecClass) string {
	names := make([]string, len(choices))
	for i, c := range choices {
		names[i] = c.String()
	}
	return strings.Join(names, " or ")
}

// localSDP is the gateway's side of an RTP leg's negotiation, as written in
// an offer or an answer.
type localSDP struct {
	sessionID, version uint64
	addr               netip.Addr
	port               int
	secure             bool
	proto              string // as offered to us, in an answer; RTP/AVP or RTP/SAVP in an offer
	codecs             []webrtc.RTPCodecParameters
	crypto             *sdesCrypto
	rtcpMux            bool
	dir                Direction
}

// render writes the SDP. For an answer, offered holds the offer's sections
// and audio the index of the one answered: the others are refused with port
// 0, as RFC 3264 §6 wants one answer section per offered one.
func (l *localSDP) render(offered []sdpSection, audio int) string {
	var b strings.Builder
	ip := l.addr.String()
	fmt.Fprintf(&b, "v=0\r\no=callbridge %d %d IN IP4 %s\r\ns=callbridge\r\nc=IN IP4 %s\r\nt=0 0\r\n",
		l.sessionID, l.version, ip, ip)
	if offered == nil {
		l.renderAudio(&b)
		return b.String()
	}
	for i, s := range offered {
		if i == audio {
			l.renderAudio(&b)
			continue
		}
		fmt.Fprintf(&b, "m=%s 0 %s %s\r\n", s.media, s.proto, strings.Join(s.formats, " "))
	}
	return b.String()
}

func (l *localSDP) renderAudio(b *strings.Builder) {
	proto := l.proto
	if proto == "" {
		proto = "RTP/AVP"
		if l.secure {
			proto = "RTP/SAVP"
		}
	}
	fmt.Fprintf(b, "m=audio %d %s", l.port, proto)
	for _, c := range l.codecs {
		fmt.Fprintf(b, " %d", c.PayloadType)
	}
	b.WriteString("\r\n")
	for _, c := range l.codecs {
		name := c.MimeType[strings.IndexByte(c.MimeType, '/')+1:]
		fmt.Fprintf(b, "a=rtpmap:%d %s/%d\r\n", c.PayloadType, name, c.ClockRate)
		if c.SDPFmtpLine != "" {
			fmt.Fprintf(b, "a=fmtp:%d %s\r\n", c.PayloadType, c.SDPFmtpLine)
		}
	}
	b.WriteString("a=ptime:20\r\n")
	if l.crypto != nil {
		fmt.Fprintf(b, "a=crypto:%s\r\n", l.crypto.attribute())
	}
	if l.rtcpMux {
		b.WriteString("a=rtcp-mux\r\n")
	}
	fmt.Fprintf(b, "a=%s\r\n", l.dir)
}
