package phonenumber

// FirstTest and LastTest bound the built-in test numbers: the reserved
// fictional range +1 555 0100-0199, whose numbers behave the same every time,
// for demos and tests (DESIGN.md "Test numbers"). What each does is the
// switch's table; this package only recognises them.
const (
	FirstTest = "+15550100"
	LastTest  = "+15550199"
)

// IsTest reports whether n, in E.164, is a built-in test number.
func IsTest(n string) bool {
	return len(n) == len(FirstTest) && n >= FirstTest && n <= LastTest
}
