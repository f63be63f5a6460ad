package httperror

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/audio"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/messaging"
	"github.com/callbridge/widget-server/internal/oauth"
	"github.com/callbridge/widget-server/internal/store"
	"github.com/callbridge/widget-server/internal/telephony"
	"github.com/callbridge/widget-server/internal/webhooks"
)

// TestTable: each domain error, however wrapped, has one answer, the same
// on the widget's endpoints and the platform API (docs/api*.md).
func TestTable(t *testing.T) {
	tests := []struct {
		err                     error
		status                  int
		code, param, retryAfter string
	}{
		{store.ErrUnavailable, 503, "StorageUnavailable", "", "30"},
		{&store.UnavailableError{Op: "write", Dir: "/data", Err: errors.New("disk full")}, 503, "StorageUnavailable", "", "30"},
		{telephony.ErrClosed, 503, "ShuttingDown", "", "5"},
		{telephony.ErrNoSuchCall, 404, "NotFound", "", ""},
		{telephony.ErrNoSuchParty, 404, "NotFound", "", ""},
		{telephony.ErrNotYourCall, 403, "InsufficientPermissions", "", ""},
		{telephony.ErrInvalidState, 409, "InvalidState", "", ""},
		{telephony.ErrUnreachable, 409, "TargetUnreachable", "", ""},
		{telephony.ErrNoDevice, 409, "NoDevice", "", ""},
		{telephony.ErrTooManyCalls, 429, "TooManyCalls", "", "5"},
		{telephony.ErrDeviceTaken, 403, "DeviceNotYours", "", ""},
		{telephony.ErrBadNumber, 400, "InvalidNumber", "", ""},
		{telephony.ErrBadOffer, 400, "InvalidSDP", "", ""},
		{telephony.ErrForeignNumber, 400, "InvalidParameter", "", ""},
		{&store.RuleError{Field: "noAnswer.target", Reason: "a forward needs a number"}, 400, "InvalidParameter", "noAnswer.target", ""},
		{identity.ErrNotFound, 404, "NotFound", "", ""},
		{messaging.ErrNotFound, 404, "NotFound", "", ""},
		{messaging.ErrBadSignature, 401, "InvalidSignature", "", ""},
		{&messaging.InvalidError{Param: "to", Reason: "no recipient"}, 400, "InvalidParameter", "to", ""},
		{telephony.ErrStorageFull, 503, "AudioStorageFull", "", ""},
		{telephony.ErrNoMailbox, 501, "FeatureNotAvailable", "", ""},
		{telephony.ErrNoConferences, 501, "FeatureNotAvailable", "", ""},
		{audio.ErrNotFound, 404, "NotFound", "", ""},
		{audio.ErrInProgress, 409, "RecordingInProgress", "", ""},
		{audio.ErrNoAudio, 404, "RecordingUnavailable", "", ""},
		{webhooks.ErrNotFound, 404, "NotFound", "", ""},
		{webhooks.ErrVerification, 400, "WebhookVerificationFailed", "deliveryMode.address", ""},
		{webhooks.ErrLimit, 403, "SubscriptionLimitExceeded", "", ""},
		{webhooks.ErrBlacklisted, 409, "SubscriptionBlacklisted", "", ""},
		{&webhooks.ParamError{Param: "expiresIn", Message: "at least 1"}, 400, "InvalidParameter", "expiresIn", ""},
		{oauth.ErrNoFlow, 400, "NoLoginInProgress", "", ""},
		{oauth.ErrFlowExpired, 400, "LoginExpired", "", ""},
		{oauth.ErrBadCallback, 400, "BadCallback", "", ""},
		{oauth.ErrStateMismatch, 400, "StateMismatch", "", ""},
		{oauth.ErrAccessDenied, 401, "AccessDenied", "", ""},
		{oauth.ErrExchange, 401, "LoginFailed", "", ""},
		{oauth.ErrUnknownUser, 403, "UnknownUser", "", ""},
		{oauth.ErrSessionEnded, 401, "NotSignedIn", "", ""},
		{&http.MaxBytesError{Limit: 64 << 10}, 413, "RequestTooLarge", "", ""},
		{echo.ErrNotFound, 404, "NotFound", "", ""},
		{echo.ErrMethodNotAllowed, 405, "MethodNotAllowed", "", ""},
		{echo.ErrStatusRequestEntityTooLarge, 413, "RequestTooLarge", "", ""},
		{errors.New("the media gateway failed"), 500, "InternalError", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			wrapped := fmt.Errorf("somewhere: %w", tt.err)
			e := From(wrapped)
			if e.Status != tt.status || e.Code != tt.code || e.Param != tt.param || e.RetryAfter != tt.retryAfter || e.Message == "" {
				t.Fatalf("%+v, want %d %s naming %q, Retry-After %q", e, tt.status, tt.code, tt.param, tt.retryAfter)
			}
			var he *echo.HTTPError
			if !errors.As(tt.err, &he) && !errors.Is(e, tt.err) {
				t.Errorf("the answer does not keep the error for the log")
			}
			if tt.status == 500 && strings.Contains(e.Message, "gateway") {
				t.Errorf("an unknown error's detail reaches the client: %q", e.Message)
			}
		})
	}
}

