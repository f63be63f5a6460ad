package httperror

import (
	"errors"
	"net/http"
	"strings"

	"github.com/callbridge/widget-server/internal/audio"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/messaging"
	"github.com/callbridge/widget-server/internal/oauth"
	"github.com/callbridge/widget-server/internal/store"
	"github.com/callbridge/widget-server/internal/telephony"
	"github.com/callbridge/widget-server/internal/webhooks"
)

// CapRetryAfter is what a client past a cap on things it holds open (calls,
// event streams, devices) is told to wait: the cap frees when one of them
// closes.
const CapRetryAfter = "5"

// shutdownRetryAfter is what a client is told to wait while the server
// stops: by then it is another server's, or this one again.
const shutdownRetryAfter = "5"

// sentinel is one line of the table: a domain error and the answer to any
// error that wraps it. message, when set, words the answer from the error
// itself.
type sentinel struct {
	err     error
	answer  Error
	message func(err error) string
}

// table is the one mapping of the domain packages' sentinel errors to the
// answers of both HTTP faces (docs/api.md "Errors" and the tables of
// docs/api-*.md). The first line whose error err wraps decides: storage
// first, since a request that could not be stored failed whatever else it
// met on the way.
var table = []sentinel{
	{err: store.ErrUnavailable, answer: Error{Status: http.StatusServiceUnavailable, Code: "StorageUnavailable",
		Message: "the server cannot store data right now; try again later", RetryAfter: StorageRetryAfter}},

	// The switch.
	{err: telephony.ErrClosed, answer: Error{Status: http.StatusServiceUnavailable, Code: "ShuttingDown",
		Message: "the server is shutting down; try again shortly", RetryAfter: shutdownRetryAfter}},
	{err: telephony.ErrNoSuchCall, answer: Error{Status: http.StatusNotFound, Code: "NotFound",
		Message: "no such call: it has ended, or it is not one of yours"}},
	{err: telephony.ErrNoSuchParty, answer: Error{Status: http.StatusNotFound, Code: "NotFound",
		Message: "no such party in this telephony session"}},
	{err: telephony.ErrNotYourCall, answer: Error{Status: http.StatusForbidden, Code: "InsufficientPermissions",
		Message: "the call is not on this device, or the party not of this extension"}},
	// Two calls of different nodes of a cluster that neither can move to
	// the other's (a merge, a bridge): InvalidState, saying why.
	{err: telephony.ErrCannotMove, answer: Error{Status: http.StatusConflict, Code: "InvalidState",
		Message: "the two calls are carried by different servers and neither can move to the other's (a call through a carrier, a bridge with a desk phone's call, a call being recorded, transferred or in a conference): nothing changed"}},
	{err: telephony.ErrInvalidState, answer: Error{Status: http.StatusConflict, Code: "InvalidState",
		Message: "the call's state does not allow this: hold, unhold, mute and transfer need an answered call; reject, forward and ignore a ringing one"}},
	// A transfer or forward target that cannot take the call now (no such
	// number, do-not-disturb, no device signed in, a failing test line):
	// 409, like InvalidState, since the same request may succeed later;
	// nothing changed.
	{err: telephony.ErrUnreachable, answer: Error{Status: http.StatusConflict, Code: "TargetUnreachable",
		Message: "the transfer or forward target cannot be reached now (unknown, unavailable, do-not-disturb or no device): the call is unchanged"}},
	{err: telephony.ErrNoDevice, answer: Error{Status: http.StatusConflict, Code: "NoDevice",
		Message: "this tab's phone is not connected: reload the widget"}},
	{err: telephony.ErrTooManyCalls, answer: Error{Status: http.StatusTooManyRequests, Code: "TooManyCalls",
		Message: "this phone or user already has as many calls as allowed: end one first", RetryAfter: CapRetryAfter}},
	{err: telephony.ErrDeviceTaken, answer: Error{Status: http.StatusForbidden, Code: "DeviceNotYours",
		Message: "this device is registered to another user: reload the widget"}},
	{err: telephony.ErrBadOffer, answer: Error{Status: http.StatusBadRequest, Code: "InvalidSDP",
		Message: "the session description cannot be answered: it is malformed, or offers no audio codec this call can use"}},
	{err: telephony.ErrBadNumber, answer: Error{Status: http.StatusBadRequest, Code: "InvalidNumber",
		Message: "that is not a number that can be dialled"}},
	// Param names the field that carried the number.
	{err: telephony.ErrForeignNumber, answer: Error{Status: http.StatusBadRequest, Code: CodeInvalidParameter,
		Message: "another extension's number; use a number of your own or one outside the account"}},
	// Accounts, extensions and apps.
	{err: identity.ErrNotFound, answer: Error{Status: http.StatusNotFound, Code: "NotFound",
		Message: "no such account, extension or app"}},
	{err: identity.ErrForbidden, answer: Error{Status: http.StatusForbidden, Code: "InsufficientPermissions",
		Message: "only the user or an administrator of the account may do that"}},

	// JWT credentials.
	{err: identity.ErrLimit, answer: Error{Status: http.StatusForbidden, Code: "CredentialLimitExceeded",
		Message: "the user holds as many JWT credentials as allowed: revoke those no longer used"}},

	// Messages.
	{err: messaging.ErrNotFound, answer: Error{Status: http.StatusNotFound, Code: "NotFound", Message: "no such message"}},
	{err: messaging.ErrBadSignature, answer: Error{Status: http.StatusUnauthorized, Code: "InvalidSignature",
		Message: "the " + messaging.SignatureHeader + " and " + messaging.TimestampHeader + " headers are missing, wrong or too old"}},

	// Voicemail, recordings and greetings (docs/api-audio.md "Errors").
	// The disk is full: no Retry-After, as waiting alone does not free it.
	{err: telephony.ErrStorageFull, answer: Error{Status: http.StatusServiceUnavailable, Code: "AudioStorageFull",
		Message: "the server's disk is full: the audio cannot be kept"}},
	{err: telephony.ErrNoMailbox, answer: Error{Status: http.StatusNotImplemented, Code: "FeatureNotAvailable",
		Message: "voicemail and call recording are not available on this server"}},
	{err: telephony.ErrNoConferences, answer: Error{Status: http.StatusNotImplemented, Code: "FeatureNotAvailable",
		Message: "conferences are not available on this server"}},
	{err: audio.ErrNotFound, answer: Error{Status: http.StatusNotFound, Code: "NotFound", Message: "no such recording"}},
	{err: audio.ErrInProgress, answer: Error{Status: http.StatusConflict, Code: "RecordingInProgress",
		Message: "the recording is still being made: its content is served once it stops"}},
	{err: audio.ErrNoAudio, answer: Error{Status: http.StatusNotFound, Code: "RecordingUnavailable",
		Message: "the recording failed and kept no audio"}},

	// Webhook subscriptions.
	{err: webhooks.ErrNotFound, answer: Error{Status: http.StatusNotFound, Code: "NotFound", Message: "no such subscription"}},
	// One message whatever was found at the address: the detail is in the
	// log, where the service put it.
	{err: webhooks.ErrVerification, answer: Error{Status: http.StatusBadRequest, Code: "WebhookVerificationFailed", Param: "deliveryMode.address",
		Message: "the address did not answer the check as a webhook receiver: answer the POST carrying a Validation-Token header with 2xx and the same header back"}},
	{err: webhooks.ErrLimit, answer: Error{Status: http.StatusForbidden, Code: "SubscriptionLimitExceeded"},
		message: func(err error) string {
			return "the account has as many subscriptions as it may (" + strings.TrimPrefix(err.Error(), webhooks.ErrLimit.Error()+": ") +
				"): delete those no longer used"
		}},
	{err: webhooks.ErrBlacklisted, answer: Error{Status: http.StatusConflict, Code: "SubscriptionBlacklisted",
		Message: "the receiver answered 410 Gone: update the subscription with a deliveryMode that passes the address check, or delete it"}},

	// The widget's sign-in and session.
	{err: oauth.ErrNoFlow, answer: Error{Status: http.StatusBadRequest, Code: "NoLoginInProgress", Message: "no sign-in is in progress: start again"}},
	{err: oauth.ErrFlowExpired, answer: Error{Status: http.StatusBadRequest, Code: "LoginExpired", Message: "the sign-in took too long: start again"}},
	{err: oauth.ErrBadCallback, answer: Error{Status: http.StatusBadRequest, Code: "BadCallback", Message: "the sign-in redirect address is not valid"}},
	{err: oauth.ErrStateMismatch, answer: Error{Status: http.StatusBadRequest, Code: "StateMismatch",
		Message: "the sign-in answer does not belong to this sign-in: start again"}},
	{err: oauth.ErrAccessDenied, answer: Error{Status: http.StatusUnauthorized, Code: "AccessDenied", Message: "the sign-in was refused"}},
	{err: oauth.ErrExchange, answer: Error{Status: http.StatusUnauthorized, Code: "LoginFailed", Message: "the sign-in code was not accepted: start again"}},
	{err: oauth.ErrUnknownUser, answer: Error{Status: http.StatusForbidden, Code: "UnknownUser", Message: "this account has no extension here"}},
	{err: oauth.ErrSessionEnded, answer: Error{Status: http.StatusUnauthorized, Code: "NotSignedIn", Message: "your session ended: sign in again"}},
}

