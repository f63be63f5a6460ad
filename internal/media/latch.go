package media

import (
	"log/slog"
	"net/netip"
)

// Symmetric RTP (RFC 4961), the latch. A desk phone or softphone behind a
// home or office NAT writes its own private address in its SDP, which the
// gateway cannot reach, but it sends its RTP from the one port it listens
// on, and the NAT lets back in what comes to the mapping those packets
// opened. So when the SDP's media address is one the internet cannot reach
// (private, shared, link-local, 0.0.0.0; loopback is taken as it is), or the
// leg was asked to (RTPOptions.Latch), the gateway does not trust it:
//
//   - until a packet comes it sends nothing, not even to the SDP's address,
//     which would leak the call into the gateway's own network;
//   - the first valid RTP packet after a negotiation (it parses as RTP
//     version 2, its payload type is a negotiated one and, on an SRTP leg,
//     it decrypts and authenticates) latches the leg onto its source
//     address and port: RTP goes there from then on, RTCP to the port above
//     (the same one with rtcp-mux), and packets are taken from there only;
//   - RTCP on the leg's own RTCP port may come from another port of the
//     latched address (a NAT maps each port on its own): the first that
//     parses (and authenticates) and whose sender is the latched stream's
//     SSRC latches RTCP onto its source, where reports then go, and RTCP is
//     taken from there only.
//
// The latch stays for the negotiation's life: a packet from anywhere else,
// even a valid one, is dropped, so that nobody takes a call over mid-stream.
// Only a new negotiation whose SDP names another media address (a re-INVITE
// from a phone that moved) sets it again; one that names the same keeps it,
// so that a phone put on hold, which sends nothing, still hears the music.
// The price: someone who can reach the gateway's port, guesses it and sends
// a plain RTP packet with a negotiated payload type before the phone's first
// one arrives takes the latch, and the call's audio with it (the phone's
// side then stays silent). SRTP closes that to anyone without the call's
// key; a plain RTP leg to a public address does not latch and keeps the
// rule it had: packets from the SDP's address only.

// sharedSpace is the shared address space of carrier-grade NAT (RFC 6598).
var sharedSpace = netip.MustParsePrefix("100.64.0.0/10")

// behindNAT reports whether a media address from SDP is one the gateway
// cannot send to: private (RFC 1918, RFC 4193), shared (RFC 6598),
// link-local or unspecified. Loopback is not: tests and development talk
// over it.
func behindNAT(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsPrivate() || sharedSpace.Contains(a) || a.IsLinkLocalUnicast() || a.IsUnspecified()
}

// awaitsLatch reports whether the leg waits for its first packet.
func (s *rtpState) awaitsLatch() bool {
	return s.latch && !s.source.IsValid()
}

// acceptsRTCP reports whether RTCP on the leg's RTCP port from from
// (unmapped) may belong to the session: from the latched source of RTCP
// once there is one (of RTP, with rtcp-mux), else from the carrier's
// address.
func (s *rtpState) acceptsRTCP(from netip.AddrPort) bool {
	switch {
	case s.rtcpSource.IsValid():
		return from == s.rtcpSource
	case s.latch && s.mux:
		return s.source.IsValid() && from == s.source
	}
	return s.peer.IsValid() && from.Addr() == s.peer
}

// awaitsRTCPLatch reports whether RTCP on its own port would latch: the
// leg latched its RTP, and RTCP is not multiplexed.
func (s *rtpState) awaitsRTCPLatch() bool {
	return s.latch && s.source.IsValid() && !s.rtcpSource.IsValid() && !s.mux
}

// latchTo makes src the leg's source: where media goes (unless held) and
// the only place it is taken from.
func (s *rtpState) latchTo(src netip.AddrPort) {
	s.source, s.peer = src, src.Addr()
	if s.held {
		return
	}
	s.remote = src
	switch {
	case s.mux:
		s.remoteRTCP = src
	case src.Port() < 65535:
		s.remoteRTCP = netip.AddrPortFrom(src.Addr(), src.Port()+1)
	}
	s.send = s.canSend
}

// keepLatch carries prev's latch into a new negotiation that names the same
// SDP address; any other starts afresh.
func (s *rtpState) keepLatch(prev *rtpState) {
	if prev == nil || !prev.latch || !prev.source.IsValid() || prev.sdp != s.sdp {
		return
	}
	s.latchTo(prev.source)
	if !s.mux && prev.rtcpSource.IsValid() {
		s.rtcpSource, s.remoteRTCP = prev.rtcpSource, prev.rtcpSource
	}
}

// unmapped is from with an IPv4-mapped IPv6 address made IPv4, as the
// state's addresses are.
func unmapped(from netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
}

// latchRTP latches state st onto source from, whose packet was found
// valid, and returns the new state; nil when a negotiation replaced st
// meanwhile (it decides anew).
func (l *leg) latchRTP(st *rtpState, from netip.AddrPort) *rtpState {
	next := *st
	next.latchTo(from)
	if !l.rtp.state.CompareAndSwap(st, &next) {
		return nil
	}
	l.log.Debug("rtp leg latched", slog.String("from", from.String()), slog.String("sdp", sdpAddr(st)))
	return &next
}

// latchRTCP latches state st's RTCP onto source from, whose packet was
// found valid.
func (l *leg) latchRTCP(st *rtpState, from netip.AddrPort) {
	next := *st
	next.rtcpSource = from
	if !next.held {
		next.remoteRTCP = from
	}
	if l.rtp.state.CompareAndSwap(st, &next) {
		l.log.Debug("rtp leg latched rtcp", slog.String("from", from.String()), slog.String("rtp", st.source.String()))
	}
}

// sdpAddr is the SDP's media address of st, for the log.
func sdpAddr(st *rtpState) string {
	if !st.sdp.IsValid() {
		return "none"
	}
	return st.sdp.String()
}
