package phonenumber

// Extension numbers have 2 to 8 digits, with no "+".
const (
	minExtension = 2
	maxExtension = 8
)

// IsExtension reports whether s is an extension number as Normalize returns
// it: 2 to 8 ASCII digits.
func IsExtension(s string) bool {
	if len(s) < minExtension || len(s) > maxExtension {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Login is the name an extension signs in with, the account's main number and
// the extension number joined by "*": "+16505550100*101".
func Login(main, ext string) string { return main + "*" + ext }

// SplitLogin cuts a sign-in name at its last "*" into the main number and the
// extension, both as written ("(650) 555-0100*101" → "(650) 555-0100",
// "101"); found is false when there is no "*". The caller reads each part
// (E164, IsExtension).
func SplitLogin(name string) (main, ext string, found bool) {
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '*' {
			return name[:i], name[i+1:], true
		}
	}
	return name, "", false
}