func TestFromKeepsHandlersAnswers(t *testing.T) {
	mine := &Error{Status: http.StatusConflict, Code: "RingOutNotInProgress", Message: "no", Err: telephony.ErrInvalidState}
	if e := From(fmt.Errorf("x: %w", mine)); e != mine {
		t.Errorf("a handler's own answer was replaced by %+v", e)
	}
	// A 5xx answer of a handler that failed because of the store is the
	// store's 503: nothing was changed, and the client may retry.
	failed := &Error{Status: 500, Code: "InternalError", Message: "sign-in failed", Err: store.ErrUnavailable}
	if e := From(failed); e.Code != "StorageUnavailable" || e.RetryAfter == "" {
		t.Errorf("%+v", e)
	}
	other := &Error{Status: 503, Code: "ShuttingDown", Message: "reconnect shortly", Err: errors.New("hub closed")}
	if e := From(other); e != other {
		t.Errorf("%+v", e)
	}
	if e := From(webhooks.ErrLimit); !strings.Contains(e.Message, "as many subscriptions") {
		t.Errorf("limit message %q", e.Message)
	}
	if e := From(fmt.Errorf("%w: an account may have 20", webhooks.ErrLimit)); !strings.Contains(e.Message, "(an account may have 20)") {
		t.Errorf("limit message %q", e.Message)
	}
}

func TestParam(t *testing.T) {
	err := Param(fmt.Errorf("ringout: %w", telephony.ErrForeignNumber), "from.phoneNumber")
	e := From(err)
	if e.Status != 400 || e.Code != "InvalidParameter" || e.Param != "from.phoneNumber" ||
		!strings.HasPrefix(e.Message, "Parameter [from.phoneNumber] value is invalid: another extension's number") {
		t.Fatalf("%+v", e)
	}
	if !errors.Is(err, telephony.ErrForeignNumber) {
		t.Error("the sentinel is lost")
	}
	// Other errors, and parameters already named, are left alone.
	for _, err := range []error{telephony.ErrBadNumber, InvalidParam("to", "bad")} {
		if got := Param(err, "from"); got != err {
			t.Errorf("%v became %v", err, got)
		}
	}
}

func TestRingOutCancel(t *testing.T) {
	if e := From(RingOutCancel(fmt.Errorf("cancel: %w", telephony.ErrInvalidState))); e.Status != 409 || e.Code != "RingOutNotInProgress" {
		t.Errorf("not in progress: %+v", e)
	}
	if e := From(RingOutCancel(telephony.ErrNoSuchCall)); e.Status != 404 || e.Code != "NotFound" || !strings.Contains(e.Message, "RingOut") {
		t.Errorf("no such RingOut: %+v", e)
	}
	if e := From(RingOutCancel(telephony.ErrClosed)); e.Code != "ShuttingDown" {
		t.Errorf("others: %+v", e)
	}
}

// TestHandler: the body is {errorCode, message, errors}, Retry-After is
// sent when the answer has one, and a committed response is left alone.
func TestHandler(t *testing.T) {
	h := Handler(slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, tt := range []struct {
		err        error
		status     int
		retryAfter string
	}{
		{fmt.Errorf("dial: %w", telephony.ErrTooManyCalls), 429, "5"},
		{InvalidParam("perPage", "an integer from 1 to 1000"), 400, ""},
		{errors.New("boom"), 500, ""},
	} {
		rec := httptest.NewRecorder()
		c := echo.New().NewContext(httptest.NewRequest("GET", "/x", nil), rec)
		h(tt.err, c)
		var b Body
		if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || rec.Code != tt.status || rec.Header().Get("Retry-After") != tt.retryAfter {
			t.Fatalf("%v: %d %s, Retry-After %q", tt.err, rec.Code, rec.Body, rec.Header().Get("Retry-After"))
		}
		e := From(tt.err)
		if b.ErrorCode != e.Code || b.Message != e.Message || len(b.Errors) != 1 || b.Errors[0].ParameterName != e.Param {
			t.Errorf("%v: body %+v", tt.err, b)
		}
		if strings.Contains(rec.Body.String(), "boom") {
			t.Errorf("the detail reached the client: %s", rec.Body)
		}
	}
	rec := httptest.NewRecorder()
	c := echo.New().NewContext(httptest.NewRequest("GET", "/x", nil), rec)
	c.NoContent(http.StatusNoContent)
	h(errors.New("late"), c)
	if rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
		t.Errorf("a committed response changed: %d %s", rec.Code, rec.Body)
	}
}
