// Package sip is the signalling side of SIP trunks to carriers and of the
// desk phones that register with the server, on
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
// With Config.Devices set, the UA is also the registrar of the account's
// desk phones and softphones (registrar.go): REGISTERs from any address
// are challenged with digest (401, stateless HMAC nonces, qop=auth, MD5)
// and checked against the device's HA1, which the server's Devices looks
// up; addresses that fail too often get 403; bindings are kept in memory
// until they run out and reported to OnRegistration. Registered phones
// call in (their INVITEs come from the address they registered from, or
// answer a 407) and are rung with InviteDevice, on the same call machinery
// as trunk calls (device_call.go): every request to a phone goes to the
// address its registration came from, for NAT.
//
// One file per concern: configuration (config.go), the user agent and its
// listeners (ua.go), a trunk's state (trunk.go), registration to carriers
// (register.go), keep-alive (keepalive.go), digest answers to carriers
// (digest.go), the call handle shared by both directions (call.go),
// outbound calls (outbound.go), dial rules (dialrules.go), inbound
// requests (inbound.go), session timers (sessiontimer.go), DTMF in INFO
// (dtmf.go), source addresses (acl.go), the little the package reads of
// SDP (sdp.go), devices and bindings (device.go), the registrar
// (registrar.go), digest checks, nonces and the failure limit of phones
// (registrar_auth.go), calls to and from phones (device_call.go), and
// which of several nodes registers a trunk (lease.go).
//
// The package must not import internal/telephony, internal/media,
// internal/store, pion, net/http or echo.
package sip
