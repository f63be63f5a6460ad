// Package httperror owns the HTTP error model of both faces of the server,
// the widget's endpoints (internal/web) and the platform API
// (internal/api): one table from the domain packages' sentinel errors to a
// status and an errorCode (table.go), and the one JSON body every error is
// answered with, {errorCode, message, errors}, with Retry-After where the
// client should wait. What the client is not told goes to the log.
//
// It knows the domain packages' errors and echo; it must not import
// internal/web, internal/api, internal/bridge or internal/server.
package httperror

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/store"
)

// Error is the one error shape handlers return. Status and Code reach the
// client with Message, and Param names the request parameter (query
// parameter or body field) at fault, if one is; the wrapped Err goes only to
// the log.
type Error struct {
	Status  int
	Code    string
	Message string
	Param   string
	Err     error
	// RetryAfter, when set, is sent as the Retry-After header (seconds).
	RetryAfter string
}

// InvalidParam is the 400 answer to a request parameter with a bad value.
func InvalidParam(name, why string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidParameter, Param: name,
		Message: "Parameter [" + name + "] value is invalid: " + why}
}

// CodeInvalidParameter is the code of a request parameter with a bad value.
const CodeInvalidParameter = "InvalidParameter"

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Message + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Body is the JSON every error answers with (seeds/001 "Errors"): the
// error, and in Errors the same with the parameter it concerns.
type Body struct {
	ErrorCode string   `json:"errorCode"`
	Message   string   `json:"message"`
	Errors    []Detail `json:"errors"`
}

// Detail is one entry of Body.Errors.
type Detail struct {
	ErrorCode     string `json:"errorCode"`
	Message       string `json:"message"`
	ParameterName string `json:"parameterName,omitempty"`
}

// Handler maps any error a handler returns to a status and the JSON body,
// logging what the client does not see.
func Handler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		e := From(err)
		if !LogStorageFailure(log, c, err) {
			level := slog.LevelDebug
			if e.Status >= 500 {
				level = slog.LevelError
			}
			log.Log(c.Request().Context(), level, "request failed",
				slog.String("method", c.Request().Method), slog.String("path", c.Request().URL.Path),
				slog.Int("status", e.Status), slog.String("code", e.Code), slog.Any("err", err))
		}
		if e.RetryAfter != "" {
			c.Response().Header().Set("Retry-After", e.RetryAfter)
		}
		c.JSON(e.Status, Body{ErrorCode: e.Code, Message: e.Message,
			Errors: []Detail{{ErrorCode: e.Code, Message: e.Message, ParameterName: e.Param}}})
	}
}

// LogStorageFailure writes, for a request that failed because the store is
// unavailable, one line with what the operator must fix: the data dir, the
// operation and what SQLite said. It reports whether err was such a failure.
func LogStorageFailure(log *slog.Logger, c echo.Context, err error) bool {
	var storage *store.UnavailableError
	if !errors.As(err, &storage) {
		return false
	}
	log.ErrorContext(c.Request().Context(), "storage unavailable",
		slog.String("method", c.Request().Method), slog.String("path", c.Request().URL.Path),
		slog.String("dataDir", storage.Dir), slog.String("op", storage.Op), slog.String("err", storage.Err.Error()))
	return true
}

// StorageRetryAfter is when a client whose request failed because the store
// could not read or write its data (store.ErrUnavailable: a full disk, a
// read-only or replaced database file) is told to retry.
const StorageRetryAfter = "30"

// From is the answer to err: an *Error below 500 as it is; else what the
// table says of the first sentinel err wraps; else an *Error as it is; else
// echo's own errors (no route, wrong method, body too large) in the model's
// words; anything else is a 500 whose detail only the log sees.
func From(err error) *Error {
	var e *Error
	if errors.As(err, &e) && e.Status < 500 {
		return e
	}
	if a := lookup(err); a != nil {
		return a
	}
	if e != nil {
		return e
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			return &Error{Status: he.Code, Code: "NotFound", Message: "no such resource"}
		case http.StatusMethodNotAllowed:
			return &Error{Status: he.Code, Code: "MethodNotAllowed", Message: "method not allowed on this resource"}
		case http.StatusRequestEntityTooLarge:
			return &Error{Status: he.Code, Code: "RequestTooLarge", Message: "request body too large"}
		case http.StatusUnauthorized:
			return &Error{Status: he.Code, Code: "Unauthorized", Message: "authentication required"}
		case http.StatusTooManyRequests:
			return &Error{Status: he.Code, Code: "TooManyRequests", Message: "too many requests"}
		case http.StatusForbidden:
			return &Error{Status: he.Code, Code: "Forbidden", Message: "not allowed"}
		case http.StatusServiceUnavailable:
			return &Error{Status: he.Code, Code: "ServiceUnavailable", Message: "the service is unavailable; try again later"}
		}
		if he.Code < 500 {
			return &Error{Status: he.Code, Code: "BadRequest", Message: http.StatusText(he.Code)}
		}
	}
	return &Error{Status: http.StatusInternalServerError, Code: "InternalError", Message: "internal server error", Err: err}
}

// Param names the request parameter at fault in an error the table answers
// with InvalidParameter without naming one: telephony.ErrForeignNumber
// does not know which field of the request carried the number. Any other
// error is returned as it is.
func Param(err error, name string) error {
	e := From(err)
	if e.Code != CodeInvalidParameter || e.Param != "" {
		return err
	}
	p := InvalidParam(name, e.Message)
	p.Err = err
	return p
}
