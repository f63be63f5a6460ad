package sip

import (
	"errors"
	"fmt"
)

// Failure is how a call that did not connect ended, in the terms the host
// page already gets for calls inside the account (docs/events.md,
// rc-call-failed-notify): a code, its reason, and the call-log result.
// Result holds the same strings as the switch's Result constants.
type Failure struct {
	Code   int    // 486, 487, 603, 404, 480, 402, 408 or 503
	Reason string // the documented reason of Code
	Result string // "Busy", "No Answer", "Rejected", "Canceled" or "Failed"
	// SIPCode and SIPReason are the carrier's final response as received
	// (0 when none came: a timeout, a transport error, a trunk down).
	SIPCode   int
	SIPReason string
}

// Call-log results, equal to the switch's Result constants.
const (
	resultBusy     = "Busy"
	resultNoAnswer = "No Answer"
	resultRejected = "Rejected"
	resultCanceled = "Canceled"
	resultFailed   = "Failed"
)

// failureRow is one row of the failure table.
type failureRow struct {
	Code   int
	Reason string
	Result string
}

var (
	rowBusy     = failureRow{486, "Busy Here", resultBusy}
	rowNoAnswer = failureRow{480, "Temporarily Unavailable", resultNoAnswer}
	rowTimeout  = failureRow{408, "Request Timeout", resultNoAnswer}
	rowCanceled = failureRow{487, "Request Terminated", resultCanceled}
	rowRejected = failureRow{603, "Decline", resultRejected}
	rowInvalid  = failureRow{404, "Not Found", resultFailed}
	rowPayment  = failureRow{402, "Payment Required", resultFailed}
	rowFailed   = failureRow{503, "Service Unavailable", resultFailed}
)

// failureTable maps a carrier's final response to the documented failure
// codes: the one table of the package (docs/sip.md shows it). Codes not
// listed fall back by class in FailureFor.
var failureTable = map[int]failureRow{
	486: rowBusy,     // Busy Here
	600: rowBusy,     // Busy Everywhere
	480: rowNoAnswer, // Temporarily Unavailable
	408: rowTimeout,  // Request Timeout
	487: rowCanceled, // Request Terminated
	603: rowRejected, // Decline
	607: rowRejected, // Unwanted (RFC 8197)
	404: rowInvalid,  // Not Found
	484: rowInvalid,  // Address Incomplete
	485: rowInvalid,  // Ambiguous
	410: rowInvalid,  // Gone
	416: rowInvalid,  // Unsupported URI Scheme
	604: rowInvalid,  // Does Not Exist Anywhere
	402: rowPayment,  // Payment Required
	503: rowFailed,   // Service Unavailable
}

// FailureFor maps a SIP final response code to the failure the host page
// sees. Other 6xx are Rejected; every other code, 2xx and 1xx included,
// is 503 Failed.
func FailureFor(code int, reason string) Failure {
	row, ok := failureTable[code]
	if !ok {
		row = rowFailed
		if code >= 600 && code < 700 {
			row = rowRejected
		}
	}
	return Failure{Code: row.Code, Reason: row.Reason, Result: row.Result, SIPCode: code, SIPReason: reason}
}

// FailureRow is a row of the failure table, for the docs.
type FailureRow struct {
	SIPCodes []int
	Code     int
	Reason   string
	Result   string
}

// FailureTable returns the table FailureFor applies, in the order of the
// documented codes, for docs and their test.
func FailureTable() []FailureRow {
	order := []failureRow{rowBusy, rowNoAnswer, rowTimeout, rowCanceled, rowRejected, rowInvalid, rowPayment, rowFailed}
	out := make([]FailureRow, 0, len(order))
	for _, r := range order {
		fr := FailureRow{Code: r.Code, Reason: r.Reason, Result: r.Result}
		for code := 400; code < 700; code++ {
			if failureTable[code] == r {
				fr.SIPCodes = append(fr.SIPCodes, code)
			}
		}
		out = append(out, fr)
	}
	return out
}

// Errors of the call API; FailureOf maps them.
var (
	// ErrUnknownTrunk: no trunk has that name.
	ErrUnknownTrunk = errors.New("no such trunk")
	// ErrTrunkDown: the trunk is marked down (keep-alive or registration
	// failing); calls fail fast with 503.
	ErrTrunkDown = errors.New("trunk down")
	// ErrCallState: the call is not in a state that allows the action.
	ErrCallState = errors.New("invalid call state")
	// ErrBadNumber: a number cannot be a SIP URI's user part.
	ErrBadNumber = errors.New("number cannot be sent in SIP")
	// ErrClosed: the UA is closed.
	ErrClosed = errors.New("SIP user agent closed")
)

// ResponseError is a final non-2xx response to a request within a call
// (a re-INVITE, a BYE).
type ResponseError struct {
	Method string
	Code   int
	Reason string
}

func (e *ResponseError) Error() string {
	return fmt.Sprintf("%s answered %d %s", e.Method, e.Code, e.Reason)
}

// FailureOf maps an error of Invite (or of a call) to the failure the host
// page sees: a ResponseError by the table, anything else 503.
func FailureOf(err error) Failure {
	var re *ResponseError
	if errors.As(err, &re) {
		return FailureFor(re.Code, re.Reason)
	}
	f := FailureFor(0, "")
	return f
}
