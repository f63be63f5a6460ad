package web

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

// invalidParam is the 400 answer to a request parameter with a bad value.
func invalidParam(name, why string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "InvalidParameter", Param: name,
		Message: "Parameter [" + name + "] value is invalid: " + why}
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Message + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// errorBody is the JSON every error answers with (seeds/001 "Errors"):
// the error, and in errors the same with the parameter it concerns.
type errorBody struct {
	ErrorCode string        `json:"errorCode"`
	Message   string        `json:"message"`
	Errors    []errorDetail `json:"errors"`
}

type errorDetail struct {
	ErrorCode     string `json:"errorCode"`
	Message       string `json:"message"`
	ParameterName string `json:"parameterName,omitempty"`
}

// errorHandler maps any error a handler returns to a status and the JSON body,
// logging what the client does not see.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		e := toError(err)
		if !logStorageFailure(log, c, err) {
			level := slog.LevelDebug
			if e.Status >= 500 {
				level = slog.LevelError
			}
			log.Log(c.Request().Context(), level, "request failed",
				slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
				slog.String("method", c.Request().Method), slog.String("path", c.Request().URL.Path),
				slog.Int("status", e.Status), slog.String("code", e.Code), slog.Any("err", err))
		}
		if e.Code == storageUnavailable {
			c.Response().Header().Set("Retry-After", storageRetryAfter)
		}
		if e.RetryAfter != "" {
			c.Response().Header().Set("Retry-After", e.RetryAfter)
		}
		c.JSON(e.Status, errorBody{ErrorCode: e.Code, Message: e.Message,
			Errors: []errorDetail{{ErrorCode: e.Code, Message: e.Message, ParameterName: e.Param}}})
	}
}

// logStorageFailure writes, for a request that failed because the store is
// unavailable, one line with what the operator must fix: the data dir, the
// operation and what SQLite said. It reports whether err was such a failure.
func logStorageFailure(log *slog.Logger, c echo.Context, err error) bool {
	var storage *store.UnavailableError
	if !errors.As(err, &storage) {
		return false
	}
	log.Error("storage unavailable",
		slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
		slog.String("method", c.Request().Method), slog.String("path", c.Request().URL.Path),
		slog.String("data_dir", storage.Dir), slog.String("op", storage.Op), slog.String("err", storage.Err.Error()))
	return true
}

// storageUnavailable is the code of a request that failed because the store
// could not read or write its data (store.ErrUnavailable: a full disk, a
// read-only or replaced database file); storageRetryAfter is when to retry.
const (
	storageUnavailable = "StorageUnavailable"
	storageRetryAfter  = "30"
)

func toError(err error) *Error {
	var e *Error
	if errors.As(err, &e) && e.Status < 500 {
		return e
	}
	if errors.Is(err, store.ErrUnavailable) {
		return &Error{Status: http.StatusServiceUnavailable, Code: storageUnavailable,
			Message: "the server cannot store data right now; try again later", Err: err}
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
