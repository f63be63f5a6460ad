// Package media is the WebRTC gateway (pion/webrtc): one leg per device per
// call on a shared single-port API, RTP forwarded between legs without
// decoding, hold and mute enforced at the gateway, tone and echo sources for
// test numbers, and per-leg stats. It knows nothing of HTTP or the bridge.
//
// Every leg is a PeerConnection answering a browser's offer. All legs share
// one SettingEngine whose ICE traffic goes through a single UDP socket (ICE
// UDP mux), so a deployment opens exactly one UDP port. Each leg has its own
// MediaEngine holding only the codecs its Kind needs and its own interceptor
// registry (RTCP sender and receiver reports only: audio needs no NACK or
// congestion control, and the reports carry the loss, jitter and round-trip
// figures that Stats returns).
//
// Forwarding copies RTP packets from one leg's remote track to the other
// leg's local track, rewriting payload type (Opus to Opus, RFC 4733
// telephone-event to telephone-event), SSRC, sequence number and timestamp,
// with no decoding and no allocation per packet in this package.
//
// The package must not import net/http, echo, internal/web, internal/bridge
// or internal/telephony; the switch drives it through its exported methods.
package media
