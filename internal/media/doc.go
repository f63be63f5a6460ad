// Package media is the media gateway: one leg per device per call, RTP
// forwarded between legs without decoding, conferences mixed, hold and mute
// enforced at the gateway, tone and echo sources for test numbers, and
// per-leg stats. Its legs are browsers (pion/webrtc) and, for calls that
// leave through a SIP trunk, carriers (plain RTP or SDES-SRTP). It knows
// nothing of HTTP, SIP or the bridge.
//
// A browser leg is a PeerConnection answering the browser's offer. All of
// them share one SettingEngine whose ICE traffic goes through a single UDP
// socket (ICE UDP mux), so browsers reach the gateway on exactly one UDP
// port. Each has its own MediaEngine holding only the codecs its Kind needs
// and no interceptors: audio needs no NACK or congestion control, and the
// gateway writes its RTCP sender and receiver reports and reads the
// browser's itself (rtcp.go), as toward a carrier, for the loss, jitter and
// round-trip figures that Stats returns.
//
// An RTP leg (rtpleg.go) carries a call's audio to a carrier on an even UDP
// port of a configured range and RTCP on the next one (or on the same, with
// rtcp-mux). The gateway writes and reads its SDP; the SIP side carries it.
// When that SDP names an address the internet cannot reach (a phone behind
// a NAT), or the leg is asked to, the leg sends where the first valid
// packet came from and takes packets from there only (symmetric RTP,
// latch.go).
// The browser side of such a call is a KindTrunkPhone leg, answered in
// G.711, so that the relay between them is a copy too; the gateway sends the
// carrier RTCP reports of its own (rtcp.go). Two RTP legs connect the same
// way (a call from the phone network transferred or forwarded to another
// outside number, its second leg offered Like the first): each carrier sees
// a stream of the gateway's own on its leg, with its own payload types.
//
// A browser leg's received packet is forwarded on the library's SRTP
// session goroutine, the moment it is decrypted: the leg gives the library
// its own buffer per SSRC (SettingEngine.BufferFactory, trackbuf.go), whose
// Write forwards once the leg has taken the track over, instead of queueing
// the packet for a read loop of the leg's own.
//
// Forwarding (forward.go, the one per-packet path) copies RTP packets from
// one leg to the other, rewriting payload type (Opus to Opus, PCMU or PCMA
// to the same, RFC 4733 telephone-event to telephone-event), SSRC,
// sequence number and timestamp, and encrypting or decrypting SDES-SRTP,
// with no decoding and no allocation per packet in this package.
//
// A trunk phone leg also carries audio the gateway makes itself: the North
// American ringing tone while the call rings without early media
// (ringback.go, from tables made once per G.711 law), and RFC 4733
// telephone-events for keys the carrier sent outside the stream, in a SIP
// INFO (dtmf.go). Both go out on the leg's own track, numbered by the same
// rewriter as forwarded packets, so that the browser sees one stream
// whoever fills it: the ringback stops the moment Connect gives the leg a
// peer, and the peer's audio waits while an event is sent.
//
// The gateway also plays prompts and records legs, for voicemail and call
// recording (prompt.go, record.go). A Prompt (the shipped greeting and beep
// in assets/, made by scripts/prompts.sh, or a user's own Ogg Opus file)
// holds its Opus frames for Opus legs and its sound decoded once to 8 kHz
// for G.711 legs; Play sends it on the leg's own stream like the ringback,
// nothing else being sent meanwhile. A recording writes what its one or two
// legs receive while they forward (silence while held or muted) as it
// comes: Opus into Ogg Opus without decoding (two legs as one stream of
// channel mapping family 1, left and right, ogg.go), G.711 into 16-bit WAV
// (wav.go). The forwarding path only copies a packet into a fixed pool and
// queues it; the recording's goroutine keeps the legs aligned on a 20 ms
// clock.
//
// Conferences are mixed at the gateway (an MCU, mix.go), not forwarded per
// participant: every member leg keeps its one negotiated stream, so that a
// browser needs no renegotiation to join or leave, and phones and trunks,
// which take G.711 only, get the same service as browsers. The switch gives
// a mix its whole membership each time it changes (SetMix). The forwarding
// path only copies a member's packet into a fixed pool and queues it, as
// for a recording, dropping the oldest when the mix falls behind; the mix's
// one goroutine keeps a 20 ms clock that does not drift (and skips ahead
// rather than bursting when far behind). Each tick it decodes what each
// member sent to 16 kHz: Opus with the pure-Go decoder
// (github.com/thesyncim/gopus) at 16 kHz, G.711 through its table and a
// half-band filter that doubles the rate; takes 20 ms from each speaking
// member (silence when it has none; at most 80 ms kept, the oldest dropped,
// so that latency stays bounded); sums them in 32 bits; and sends each
// listening member the sum less its own voice, saturated, in its own codec
// on its own stream, numbered as a prompt's frames (and nothing else sent
// on it meanwhile): Opus at 16 kHz and 24 kbit/s, or G.711 after the
// half-band filter halves the rate. Opus is encoded at complexity 0: on
// speech (the shipped greeting) a 20 ms frame costs 79 µs there, 148 µs at
// 5 and 236 µs at 10, for a waveform SNR of 11.1 dB against 11.3 and 11.4
// (BenchmarkMixOpusEncoder): a third of the CPU for 0.3 dB less. A tick
// costs about 95-115 µs per Opus member (0.5-0.6 % of a core) and 8 µs per
// G.711 member (BenchmarkMixTick, docs/performance.md); the mix's own code
// allocates nothing per tick (the Opus decoder does, now and then,
// inside). A late or lost packet of an Opus member is concealed by its
// decoder for up to 60 ms; frames kept against a member's jitter that 2 s
// did not need are dropped in a quiet moment. The Opus decoder is otherwise
// used only to parse prompts.
//
// The package must not import net/http, echo, internal/web, internal/bridge,
// internal/telephony or internal/sip; the switch drives it through its
// exported methods.
package media
