// Package bridge is the host-page contract in Go: the rc-* event and command
// types and their payloads, the widget flags, the TypeScript definitions
// generated from them (web/static/adapter.d.ts), the mapping from domain
// events to rc-* messages, the Server-Sent Events hub that carries them to
// each widget, and the Dispatcher, which subscribes to the domain buses
// (telephony, presence, messaging) and feeds both the hub, in the groups it
// names, and the webhook subscriptions. It must not import echo, pion, the
// store, media or the HTTP packages above it (web, api, server); web serves
// the hub's streams over HTTP.
package bridge

// Event types the widget sends to the host page (CONTRACT §3).
const (
	EventLoginStatus      = "rc-login-status-notify"
	EventLoginPopup       = "rc-login-popup-notify"
	EventCallRing         = "rc-call-ring-notify"
	EventCallInit         = "rc-call-init-notify"
	EventCallStart        = "rc-call-start-notify"
	EventCallHold         = "rc-call-hold-notify"
	EventCallResume       = "rc-call-resume-notify"
	EventCallMute         = "rc-call-mute-notify"
	EventCallEnd          = "rc-call-end-notify"
	EventRingoutCall      = "rc-ringout-call-notify"
	EventActiveCall       = "rc-active-call-notify"
	EventTelephonySession = "rc-telephony-session-notify"
	EventSyncPresence     = "rc-adapter-syncPresence"
	EventMessageUpdated   = "rc-message-updated-notify"
	EventInboundMessage   = "rc-inbound-message-notify"
	EventRouteChanged     = "rc-route-changed-notify"
	EventRegionSettings   = "rc-region-settings-notify"
	EventDialerStatus     = "rc-dialer-status-notify"
	EventMeetingStatus    = "rc-meeting-status-notify"
	EventConnectionStatus = "rc-webphone-connection-status-notify"
	EventCallingSettings  = "rc-calling-settings-notify"
	EventMessageResponse  = "rc-adapter-message-response"
	EventSessionsSync     = "rc-webphone-sessions-sync"
	EventControlCallError = "rc-control-call-error"
	EventCallFailed       = "rc-call-failed-notify"
	EventCallStats        = "rc-call-stats-notify"
	EventCallTransfer     = "rc-call-transfer-notify"
	EventCallMoved        = "rc-call-moved-notify"
	EventDTMFSent         = "rc-dtmf-sent-notify"
	EventCallRecord       = "rc-call-record-notify"
	EventConference       = "rc-conference-notify"
	EventBadge            = "rc-badge-notify"
	EventHostRequest      = "rc-post-message-request"
)

// EventSpec is one event type of the contract and whether the widget emits
// it yet. docs/events.md documents exactly these, with the same state.
type EventSpec struct {
	Type    string
	Emitted bool
	// Payload is the message's Go type (its zero value), from which
	// web/static/adapter.d.ts is generated (tsgen.go).
	Payload any
}

// Events lists every event type of the contract.
var Events = []EventSpec{
	{EventLoginStatus, true, LoginStatusNotify{}},
	{EventLoginPopup, true, LoginPopupNotify{}},
	{EventCallRing, true, CallNotify{}},
	{EventCallInit, true, CallNotify{}},
	{EventCallStart, true, CallNotify{}},
	{EventCallHold, true, CallNotify{}},
	{EventCallResume, true, CallNotify{}},
	{EventCallMute, true, CallNotify{}},
	{EventCallEnd, true, CallNotify{}},
	{EventRingoutCall, true, ActiveCallNotify{}},
	{EventActiveCall, true, ActiveCallNotify{}},
	{EventTelephonySession, true, TelephonySessionNotify{}},
	{EventSyncPresence, true, SyncPresence{}},
	{EventMessageUpdated, true, MessageNotify{}},
	{EventInboundMessage, true, MessageNotify{}},
	{EventRouteChanged, true, RouteChangedNotify{}},
	{EventRegionSettings, true, RegionSettingsNotify{}},
	{EventDialerStatus, true, DialerStatusNotify{}},
	{EventMeetingStatus, false, MeetingStatusNotify{}},
	{EventConnectionStatus, true, ConnectionStatusNotify{}},
	{EventCallingSettings, true, CallingSettingsNotify{}},
	{EventMessageResponse, true, MessageResponse{}},
	{EventSessionsSync, true, SessionsSync{}},
	{EventControlCallError, true, ControlCallError{}},
	{EventCallFailed, true, CallFailedNotify{}},
	{EventCallStats, true, CallStatsNotify{}},
	{EventCallTransfer, true, CallTransferNotify{}},
	{EventCallMoved, true, CallMovedNotify{}},
	{EventCallRecord, true, CallRecordNotify{}},
	{EventConference, true, ConferenceNotify{}},
	{EventDTMFSent, true, DTMFSentNotify{}},
	{EventBadge, true, BadgeNotify{}},
	{EventHostRequest, true, HostRequest{}},
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
	CommandRegisterService   = "rc-adapter-register-third-party-service"
	CommandHostResponse      = "rc-post-message-response"
)

// CommandSpec is one host command and whether the widget carries it out yet.
// Recognised commands that are not supported are answered with an error
// (rc-control-call-error or rc-adapter-message-response), never dropped.
// docs/commands.md documents exactly these, with the same state.
type CommandSpec struct {
	Type      string
	Supported bool
	// Payload is the command's Go type (its zero value), as EventSpec's.
	Payload any
}

// Commands lists every command of the contract.
var Commands = []CommandSpec{
	{CommandNewCall, true, NewCallCommand{}},
	{CommandControlCall, true, ControlCallCommand{}},
	{CommandNewSMS, true, NewSMSCommand{}},
	{CommandLogin, true, LoginCommand{}},
	{CommandLogout, true, LogoutCommand{}},
	{CommandAuthorizationCode, true, AuthorizationCodeCommand{}},
	{CommandNavigateTo, true, NavigateToCommand{}},
	{CommandSetPresence, true, SetPresenceCommand{}},
	{CommandCallingSettings, true, CallingSettingsCommand{}},
	{CommandSessionsSync, true, SessionsSyncCommand{}},
	{CommandMessageRequest, true, MessageRequestCommand{}},
	{CommandRegisterService, true, RegisterServiceCommand{}},
	{CommandHostResponse, true, HostResponseCommand{}},
}
