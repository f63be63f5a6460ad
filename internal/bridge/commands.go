package bridge

// The commands a host page posts to the widget (docs/commands.md): their
// payloads as the contract defines them. The widget's scripts check and
// carry them out (web/static/commands.js, whose table of fields a test
// compares with these); web/static/adapter.d.ts is generated from them.

// Request is what any command may carry: a requestId, which the widget
// answers exactly once with rc-adapter-message-response.
type Request struct {
	RequestID any `json:"requestId,omitempty"` // a non-empty string or a number
}

type (
	// NewCallCommand is rc-adapter-new-call: open the dialer with the
	// number, and dial it when ToCall.
	NewCallCommand struct {
		Type string `json:"type"`
		Request
		PhoneNumber string `json:"phoneNumber"`
		ToCall      bool   `json:"toCall,omitempty"`
	}
	// ControlCallCommand is rc-adapter-control-call: one of CallActions on
	// a call (its id, the telephonySessionId), or on the call the action
	// implies.
	ControlCallCommand struct {
		Type string `json:"type"`
		Request
		CallAction string              `json:"callAction"`
		CallID     string              `json:"callId,omitempty"`
		Options    *ControlCallOptions `json:"options,omitempty"`
	}
	// ControlCallOptions are the options of the call actions that read them.
	ControlCallOptions struct {
		Action         string `json:"action,omitempty"`         // answer: what becomes of the call in progress, one of AnswerActions
		TransferNumber string `json:"transferNumber,omitempty"` // transfer
		Warm           bool   `json:"warm,omitempty"`           // transfer: consult the target first
		ForwardNumber  string `json:"forwardNumber,omitempty"`  // forward
		DTMF           string `json:"dtmf,omitempty"`           // dtmf: 0-9 * # A-D
		OtherCallID    string `json:"otherCallId,omitempty"`    // merge
		Number         string `json:"number,omitempty"`         // addParticipant
		PartyID        string `json:"partyId,omitempty"`        // removeParticipant
	}
	// NewSMSCommand is rc-adapter-new-sms: open the composer.
	NewSMSCommand struct {
		Type string `json:"type"`
		Request
		PhoneNumber  string `json:"phoneNumber"`
		Text         string `json:"text,omitempty"`
		Conversation bool   `json:"conversation,omitempty"`
	}
	// LoginCommand is rc-adapter-login.
	LoginCommand struct {
		Type string `json:"type"`
		Request
	}
	// LogoutCommand is rc-adapter-logout.
	LogoutCommand struct {
		Type string `json:"type"`
		Request
	}
	// AuthorizationCodeCommand is rc-adapter-authorization-code: the URL
	// the authorization server redirected the host's window to.
	AuthorizationCodeCommand struct {
		Type string `json:"type"`
		Request
		CallbackURI string `json:"callbackUri"`
	}
	// NavigateToCommand is rc-adapter-navigate-to.
	NavigateToCommand struct {
		Type string `json:"type"`
		Request
		Path string `json:"path"`
	}
	// SetPresenceCommand is rc-adapter-set-presence: at least one of the two.
	SetPresenceCommand struct {
		Type string `json:"type"`
		Request
		UserStatus string `json:"userStatus,omitempty"`
		DNDStatus  string `json:"dndStatus,omitempty"`
	}
	// CallingSettingsCommand is rc-calling-settings-update.
	CallingSettingsCommand struct {
		Type string `json:"type"`
		Request
		CallWith   string `json:"callWith,omitempty"`
		MyLocation string `json:"myLocation,omitempty"`
		FromNumber string `json:"fromNumber,omitempty"`
	}
	// SessionsSyncCommand is rc-adapter-webphone-sessions-sync.
	SessionsSyncCommand struct {
		Type string `json:"type"`
		Request
	}
	// MessageRequestCommand is rc-adapter-message-request: a request to
	// one of RequestPaths, always answered.
	MessageRequestCommand struct {
		Type      string         `json:"type"`
		RequestID any            `json:"requestId"` // a non-empty string or a number
		Path      string         `json:"path"`
		Body      map[string]any `json:"body,omitempty"`
	}
	// RegisterServiceCommand is rc-adapter-register-third-party-service.
	RegisterServiceCommand struct {
		Type string `json:"type"`
		Request
		Service HostService `json:"service"`
	}
	// HostService is the host's service: its name, and each path it
	// answers rc-post-message-request at.
	HostService struct {
		Name                       string `json:"name"`
		ContactsPath               string `json:"contactsPath,omitempty"`
		ContactSearchPath          string `json:"contactSearchPath,omitempty"`
		ContactMatchPath           string `json:"contactMatchPath,omitempty"`
		ViewMatchedContactPath     string `json:"viewMatchedContactPath,omitempty"`
		CallLoggerPath             string `json:"callLoggerPath,omitempty"`
		CallLoggerTitle            string `json:"callLoggerTitle,omitempty"`
		CallLoggerAutoSettingLabel string `json:"callLoggerAutoSettingLabel,omitempty"`
		MessageLoggerPath          string `json:"messageLoggerPath,omitempty"`
		MessageLoggerTitle         string `json:"messageLoggerTitle,omitempty"`
		ActivitiesPath             string `json:"activitiesPath,omitempty"`
	}
	// HostResponseCommand is rc-post-message-response: the host's answer
	// to rc-post-message-request. It is never answered itself.
	HostResponseCommand struct {
		Type       string       `json:"type"`
		ResponseID any          `json:"responseId"` // the request's requestId
		Response   HostResponse `json:"response"`
	}
	// HostResponse is {data} on success, {error} (a text, or {message})
	// on failure.
	HostResponse struct {
		Data  any `json:"data,omitempty"`
		Error any `json:"error,omitempty"`
	}
)

// CallActions are the callAction values of rc-adapter-control-call.
var CallActions = []string{
	"answer", "reject", "ignore", "hangup", "hold", "unhold", "mute", "unmute", "transfer", "completeTransfer",
	"cancelTransfer", "forward", "dtmf", "startRecord", "stopRecord", "pauseRecord", "resumeRecord", "toVoicemail",
	"switch", "moveHere", "merge", "addParticipant", "removeParticipant", "endConference",
}

// AnswerActions are what answer's options.action may make of the call in
// progress.
var AnswerActions = []string{"hold", "end"}

// RequestPaths are the paths of rc-adapter-message-request.
var RequestPaths = []string{"/custom-alert-message", "/get-call-log", "/unlogged-calls"}
