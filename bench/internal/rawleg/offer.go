package rawleg

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// Opus as the leg offers it, as browsers do: payload type 111, 48000/2.
const (
	opusPayloadType = 111
	opusTicks       = 960 // RTP timestamp units in 20 ms
)

// localDesc is what a leg's offer says of it.
type localDesc struct {
	ufrag, pwd  string
	fingerprint string // "sha-256 AB:CD:…"
	ssrc        uint32
	cname       string
	addr        netip.AddrPort // the socket's: the one host candidate
}

// offer writes the leg's SDP offer: one sendrecv audio section offering
// Opus, bundled and rtcp-muxed, with its ICE credentials, DTLS fingerprint
// (setup:actpass, as browsers offer) and one host candidate.
func offer(l localDesc) (string, error) {
	d, err := sdp.NewJSEPSessionDescription(false)
	if err != nil {
		return "", err
	}
	ip := l.addr.Addr().String()
	d.Origin.UnicastAddress = ip
	d.WithValueAttribute("group", "BUNDLE 0")
	m := sdp.NewJSEPMediaDescription("audio", nil).
		WithCodec(opusPayloadType, "opus", 48000, 2, "minptime=10;useinbandfec=1").
		WithValueAttribute("mid", "0").
		WithPropertyAttribute("sendrecv").
		WithPropertyAttribute("rtcp-mux").
		WithICECredentials(l.ufrag, l.pwd).
		WithValueAttribute("fingerprint", l.fingerprint).
		WithValueAttribute("setup", "actpass").
		WithValueAttribute("msid", "load audio").
		WithValueAttribute("ssrc", fmt.Sprintf("%d cname:%s", l.ssrc, l.cname)).
		WithValueAttribute("ssrc", fmt.Sprintf("%d msid:load audio", l.ssrc)).
		WithCandidate(fmt.Sprintf("1 1 udp 2130706431 %s %d typ host", ip, l.addr.Port())).
		WithPropertyAttribute("end-of-candidates")
	m.MediaName.Port = sdp.RangedPort{Value: int(l.addr.Port())}
	m.ConnectionInformation.Address.Address = ip
	d.WithMedia(m)
	b, err := d.Marshal()
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// remoteDesc is what the leg takes from the answer.
type remoteDesc struct {
	ufrag, pwd  string
	fingerprint string // "sha-256 AB:CD:…"
	setup       string // active, passive or actpass
	candidates  []netip.AddrPort
}

// parseAnswer reads the answer's first audio section (attributes there, or
// else at session level): ICE credentials, fingerprint, setup role and the
// IPv4 UDP host candidates of component 1, loopback ones first.
func parseAnswer(answer string) (remoteDesc, error) {
	var r remoteDesc
	var d sdp.SessionDescription
	if err := d.Unmarshal([]byte(answer)); err != nil {
		return r, fmt.Errorf("answer: %w", err)
	}
	var audio *sdp.MediaDescription
	for _, m := range d.MediaDescriptions {
		if m != nil && m.MediaName.Media == "audio" && m.MediaName.Port.Value != 0 {
			audio = m
			break
		}
	}
	if audio == nil {
		return r, errors.New("answer: no audio section")
	}
	attr := func(key string) string {
		if v, ok := audio.Attribute(key); ok {
			return v
		}
		v, _ := d.Attribute(key)
		return v
	}
	r.ufrag, r.pwd, r.fingerprint, r.setup = attr("ice-ufrag"), attr("ice-pwd"), attr("fingerprint"), attr("setup")
	var loopback, other []netip.AddrPort
	for _, a := range audio.Attributes {
		if a.Key != "candidate" {
			continue
		}
		ap, ok := hostCandidate(a.Value)
		if !ok {
			continue
		}
		if ap.Addr().IsLoopback() {
			loopback = append(loopback, ap)
		} else {
			other = append(other, ap)
		}
	}
	r.candidates = append(loopback, other...)
	switch {
	case r.ufrag == "" || r.pwd == "":
		return r, errors.New("answer: no ICE credentials")
	case r.fingerprint == "":
		return r, errors.New("answer: no fingerprint")
	case len(r.candidates) == 0:
		return r, errors.New("answer: no IPv4 UDP host candidate")
	}
	return r, nil
}

// hostCandidate reads "foundation component transport priority address port
// typ host …" (RFC 8839 §5.1) and returns the address of an IPv4 UDP host
// candidate of component 1.
func hostCandidate(v string) (netip.AddrPort, bool) {
	f := strings.Fields(v)
	if len(f) < 8 || f[1] != "1" || !strings.EqualFold(f[2], "udp") || f[6] != "typ" || f[7] != "host" {
		return netip.AddrPort{}, false
	}
	ip, err := netip.ParseAddr(f[4])
	if err != nil || !ip.Is4() {
		return netip.AddrPort{}, false
	}
	port, err := strconv.ParseUint(f[5], 10, 16)
	if err != nil || port == 0 {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ip, uint16(port)), true
}
