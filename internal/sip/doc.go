// Package sip is the signalling side of SIP trunks to carriers, on
// github.com/emiago/sipgo: the trunks' configuration, registration with
// digest authentication (or peering authenticated by address), OPTIONS
// keep-alive that marks a trunk up or down, outbound calls (INVITE with its
// provisional and final responses, CANCEL, BYE, re-INVITE, RFC 4028 session
// timers) and inbound calls from a trunk's addresses (INVITE, CANCEL, BYE,
// re-INVITE, UPDATE, INFO with DTMF), and the one table that maps SIP final
// responses to the failure codes the host page sees (failure.go).
//
// SDP bodies pass through as opaque strings: the media gateway writes and
// reads them. The package knows nothing of the switch: the server wires a
// UA's Call handles and Events to the switch, which drives trunks through a
// small interface of its own.
//
// It also holds the trunks' dial rules and picks the trunk of a call
// (dialrules.go): which numbers each trunk takes, in what priority, and
// emergency numbers on the first trunk that is up.
//
// One file per concern: configuration (config.go), the user agent and its
// listeners (ua.go), a trunk's state (trunk.go), registration
// (register.go), keep-alive (keepalive.go), digest answers (digest.go),
// dialogs (dialog.go), the call handle shared by both directions (call.go),
// outbound calls (outbound.go), dial rules (dialrules.go), inbound
// requests (inbound.go), session timers (sessiontimer.go), DTMF in INFO
// (dtmf.go), source addresses (acl.go) and the little the package reads of
// SDP (sdp.go).
//
// The package must not import internal/telephony, internal/media, pion,
// net/http or echo.
package sip
