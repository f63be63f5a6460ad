package telephony

import "github.com/callbridge/widget-server/internal/phonenumber"

// testMode is how a test line behaves.
type testMode int

const (
	testFail testMode = iota // fails at once with Code
	testTone                 // answers after a second and plays a tone
	testEcho                 // answers after a second and echoes the caller
	testBusy                 // rings half a second, then fails with Code
	testRing                 // rings until the caller cancels or the ring timeout
)

// TestNumber is one row of the built-in test lines: what numbers of the
// reserved fictional range +1 555 0100-0199 (phonenumber.IsTest) do when
// dialled, the same every time, for demos and tests (DESIGN.md "Test
// numbers"). The range is the phonenumber package's; what each number does
// is the switch's.
type TestNumber struct {
	Number    string // E.164
	Last      string // last number when the row is a range, else ""
	Name      string // the party's name in calls, messages and the call log: what it does
	Behaviour string // what happens, for the docs
	Code      int    // failure code; 0 when it answers
	Reason    string // failure reason
	Result    string // the caller's call-log result
	mode      testMode
}

// TestNumbers is the table of test lines, for the docs.
var TestNumbers = append([]TestNumber(nil), testNumbers...)

var testNumbers = []TestNumber{
	{Number: "+15550100", Name: "Tone line", Behaviour: "answers after about 1 s and plays a tone", Result: ResultConnected, mode: testTone},
	{Number: "+15550101", Name: "Echo line", Behaviour: "answers after about 1 s and echoes your audio", Result: ResultConnected, mode: testEcho},
	{Number: "+15550102", Name: "Busy line", Behaviour: "rings for about 0.5 s, then busy", Code: 486, Reason: "Busy Here", Result: ResultBusy, mode: testBusy},
	{Number: "+15550103", Name: "Unavailable line", Behaviour: "unavailable", Code: 480, Reason: "Temporarily Unavailable", Result: ResultFailed},
	{Number: "+15550104", Name: "Invalid number", Behaviour: "invalid number", Code: 404, Reason: "Not Found", Result: ResultFailed},
	{Number: "+15550105", Name: "Declining line", Behaviour: "rejected", Code: 603, Reason: "Decline", Result: ResultRejected},
	{Number: "+15550106", Name: "No-funds line", Behaviour: "insufficient funds", Code: 402, Reason: "Payment Required", Result: ResultFailed},
	{Number: "+15550107", Name: "Ringing line", Behaviour: "rings until you hang up (487) or the ring timeout (408)", Code: 408, Reason: "Request Timeout", Result: ResultNoAnswer, mode: testRing},
	{Number: "+15550108", Last: "+15550199", Name: "Invalid number", Behaviour: "invalid number", Code: 404, Reason: "Not Found", Result: ResultFailed},
}

// Has reports whether the row covers e164: its number, or one of its range.
func (tn TestNumber) Has(e164 string) bool {
	return e164 == tn.Number || tn.Last != "" && len(e164) == len(tn.Number) && e164 >= tn.Number && e164 <= tn.Last
}

// lookupTestNumber returns the test line of an E.164 number.
func lookupTestNumber(e164 string) (TestNumber, bool) {
	if !phonenumber.IsTest(e164) {
		return TestNumber{}, false
	}
	for _, tn := range testNumbers {
		if tn.Has(e164) {
			return tn, true
		}
	}
	return TestNumber{}, false
}