// lookup is the table's answer to err, or nil when err wraps none of its
// errors. Errors that carry their parameter answer InvalidParameter naming
// it; a body over the limit is 413.
func lookup(err error) *Error {
	for _, s := range table {
		if errors.Is(err, s.err) {
			a := s.answer
			if s.message != nil {
				a.Message = s.message(err)
			}
			a.Err = err
			return &a
		}
	}
	var (
		inv      *messaging.InvalidError
		pe       *webhooks.ParamError
		rule     *store.RuleError
		tooLarge *http.MaxBytesError
	)
	switch {
	case errors.As(err, &rule):
		return withErr(InvalidParam(rule.Field, rule.Reason), err)
	case errors.As(err, &inv):
		return withErr(InvalidParam(inv.Param, inv.Reason), err)
	case errors.As(err, &pe):
		return withErr(InvalidParam(pe.Param, pe.Message), err)
	case errors.As(err, &tooLarge):
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "RequestTooLarge", Message: "request body too large", Err: err}
	}
	return nil
}

func withErr(e *Error, err error) *Error {
	e.Err = err
	return e
}

// RingOutCancel is the answer to a refused cancel of a RingOut (DELETE of
// the API's RingOut and of the widget's): the switch's ErrInvalidState
// means there that the RingOut is no longer in progress
// (docs/api-calls.md, 409 RingOutNotInProgress), and ErrNoSuchCall that
// there is no such RingOut. Other errors are the table's.
func RingOutCancel(err error) error {
	switch {
	case errors.Is(err, telephony.ErrNoSuchCall):
		return NoSuchRingOut
	case errors.Is(err, telephony.ErrInvalidState):
		return &Error{Status: http.StatusConflict, Code: "RingOutNotInProgress", Err: err,
			Message: "the RingOut is no longer in progress: end its call through its telephony session's parties"}
	}
	return err
}

// NoSuchRingOut answers for a RingOut the caller may not see or that is gone.
var NoSuchRingOut = &Error{Status: http.StatusNotFound, Code: "NotFound",
	Message: "no such RingOut: unknown, of another extension, or ended more than 10 minutes ago"}

// MessagingOff answers the message endpoints of a server without the
// message service.
var MessagingOff = &Error{Status: http.StatusNotImplemented, Code: "MessagingOff", Message: "messaging is off on this server"}
