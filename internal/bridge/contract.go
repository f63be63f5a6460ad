// Package bridge is the host-page contract in Go: the rc-* event and command
// types, the widget flags, and the Server-Sent Events hub that carries events
// to each widget. It must not import echo, pion or the telephony switch's
// internals; web handlers adapt it to HTTP.
package bridge

// Event types the widget sends to the host page (CONTRACT §3). Only types the
// widget really emits are listed; docs/events.md must list exactly these.
const (
	EventLoginStatus     = "rc-login-status-notify"
	EventRegionSettings  = "rc-region-settings-notify"
	EventDialerStatus    = "rc-dialer-status-notify"
	EventRouteChanged    = "rc-route-changed-notify"
	EventMessageResponse = "rc-adapter-message-response"
	EventControlCallErr  = "rc-control-call-error"
)

// Events lists every event type the widget emits today.
var Events = []string{
	EventLoginStatus,
	EventRegionSettings,
	EventDialerStatus,
	EventRouteChanged,
	EventMessageResponse,
	EventControlCallErr,
}

// Command types the host page sends to the widget (CONTRACT §4).
const (
	CommandNewCall           = "rc-adapter-new-call"
	CommandControlCall       = "rc-adapter-control-call"
	CommandNewSMS            = "rc-adapter-new-sms"
	CommandLogin             = "rc-adapter-login"
	CommandLogout            = "rc-adapter-logout"
	CommandAuthorizationCode = "rc-adapter-authorization-code"
	CommandNavigateTo        = "rc-adapter-navigate-to"
	CommandSetPresence       = "rc-adapter-set-presence"
	CommandCallingSettings   = "rc-calling-settings-update"
	CommandSessionsSync      = "rc-adapter-webphone-sessions-sync"
	CommandMessageRequest    = "rc-adapter-message-request"
)

// Command describes one host command and whether the widget carries it out
// yet. Recognised commands that are not supported are answered with an error
// (rc-control-call-error or rc-adapter-message-response), never dropped.
type Command struct {
	Type      string
	Supported bool
}

// Commands lists every command of the contract; docs/commands.md must list
// exactly these, with the same supported state.
var Commands = []Command{
	{CommandNewCall, false},
	{CommandControlCall, false},
	{CommandNewSMS, false},
	{CommandLogin, false},
	{CommandLogout, false},
	{CommandAuthorizationCode, false},
	{CommandNavigateTo, true},
	{CommandSetPresence, false},
	{CommandCallingSettings, false},
	{CommandSessionsSync, false},
	{CommandMessageRequest, true},
}
