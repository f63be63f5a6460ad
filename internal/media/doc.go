// Package media is the WebRTC gateway (pion/webrtc): one leg per device per
// call on a shared single-port API, RTP forwarded between legs without
// decoding, hold and mute enforced at the gateway, tone and echo sources for
// test numbers, and per-leg stats. It knows nothing of HTTP or the bridge.
package media
