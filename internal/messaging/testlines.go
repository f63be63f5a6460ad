package messaging

import "github.com/callbridge/widget-server/internal/telephony"

// testLine is what a test number does with an SMS (docs/api-messages.md
// "Test numbers"): the final status of the sent copy, the error of a
// failure, and the reply it sends back, if any.
type testLine struct {
	name          string // the number's name, as in calls
	status        Status
	code, reason  string
	reply         func(text string) string
	documentation string
}

// ackText is the reply of the tone line.
const ackText = "Test line: message received."

// testLineByCode gives each failure of the call test lines its SMS
// counterpart, so a number fails the same way for calls and messages.
var testLineByCode = map[int]testLine{
	486: {status: Delivered, documentation: "Delivered; no reply"},
	480: {status: DeliveryFailed, code: "Unavailable", reason: "the recipient is unavailable", documentation: "DeliveryFailed, Unavailable"},
	404: {status: DeliveryFailed, code: "InvalidNumber", reason: "the number does not exist", documentation: "DeliveryFailed, InvalidNumber"},
	603: {status: DeliveryFailed, code: "Rejected", reason: "the recipient does not accept messages", documentation: "DeliveryFailed, Rejected"},
	402: {status: DeliveryFailed, code: "InsufficientFunds", reason: "insufficient funds to send this message", documentation: "DeliveryFailed, InsufficientFunds"},
	408: {status: Sent, documentation: "Sent; no delivery report ever comes"},
}

// Test lines that answer calls answer messages too.
var (
	toneLine = testLine{status: Delivered, reply: func(string) string { return ackText },
		documentation: "Delivered; replies \"" + ackText + "\""}
	echoLine = testLine{status: Delivered, reply: func(text string) string { return text },
		documentation: "Delivered; replies with your text"}
)

// lookupTestLine returns what the test number e164 does with an SMS.
func lookupTestLine(e164 string) (testLine, bool) {
	for _, tn := range telephony.TestNumbers {
		if !tn.Has(e164) {
			continue
		}
		tl, ok := toneLine, true
		switch {
		case tn.Code != 0:
			tl, ok = testLineByCode[tn.Code]
		case e164 == "+15550101":
			tl = echoLine
		}
		tl.name = tn.Name
		return tl, ok
	}
	return testLine{}, false
}

// TestLine describes what a test number does with an SMS, for the docs.
type TestLine struct {
	Number, Last string
	Behaviour    string
}

// TestLines lists what every test number does with an SMS.
func TestLines() []TestLine {
	var out []TestLine
	for _, tn := range telephony.TestNumbers {
		if tl, ok := lookupTestLine(tn.Number); ok {
			out = append(out, TestLine{Number: tn.Number, Last: tn.Last, Behaviour: tl.documentation})
		}
	}
	return out
}
