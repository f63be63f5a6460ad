package bridge

import "github.com/callbridge/widget-server/internal/identity"

// The events the widget's own scripts post to the host page (its session,
// its pages, its phone, its answers to commands), which the server never
// sends: their payloads as the contract defines them (docs/events.md).
// web/static/adapter.d.ts is generated from these as from the rest.
type (
	// LoginStatusNotify is rc-login-status-notify.
	LoginStatusNotify struct {
		Type                  string            `json:"type"`
		LoggedIn              bool              `json:"loggedIn"`
		LoginNumber           string            `json:"loginNumber"` // mainNumber*ext; "" when signed out
		ContractedCountryCode string            `json:"contractedCountryCode"`
		Admin                 bool              `json:"admin"`
		Features              identity.Features `json:"features"`
	}
	// LoginPopupNotify is rc-login-popup-notify: the sign-in page the host
	// opens itself (disableLoginPopup=1).
	LoginPopupNotify struct {
		Type     string `json:"type"`
		OAuthURI string `json:"oAuthUri"`
	}
	// RouteChangedNotify is rc-route-changed-notify: the widget's page.
	RouteChangedNotify struct {
		Type string `json:"type"`
		Path string `json:"path"`
	}
	// RegionSettingsNotify is rc-region-settings-notify.
	RegionSettingsNotify struct {
		Type        string `json:"type"`
		CountryCode string `json:"countryCode"`
		AreaCode    string `json:"areaCode"`
	}
	// DialerStatusNotify is rc-dialer-status-notify.
	DialerStatusNotify struct {
		Type  string `json:"type"`
		Ready bool   `json:"ready"`
	}
	// MeetingStatusNotify is rc-meeting-status-notify (not emitted yet).
	MeetingStatusNotify struct {
		Type       string `json:"type"`
		Ready      bool   `json:"ready"`
		Permission bool   `json:"permission"`
	}
	// ConnectionStatusNotify is rc-webphone-connection-status-notify: this
	// tab's link to the server, one of the Connection* states.
	ConnectionStatusNotify struct {
		Type             string `json:"type"`
		ConnectionStatus string `json:"connectionStatus"`
		DeviceID         string `json:"deviceId"`
	}
	// CallingSettingsNotify is rc-calling-settings-notify.
	CallingSettingsNotify struct {
		Type        string       `json:"type"`
		CallWith    string       `json:"callWith"`    // one of CallWithModes
		CallingMode string       `json:"callingMode"` // callWith in the platform's words
		FromNumbers []FromNumber `json:"fromNumbers"`
		FromNumber  string       `json:"fromNumber"`
		MyLocation  string       `json:"myLocation"`
	}
	// FromNumber is one of the user's numbers, a caller id to choose.
	FromNumber struct {
		PhoneNumber string `json:"phoneNumber"`
		UsageType   string `json:"usageType"` // DirectNumber or MainCompanyNumber
	}
	// MessageResponse is rc-adapter-message-response: the answer to a
	// command that carried a requestId.
	MessageResponse struct {
		Type       string          `json:"type"`
		ResponseID any             `json:"responseId"` // the command's requestId: a string or a number
		Response   CommandResponse `json:"response"`
	}
	// CommandResponse is {data} on success, {error, message} on failure.
	CommandResponse struct {
		Data    any    `json:"data,omitempty"`
		Error   string `json:"error,omitempty"` // an error code (docs/events.md)
		Message string `json:"message,omitempty"`
	}
	// SessionsSync is rc-webphone-sessions-sync: this device's calls.
	SessionsSync struct {
		Type  string         `json:"type"`
		Calls []WebphoneCall `json:"calls"`
	}
	// ControlCallError is rc-control-call-error: a call action that could
	// not be carried out. Error is one of the ControlCall* codes; CallID
	// echoes the command's, or is null.
	ControlCallError struct {
		Type    string  `json:"type"`
		Error   string  `json:"error"`
		Message string  `json:"message"`
		CallID  *string `json:"callId"`
	}
	// CallStatsNotify is rc-call-stats-notify.
	CallStatsNotify struct {
		Type  string       `json:"type"`
		Call  WebphoneCall `json:"call"`
		Stats CallStats    `json:"stats"`
	}
	// CallStats are a call's audio statistics, from the browser's WebRTC
	// statistics; MOS is estimated from latency, jitter and loss.
	CallStats struct {
		RTTMs           int     `json:"rttMs"`
		JitterMs        int     `json:"jitterMs"`
		PacketsLost     int64   `json:"packetsLost"`
		PacketsReceived int64   `json:"packetsReceived"`
		BytesSent       int64   `json:"bytesSent"`
		BytesReceived   int64   `json:"bytesReceived"`
		MOS             float64 `json:"mos"`
	}
	// DTMFSentNotify is rc-dtmf-sent-notify: one tone went into the call.
	DTMFSentNotify struct {
		Type string       `json:"type"`
		Call WebphoneCall `json:"call"`
		Tone string       `json:"tone"`
	}
	// BadgeNotify is rc-badge-notify: the missed calls and unread messages
	// the widget's tabs show.
	BadgeNotify struct {
		Type           string `json:"type"`
		MissedCalls    int    `json:"missedCalls"`
		UnreadMessages int    `json:"unreadMessages"`
	}
	// HostRequest is rc-post-message-request: the widget asks the host's
	// registered service (docs/commands.md, host services). Path is one of
	// the service's paths; the host answers with rc-post-message-response
	// whose responseId is RequestID.
	HostRequest struct {
		Type      string `json:"type"`
		RequestID string `json:"requestId"`
		Path      string `json:"path"`
		Body      any    `json:"body"`
	}
)

// States of rc-webphone-connection-status-notify.
const (
	ConnectionConnected    = "connected"
	ConnectionConnecting   = "connecting"
	ConnectionDisconnected = "disconnected"
	ConnectionFailed       = "connectFailed"
)

// Errors of rc-control-call-error.
const (
	ControlCallUnsupported  = "unsupported"
	ControlCallNoSuchCall   = "noSuchCall"
	ControlCallInvalidState = "invalidState"
	ControlCallFailed       = "failed"
)

// CallingModes are the callingMode of rc-calling-settings-notify for each
// callWith: the platform's words for the same choice.
var CallingModes = map[string]string{"browser": "webphone", "ringout": "ringout"}
