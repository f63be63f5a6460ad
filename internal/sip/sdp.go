package sip

import (
	"net/netip"
	"strings"
)

// maxSDP bounds the SDP bodies the package accepts from a peer.
const maxSDP = 16 << 10

// sdpConnectionAddr returns the session's connection address (the c= line
// at session level, else the first media's) for logs, or "" when none
// parses. The body is otherwise opaque here: the media gateway reads it.
func sdpConnectionAddr(sdp string) string {
	if len(sdp) > maxSDP {
		return ""
	}
	for _, line := range strings.Split(sdp, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "c=") {
			continue
		}
		f := strings.Fields(line[2:])
		if len(f) != 3 || f[0] != "IN" || (f[1] != "IP4" && f[1] != "IP6") {
			continue
		}
		addr, _, _ := strings.Cut(f[2], "/") // multicast TTL
		if a, err := netip.ParseAddr(addr); err == nil {
			return a.String()
		}
	}
	return ""
}

// sdpOrigin returns the o= line, whose version tells a new offer from a
// repeated one (RFC 3264 8: a session refresh repeats it unchanged).
func sdpOrigin(sdp string) string {
	for _, line := range strings.Split(sdp, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "o=") {
			return line
		}
	}
	return ""
}

// isSDP reports whether a Content-Type names SDP.
func isSDP(contentType string) bool {
	ct, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(ct), "application/sdp")
}
